"""pandas baseline, people's side of DESIGN.md §3: adoption, cohorts, community support and satisfaction."""

from __future__ import annotations

import numpy as np
import pandas as pd

from baseline_core import NULL, US_PER_S, Bench, _by_week, _days, _grp, _in, _in_weeks, _iso, _us, _week

# -- activity helpers -------------------------------------------------------------------------------------


def activity(b: Bench) -> pd.DataFrame:
    """Activity with the team resolved from `people` when the event has none (categoricals kept); cached."""
    if "_activity" not in b.frames:
        a = b.frames["activity"][["ts", "actor", "team", "component", "action"]].copy()
        pteam = b.frames["people"].set_index("id")["team"].astype(str)
        cats = pd.CategoricalDtype(sorted(set(a["team"].dropna().unique()) | set(pteam)))
        resolved = a["actor"].astype("category").map(pteam).astype(cats)  # maps the categories, not the rows
        team = a["team"].astype(cats)
        a["team"] = team.where(team.notna(), resolved)
        a["day"] = _days(a["ts"])
        a["wk"] = a["day"] - (a["day"] + 3) % 7
        b.frames["_activity"] = a
    return b.frames["_activity"]


def _agrp(a: pd.DataFrame, by: str | None) -> pd.Categorical:
    """The `group` of activity rows as a categorical (NULL without a breakdown or without a team)."""
    if by is None:
        return pd.Categorical.from_codes(np.zeros(len(a), dtype=np.int8), categories=[NULL])
    col = a[by].astype("category")
    if NULL not in col.cat.categories:
        col = col.cat.add_categories(NULL)
    return col.fillna(NULL).array


def _unit_col(unit: str) -> str:
    return "actor" if unit == "user" else "team"


def _active(b: Bench, by: str | None, unit: str, cols: tuple[str, ...] = ("wk",)) -> pd.DataFrame:
    """Distinct (cols…, group, unit) over all activity (history included), unit not null."""
    a = activity(b)
    u = _unit_col(unit)
    x = pd.DataFrame({**{c: a[c].to_numpy() for c in cols}, "group": _agrp(a, by), "u": a[u].array})
    return x[x.u.notna()].drop_duplicates()


def _first(b: Bench, by: str | None, unit: str) -> pd.DataFrame:
    """Each unit's first-ever activity (ts) with its group."""
    a = activity(b)
    u = _unit_col(unit)
    x = pd.DataFrame({"ts": a.ts.to_numpy(), "group": _agrp(a, by), "u": a[u].array})
    x = x[x.u.notna()]
    f = x.groupby(["group", "u"], observed=True, sort=False)["ts"].min().reset_index()
    f["wk"] = _week(f.ts)
    return f


def _first_event(b: Bench, by: str | None, unit: str, mask: pd.Series, after: pd.DataFrame) -> pd.Series:
    """Per unit of `after` (group, u, t0): the first event matching `mask` at or after t0 (NaN if none)."""
    a = activity(b)[mask]
    u = _unit_col(unit)
    ev = pd.DataFrame({"group": _agrp(a, by), "u": a[u].array, "t": a.ts.to_numpy()})
    m = after[["group", "u", "t0"]].reset_index().merge(ev, on=["group", "u"], how="left")
    m = m[m.t >= m.t0]
    return m.groupby("index")["t"].min().reindex(after.index)


def _activation_mask(b: Bench) -> pd.Series:
    """Events whose action is an activation action of their component (its list, else the config's)."""
    a = activity(b)
    default = list(b.get("activation_actions", []))
    mask = np.zeros(len(a), dtype=bool)
    for cid, acts in zip(b.frames["components"]["id"], b.frames["components"]["activation_actions"], strict=True):
        names = list(acts) if acts is not None and len(acts) else default
        mask |= ((a.component == cid) & (a.action.isin(names) if names else True)).to_numpy()
    return pd.Series(mask, index=a.index)


