"""A run's report pages, published after each decision about it (by `handlers/stages/cleanup.py`).

Writes `runs/<run_id>/evaluation/report.html` and `report.md` (the same content as text), then
the run's row of the runs index and `reports/index.html`. Returns the keys written.
"""

from __future__ import annotations

import time

from handlers.deps import Ctx
from handlers.naming import INDEX_PAGE_KEY, RunPaths
from handlers.report import index as runs_index
from handlers.report import page as report_page
from handlers.report import sources as report_sources


def publish(ctx: Ctx, run_id: str) -> list[str]:
    started = time.perf_counter()
    sources = report_sources.gather(ctx, run_id)
    if sources is None:  # never evaluated: nothing to show
        return []
    gathered = time.perf_counter()
    reports = ctx.deps.buckets.reports
    paths = RunPaths(run_id)
    html, markdown = report_page.render(sources)
    reports.put_bytes(paths.html_report, html.encode(), "text/html; charset=utf-8")
    reports.put_bytes(paths.evaluation["report"], markdown.encode(), "text/markdown")
    pointer = ctx.deps.champions.read(sources.dataset)
    document = runs_index.record(reports, sources.dataset, runs_index.row_of(sources), pointer)
    runs_index.publish(reports, document)
    ctx.log.info(
        "report.published",
        run_id=run_id,
        gather_ms=round((gathered - started) * 1000, 1),
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
        unavailable=sorted(sources.unavailable),
    )
    return [paths.html_report, paths.evaluation["report"], INDEX_PAGE_KEY]
