"""Moves a dataset's live endpoint to the version a transition names, and says how it went.

The first promotion creates `<p>-<dataset>-live`; later ones `UpdateEndpoint` it to the target's
endpoint config, and SageMaker shifts traffic with no downtime (the old model answers until the
new one is InService). A failed update leaves the old model serving with a FailureReason; a failed
first creation leaves a Failed endpoint, deleted here so the next promotion can create it again.

Each step is safe to repeat: a redelivered promotion reads the transition from the pointer
(`update_sent` says whether UpdateEndpoint went out) and looks at the endpoint before acting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from handlers.aws.endpoint_wait import SETTLING
from handlers.aws.sagemaker import SageMakerGateway, tags
from handlers.lifecycle.champions import Served, Transition
from handlers.lifecycle.registry import Container
from service.failures import PermanentError

if TYPE_CHECKING:
    from collections.abc import Callable

VARIANT = "AllTraffic"


@dataclass(frozen=True)
class Switched:
    """How a transition ended: `served` True when the live endpoint now serves the target."""

    served: bool
    reason: str = ""


def ensure_deployable(
    gateway: SageMakerGateway, target: Served, dataset: str, container: Callable[[], Container]
) -> None:
    """The target's model and endpoint config, made again if clean-up deleted them (an older
    version being rolled back to); `container` is asked only then (from the registry)."""
    run_tags = tags(run_id=target.run_id, dataset=dataset)
    if not gateway.has_model(target.model):
        found = container()
        gateway.ensure_model(target.model, found.model_data_url, run_tags, found.environment)
    gateway.ensure_serverless_config(target.endpoint_config, target.model, VARIANT, run_tags)


def send(gateway: SageMakerGateway, live: str, transition: Transition, dataset: str) -> bool:
    """Create or update the live endpoint towards the target, unless it is already there.
    False when there was nothing to send (the endpoint already uses the target's config)."""
    config = transition.target.endpoint_config
    described = gateway.endpoint(live)
    if described is None:
        return gateway.ensure_endpoint(live, config, tags(dataset=dataset, role="live"))
    if described["EndpointConfigName"] == config:
        return False
    if described["EndpointStatus"] in SETTLING:
        gateway.wait_in_service(live)  # someone else's change first (RetryableError past the bound)
    gateway.update_endpoint(live, config)
    return True


def outcome(gateway: SageMakerGateway, live: str, transition: Transition) -> Switched:
    """Wait (bounded) for the live endpoint to settle, then: does it serve the target?"""
    try:
        gateway.wait_in_service(live)
    except PermanentError as failed:  # a first creation that failed
        gateway.delete_endpoint(live)
        return Switched(False, failed.reason)
    described = gateway.endpoint(live) or {}
    if described.get("EndpointConfigName") == transition.target.endpoint_config:
        return Switched(True)
    reason = described.get("FailureReason") or (
        f"{live} still uses {described.get('EndpointConfigName')} after the update"
    )
    return Switched(
        False, f"updating {live} to version {transition.target.version} failed: {reason}"
    )