# -- adoption ---------------------------------------------------------------------------------------------


def active_teams(b: Bench, by: str | None) -> pd.DataFrame:
    x = _active(b, by, "team")
    g = x.groupby(["wk", "group"]).size().rename("value").reset_index()
    return g.assign(n=g.value)


def active_users(b: Bench, by: str | None) -> pd.DataFrame:
    x = _active(b, by, "user")
    g = x.groupby(["wk", "group"]).size().rename("value").reset_index()
    return g.assign(n=g.value, people=g.value)


def _eligible(b: Bench) -> pd.DataFrame:
    """(wk, team) for every week and every team eligible by the week's last day."""
    teams = b.frames["teams"]
    weeks = pd.DataFrame({"wk": b.weeks})
    if len(teams):
        t = pd.DataFrame({"team": teams["id"].astype(str), "from": _days(teams["eligible_from"])})
        t.loc[teams["eligible_from"].isna().to_numpy(), "from"] = np.iinfo(np.int64).min
        e = weeks.merge(t, how="cross")
        return e[e["from"] <= e.wk + 6][["wk", "team"]]
    f = _first(b, "team", "team")
    e = weeks.merge(f[["u", "ts"]].rename(columns={"u": "team"}), how="cross")
    return e[_days(e.ts) <= e.wk + 6][["wk", "team"]]


def adoption_rate(b: Bench, by: str | None) -> pd.DataFrame:
    e = _eligible(b)
    act = _active(b, "team", "team")[["wk", "u"]].rename(columns={"u": "team"}).assign(on=1)
    e = e.merge(act, on=["wk", "team"], how="left").fillna({"on": 0})
    e["group"] = e.team if by == "team" else NULL
    g = e.groupby(["wk", "group"]).agg(value=("on", "mean"), n=("on", "size")).reset_index()
    return g


def feature_adoption_rate(b: Bench, by: str | None, unit: str = "team") -> pd.DataFrame:
    """Per component (`key`): units active on it ÷ units active on the platform; 0 for a component used in
    the window but not in the period."""
    a = activity(b)
    a = a[_in(b, a.ts)]
    u = _unit_col(unit)
    x = pd.DataFrame({"wk": a.wk.to_numpy(), "key": a.component.astype(str).to_numpy(), "u": a[u].to_numpy()})
    x = x[x.u.notna()]
    n = x[["wk", "u"]].drop_duplicates().groupby("wk").size().rename("n").reset_index()
    on = x.drop_duplicates().groupby(["wk", "key"]).size().rename("k").reset_index()
    grid = n.merge(pd.DataFrame({"key": sorted(x.key.unique())}), how="cross")
    g = grid.merge(on, on=["wk", "key"], how="left").fillna({"k": 0})
    return g.assign(value=g.k / g.n, group=NULL).drop(columns="k")


def activation_rate(b: Bench, by: str | None, unit: str = "team") -> pd.DataFrame:
    f = _first(b, by, unit)
    f = f[(f.ts >= _us(b.since)) & (f.ts < _us(b.until))].rename(columns={"ts": "t0"})
    t = _first_event(b, by, unit, _activation_mask(b), f)
    window = b.get("activation_window_s", 14 * 86_400) * US_PER_S
    f["ok"] = (t <= f.t0 + window).astype(float)
    return f.groupby(["wk", "group"]).agg(value=("ok", "mean"), n=("ok", "size")).reset_index()


def time_to_value(b: Bench, by: str | None, unit: str = "team") -> pd.DataFrame:
    f = _first(b, by, unit)
    f = f[(f.ts >= _us(b.since)) & (f.ts < _us(b.until))].rename(columns={"ts": "t0"})
    a = activity(b)
    t = _first_event(b, by, unit, a.action.isin(b.get("value_actions", ["deploy"])), f)
    f["ttv"] = (t - f.t0) / US_PER_S
    g = f.groupby(["wk", "group"]).agg(value=("ttv", "median"), n=("ttv", "count"), cohort=("ttv", "size"))
    g["share_reached"] = g.n / g.cohort
    return g.drop(columns="cohort").reset_index()


