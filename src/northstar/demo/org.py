"""The organisation and its use of the platform: teams, people, components and the activity stream.

Every ML team adopts each component at a day drawn from a logistic S-curve (stratified, so the curve shows
for any seed); how many teams ever adopt, churn and come back are fixed counts, so the layer story
(golden path used by well under half of the active teams at the end, the workflow layer by most) holds for
every seed. People then use the components their team has adopted with their own propensity, weekdays
mostly; each actor-day emits a few events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from northstar.demo._common import DAY, HOUR, BoolArray, Calendar, FloatArray, IntArray, build_table, seq_ids

__all__ = [
    "COMPONENTS",
    "DOMAINS",
    "GOLDEN_PATH",
    "NEW_TEAMS",
    "PLATFORM_TEAM",
    "Activity",
    "ComponentSpec",
    "Org",
    "build_org",
    "components_table",
    "people_table",
    "simulate_activity",
    "teams_table",
]

PLATFORM_TEAM = "team-platform"

# (team domain, services it owns). The first services are the ones the reliability simulation watches.
DOMAINS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("search", ("search-ranker", "query-understanding")),
    ("fraud", ("fraud-scorer",)),
    ("recommendations", ("recs-api", "recs-candidates")),
    ("vision", ("image-embedder", "image-moderation")),
    ("pricing", ("price-optimizer",)),
    ("ads", ("ads-ctr-model", "ads-bidder")),
    ("assistant", ("llm-gateway", "rag-retriever")),
    ("logistics", ("eta-predictor", "route-optimizer")),
    ("documents", ("doc-classifier",)),
    ("forecasting", ("demand-forecast",)),
    ("speech", ("speech-to-text",)),
    ("risk", ("credit-risk",)),
    ("retention", ("churn-predictor",)),
    ("support-ai", ("ticket-router",)),
    ("marketing", ("uplift-model",)),
    ("growth", ("ltv-model",)),
    ("trust-safety", ("toxicity-filter", "spam-detector")),
    ("catalog", ("product-matcher",)),
    ("maps", ("geo-embedder",)),
    ("payments", ("chargeback-model",)),
    ("identity", ("face-match",)),
    ("translation", ("mt-service",)),
    ("insurance", ("claims-triage",)),
    ("people-analytics", ("attrition-model",)),
    ("security", ("anomaly-detector",)),
    ("energy", ("load-forecast",)),
    ("health", ("triage-model",)),
    ("media", ("thumbnail-ranker",)),
    ("music", ("playlist-generator",)),
    ("gaming", ("matchmaking-model",)),
    ("retail", ("basket-model",)),
    ("supply-chain", ("inventory-forecast",)),
    ("crm", ("lead-scorer",)),
    ("legal", ("contract-extractor",)),
    ("finance", ("cashflow-forecast",)),
    ("ocr", ("ocr-service",)),
    ("sensors", ("iot-anomaly",)),
    ("video", ("video-tagger",)),
    ("travel", ("hotel-ranker",)),
)
NEW_TEAMS = ("ocr", "sensors", "video", "travel")
"""Teams formed during the year: eligible (and staffed) only from a date inside the period."""


@dataclass(frozen=True)
class ComponentSpec:
    """A platform component and how the organisation takes it up.

    Launch, S-curve midpoint and spread are fractions of the simulated period (negative = before it).
    `adopters` is the share of ML teams that ever adopt; `churn` / `returns` are team counts.
    """

    id: str
    name: str
    layer: int
    category: str
    launch: float
    actions: tuple[tuple[str, float], ...]
    activation: str
    p_activate: float
    adopters: float
    mid: float
    spread: float
    churn: int
    returns: int
    intensity: float


COMPONENTS: tuple[ComponentSpec, ...] = (
    ComponentSpec(
        "gpu-pool", "GPU pool", 0, "hardware", -2.7,
        (("allocate_gpu", 0.45), ("release_gpu", 0.4), ("view_quota", 0.15)),
        "allocate_gpu", 0.9, 0.80, -1.0, 0.5, 2, 1, 0.7,
    ),
    ComponentSpec(
        "object-store", "Object store", 0, "storage", -3.3,
        (("put_object", 0.4), ("get_object", 0.5), ("list_bucket", 0.1)),
        "put_object", 0.9, 0.97, -1.8, 0.5, 0, 0, 0.8,
    ),
    ComponentSpec(
        "kubernetes", "Kubernetes", 1, "compute", -3.0,
        (("apply_manifest", 0.3), ("view_pods", 0.5), ("view_logs", 0.2)),
        "apply_manifest", 0.85, 0.95, -1.5, 0.5, 1, 1, 0.8,
    ),
    ComponentSpec(
        "ray", "Ray clusters", 1, "compute", -1.5,
        (("submit_job", 0.5), ("view_dashboard", 0.4), ("scale_cluster", 0.1)),
        "submit_job", 0.85, 0.65, 0.05, 0.2, 3, 1, 0.6,
    ),
    ComponentSpec(
        "spark", "Spark", 2, "data_processing", -2.8,
        (("run_job", 0.5), ("open_notebook", 0.4), ("view_ui", 0.1)),
        "run_job", 0.9, 0.72, -1.2, 0.6, 2, 0, 0.7,
    ),
    ComponentSpec(
        "model-server", "Model server", 2, "serving", -2.1,
        (("create_endpoint", 0.05), ("deploy", 0.25), ("view_metrics", 0.5), ("scale_endpoint", 0.2)),
        "create_endpoint", 0.75, 0.85, -0.6, 0.4, 1, 1, 0.6,
    ),
    ComponentSpec(
        "experiment-tracking", "Experiment tracking (MLflow)", 3, "tracking", -1.8,
        (("create_experiment", 0.05), ("log_run", 0.6), ("compare_runs", 0.2), ("view_run", 0.15)),
        "log_run", 0.9, 0.92, -0.5, 0.35, 2, 1, 1.0,
    ),
    ComponentSpec(
        "model-registry", "Model registry (MLflow)", 3, "registry", -1.4,
        (("register_model", 0.3), ("promote_model", 0.15), ("view_model", 0.55)),
        "register_model", 0.8, 0.82, -0.15, 0.3, 2, 1, 0.7,
    ),
    ComponentSpec(
        "feature-store", "Feature store (Feast)", 3, "feature_store", -0.25,
        (("define_feature", 0.1), ("materialize", 0.3), ("get_features", 0.6)),
        "define_feature", 0.7, 0.72, 0.22, 0.1, 3, 1, 0.7,
    ),
    ComponentSpec(
        "golden-path", "Golden path templates", 4, "templates", 0.33,
        (("create_project", 0.08), ("run_pipeline", 0.6), ("deploy", 0.2), ("view_run", 0.12)),
        "first_pipeline", 0.75, 0.49, 0.55, 0.07, 5, 1, 0.9,
    ),
)  # fmt: skip
GOLDEN_PATH = "golden-path"


@dataclass(frozen=True)
class Org:
    """Teams (index 0 is the platform team), people, and each team's adoption schedule per component."""

    team_ids: list[str]
    team_names: list[str]
    team_eligible_day: FloatArray  # NaN: no eligible_from; may be before the period
    team_new: BoolArray
    person_ids: list[str]
    person_team: IntArray
    person_role: list[str]
    person_joined_day: FloatArray
    adopt_day: FloatArray  # (teams, components); inf = never
    churn_day: FloatArray
    return_day: FloatArray

    @property
    def n_teams(self) -> int:
        return len(self.team_ids)


