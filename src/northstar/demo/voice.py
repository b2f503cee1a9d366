"""The users' voice: quarterly NPS + SPACE surveys and the support channel.

NPS is planted exactly: each survey's promoter and detractor counts are fixed from the planted score, so
the measured NPS equals `NPS_PLANTED` up to rounding to whole respondents. In the support channel the
share of answers written by users (not platform owners) rises linearly from `USER_ANSWER_SHARE[0]` to
`USER_ANSWER_SHARE[1]` over the period: users help users more as the platform matures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from northstar.demo._common import DAY, HOUR, MINUTE, Calendar, build_table, lognormal
from northstar.demo.org import Org

__all__ = ["NPS_PLANTED", "SPACE_QUESTIONS", "SUPPORT_CHANNEL", "USER_ANSWER_SHARE", "Voice", "simulate_voice"]

NPS_PLANTED: tuple[float, ...] = (-12.0, 3.0, 16.0, 30.0)
"""Planted NPS of the four quarterly surveys, in order: improving all year."""
SURVEY_DAYS: tuple[float, ...] = (30 / 365, 121 / 365, 212 / 365, 303 / 365)
SURVEY_WINDOW_DAYS = 10
SPACE_QUESTIONS: tuple[tuple[str, str, float], ...] = (
    ("space-satisfaction", "satisfaction", 3.0),
    ("space-performance", "performance", 2.9),
    ("space-activity", "activity", 3.2),
    ("space-communication", "communication", 3.4),
    ("space-efficiency", "efficiency", 2.6),
)
"""(question id, SPACE dimension, planted mean on likert5 at the first survey); +0.2 per survey."""
SPACE_STEP = 0.2
SUPPORT_CHANNEL = "ml-platform-help"
BOT = "platform-bot"
USER_ANSWER_SHARE = (0.15, 0.7)


@dataclass(frozen=True)
class Voice:
    surveys: pa.Table
    support: pa.Table
    survey_info: list[dict[str, Any]]


def _nps_scores(rng: np.random.Generator, n: int, nps: float) -> np.ndarray[Any, Any]:
    """`n` scores 0–10 whose NPS is `nps` (to the nearest respondent), with 30% passives."""
    promoters = round(n * (0.7 + nps / 100) / 2)
    detractors = round(n * (0.7 - nps / 100) / 2)
    passives = n - promoters - detractors
    scores = np.concatenate(
        [
            rng.choice([9, 10], promoters, p=[0.55, 0.45]),
            rng.choice([7, 8], passives),
            rng.choice(np.arange(7), detractors, p=[0.03, 0.04, 0.08, 0.1, 0.15, 0.25, 0.35]),
        ]
    )
    return rng.permutation(scores).astype(np.float64)


def _likert(rng: np.random.Generator, mean: float, n: int) -> np.ndarray[Any, Any]:
    return np.clip(np.round(rng.normal(mean, 0.9, n)), 1, 5).astype(np.float64)


def _surveys(rng: np.random.Generator, cal: Calendar, org: Org) -> tuple[pa.Table, list[dict[str, Any]]]:
    people = np.array(org.person_ids, dtype=object)
    teams = np.array(org.team_ids, dtype=object)[org.person_team]
    users = org.person_team != 0
    cols: dict[str, list[Any]] = {k: [] for k in ("ts", "survey", "question", "score", "scale", "resp", "dim")}
    info: list[dict[str, Any]] = []
    for i, (frac, nps) in enumerate(zip(SURVEY_DAYS, NPS_PLANTED, strict=True)):
        opened = round(frac * cal.days) * DAY
        pool = np.flatnonzero(users & (org.person_joined_day * DAY < opened))
        resp = np.sort(rng.choice(pool, round(0.35 * len(pool)), replace=False))
        n = len(resp)
        survey = f"platform-pulse-{cal.quarter(opened)}"
        ts = opened + rng.uniform(0, SURVEY_WINDOW_DAYS * DAY, n)
        scores = _nps_scores(rng, n, nps)
        realised = 100 * (int((scores >= 9).sum()) - int((scores <= 6).sum())) / n
        info.append(
            {
                "survey": survey,
                "quarter": cal.quarter(opened),
                "opened": cal.dt(opened).date().isoformat(),
                "respondents": n,
                "nps_planted": nps,
                "nps": round(realised, 4),
            }
        )
        blocks: list[tuple[str, str, str | None, np.ndarray[Any, Any]]] = [("nps", "nps", None, scores)]
        answers = rng.random(n) < 0.9  # most also answer the SPACE questions
        for qid, dimension, base in SPACE_QUESTIONS:
            blocks.append((qid, "likert5", dimension, _likert(rng, base + SPACE_STEP * i, n)))
        for qid, scale, dim, sc in blocks:
            keep = np.ones(n, dtype=bool) if scale == "nps" else answers
            cols["ts"].append(ts[keep] + rng.uniform(0, 5 * MINUTE, int(keep.sum())))
            cols["survey"].extend([survey] * int(keep.sum()))
            cols["question"].extend([qid] * int(keep.sum()))
            cols["score"].append(sc[keep])
            cols["scale"].extend([scale] * int(keep.sum()))
            cols["resp"].append(resp[keep])
            cols["dim"].extend([dim] * int(keep.sum()))
    resp_idx = np.concatenate(cols["resp"])
    n_rows = len(resp_idx)
    table = build_table(
        "survey_responses",
        n_rows,
        {
            "id": [f"srv-{i + 1:05d}" for i in range(n_rows)],
            "ts": cal.to_ts(np.concatenate(cols["ts"])),
            "survey": cols["survey"],
            "question": cols["question"],
            "score": np.concatenate(cols["score"]),
            "scale": cols["scale"],
            "respondent": people[resp_idx],
            "team": teams[resp_idx],
            "dimension": cols["dim"],
        },
    )
    return table, info


def user_answer_share(cal: Calendar, seconds: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The planted probability that an answer comes from a user rather than a platform owner."""
    lo, hi = USER_ANSWER_SHARE
    return np.asarray(lo + (hi - lo) * np.clip(seconds / cal.seconds, 0, 1), dtype=np.float64)