def usage_frequency(b: Bench, by: str | None, unit: str = "team") -> pd.DataFrame:
    x = _active(b, by, unit, ("wk", "day"))
    x = x[(x.day >= b.lo) & (x.day < b.hi)]
    per = x.groupby(["wk", "group", "u"]).size().rename("days").reset_index()
    return per.groupby(["wk", "group"]).agg(value=("days", "mean"), n=("days", "size")).reset_index()


def stickiness(b: Bench, by: str | None, unit: str = "user") -> pd.DataFrame:
    x = _active(b, by, unit, ("wk", "day"))
    x = x[(x.day >= b.lo) & (x.day < b.hi)]
    dau = x.groupby(["wk", "group"]).size().rename("dau_sum")
    wau = x.drop(columns="day").drop_duplicates().groupby(["wk", "group"]).size().rename("n")
    g = pd.concat([dau, wau], axis=1).reset_index()
    days = np.minimum(g.wk + 7, b.hi) - np.maximum(g.wk, b.lo)  # the days of the period inside the window
    g["value"] = g.dau_sum / days / g.n
    return g.drop(columns="dau_sum").assign(people=g.n)


def churn_rate(b: Bench, by: str | None, unit: str = "team") -> pd.DataFrame:
    x = _active(b, by, unit)
    prev = x.assign(wk=x.wk + 7)
    m = prev.merge(x.assign(now=1), on=["wk", "group", "u"], how="left")
    m["gone"] = m.now.isna().astype(float)
    g = m.groupby(["wk", "group"]).agg(value=("gone", "mean"), n=("gone", "size")).reset_index()
    return g[_in_weeks(b, g.wk)]


def feature_requests(b: Bench, by: str | None) -> pd.DataFrame:
    a = activity(b)
    a = a[(a.action == "feature_request") & _in(b, a.ts)]
    g = pd.DataFrame({"wk": a.wk.to_numpy(), "group": _agrp(a, by)}).groupby(["wk", "group"], observed=True).size()
    g = g.rename("value").reset_index()
    return g.assign(n=g.value)


def _cumulative(b: Bench, first: pd.DataFrame) -> pd.DataFrame:
    """Running count of units by the end of each week of the window, from each unit's first week."""
    c = first.groupby(["group", "wk"]).size().rename("k").reset_index()
    grid = pd.MultiIndex.from_product([sorted(c.group.unique()), b.weeks], names=["group", "wk"]).to_frame(False)
    before = c[c.wk < b.weeks[0]].groupby("group").k.sum()
    g = grid.merge(c, on=["group", "wk"], how="left").fillna({"k": 0}).sort_values(["group", "wk"])
    g["value"] = g.groupby("group").k.cumsum() + g.group.map(before).fillna(0)
    g = g[g.value > 0]
    return g.assign(n=g.value)[["wk", "group", "value", "n"]]


def users_total(b: Bench, by: str | None) -> pd.DataFrame:
    x = _active(b, by, "user")
    out = _cumulative(b, x.groupby(["group", "u"]).wk.min().reset_index())
    return out.assign(people=out.value)


def models_total(b: Bench, by: str | None) -> pd.DataFrame:
    d = b.frames["deployments"]
    d = d[(d.environment == "production") & (d.status == "succeeded")]
    x = pd.DataFrame({"group": _grp(d, by).to_numpy(), "svc": d.service.to_numpy(), "wk": _week(d.finished_at)})
    return _cumulative(b, x.groupby(["group", "svc"], observed=True).wk.min().reset_index())


# -- cohorts ----------------------------------------------------------------------------------------------


