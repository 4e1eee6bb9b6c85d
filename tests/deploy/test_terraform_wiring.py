"""The Terraform in deploy/ is wired to the code it deploys: settings, queues, S3 rules, images.

Each test compares a piece of Terraform with the Python it must agree with, so that a renamed
setting, a new S3 rule or a changed default fails here instead of in the AWS account.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from tfconfig import DEPLOY, Module, load, parse

from automlops.compose import Config, required_settings, setting_default, setting_names
from handlers.aws.images import XGBOOST_REGISTRIES
from handlers.naming import DatasetNames, sagemaker_names
from handlers.routes import S3_RULES
from localcloud.stack import BUCKET_ROLES, QUEUE_ROLES, notification_filters
from service.config import PREFIX

# Environment variable -> the Terraform variable that sets it (the ones with a tunable default).
FROM_VARIABLES = {
    "AUTOMLOPS_WORKER_THREADS": "worker_threads",
    "AUTOMLOPS_HEARTBEAT_SECONDS": "heartbeat_seconds",
    "AUTOMLOPS_VISIBILITY_EXTENSION_SECONDS": "visibility_extension_seconds",
    "AUTOMLOPS_SHUTDOWN_BUDGET_SECONDS": "shutdown_budget_seconds",
    "AUTOMLOPS_LOG_LEVEL": "log_level",
    "AUTOMLOPS_METRICS_NAMESPACE": "metrics_namespace",
    "AUTOMLOPS_XGBOOST_IMAGE_URI": "xgboost_image_uri",
    "AUTOMLOPS_TRAINING_INSTANCE_TYPE": "training_instance_type",
    "AUTOMLOPS_TRAINING_MAX_RUNTIME_SECONDS": "training_max_runtime_seconds",
    "AUTOMLOPS_ENDPOINT_MEMORY_MB": "endpoint_memory_mb",
    "AUTOMLOPS_ENDPOINT_MAX_CONCURRENCY": "endpoint_max_concurrency",
}


@pytest.fixture(scope="module")
def tf() -> Module:
    return load(DEPLOY)


def environment(tf: Module) -> dict[str, str]:
    pairs = tf.locals["worker_environment"]
    names = [pair["name"] for pair in pairs]
    assert len(names) == len(set(names)), f"duplicate names in worker_environment: {names}"
    return {pair["name"]: pair["value"] for pair in pairs}


def container_definitions(tf: Module) -> str:
    return str(tf.resource("aws_ecs_task_definition", "worker")["container_definitions"])


# --- the task's environment ---------------------------------------------------------------------


def test_every_required_setting_is_in_the_task_environment(tf: Module) -> None:
    missing = set(required_settings()) - set(environment(tf))
    assert not missing, f"the task definition does not set {sorted(missing)}"


def test_the_task_environment_sets_only_real_settings(tf: Module) -> None:
    ours = {name for name in environment(tf) if name.startswith(PREFIX)}
    unknown = ours - set(setting_names())
    assert not unknown, f"{sorted(unknown)} are not settings the worker reads: a typo?"


def test_the_container_gets_that_environment(tf: Module) -> None:
    assert re.search(
        r"environment = \[for \w+ in local\.worker_environment\b", container_definitions(tf)
    )


@pytest.mark.parametrize(("env_name", "variable"), sorted(FROM_VARIABLES.items()))
def test_tunable_settings_come_from_variables_with_the_same_default(
    tf: Module, env_name: str, variable: str
) -> None:
    value = environment(tf)[env_name]
    assert f"var.{variable}" in value, f"{env_name} should be set from var.{variable}"
    default = setting_default(env_name)
    assert tf.default(variable) == default, (
        f"var.{variable} defaults to {tf.default(variable)!r} but the worker to {default!r}"
    )


PLACEHOLDERS = {
    "_BUCKET": "automlops-prod-bucket-123456789012-eu-west-1",
    "_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/automlops-prod-queue",
    "_ROLE_ARN": "arn:aws:iam::123456789012:role/automlops-prod-sagemaker",
    "_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:automlops-prod-decisions",
}


def resolved(tf: Module, value: str) -> str:
    """A value as the task would see it with every variable at its default."""
    match = re.fullmatch(r"\$\{(?:tostring\()?var\.(\w+)\)?\}", value)
    if match:
        return str(tf.default(match.group(1)))
    trimmed = re.fullmatch(r'\$\{trimsuffix\(var\.(\w+), "(.*)"\)\}', value)
    if trimmed:
        return str(tf.default(trimmed.group(1))).removesuffix(trimmed.group(2))
    return value


def test_the_default_task_environment_is_valid_settings(tf: Module) -> None:
    env = {}
    for name, value in environment(tf).items():
        suffix = next((s for s in PLACEHOLDERS if name.endswith(s)), None)
        env[name] = PLACEHOLDERS[suffix] if suffix else resolved(tf, value)
    env = {name: value for name, value in env.items() if value != ""}  # as the container does
    assert not [v for v in env.values() if "${" in v], env
    Config.from_env(env)  # raises ConfigurationError for a value the worker would refuse


@pytest.mark.parametrize("env_name", ["AUTOMLOPS_HEALTH_FILE", "AUTOMLOPS_WORK_DIR"])
def test_writable_paths_are_on_the_tmp_volume(tf: Module, env_name: str) -> None:
    value = environment(tf)[env_name]
    assert value == str(setting_default(env_name))
    assert value.startswith("/tmp/")
    assert 'containerPath = "/tmp"' in container_definitions(tf)


def test_bucket_and_queue_settings_point_at_their_resources(tf: Module) -> None:
    env = environment(tf)
    for role in BUCKET_ROLES:
        assert env[f"AUTOMLOPS_{role.upper()}_BUCKET"] == f'${{module.bucket["{role}"].id}}'
    for role in QUEUE_ROLES:
        assert (
            env[f"AUTOMLOPS_{role.upper()}_QUEUE_URL"] == f'${{aws_sqs_queue.main["{role}"].url}}'
        )
    assert env["AUTOMLOPS_SAGEMAKER_ROLE_ARN"] == "${aws_iam_role.sagemaker.arn}"
    assert env["AUTOMLOPS_LOG_FORMAT"] == "json"  # one JSON object per line for Logs Insights


def test_container_is_hardened_and_stops_gracefully(tf: Module) -> None:
    definitions = container_definitions(tf)
    for expected in (
        "readonlyRootFilesystem = true",
        'user = "10001:10001"',
        "initProcessEnabled = true",
        "privileged = false",
        "stopTimeout = local.stop_timeout_seconds",
        'command = ["CMD", "automlops", "healthcheck"]',
        'logDriver = "awslogs"',
    ):
        assert expected in definitions, expected
    stop_timeout = tf.locals["stop_timeout_seconds"]
    assert stop_timeout == 120  # Fargate's maximum
    assert stop_timeout > tf.default("shutdown_budget_seconds")
    task = tf.resource("aws_ecs_task_definition", "worker")
    assert task["requires_compatibilities"] == ["FARGATE"]
    assert task["volume"] == [{"name": "tmp"}]
    network = tf.resource("aws_ecs_service", "worker")["network_configuration"][0]
    assert network["assign_public_ip"] is False


# --- queues -----------------------------------------------------------------------------------


def test_queue_roles_are_the_stacks(tf: Module) -> None:
    assert tf.locals["queue_roles"] == list(QUEUE_ROLES)
    assert tf.locals["bucket_roles"] == list(BUCKET_ROLES)


def test_every_queue_has_a_dlq_and_a_redrive_policy(tf: Module) -> None:
    queues = tf.resources["aws_sqs_queue"]
    assert set(queues) == {"main", "dlq"}
    for queue in queues.values():
        assert queue["for_each"] == "${toset(local.queue_roles)}"
        assert queue["kms_master_key_id"] == "${aws_kms_key.main.arn}"
    redrive = queues["main"]["redrive_policy"]
    assert "deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn" in redrive
    assert "maxReceiveCount = var.max_receive_count" in redrive
    assert "redrive_policy" not in queues["dlq"]
    allow = tf.resource("aws_sqs_queue_redrive_allow_policy", "dlq")
    assert "aws_sqs_queue.main[each.key].arn" in allow["redrive_allow_policy"]


def visibility_rule_holds(visibility: int, heartbeat: int, shutdown: int) -> bool:
    return visibility > heartbeat and visibility > shutdown


def test_visibility_timeout_outlasts_heartbeat_and_shutdown_budget(tf: Module) -> None:
    queue = tf.resource("aws_sqs_queue", "main")
    assert queue["visibility_timeout_seconds"] == "${var.queue_visibility_timeout_seconds}"
    assert visibility_rule_holds(
        tf.default("queue_visibility_timeout_seconds"),
        tf.default("heartbeat_seconds"),
        tf.default("shutdown_budget_seconds"),
    )
    # ... also against the worker's own defaults, for a task that leaves them unset.
    assert visibility_rule_holds(
        tf.default("queue_visibility_timeout_seconds"),
        int(str(setting_default("AUTOMLOPS_HEARTBEAT_SECONDS"))),
        int(str(setting_default("AUTOMLOPS_SHUTDOWN_BUDGET_SECONDS"))),
    )
    # Terraform refuses a configuration that breaks the rule.
    (precondition,) = queue["lifecycle"][0]["precondition"]
    assert (
        "var.queue_visibility_timeout_seconds > var.heartbeat_seconds" in precondition["condition"]
    )
    assert (
        "var.queue_visibility_timeout_seconds > var.shutdown_budget_seconds"
        in (precondition["condition"])
    )


def test_example_tfvars_keep_the_visibility_rule() -> None:
    example = parse(DEPLOY / "terraform.tfvars.example")
    assert visibility_rule_holds(
        example["queue_visibility_timeout_seconds"],
        example["heartbeat_seconds"],
        example["shutdown_budget_seconds"],
    )
    assert example["visibility_extension_seconds"] > example["heartbeat_seconds"]


def test_example_tfvars_set_only_declared_variables(tf: Module) -> None:
    example = parse(DEPLOY / "terraform.tfvars.example")
    assert set(example) <= set(tf.variables), set(example) - set(tf.variables)


# --- S3 notifications ---------------------------------------------------------------------------


def test_notification_filters_equal_the_pipelines_s3_rules(tf: Module) -> None:
    expected = {role: list(filters) for role, filters in notification_filters(S3_RULES).items()}
    assert tf.locals["notification_filters"] == expected


def test_eventbridge_rules_forward_the_same_prefixes_to_the_ingest_queue(tf: Module) -> None:
    rule = tf.resource("aws_cloudwatch_event_rule", "s3_objects")
    assert rule["for_each"] == (
        '${var.s3_event_delivery == "eventbridge" ? local.notification_filters : {}}'
    )
    pattern = str(rule["event_pattern"])
    for needed in ('"aws.s3"', '"Object Created"', "module.bucket[each.key].id", "f.prefix"):
        assert needed in pattern, needed
    target = tf.resource("aws_cloudwatch_event_target", "s3_objects")
    assert target["arn"] == '${aws_sqs_queue.main["ingest"].arn}'
    (delivery,) = tf.variables["s3_event_delivery"]["validation"]
    assert '["direct", "eventbridge"]' in delivery["condition"]
    assert tf.default("s3_event_delivery") == "direct"


def test_notifications_send_object_created_events_to_the_ingest_queue(tf: Module) -> None:
    notification = tf.resource("aws_s3_bucket_notification", "ingest")
    assert notification["for_each"] == "${local.notification_filters}"
    assert notification["bucket"] == "${module.bucket[each.key].id}"
    assert notification["eventbridge"] == '${var.s3_event_delivery == "eventbridge"}'
    (dynamic,) = notification["dynamic"]
    queue = dynamic["queue"]
    # Direct notifications unless the deployment routes S3's events through EventBridge.
    assert queue["for_each"] == '${var.s3_event_delivery == "direct" ? each.value : []}'
    (content,) = queue["content"]
    assert content["queue_arn"] == '${aws_sqs_queue.main["ingest"].arn}'
    assert content["events"] == ["s3:ObjectCreated:*"]
    assert content["filter_prefix"] == "${queue.value.prefix}"
    assert content["filter_suffix"] == '${queue.value.suffix != "" ? queue.value.suffix : null}'


def test_only_the_notifying_buckets_may_send_to_the_ingest_queue(tf: Module) -> None:
    policy = tf.data["aws_iam_policy_document"]["ingest_queue"]
    (allow,) = [s for s in policy["statement"] if s.get("effect", "Allow") == "Allow"]
    assert allow["actions"] == ["sqs:SendMessage"]
    assert allow["principals"] == [{"type": "Service", "identifiers": ["s3.amazonaws.com"]}]
    conditions = {c["variable"]: c for c in allow["condition"]}
    assert "keys(local.notification_filters)" in str(conditions["aws:SourceArn"]["values"])
    assert conditions["aws:SourceAccount"]["values"] == ["${local.account_id}"]


# --- SageMaker ---------------------------------------------------------------------------------


def test_xgboost_registries_match_the_worker(tf: Module) -> None:
    assert tf.locals["xgboost_registry_accounts"] == XGBOOST_REGISTRIES


def test_sagemaker_name_prefix_matches_the_worker_naming(tf: Module) -> None:
    prefix = tf.default("sagemaker_name_prefix")
    names = sagemaker_names("bank-marketing", "20261126-3f9a1c0b2e")
    for name in dataclasses.astuple(names):
        assert name.startswith(prefix), f"{name} would be outside the task role's {prefix}* ARNs"


@pytest.mark.parametrize("prefix", ["aml-", "team7-", "x-"])
def test_the_task_names_its_sagemaker_resources_with_the_prefix_iam_allows(
    tf: Module, prefix: str
) -> None:
    """The variable scopes the task role's ARNs; the same value (less its hyphen) reaches the
    worker, so another prefix is not AccessDenied on every CreateTrainingJob."""
    value = environment(tf)["AUTOMLOPS_SAGEMAKER_NAME_PREFIX"]
    assert value == '${trimsuffix(var.sagemaker_name_prefix, "-")}'
    worker_prefix = prefix.removesuffix("-")
    assert re.fullmatch(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,9}-$", prefix)  # the variable's rule
    for name in dataclasses.astuple(
        sagemaker_names("bank-marketing", "20261126-3f9a1c0b2e", worker_prefix)
    ):
        assert name.startswith(prefix)
    assert setting_default("AUTOMLOPS_SAGEMAKER_NAME_PREFIX") == tf.default(
        "sagemaker_name_prefix"
    ).removesuffix("-")


def test_a_region_without_a_known_xgboost_registry_fails_at_plan(tf: Module) -> None:
    validations = tf.variables["region"]["validation"]
    (validation,) = validations if isinstance(validations, list) else [validations]
    assert "local.xgboost_registry_accounts" in validation["condition"]
    assert "var.xgboost_registry_account_id" in validation["condition"]
    assert "unknown-region" not in str(tf.locals["xgboost_registry_account"])


@pytest.mark.parametrize("dataset", ["bank-marketing", "d" * 47])
def test_live_endpoints_and_groups_are_named_as_the_worker_names_them(
    tf: Module, dataset: str
) -> None:
    """Terraform's alarms name the live endpoints; the worker creates them (handlers/naming.py):
    for every dataset the variable accepts, with the longest prefix, the names agree."""
    assert tf.locals["live_endpoints"] == (
        '${{for d in var.datasets : d => "${var.sagemaker_name_prefix}${d}-live"}}'
    )
    assert tf.locals["model_package_groups"] == (
        '${{for d in var.datasets : d => "${var.sagemaker_name_prefix}${d}"}}'
    )
    for prefix in ("aml-", "abcdefghij-"):
        names = DatasetNames.for_dataset(dataset, prefix.removesuffix("-"))
        assert names.live_endpoint == f"{prefix}{dataset}-live"
        assert names.model_package_group == f"{prefix}{dataset}"
