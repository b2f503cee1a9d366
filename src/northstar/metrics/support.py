"""Community support metrics (DESIGN.md §3, "Adoption"): are users helping users, and how fast are they answered?

A support thread is a root message (`thread_id` empty or equal to its own `id`) and its replies (`thread_id` =
the root's id). Bots (`is_bot`) never count as repliers, and a thread's own author replying to it is not an
answer. Roles and teams come from `people`; an author missing from `people` has no team and is not a
platform owner.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from northstar.metrics.catalog import metric
from northstar.metrics.context import Context, once


@once
def roots(ctx: Context) -> ir.Table:
    """Thread roots: messages without a thread id or whose thread id is their own id."""
    m = ctx.table("support_messages")
    return m.filter(m.thread_id.isnull() | (m.thread_id == "") | (m.thread_id == m.id))


@once
def replies(ctx: Context) -> ir.Table:
    """Replies by people (bots excluded), with `root_author` and `root_ts` (null when the root is not stored)."""
    m = ctx.table("support_messages")
    is_reply = m.thread_id.notnull() & (m.thread_id != "") & (m.thread_id != m.id)
    r = m.filter(is_reply & ~m.is_bot.fill_null(False))
    rt = roots(ctx).select(_rid="id", root_author="author", root_ts="ts")
    j = r.left_join(rt, r.thread_id == rt._rid)
    return j.drop("_rid")


def with_person(ctx: Context, t: ir.Table, col: str) -> ir.Table:
    """`t` with the `team` and `role` of the person in column `col` (null when not in `people`)."""
    p = ctx.table("people").select(_pid="id", team="team", role="role")
    j = t.left_join(p, t[col] == p._pid)
    return j.drop("_pid")


@metric(
    category="adoption",
    question="Are users helping users?",
    unit="ratio",
    direction="higher_is_better",
    kind="input",
    layer=4,
    default_unit_of_analysis="user",
    influence="partial",
    dims=("team",),
    people_based=True,
)
def support_ratio(ctx: Context) -> ir.Table:
    """Share of support-thread replies in the period (n) written by people who are not platform owners;
    replies by bots and by the thread's own author are left out; an author missing from `people` is not a
    platform owner; a reply whose root is not stored counts (with a data warning). By the replier's team."""
    r = ctx.in_window(replies(ctx), "ts")
    ctx.check(
        r.filter(r.root_author.isnull()).count(),
        "{n} replies belong to threads whose root message is not in the store: they count, "
        "but a reply by the thread's own author cannot be recognised",
    )
    r = r.filter(r.root_author.isnull() | (r.author != r.root_author))
    r = with_person(ctx, r, "author")
    r = r.mutate(
        period_start=ctx.bucket(r.ts),
        group=ctx.group(r),
        helper=ibis.ifelse(r.role.fill_null("") == "platform_owner", 0, 1),
    )
    g = r.group_by(["period_start", "group"]).aggregate(
        helpers=r.helper.sum(), replies=r.count(), people=r.author.nunique()
    )
    return g.select(
        "period_start",
        "group",
        value=g.helpers.cast("float64") / g.replies.cast("float64"),
        n=g.replies.cast("int64"),
        people=g.people.cast("int64"),
    )


@metric(
    category="adoption",
    question="How long does a question in the support channel wait for its first answer?",
    unit="seconds",
    direction="lower_is_better",
    kind="input",
    layer=4,
    default_unit_of_analysis="user",
    influence="partial",
    dims=("team",),
    people_based=True,
    extra=("unanswered",),
)
def time_to_first_answer(ctx: Context) -> ir.Table:
    """Median seconds from a support thread's root (posted in the period, not by a bot) to its first reply by
    someone other than its author (bots excluded; replies after --until are not seen); n = answered threads,
    `unanswered` = threads without such a reply (left out of the median). By the asker's team."""
    q = ctx.in_window(roots(ctx), "ts")
    q = q.filter(~q.is_bot.fill_null(False))
    r = ctx.before_end(replies(ctx), "ts")
    # a reply stamped before its root (clock skew between exports) cannot be its answer
    r = r.filter(r.root_author.notnull() & (r.author != r.root_author) & (r.ts >= r.root_ts))
    first = r.group_by(_qid="thread_id").aggregate(answered_at=r.ts.min())
    j = q.left_join(first, q.id == first._qid).drop("_qid")
    j = with_person(ctx, j, "author")
    wait = (j.answered_at.epoch_seconds() - j.ts.epoch_seconds()).cast("float64")
    j = j.mutate(period_start=ctx.bucket(j.ts), group=ctx.group(j), wait=wait)
    g = j.group_by(["period_start", "group"]).aggregate(
        value=j.wait.median(),
        n=j.wait.count(),
        unanswered=j.id.count(where=j.answered_at.isnull()),
        people=j.author.nunique(),
    )
    # the runner suppresses small groups, `unanswered` included (a non-identity extra counts as data)
    return g.select(
        "period_start",
        "group",
        value=g.value.cast("float64"),
        n=g.n.cast("int64"),
        unanswered=g.unanswered.cast("int64"),
        people=g.people.cast("int64"),
    )