def retention(b: Bench, by: str | None, unit: str = "team") -> pd.DataFrame:
    f = _first(b, by, unit)
    f = f[_in_weeks(b, f.wk)][["group", "u", "wk"]].rename(columns={"wk": "cohort"})
    size = f.groupby(["group", "cohort"]).size().rename("n").reset_index()
    act = _active(b, by, unit)
    m = f.merge(act, on=["group", "u"])
    m = m[(m.wk >= m.cohort) & (m.wk <= b.weeks[-1])]
    m["offset"] = (m.wk - m.cohort) // 7
    back = m.groupby(["group", "cohort", "offset"]).size().rename("k").reset_index()
    offsets = size.assign(k=0).merge(pd.DataFrame({"offset": np.arange(len(b.weeks))}), how="cross")
    grid = offsets[offsets.cohort + 7 * offsets.offset <= b.weeks[-1]][["group", "cohort", "offset"]].merge(size)
    g = grid.merge(back, on=["group", "cohort", "offset"], how="left").fillna({"k": 0})
    g["value"] = g.k / g.n
    return g.assign(wk=g.cohort, cohort=_iso(g.cohort))[["wk", "group", "cohort", "offset", "value", "n"]]


STATES = ("new", "returning", "resurrecting", "dormant")


def lifecycle(b: Bench, by: str | None, unit: str = "team") -> pd.DataFrame:
    act = _active(b, by, unit)
    first = _first(b, by, unit)[["group", "u", "wk"]].rename(columns={"wk": "first"})
    now = act.merge(act.assign(wk=act.wk + 7, prev=1), on=["wk", "group", "u"], how="left").merge(first)
    now["state"] = np.where(now["first"] == now.wk, "new", np.where(now.prev.notna(), "returning", "resurrecting"))
    gone = act.assign(wk=act.wk + 7).merge(act.assign(now=1), on=["wk", "group", "u"], how="left")
    gone = gone[gone.now.isna()].assign(state="dormant")
    x = pd.concat([now[["wk", "group", "state"]], gone[["wk", "group", "state"]]])
    g = x.groupby(["wk", "group", "state"]).size().rename("n").reset_index()
    g["value"] = np.where(g.state == "dormant", -g.n, g.n)
    return g[_in_weeks(b, g.wk)]


def funnel(b: Bench, by: str | None, unit: str = "team") -> pd.DataFrame:
    f = _first(b, by, unit)
    f = f[(f.ts >= _us(b.since)) & (f.ts < _us(b.until))].rename(columns={"ts": "t0"})
    window = b.get("funnel_window_s", 30 * 86_400) * US_PER_S
    a = activity(b)
    steps = [("first_activity", None), ("activation", _activation_mask(b))]
    steps.append(("value", a.action.isin(b.get("value_actions", ["deploy"]))))
    rows = []
    alive = pd.Series(True, index=f.index)
    prev_t = f.t0
    for i, (name, mask) in enumerate(steps):
        if mask is not None:
            t = _first_event(b, by, unit, mask, f.assign(t0=prev_t))
            alive = alive & (t <= f.t0 + window)
            prev_t = t
        g = f.assign(ok=alive.astype(float)).groupby(["wk", "group"]).agg(value=("ok", "mean"), n=("ok", "size"))
        rows.append(g.reset_index().assign(step=name, step_index=i))
    return pd.concat(rows)


# -- support -----------------------------------------------------------------------------------------------


def _replies(b: Bench) -> pd.DataFrame:
    m = b.frames["support_messages"]
    root_author = m.set_index("id")["author"]
    r = m[m.thread_id.notna() & (m.thread_id != m.id)].copy()
    r["root_author"] = r.thread_id.map(root_author)
    return r[~r.is_bot.astype(bool) & (r.author != r.root_author)]