def _support(rng: np.random.Generator, cal: Calendar, org: Org) -> pa.Table:
    owners = np.flatnonzero(np.array(org.person_role) == "platform_owner")
    users = np.flatnonzero(org.person_team != 0)
    days = np.flatnonzero(cal.workdays())
    per_day = rng.poisson(3.0 + 3.0 * days / cal.days)
    root_t = np.repeat(days, per_day) * DAY + rng.uniform(8 * HOUR, 18 * HOUR, int(per_day.sum()))
    root_t.sort()
    n_root = len(root_t)
    root_author = rng.choice(users, n_root)
    joined = org.person_joined_day[root_author] * DAY
    root_author = np.where(joined <= root_t, root_author, rng.choice(users[org.person_joined_day[users] < 0], n_root))

    n_replies = np.where(rng.random(n_root) < 0.08, 0, 1 + rng.poisson(1.4, n_root))
    r_root = np.repeat(np.arange(n_root), n_replies)
    gaps = lognormal(rng, 35 * MINUTE, 1.0, len(r_root))
    first = np.r_[True, r_root[1:] != r_root[:-1]]
    # cumulative delay within each thread
    csum = np.cumsum(gaps)
    start_of = np.maximum.accumulate(np.where(first, np.arange(len(r_root)), 0))
    delay = csum - csum[start_of] + gaps[start_of]
    r_t = root_t[r_root] + delay
    from_user = rng.random(len(r_root)) < user_answer_share(cal, r_t)
    author = np.where(from_user, rng.choice(users, len(r_root)), rng.choice(owners, len(r_root)))
    clash = author == root_author[r_root]
    author[clash & from_user] = rng.choice(owners, int((clash & from_user).sum()))
    follow_up = ~first & (rng.random(len(r_root)) < 0.25)  # the asker answers back
    author[follow_up] = root_author[r_root[follow_up]]

    bot_threads = np.flatnonzero(rng.random(n_root) < 0.3)
    bot_t = root_t[bot_threads] + rng.uniform(5, 60, len(bot_threads))

    people = np.array(org.person_ids, dtype=object)
    times = np.concatenate([root_t, r_t, bot_t])
    thread = np.concatenate([np.arange(n_root), r_root, bot_threads])
    kind = np.concatenate([np.zeros(n_root), np.ones(len(r_root)), np.full(len(bot_threads), 2)]).astype(np.int64)
    authors = np.concatenate([people[root_author], people[author], np.full(len(bot_threads), BOT, dtype=object)])
    keep = times < cal.seconds
    times, thread, kind, authors = times[keep], thread[keep], kind[keep], authors[keep]
    order = np.lexsort((kind, times))
    n = len(order)
    ids = np.array([f"msg-{i + 1:06d}" for i in range(n)], dtype=object)
    root_id = np.empty(n_root, dtype=object)
    is_root = kind[order] == 0
    root_id[thread[order][is_root]] = ids[is_root]
    thread_id = root_id[thread[order]]
    thread_id[is_root & (rng.random(n) < 0.2)] = None  # some exports leave a root's thread id empty
    return build_table(
        "support_messages",
        n,
        {
            "id": ids,
            "ts": cal.to_ts(times[order]),
            "channel": np.full(n, SUPPORT_CHANNEL, dtype=object),
            "author": authors[order],
            "thread_id": thread_id,
            "is_bot": kind[order] == 2,
        },
    )


def simulate_voice(rng: np.random.Generator, cal: Calendar, org: Org) -> Voice:
    surveys, info = _surveys(rng, cal, org)
    return Voice(surveys=surveys, support=_support(rng, cal, org), survey_info=info)
