"""CreateEndpoint, DescribeEndpoint, UpdateEndpoint, DeleteEndpoint, ListEndpoints."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from typing import Any

from localcloud.sagemaker import listing
from localcloud.sagemaker.deployer import Deployer
from localcloud.sagemaker.errors import already_exists, limit_exceeded, not_found, validation
from localcloud.sagemaker.faults import FaultState
from localcloud.sagemaker.store import Deployment, Endpoint, Store
from localcloud.sagemaker.validation import Problems, check_name, check_tags, required

LABEL = "endpoint"
CONFIG_LABEL = "endpoint configuration"
IN_PROGRESS = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")


class Endpoints:
    def __init__(self, store: Store, deployer: Deployer, faults: FaultState) -> None:
        self._store = store
        self._deployer = deployer
        self._faults = faults

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        _validate(body)
        name, config_name = str(body["EndpointName"]), str(body["EndpointConfigName"])
        arn = self._store.arn("endpoint", name)
        with self._store.lock:
            if self._store.endpoints.find(name) is not None:
                raise already_exists(LABEL, arn)
            self._require_config(config_name)
            self._within_serverless_quota(config_name)
            now = time.time()
            endpoint = Endpoint(name, arn, config_name, created=now, modified=now, generation=1)
            self._store.endpoints.add(name, endpoint)
            if body.get("Tags"):
                self._store.tags[arn] = {t["Key"]: t["Value"] for t in body["Tags"]}
            self._deployer.start(endpoint, config_name)
        return {"EndpointArn": arn}

    def _within_serverless_quota(self, config_name: str) -> None:
        if not self._is_serverless(config_name):
            return
        quota = self._faults.current.serverless_endpoint_quota
        used = sum(1 for e in self._store.endpoints if self._is_serverless(e.config_name))
        if used >= quota:
            raise limit_exceeded("Number of serverless endpoints", quota, used, "Endpoints")

    def _is_serverless(self, config_name: str) -> bool:
        config = self._store.endpoint_configs.find(config_name)
        variants = config.request.get("ProductionVariants", []) if config else []
        return any("ServerlessConfig" in variant for variant in variants)

    def describe(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._store.lock:
            return _description(self._find(str(body.get("EndpointName", ""))))

    def update(self, body: Mapping[str, Any]) -> dict[str, Any]:
        _validate(body)
        config_name = str(body["EndpointConfigName"])
        with self._store.lock:
            endpoint = self._find(str(body["EndpointName"]))
            self._require_config(config_name)
            if endpoint.status in IN_PROGRESS:
                raise validation(f'Cannot update in-progress endpoint "{endpoint.arn}".')
            if endpoint.status == "Failed":
                # A failed endpoint can only be deleted.
                raise validation(f'Cannot update failed endpoint "{endpoint.arn}".')
            endpoint.status = "Updating"
            endpoint.failure_reason = None
            endpoint.pending_config = config_name
            endpoint.pending_since = endpoint.modified = time.time()
            endpoint.generation += 1
            self._deployer.start(endpoint, config_name)
            return {"EndpointArn": endpoint.arn}

    def delete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        # AWS shows Deleting for a while; the emulator removes at once, which no caller can tell
        # apart from a fast deletion. Any deployment still running is abandoned.
        with self._store.lock:
            endpoint = self._find(str(body.get("EndpointName", "")))
            endpoint.generation += 1
            self._store.endpoints.remove(endpoint.name)
            self._store.tags.pop(endpoint.arn, None)
            serving, endpoint.serving = endpoint.serving, None
        if serving is not None:
            serving.close()
        return {}

    def list(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._store.lock:
            summaries = [
                {
                    "EndpointName": e.name,
                    "EndpointArn": e.arn,
                    "CreationTime": e.created,
                    "LastModifiedTime": e.modified,
                    "EndpointStatus": e.status,
                }
                for e in self._store.endpoints
            ]
        summaries = listing.filtered(summaries, body, "EndpointName", "EndpointStatus")
        fields = {
            "Name": "EndpointName",
            "CreationTime": "CreationTime",
            "Status": "EndpointStatus",
        }
        summaries = listing.sorted_by(summaries, body, fields, default_order="Descending")
        return listing.page(summaries, body, "Endpoints")

    def _find(self, name: str) -> Endpoint:
        endpoint = self._store.endpoints.find(name)
        if endpoint is None:
            raise not_found(LABEL, self._store.arn("endpoint", name))
        return endpoint

    def _require_config(self, name: str) -> None:
        if self._store.endpoint_configs.find(name) is None:
            raise not_found(CONFIG_LABEL, self._store.arn("endpoint-config", name))


def _validate(body: Mapping[str, Any]) -> None:
    problems = Problems()
    check_name(problems, required(problems, body, "EndpointName", "endpointName"), "endpointName")
    config = required(problems, body, "EndpointConfigName", "endpointConfigName")
    check_name(problems, config, "endpointConfigName")
    check_tags(problems, body.get("Tags"))
    problems.raise_if_any()


def _description(endpoint: Endpoint) -> dict[str, Any]:
    result: dict[str, Any] = {
        "EndpointName": endpoint.name,
        "EndpointArn": endpoint.arn,
        "EndpointConfigName": endpoint.config_name,
        "EndpointStatus": endpoint.status,
        "CreationTime": endpoint.created,
        "LastModifiedTime": endpoint.modified,
    }
    if endpoint.failure_reason:
        result["FailureReason"] = endpoint.failure_reason
    if endpoint.serving is not None:
        result["ProductionVariants"] = [_variant_summary(endpoint.serving)]
    if endpoint.pending_config is not None:
        result["PendingDeploymentSummary"] = {
            "EndpointConfigName": endpoint.pending_config,
            "StartTime": endpoint.pending_since,
        }
    return result


def _variant_summary(deployment: Deployment) -> dict[str, Any]:
    variant = deployment.variant
    digest = hashlib.sha256(deployment.image.encode()).hexdigest()
    summary: dict[str, Any] = {
        "VariantName": deployment.variant_name,
        "DeployedImages": [
            {
                "SpecifiedImage": deployment.image,
                "ResolvedImage": f"{deployment.image.split(':')[0]}@sha256:{digest}",
            }
        ],
        "CurrentWeight": float(variant.get("InitialVariantWeight", 1.0)),
        "DesiredWeight": float(variant.get("InitialVariantWeight", 1.0)),
    }
    if deployment.serverless:
        summary["CurrentServerlessConfig"] = dict(variant["ServerlessConfig"])
        summary["DesiredServerlessConfig"] = dict(variant["ServerlessConfig"])
    else:
        summary["CurrentInstanceCount"] = int(variant.get("InitialInstanceCount", 1))
        summary["DesiredInstanceCount"] = int(variant.get("InitialInstanceCount", 1))
    return summary
