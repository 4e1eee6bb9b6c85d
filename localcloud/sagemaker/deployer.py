"""Brings an endpoint to InService (or Failed) in the background, as SageMaker hosting does.

After the configured delay it downloads the model data named by the config's model, loads it as
the XGBoost container would, and only then serves it. A create that cannot load its model ends
Failed with SageMaker's own FailureReason; an update that cannot ends back InService on the old
config with FailureReason set, and the old model keeps answering meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time

from localcloud.sagemaker import artifacts
from localcloud.sagemaker.faults import FaultState
from localcloud.sagemaker.models import containers
from localcloud.sagemaker.s3io import S3, S3Error
from localcloud.sagemaker.script_mode import ScriptHosts, ScriptModeFailure, is_script_mode
from localcloud.sagemaker.store import Deployment, Endpoint, Store
from localcloud.sagemaker.workers import Workers

log = logging.getLogger("localcloud.sagemaker")
DRAIN_SECONDS = 5.0


class DeployFailure(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def ping_failure(variant: str) -> DeployFailure:
    return DeployFailure(
        f"The primary container for production variant {variant} did not pass the ping health "
        "check. Please check CloudWatch logs for this endpoint."
    )


def download_failure(url: str) -> DeployFailure:
    return DeployFailure(
        f'Failed to download model data for container "container_1" from URL: "{url}". Please '
        "ensure that there is an object located at the URL and that the role passed to "
        "CreateModel has permissions to download the object."
    )


class Deployer:
    def __init__(
        self, store: Store, s3: S3, faults: FaultState, workers: Workers, hosts: ScriptHosts
    ) -> None:
        self._store = store
        self._s3 = s3
        self._faults = faults
        self._workers = workers
        self._hosts = hosts

    def start(self, endpoint: Endpoint, config_name: str) -> None:
        generation = endpoint.generation
        self._workers.spawn(
            f"deploy-{endpoint.name}", lambda: self._deploy(endpoint, config_name, generation)
        )

    def _deploy(self, endpoint: Endpoint, config_name: str, generation: int) -> None:
        if not self._workers.sleep(self._faults.current.endpoint_delay_seconds):
            return
        updating = endpoint.status == "Updating"
        try:
            deployment, failure = self._build(endpoint.name, config_name, updating), None
        except DeployFailure as error:
            deployment, failure = None, error.reason
        with self._store.lock:
            current = self._store.endpoints.find(endpoint.name) is endpoint
            if not current or endpoint.generation != generation:
                # Deleted or superseded by a later update meanwhile: what was started is stopped.
                if deployment is not None:
                    deployment.close()
                return
            replaced = _settle(endpoint, config_name, deployment, failure)
        if replaced is not None:
            # SageMaker drains the old model before it goes: requests in flight still finish.
            drain = threading.Timer(DRAIN_SECONDS, replaced.close)
            drain.daemon = True
            drain.start()
        log.info(
            "endpoint %s %s%s", endpoint.name, endpoint.status, f": {failure}" if failure else ""
        )

    def _build(self, endpoint_name: str, config_name: str, updating: bool) -> Deployment:
        with self._store.lock:
            config = self._store.endpoint_configs.find(config_name)
            variant = dict(config.request["ProductionVariants"][0]) if config else None
            model = self._store.models.find(str(variant["ModelName"])) if variant else None
            model_request = dict(model.request) if model else None
        if variant is None or model_request is None:
            raise DeployFailure(
                f"The endpoint configuration or model of {config_name} no longer exists."
            )
        variant_name = str(variant["VariantName"])
        faults = self._faults.current
        injected = faults.endpoint_failure(endpoint_name)
        if injected is None and updating:
            injected = faults.update_failure(endpoint_name)
        if injected is not None:
            raise DeployFailure(injected) if injected else ping_failure(variant_name)
        container = containers(model_request)[0]
        url = container.get("ModelDataUrl")
        if not url:
            log.warning("endpoint %s: model has no ModelDataUrl", endpoint_name)
            raise ping_failure(variant_name)
        try:
            data = self._s3.read_uri(str(url))
        except S3Error as exc:
            raise download_failure(str(url)) from exc
        environment = {str(k): str(v) for k, v in (container.get("Environment") or {}).items()}
        if is_script_mode(environment):
            try:
                host = self._hosts.start(data, environment)
            except ScriptModeFailure as exc:
                log.warning("endpoint %s: model %s does not serve: %s", endpoint_name, url, exc)
                raise ping_failure(variant_name) from exc
            return Deployment(config_name, variant, str(container.get("Image", "")), (), host)
        try:
            boosters = artifacts.load(data)
        except artifacts.ArtifactError as exc:
            # SageMaker only says the health check failed; the detail is in the container's logs.
            log.warning("endpoint %s: model %s cannot be loaded: %s", endpoint_name, url, exc)
            raise ping_failure(variant_name) from exc
        return Deployment(config_name, variant, str(container.get("Image", "")), boosters)


def _settle(
    endpoint: Endpoint, config_name: str, deployment: Deployment | None, failure: str | None
) -> Deployment | None:
    """Apply the outcome; returns the deployment this one replaced (to be stopped)."""
    replaced = None
    updating = endpoint.status == "Updating"
    endpoint.modified = time.time()
    endpoint.pending_config = None
    endpoint.pending_since = None
    endpoint.failure_reason = failure
    if deployment is not None:
        endpoint.status = "InService"
        replaced, endpoint.serving = endpoint.serving, deployment
        endpoint.config_name = config_name
    else:
        # A failed update rolls back: the endpoint stays InService on what it served before.
        endpoint.status = "InService" if updating else "Failed"
    return replaced
