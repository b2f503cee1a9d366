"""`northstar demo`: simulate an organisation, ingest it, measure it and print the scorecard."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from northstar.cli import app
from northstar.cli._common import Format, FormatOption, console, err_console, fail, print_rows, to_json


def _write_errors() -> tuple[type[Exception], ...]:
    """What writing the demo can fail with that is the user's to fix (a path, a locked store)."""
    try:
        from northstar.store import StoreError
    except ImportError:
        return (OSError,)
    return (OSError, StoreError)


@app.command()
def demo(
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="Random seed: the same seed gives the same organisation.")
    ] = 7,
    out: Annotated[
        Path, typer.Option("--out", help="Directory for the store, northstar.yaml and ground-truth.json.")
    ] = Path("northstar-demo"),
    fmt: FormatOption = Format.table,
) -> None:
    """Simulate a year of a mid-size organisation's ML platform, ingest it and print its scorecard.

    About 40 teams and 400 people use ten components across the five stack layers (GPUs and object
    storage up to a golden path launched mid-year); they ship code and model changes, roll some back,
    have incidents, answer quarterly NPS and SPACE surveys and help each other in a support channel.
    Data runs through 2026-10-31 and is deterministic for a seed.

    Writes `OUT/northstar.duckdb` (a fresh store: an existing demo store there is replaced),
    `OUT/northstar.yaml` (the organisation's config: inventory, SLOs, North Star, KPIs, OKRs) and
    `OUT/ground-truth.json` (the effects it planted, e.g. the golden path cutting lead time by 40%).
    Ends by writing `OUT/northstar-report.html`, the poster and its detail pages (`northstar report`).

    Example: `northstar demo --out /tmp/acme && northstar metrics --db /tmp/acme/northstar.duckdb
    --config /tmp/acme/northstar.yaml`
    """
    from northstar.demo import generate, headline, metric_scorecard, write_demo

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=fmt is not Format.table,
    )
    with progress:
        t0 = time.perf_counter()
        task = progress.add_task(f"generate: a year of a simulated organisation (seed {seed})", total=1)
        data = generate(seed)
        progress.update(task, completed=1)
        t1 = time.perf_counter()
        task = progress.add_task(f"ingest: {sum(data.counts.values()):,} records into {out / 'northstar.duckdb'}")
        try:
            result = write_demo(data, out)
        except _write_errors() as exc:
            progress.stop()
            fail(f"cannot write the demo under {out}: {exc}")
        progress.update(task, total=1, completed=1)
        t2 = time.perf_counter()
        task = progress.add_task("measure: the scorecard")
        rows = metric_scorecard(result)
        progress.update(task, total=1, completed=1)
        t3 = time.perf_counter()
        from northstar.report import DEFAULT_NAME, write_store_report

        report_path = out / DEFAULT_NAME
        task = progress.add_task(f"report: the poster and its pages, {report_path}")
        write_store_report(result.db_path, result.config_path, report_path)
        progress.update(task, total=1, completed=1)
        t4 = time.perf_counter()
    seconds = {"generate": t1 - t0, "ingest": t2 - t1, "measure": t3 - t2, "report": t4 - t3}

    planted = headline(result.ground_truth)
    counts = [{"kind": k, "records": n} for k, n in result.counts.items()]
    next_steps = [
        f"northstar metrics --db {result.db_path} --config {result.config_path}",
        f"northstar metrics --db {result.db_path} --config {result.config_path} --category delivery --period month",
        "northstar catalog",
    ]
    if fmt is Format.json:
        payload: dict[str, Any] = {
            "seed": seed,
            "store": result.db_path,
            "config": result.config_path,
            "ground_truth": result.ground_truth_path,
            "report": report_path,
            "counts": result.counts,
            "planted": planted,
            "scorecard": rows,
            "seconds": {k: round(v, 3) for k, v in seconds.items()},
            "next": next_steps,
        }
        sys.stdout.write(to_json(payload) + "\n")
        return
    if fmt is Format.csv:
        print_rows(rows if rows is not None else counts, fmt)
        return
    if rows is not None:
        from northstar.report.fmt import fmt_value

        shown = [
            {
                "part": r["section"],
                "metric": r["metric"],
                "month": (r["period_start"] or "")[:7],
                "value": fmt_value(r["value"], r["unit"]),
                "month before": fmt_value(r["previous"], r["unit"]),
                "better": "↑" if r["better"] == "higher" else "↓",
            }
            for r in rows
        ]
        print_rows(shown, fmt, title="Scorecard (last complete month; --format json for exact values)")
    else:
        print_rows(counts, fmt, title="Records", columns=["kind", "records"])
    print_rows(planted, fmt, title="Planted effects (ground-truth.json)", columns=["finding", "planted", "in the data"])
    console.print(f"store         {result.db_path}", highlight=False)
    console.print(f"config        {result.config_path}", highlight=False)
    console.print(f"ground truth  {result.ground_truth_path}", highlight=False)
    console.print(f"took          {sum(seconds.values()):.1f} s", highlight=False)
    console.print("\nnext:", highlight=False)
    for line in next_steps:
        console.print(f"  {line}", highlight=False, soft_wrap=True)
    console.print(
        f"\nreport: {report_path.resolve()}  (the poster: open it in a browser)", highlight=False, soft_wrap=True
    )
