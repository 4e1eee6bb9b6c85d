"""Reads run manifests for people: `automlops status [RUN_ID]`.

A run's stages are shown in the order the caller gives (the stages' own table,
`handlers/stages/order.py`, which this layer does not import)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from handlers.naming import RUNS_PREFIX
from handlers.runs.manifest import Manifest, StageEntry, stage_of
from handlers.runs.repository import RunRepository


def list_runs(runs: RunRepository, limit: int = 20) -> list[Manifest]:
    """The newest runs first, by when each was created, with status and current stage."""
    bucket = runs.bucket
    run_ids: list[str] = []
    paginator = bucket.s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket.name, Prefix=RUNS_PREFIX, Delimiter="/"):
        run_ids += [p["Prefix"].split("/")[1] for p in page.get("CommonPrefixes", [])]
    documents = [d for d in map(runs.load, candidates(run_ids, limit)) if d is not None]
    return newest_first(documents)[:limit]


def candidates(run_ids: list[str], limit: int) -> list[str]:
    """The runs of the newest days, whole days until there are `limit`: a run id starts with
    its day, but its order within the day is a digest's, so the day is read whole."""
    chosen: list[str] = []
    for run_id in sorted(run_ids, reverse=True):
        if len(chosen) >= limit and run_id[:8] != chosen[-1][:8]:
            break
        chosen.append(run_id)
    return chosen


def newest_first(documents: list[Manifest]) -> list[Manifest]:
    return sorted(documents, key=lambda d: (d.get("created_at") or "", d["run_id"]), reverse=True)


def describe_run(
    document: Manifest,
    stages: Sequence[str],
    *,
    artifacts: bool = True,
    now: Callable[[Manifest], str] | None = None,
) -> str:
    """The run as `automlops status RUN` prints it; without `artifacts` no S3 address of what
    its stages wrote (the demo: its stack is gone when the person reads them)."""
    lines = [
        f"run       {document['run_id']}",
        f"status    {document.get('status')}",
        f"dataset   {document.get('dataset', '?')}",
    ]
    source = document.get("source")
    if source:
        lines.append(f"source    s3://{source['bucket']}/{source['key']}")
    if document.get("error"):
        lines.append(f"error     {document['error']}")
    decision = document.get("decision")
    if decision and now is not None:
        lines.append(f"now       {now(document)}")
    if decision:
        lines.append(
            f"decision  {decision.get('decision')} (version {decision.get('version')}; live: "
            f"version {decision.get('live_version') or 'none'}): {decision.get('reason')}"
        )
    drift = stage_of(document, "train").get("stats", {}).get("drift")
    if drift:
        verdict = (
            f"drifted ({', '.join(drift['drifted_features'])})" if drift["drifted"] else "stable"
        )
        lines.append(
            f"drift     {verdict}: largest PSI {drift['max_psi']:.3f} against version "
            f"{drift['against']['version']} (threshold {drift['threshold']:g})"
        )
    lines.append("")
    lines.append(f"{'stage':<11}{'outcome':<10}{'tries':<7}{'started':<31}ended")
    for name, entry in in_stage_order(document.get("stages", {}), stages):
        lines.append(
            f"{name:<11}{entry.get('outcome', ''):<10}{entry.get('attempts', 0)!s:<7}"
            f"{entry.get('started_at', ''):<31}{entry.get('ended_at', '')}"
        )
        if entry.get("error"):
            lines.append(f"{'':<11}! {entry['error']}")
        for key, value in entry.get("artifacts", {}).items() if artifacts else ():
            lines.append(f"{'':<11}{key}: {value}")
    return "\n".join(lines)


def describe_runs(documents: list[Manifest], now: Callable[[Manifest], str] | None = None) -> str:
    """The runs, one line each; `now` says where each stands (else its last decision)."""
    if not documents:
        return "no runs yet"
    lines = [f"{'run':<21}{'created (UTC)':<18}{'status':<11}{'stage':<12}{'now':<30}dataset"]
    for d in documents:
        stage = d.get("current_stage") or d.get("failed_stage") or "-"
        created = (d.get("created_at") or "-")[:16].replace("T", " ")
        summary = d.get("decision")
        decision = (summary.get("decision") if summary else None) or "-"
        shown = now(d) if now is not None else decision
        lines.append(
            f"{d['run_id']:<21}{created:<18}{d.get('status', ''):<11}{stage:<12}{shown:<30}"
            f"{d.get('dataset', '?')}"
        )
    return "\n".join(lines)


def in_stage_order(
    entries: dict[str, StageEntry], order: Sequence[str]
) -> list[tuple[str, StageEntry]]:
    rank = {name: i for i, name in enumerate(order)}
    return sorted(entries.items(), key=lambda item: rank.get(item[0], len(rank)))