def support_ratio(b: Bench, by: str | None) -> pd.DataFrame:
    r = _replies(b)
    r = r[_in(b, r.ts)]
    people = b.frames["people"].set_index("id")
    owner = r.author.map(people.role).eq("platform_owner")
    x = pd.DataFrame({"wk": _week(r.ts), "group": NULL, "user": (~owner).astype(float), "a": r.author})
    if by == "team":
        x["group"] = r.author.map(people.team).fillna(NULL).to_numpy()
    return (
        x.groupby(["wk", "group"])
        .agg(value=("user", "mean"), n=("user", "size"), people=("a", "nunique"))
        .reset_index()
    )


def time_to_first_answer(b: Bench, by: str | None) -> pd.DataFrame:
    m = b.frames["support_messages"]
    roots = m[(m.thread_id.isna() | (m.thread_id == m.id)) & _in(b, m.ts) & ~m.is_bot.astype(bool)]
    r = _replies(b)
    r = r[r.ts < _us(b.until)]
    first = r.groupby("thread_id").ts.min()
    x = pd.DataFrame({"wk": _week(roots.ts), "group": NULL, "a": roots.author})
    x["dt"] = ((roots.id.map(first) - roots.ts) / US_PER_S).to_numpy()
    if by == "team":
        x["group"] = roots.author.map(b.frames["people"].set_index("id").team).fillna(NULL).to_numpy()
    g = x.groupby(["wk", "group"]).agg(
        value=("dt", "median"), n=("dt", "count"), all=("dt", "size"), people=("a", "nunique")
    )
    return g.assign(unanswered=g["all"] - g.n).drop(columns="all").reset_index()


# -- satisfaction --------------------------------------------------------------------------------------------------

SCALES = {"nps": (0, 10), "likert5": (1, 5), "likert7": (1, 7)}
SPACE = ("activity", "communication", "efficiency", "performance", "satisfaction")


def _responses(b: Bench, by: str | None) -> pd.DataFrame:
    r = b.frames["survey_responses"]
    r = r[_in(b, r.ts)].copy()
    pteam = b.frames["people"].set_index("id")["team"]
    r["team"] = r.team.astype(object).fillna(r.respondent.astype(object).map(pteam))
    return _by_week(r, r.ts, by)


def nps(b: Bench, by: str | None) -> pd.DataFrame:
    r = _responses(b, by)
    r = r[r.scale == "nps"]
    r = r.assign(s=np.where(r.score >= 9, 100.0, np.where(r.score <= 6, -100.0, 0.0)))
    return (
        r.groupby(["wk", "group"])
        .agg(value=("s", "mean"), n=("s", "size"), people=("respondent", "nunique"))
        .reset_index()
    )


def space_score(b: Bench, by: str | None) -> pd.DataFrame:
    r = _responses(b, by)
    r = r[r.dimension.notna()]
    lo = r.scale.map({k: v[0] for k, v in SCALES.items()}).astype(float)
    hi = r.scale.map({k: v[1] for k, v in SCALES.items()}).astype(float)
    r = r.assign(s=(r.score - lo) / (hi - lo))
    keys = ["wk", "group", "dimension"]
    return r.groupby(keys).agg(value=("s", "mean"), n=("s", "size"), people=("respondent", "nunique")).reset_index()


def survey_response_rate(b: Bench, by: str | None) -> pd.DataFrame:
    r = _responses(b, by)
    resp = r.groupby(["wk", "group"]).respondent.nunique().rename("people")
    weeks = pd.DataFrame({"wk": sorted(r.wk.unique())})
    people = b.frames["people"]
    p = pd.DataFrame({"group": _grp(people, by).to_numpy(), "joined": _days(people.joined_at)})
    p.loc[people.joined_at.isna().to_numpy(), "joined"] = np.iinfo(np.int64).min
    roster = weeks.merge(p, how="cross")
    roster = roster[roster.joined <= roster.wk + 6].groupby(["wk", "group"]).size().rename("n")
    g = pd.concat([roster, resp], axis=1).fillna(0).reset_index()
    return g.assign(value=(g.people / g.n).where(g.n > 0))
