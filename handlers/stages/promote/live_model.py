"""The model the live endpoint serves of a version.

A run's own endpoint serves its bundle before the version exists (the registry numbers it after
the evaluation). The live endpoint serves the same bundle as a second model of the run whose
environment names the version, so every answer says which version gave it. It is created when
a transition towards the version begins (`live.ensure_deployable`), from the registry's record.
"""

from __future__ import annotations

from dataclasses import replace

from handlers.lifecycle.champions import Served
from handlers.lifecycle.registry import Container, Version
from handlers.naming import SageMakerNames
from handlers.serving.entry import VERSION_VARIABLE


def live_served(version: Version, names: SageMakerNames) -> Served:
    return Served(
        version.number, version.run_id, version.arn, names.live_model, names.live_endpoint_config
    )


def naming_its_version(container: Container, version: int) -> Container:
    """The registered container, its environment naming the version."""
    return replace(container, environment={**container.environment, VERSION_VARIABLE: str(version)})
