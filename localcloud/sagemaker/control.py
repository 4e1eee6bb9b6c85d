"""The control-plane operation table: X-Amz-Target operation name -> handler."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from localcloud.sagemaker.endpoint_configs import EndpointConfigs
from localcloud.sagemaker.endpoints import Endpoints
from localcloud.sagemaker.models import Models
from localcloud.sagemaker.registry import Registry
from localcloud.sagemaker.tags import Tags
from localcloud.sagemaker.training_jobs import TrainingJobs

Operation = Callable[[Mapping[str, Any]], dict[str, Any]]


def operations(
    training: TrainingJobs,
    models: Models,
    configs: EndpointConfigs,
    endpoints: Endpoints,
    tags: Tags,
    registry: Registry,
) -> dict[str, Operation]:
    return {
        "CreateTrainingJob": training.create,
        "DescribeTrainingJob": training.describe,
        "ListTrainingJobs": training.list,
        "StopTrainingJob": training.stop,
        "CreateModel": models.create,
        "DescribeModel": models.describe,
        "DeleteModel": models.delete,
        "ListModels": models.list,
        "CreateEndpointConfig": configs.create,
        "DescribeEndpointConfig": configs.describe,
        "DeleteEndpointConfig": configs.delete,
        "ListEndpointConfigs": configs.list,
        "CreateEndpoint": endpoints.create,
        "DescribeEndpoint": endpoints.describe,
        "UpdateEndpoint": endpoints.update,
        "DeleteEndpoint": endpoints.delete,
        "ListEndpoints": endpoints.list,
        "CreateModelPackageGroup": registry.create_group,
        "DescribeModelPackageGroup": registry.describe_group,
        "ListModelPackageGroups": registry.list_groups,
        "CreateModelPackage": registry.create_package,
        "DescribeModelPackage": registry.describe_package,
        "ListModelPackages": registry.list_packages,
        "UpdateModelPackage": registry.update_package,
        "DeleteModelPackage": registry.delete_package,
        "AddTags": tags.add,
        "ListTags": tags.list,
        "DeleteTags": tags.delete,
    }