def _team_sizes(rng: np.random.Generator, n_teams: int, total: int) -> IntArray:
    floor = 4
    extra = rng.multinomial(total - floor * n_teams, rng.dirichlet(np.full(n_teams, 3.0)))
    return (extra + floor).astype(np.int64)


def _schedule(
    rng: np.random.Generator, cal: Calendar, spec: ComponentSpec, n_ml: int, ready: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Adoption, churn and return days for the ML teams (indices 0..n_ml-1 here)."""
    adopt = np.full(n_ml, np.inf)
    churn = np.full(n_ml, np.inf)
    back = np.full(n_ml, np.inf)
    n_ever = round(spec.adopters * n_ml)
    teams = rng.permutation(n_ml)[:n_ever]
    u = (np.arange(n_ever) + rng.random(n_ever)) / n_ever
    days = (spec.mid + spec.spread * np.log(u / (1 - u))) * cal.days
    launch = spec.launch * cal.days
    days = np.maximum(days, launch + (2 if launch >= 0 else 0))
    days = np.minimum(days, cal.days - 21)
    # a team formed during the period adopts shortly after it starts
    days = np.maximum(days, ready[teams] + rng.uniform(2, 20, n_ever))
    adopt[teams] = np.floor(days)

    can_churn = teams[adopt[teams] <= cal.days - 80]
    churners = rng.permutation(can_churn)[: spec.churn]
    lo = np.maximum(adopt[churners], 0) + 21
    churn[churners] = np.floor(lo + rng.random(len(churners)) * (cal.days - 40 - lo))
    can_return = churners[churn[churners] <= cal.days - 60]
    returners = rng.permutation(can_return)[: spec.returns]
    lo = churn[returners] + 21
    back[returners] = np.floor(lo + rng.random(len(returners)) * (cal.days - 14 - lo))
    return adopt, churn, back


def build_org(rng: np.random.Generator, cal: Calendar, n_people: int = 400) -> Org:
    """Forty teams (one platform team), `n_people` people and every team's adoption schedule."""
    n_ml = len(DOMAINS)
    team_ids = [PLATFORM_TEAM] + [f"team-{d}" for d, _ in DOMAINS]
    team_names = ["ML Platform"] + [d.replace("-", " ").title() for d, _ in DOMAINS]
    new = np.array([False] + [d in NEW_TEAMS for d, _ in DOMAINS])
    n_teams = n_ml + 1

    eligible = np.full(n_teams, np.nan)
    old = ~new
    old[0] = False
    has_date = old & (rng.random(n_teams) < 0.5)
    eligible[has_date] = -rng.integers(60, 1500, int(has_date.sum()))
    eligible[new] = np.sort(rng.uniform(0.2, 0.6, int(new.sum())) * cal.days).round()
    ready = np.where(new, eligible, -np.inf)

    platform_size = 6
    sizes = np.concatenate([[platform_size], _team_sizes(rng, n_ml, n_people - platform_size)])
    person_team = np.repeat(np.arange(n_teams), sizes).astype(np.int64)
    n = len(person_team)
    roles = np.where(rng.random(n) < 0.08, "other", "practitioner").astype(object)
    roles[:platform_size] = "platform_owner"
    roles[platform_size - 1] = "other"  # the platform team's product manager
    joined = np.where(rng.random(n) < 0.85, -rng.integers(1, 1500, n), rng.integers(0, cal.days - 30, n)).astype(float)
    in_new = new[person_team]
    joined[in_new] = ready[person_team[in_new]] - rng.integers(0, 8, int(in_new.sum()))
    joined[:platform_size] = -rng.integers(200, 1500, platform_size)

    n_comp = len(COMPONENTS)
    adopt = np.full((n_teams, n_comp), np.inf)
    churn = np.full((n_teams, n_comp), np.inf)
    back = np.full((n_teams, n_comp), np.inf)
    for c, spec in enumerate(COMPONENTS):
        a, ch, b = _schedule(rng, cal, spec, n_ml, ready[1:])
        adopt[1:, c], churn[1:, c], back[1:, c] = a, ch, b
        adopt[0, c] = np.floor(spec.launch * cal.days) if spec.launch >= 0 else -np.inf

    return Org(
        team_ids=team_ids,
        team_names=team_names,
        team_eligible_day=eligible,
        team_new=new,
        person_ids=[f"u{i + 1:04d}" for i in range(n)],
        person_team=person_team,
        person_role=[str(r) for r in roles],
        person_joined_day=joined,
        adopt_day=adopt,
        churn_day=churn,
        return_day=back,
    )


def teams_table(org: Org, cal: Calendar) -> pa.Table:
    sizes = np.bincount(org.person_team, minlength=org.n_teams)
    return build_table(
        "teams",
        org.n_teams,
        {
            "id": org.team_ids,
            "name": org.team_names,
            "headcount": sizes.astype(np.int64),
            "eligible_from": cal.to_dates(org.team_eligible_day),
        },
    )


def people_table(org: Org, cal: Calendar) -> pa.Table:
    return build_table(
        "people",
        len(org.person_ids),
        {
            "id": org.person_ids,
            "team": [org.team_ids[t] for t in org.person_team],
            "role": org.person_role,
            "joined_at": cal.to_dates(org.person_joined_day),
        },
    )


def components_table(cal: Calendar) -> pa.Table:
    return build_table(
        "components",
        len(COMPONENTS),
        {
            "id": [c.id for c in COMPONENTS],
            "name": [c.name for c in COMPONENTS],
            "layer": [c.layer for c in COMPONENTS],
            "category": [c.category for c in COMPONENTS],
            "launched_at": cal.to_dates([np.floor(c.launch * cal.days) for c in COMPONENTS]),
            "activation_actions": [[c.activation] for c in COMPONENTS],
        },
    )


@dataclass(frozen=True)
class Activity:
    """The activity table (ids in time order) and each team's first golden-path event (the treatment date)."""

    table: pa.Table
    golden_path_first: FloatArray  # seconds since start per team; NaN = never


_PROPERTIES = np.array(['{"client":"cli"}', '{"client":"ui"}', '{"client":"sdk"}', None], dtype=object)


def simulate_activity(rng: np.random.Generator, cal: Calendar, org: Org) -> Activity:
    """Events of people on the components their team uses (vectorised over person × component × day)."""
    n_comp = len(COMPONENTS)
    d = np.arange(cal.days, dtype=np.float64)
    adopt, churn, back = (x[:, :, None] for x in (org.adopt_day, org.churn_day, org.return_day))
    team_on = ((d >= adopt) & (d < churn)) | (d >= back)  # (teams, comps, days)
    ramp = np.clip((d - adopt + 1) / 21.0, 0.2, 1.0)  # a team's own uptake over its first three weeks

    n_people = len(org.person_ids)
    intensity = np.array([c.intensity for c in COMPONENTS])
    q = rng.beta(2.0, 4.0, (n_people, n_comp)) * intensity
    q[rng.random((n_people, n_comp)) < 0.25] = 0.0
    q[org.person_team == 0] = 0.12  # the platform team dogfoods everything, lightly
    # every team has at least one regular user of each component it adopts
    for t in range(1, org.n_teams):
        members = np.flatnonzero(org.person_team == t)
        best = members[np.argmax(q[members], axis=0)]
        q[best, np.arange(n_comp)] = np.maximum(q[best, np.arange(n_comp)], 0.35)

    weekday_factor = np.where(cal.workdays(), 1.0, 0.06)
    joined = d[None, :] >= org.person_joined_day[:, None]  # (people, days)
    pt = org.person_team
    prob = (team_on[pt] * ramp[pt]) * q[:, :, None] * (weekday_factor[None, None, :] * joined[:, None, :])
    p_idx, c_idx, d_idx = np.nonzero(rng.random(prob.shape) < prob)  # lexicographic (person, comp, day)

    n_ad = len(p_idx)
    per_day = 1 + rng.poisson(1.5, n_ad)
    ev_ad = np.repeat(np.arange(n_ad), per_day)
    sec = np.clip(rng.normal(13.5 * HOUR, 2.8 * HOUR, len(ev_ad)), 6 * HOUR, 22 * HOUR)
    order = np.lexsort((sec, ev_ad))
    ev_ad, sec = ev_ad[order], np.round(sec[order])
    ts = d_idx[ev_ad] * DAY + sec
    ev_p, ev_c = p_idx[ev_ad], c_idx[ev_ad]
    n_ev = len(ev_ad)

    actions = np.empty(n_ev, dtype=object)
    u = rng.random(n_ev)
    for c, spec in enumerate(COMPONENTS):
        m = ev_c == c
        names = np.array([a for a, _ in spec.actions], dtype=object)
        cum = np.cumsum([w for _, w in spec.actions])
        actions[m] = names[np.minimum(np.searchsorted(cum / cum[-1], u[m]), len(names) - 1)]
    actions[rng.random(n_ev) < 0.004] = "feature_request"
    # the first event of a person's first day on a component is, usually, its activation action
    first_ad = np.r_[True, (p_idx[1:] != p_idx[:-1]) | (c_idx[1:] != c_idx[:-1])]
    first_ev = np.r_[True, ev_ad[1:] != ev_ad[:-1]] & first_ad[ev_ad]
    p_act = np.array([c.p_activate for c in COMPONENTS])
    activate = first_ev & (rng.random(n_ev) < p_act[ev_c])
    act_names = np.array([c.activation for c in COMPONENTS], dtype=object)
    actions[activate] = act_names[ev_c[activate]]

    team_idx = pt[ev_p]
    gp = next(i for i, c in enumerate(COMPONENTS) if c.id == GOLDEN_PATH)
    first_gp = np.full(org.n_teams, np.inf)
    m = ev_c == gp
    np.minimum.at(first_gp, team_idx[m], ts[m])
    first_gp[np.isinf(first_gp)] = np.nan

    order = np.argsort(ts, kind="stable")
    team_ids = np.array(org.team_ids, dtype=object)
    teams = team_ids[team_idx[order]]
    teams[rng.random(n_ev) < 0.03] = None  # some sources do not send the team: resolved from `people`
    table = build_table(
        "activity",
        n_ev,
        {
            "id": seq_ids("evt-", n_ev, 7),
            "ts": cal.to_ts(ts[order]),
            "actor": np.array(org.person_ids, dtype=object)[ev_p[order]],
            "team": teams,
            "component": np.array([c.id for c in COMPONENTS], dtype=object)[ev_c[order]],
            "action": actions[order],
            "properties": _PROPERTIES[rng.integers(0, len(_PROPERTIES), n_ev)],
        },
    )
    return Activity(table=table, golden_path_first=first_gp)
