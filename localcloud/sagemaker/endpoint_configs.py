"""CreateEndpointConfig, DescribeEndpointConfig, DeleteEndpointConfig, ListEndpointConfigs."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from localcloud.sagemaker import listing
from localcloud.sagemaker.errors import already_exists, not_found, validation
from localcloud.sagemaker.store import EndpointConfig, Store
from localcloud.sagemaker.validation import (
    MODEL_NAME_PATTERN,
    Problems,
    check_int,
    check_name,
    check_tags,
    member_path,
    required,
)

LABEL = "endpoint configuration"
SERVERLESS_MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)
ECHOED = (
    "ProductionVariants",
    "DataCaptureConfig",
    "KmsKeyId",
    "AsyncInferenceConfig",
    "ExplainerConfig",
    "ShadowProductionVariants",
    "ExecutionRoleArn",
    "VpcConfig",
    "EnableNetworkIsolation",
)


class EndpointConfigs:
    def __init__(self, store: Store) -> None:
        self._store = store

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        _validate(body)
        name = str(body["EndpointConfigName"])
        arn = self._store.arn("endpoint-config", name)
        with self._store.lock:
            if self._store.endpoint_configs.find(name) is not None:
                raise already_exists(LABEL, arn)
            for variant in body["ProductionVariants"]:
                model_name = str(variant["ModelName"])
                if self._store.models.find(model_name) is None:
                    raise not_found("model", self._store.arn("model", model_name))
            self._store.endpoint_configs.add(
                name, EndpointConfig(name, arn, dict(body), time.time())
            )
            if body.get("Tags"):
                self._store.tags[arn] = {t["Key"]: t["Value"] for t in body["Tags"]}
        return {"EndpointConfigArn": arn}

    def describe(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._store.lock:
            config = self._find(str(body.get("EndpointConfigName", "")))
            result = {key: config.request[key] for key in ECHOED if key in config.request}
            result.update(
                {
                    "EndpointConfigName": config.name,
                    "EndpointConfigArn": config.arn,
                    "CreationTime": config.created,
                }
            )
            return result

    def delete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        # AWS allows deleting a config an endpoint uses; the endpoint keeps running.
        with self._store.lock:
            config = self._find(str(body.get("EndpointConfigName", "")))
            self._store.endpoint_configs.remove(config.name)
            self._store.tags.pop(config.arn, None)
        return {}

    def list(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._store.lock:
            summaries = [
                {
                    "EndpointConfigName": c.name,
                    "EndpointConfigArn": c.arn,
                    "CreationTime": c.created,
                }
                for c in self._store.endpoint_configs
            ]
        summaries = listing.filtered(summaries, body, "EndpointConfigName")
        fields = {"Name": "EndpointConfigName", "CreationTime": "CreationTime"}
        summaries = listing.sorted_by(summaries, body, fields, default_order="Descending")
        return listing.page(summaries, body, "EndpointConfigs")

    def _find(self, name: str) -> EndpointConfig:
        config = self._store.endpoint_configs.find(name)
        if config is None:
            raise not_found(LABEL, self._store.arn("endpoint-config", name))
        return config


def _validate(body: Mapping[str, Any]) -> None:
    problems = Problems()
    name = required(problems, body, "EndpointConfigName", "endpointConfigName")
    check_name(problems, name, "endpointConfigName")
    variants = required(problems, body, "ProductionVariants", "productionVariants") or []
    if len(variants) > 10:
        problems.add(
            variants, "productionVariants", "Member must have length less than or equal to 10"
        )
    for index, variant in enumerate(variants):
        _validate_variant(problems, index, variant)
    check_tags(problems, body.get("Tags"))
    problems.raise_if_any()
    for variant in variants:
        _validate_hosting_choice(variant)


def _validate_variant(problems: Problems, index: int, variant: Mapping[str, Any]) -> None:
    def path(member: str) -> str:
        return member_path("productionVariants", index, member)

    check_name(
        problems,
        required(problems, variant, "VariantName", path("variantName")),
        path("variantName"),
    )
    model = required(problems, variant, "ModelName", path("modelName"))
    check_name(problems, model, path("modelName"), MODEL_NAME_PATTERN)
    serverless = variant.get("ServerlessConfig")
    if serverless is None:
        return
    memory_path = path("serverlessConfig.memorySizeInMB")
    memory = required(problems, serverless, "MemorySizeInMB", memory_path)
    if (
        check_int(problems, memory, memory_path, 1024, 6144)
        and memory not in SERVERLESS_MEMORY_SIZES
    ):
        problems.add(memory, memory_path, f"Member must be one of {list(SERVERLESS_MEMORY_SIZES)}")
    concurrency_path = path("serverlessConfig.maxConcurrency")
    concurrency = required(problems, serverless, "MaxConcurrency", concurrency_path)
    check_int(problems, concurrency, concurrency_path, 1, 200)
    provisioned = serverless.get("ProvisionedConcurrency")
    provisioned_path = path("serverlessConfig.provisionedConcurrency")
    in_range = check_int(problems, provisioned, provisioned_path, 1, 200)
    if in_range and isinstance(concurrency, int) and provisioned > concurrency:
        problems.add(
            provisioned, provisioned_path, "Member must be less than or equal to MaxConcurrency"
        )


def _validate_hosting_choice(variant: Mapping[str, Any]) -> None:
    """A variant is either serverless or instance-backed, never both or neither."""
    serverless = "ServerlessConfig" in variant
    instances = "InstanceType" in variant or "InitialInstanceCount" in variant
    if serverless and instances:
        raise validation(
            f"Production variant {variant['VariantName']} cannot specify both ServerlessConfig "
            "and InstanceType/InitialInstanceCount."
        )
    if not serverless and not ("InstanceType" in variant and "InitialInstanceCount" in variant):
        raise validation(
            f"Production variant {variant['VariantName']} must specify either ServerlessConfig or "
            "both InstanceType and InitialInstanceCount."
        )
