"""Stage `endpoint.cleanup`: after a decision, delete what nothing needs (cost and quota).

- the run's own endpoint, endpoint config and model: they existed only to be evaluated (the live
  endpoint serves a model of its own per version, naming the version);
- the live endpoint's config and model of every registered version of the dataset beyond the
  live one, the one being moved onto the live endpoint, those awaiting approval and the
  `keep_versions` newest approved ones (rollback targets stay one UpdateEndpoint away; an older
  one, or one awaiting approval, is deployed again from the registry);
- the endpoints of the dataset's runs that failed after deploying.

Nothing the champion pointer names is ever deleted; every delete of what is already gone counts as
done, so clean-up is safe to repeat and safe after a crash half-way. It ends the run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from handlers.deps import Ctx
from handlers.lifecycle.champions import Pointer
from handlers.lifecycle.registry import PENDING, Version
from handlers.lifecycle.standing import SERVED, replaced_by
from handlers.messages import EndpointCleanup
from handlers.report import publish as report
from handlers.runs import manifest
from handlers.stages import order
from service.messages import Outgoing

STAGE = order.CLEANUP
_RUN_ENDPOINT = re.compile(r"-(\d{8}-[0-9a-f]{10})-ep$")


def handle(msg: EndpointCleanup, ctx: Ctx) -> list[Outgoing]:
    deps = ctx.deps
    with deps.runs.stage(msg, STAGE, ctx) as record:
        keep_versions = deps.runs.facts(msg.run_id).recipe.load().promotion.keep_versions
        pointer = deps.champions.read(msg.dataset)
        group = deps.dataset_names(msg.dataset).model_package_group
        versions = deps.registry.versions(group)
        kept = kept_runs(pointer, versions, keep_versions)
        in_use = served_names(pointer) | _live_endpoint_uses(ctx, msg.dataset)
        deleted = _delete_run(ctx, msg.dataset, msg.run_id, kept=msg.run_id in kept, in_use=in_use)
        for version in versions:
            if version.run_id not in kept and version.run_id != msg.run_id:
                # Read again: an operator's approve or rollback may have begun meanwhile, and
                # its transition creates the live names of an old version.
                if deps.champions.read(msg.dataset).transition is not None:
                    break
                deleted += _delete_run(ctx, msg.dataset, version.run_id, kept=False, in_use=in_use)
        deleted += _delete_failed_runs_endpoints(ctx, msg.dataset)
        record.stats = {"deleted": deleted, "kept_runs": sorted(kept)}
        # After the deletes (a report that cannot be written must not keep endpoints running),
        # before the run ends (a run that ended has its report).
        written = report.publish(ctx, msg.run_id)
        record.artifacts.update({Path(key).name: deps.buckets.reports.uri(key) for key in written})
        _republish_replaced(ctx, msg, pointer)
    document = deps.runs.load(msg.run_id) or {}
    deps.runs.update(msg, _finished(document.get("decision")))
    ctx.log.info("cleanup.done", run_id=msg.run_id, dataset=msg.dataset, deleted=len(deleted))
    return []


def _republish_replaced(ctx: Ctx, msg: EndpointCleanup, pointer: Pointer) -> None:
    """When this run's decision moved the live endpoint, the page of the run it replaced says
    so too (`replaced`, `rolled back from`). That page is not this run's to finish: a failure
    to render it is logged, and the run ends all the same."""
    summary = (ctx.deps.runs.load(msg.run_id) or {}).get("decision")
    if summary is None or summary.get("decision") not in SERVED:
        return
    previous = replaced_by(pointer, msg.run_id)
    if previous is None or previous == msg.run_id:
        return
    try:
        report.publish(ctx, previous)
    except Exception as failure:
        ctx.log.warning("report.republish_failed", run_id=previous, error=repr(failure))


def kept_runs(pointer: Pointer, versions: list[Version], keep_versions: int) -> set[str]:
    """The runs whose model and endpoint config stay."""
    kept = {v.run_id for v in versions if v.status == PENDING}
    approved = [v for v in versions if v.status == "Approved"]
    kept |= {v.run_id for v in sorted(approved, key=lambda v: v.number)[-keep_versions:]}
    if pointer.champion is not None:
        kept.add(pointer.champion.run_id)
    if pointer.transition is not None:
        kept.add(pointer.transition.target.run_id)
        if pointer.transition.previous is not None:
            kept.add(pointer.transition.previous.run_id)
    return kept


def served_names(pointer: Pointer) -> set[str]:
    """The models and endpoint configs the pointer names (the live endpoint's, and a
    transition's two ends): never deleted, whatever their names."""
    served = [pointer.champion]
    if pointer.transition is not None:
        served += [pointer.transition.target, pointer.transition.previous]
    return {name for s in served if s is not None for name in (s.model, s.endpoint_config)}


def _live_endpoint_uses(ctx: Ctx, dataset: str) -> set[str]:
    """The config the live endpoint uses as SageMaker says, and its models (an update the
    pointer gave up on may still have gone through)."""
    described = ctx.deps.sagemaker.endpoint(ctx.deps.dataset_names(dataset).live_endpoint)
    if described is None:
        return set()
    config = str(described["EndpointConfigName"])
    return {config, *ctx.deps.sagemaker.config_models(config)}


def _delete_run(ctx: Ctx, dataset: str, run_id: str, *, kept: bool, in_use: set[str]) -> list[str]:
    """The run's endpoint, endpoint config and model (evaluation done, the live endpoint serves
    its own model of the version), and unless the run is `kept` the live endpoint's config and
    model of it too: what was deleted, in that order (configs before the models they name)."""
    gateway = ctx.deps.sagemaker
    names = ctx.deps.names(dataset, run_id)
    deleted = [names.endpoint] if gateway.delete_endpoint(names.endpoint) else []
    configs = [names.endpoint_config] + ([] if kept else [names.live_endpoint_config])
    models = [names.model] + ([] if kept else [names.live_model])
    for config in configs:
        if config not in in_use and gateway.delete_endpoint_config(config):
            deleted.append(config)
    for model in models:
        if model not in in_use and gateway.delete_model(model):
            deleted.append(model)
    return deleted


def _delete_failed_runs_endpoints(ctx: Ctx, dataset: str) -> list[str]:
    """Endpoints of this dataset's runs that failed after deploying (e.g. at evaluation):
    the run's manifest, not the name, says whose run it is."""
    deleted = []
    prefix = ctx.deps.dataset_names(dataset).run_name_prefix
    for name in ctx.deps.sagemaker.endpoint_names(prefix):
        match = _RUN_ENDPOINT.search(name)
        if match is None or name != ctx.deps.names(dataset, match.group(1)).endpoint:
            continue
        document = ctx.deps.runs.load(match.group(1)) or {}
        failed = document.get("dataset") == dataset and document.get("status") == "failed"
        if failed and ctx.deps.sagemaker.delete_endpoint(name):
            deleted.append(name)
    return deleted


def _finished(decision: manifest.DecisionSummary | None) -> Callable[[manifest.Manifest], None]:
    """The run ends with its decision: a promotion that failed fails the run, with the reason."""
    failed = decision is not None and decision.get("decision") == "promotion-failed"
    finish = manifest.run_finished("failed" if failed else "succeeded")

    def change(document: manifest.Document) -> None:
        if document["status"] != "running":
            return  # an operator's approve or rollback cleans up after a run long ended
        finish(document)
        if failed:
            document["error"] = decision.get("reason") if decision else None
            document["failed_stage"] = "promote"

    return change
