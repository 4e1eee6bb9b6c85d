"""IAM in deploy/: no wildcard actions, no "*" resources but the few AWS cannot scope.

Every policy is an `aws_iam_policy_document` (tested below to be so), which makes every
statement visible to these tests, including `dynamic "statement"` ones.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from tfconfig import DEPLOY, Module, all_modules, load, statements

# Actions AWS does not let a policy scope to a resource, and why each is needed.
STAR_RESOURCE_ALLOWED = {
    "ecr:GetAuthorizationToken": "the registry login token is registry-wide",
    "cloudwatch:PutMetricData": "metrics have no ARN (a cloudwatch:namespace condition scopes it)",
    "sagemaker:ListEndpoints": "a List action has no resource type",
    "sagemaker:ListModelPackages": "a List action has no resource type",
}
# Documents that are resource policies of a KMS key, where "*" means "this key".
KEY_POLICIES = {"kms"}


def policy_documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for module in all_modules():
        for name, document in module.data.get("aws_iam_policy_document", {}).items():
            found.append((f"{module.directory.name}/{name}", document))
    return found


def identity_statements() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{name}:{statement.get('sid', index)}", statement)
        for name, document in policy_documents()
        if name.split("/")[-1] not in KEY_POLICIES
        for index, statement in enumerate(statements(document))
    ]


def conditions(statement: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["variable"]: c for c in statement.get("condition", [])}


@pytest.fixture(scope="module")
def tf() -> Module:
    return load(DEPLOY)


def test_there_are_policies_to_check() -> None:
    assert len(STATEMENTS) > 20


STATEMENTS = identity_statements()
IDS = [where for where, _ in STATEMENTS]


@pytest.mark.parametrize(("where", "statement"), STATEMENTS, ids=IDS)
def test_no_wildcard_actions_and_no_negations(where: str, statement: dict[str, Any]) -> None:
    assert "not_actions" not in statement, where
    assert "not_resources" not in statement, where
    assert "not_principals" not in statement, where
    if statement.get("effect", "Allow") == "Deny":
        return  # "s3:*" in a Deny (plain-HTTP access) takes every action away, as intended
    for action in statement["actions"]:
        assert action != "*", where
        assert not action.endswith(":*"), f"{where}: {action} allows every action of a service"


@pytest.mark.parametrize(("where", "statement"), STATEMENTS, ids=IDS)
def test_star_resources_only_where_aws_cannot_scope(where: str, statement: dict[str, Any]) -> None:
    if statement.get("effect", "Allow") == "Deny":
        return  # a Deny on "*" (e.g. plain-HTTP access) only takes permissions away
    resources = statement.get("resources")
    if resources is None:  # a trust policy: who may assume, not what it may do
        assert statement.get("principals"), where
        assert all(a.startswith("sts:AssumeRole") for a in statement["actions"]), where
        return
    if "*" not in resources:
        return
    assert resources == ["*"], where
    extra = set(statement["actions"]) - set(STAR_RESOURCE_ALLOWED)
    assert not extra, f"{where}: {sorted(extra)} need resource ARNs, not '*'"
    if "cloudwatch:PutMetricData" in statement["actions"]:
        assert "cloudwatch:namespace" in conditions(statement), where


def test_key_policy_grants_services_only_what_they_need(tf: Module) -> None:
    document = tf.data["aws_iam_policy_document"]["kms"]
    for statement in statements(document):
        (principal,) = statement["principals"]
        if principal["type"] == "AWS":
            # The account root: hands authorization of the key over to IAM policies.
            assert principal["identifiers"] == [
                "arn:${local.partition}:iam::${local.account_id}:root"
            ]
            continue
        assert principal["type"] == "Service"
        assert "kms:*" not in statement["actions"]
        assert statement.get("condition"), (
            f"{statement['sid']}: a service needs a scoping condition"
        )
    services = {
        identifier
        for statement in statements(document)
        for principal in statement["principals"]
        if principal["type"] == "Service"
        for identifier in principal["identifiers"]
    }
    # S3 -> encrypted ingest queue is the notification path; without it S3 events vanish.
    assert "s3.amazonaws.com" in services


def test_every_policy_is_a_policy_document(tf: Module) -> None:
    for module in all_modules():
        for kind in ("aws_iam_role_policy", "aws_iam_policy", "aws_s3_bucket_policy"):
            for name, body in module.resources.get(kind, {}).items():
                assert "data.aws_iam_policy_document." in body["policy"], f"{kind}.{name}"
        for name, body in module.resources.get("aws_iam_role", {}).items():
            assert "data.aws_iam_policy_document." in body["assume_role_policy"], name
    # Managed policies are attached only where the operator chooses them (CI roles, README).
    attachments = tf.resources.get("aws_iam_role_policy_attachment", {})
    for name, body in attachments.items():
        assert body["policy_arn"] == "${each.value}", name
        assert "var.ci_" in body["for_each"], name


def task_statements(tf: Module) -> dict[str, dict[str, Any]]:
    return {s["sid"]: s for s in statements(tf.data["aws_iam_policy_document"]["task"])}


def test_the_raw_bucket_is_read_only_for_the_worker(tf: Module) -> None:
    writes = task_statements(tf)["WriteRunArtifacts"]
    assert set(writes["actions"]) == {"s3:PutObject", "s3:AbortMultipartUpload"}
    assert writes["resources"] == "${local.worker_write_objects}"
    objects = tf.locals["worker_write_objects"]
    assert '"raw"' not in objects
    assert 'for role in ["curated", "models", "reports"]' in objects
    for statement in task_statements(tf).values():
        for action in statement["actions"]:
            assert not action.startswith("s3:Delete"), statement["sid"]


def test_pass_role_is_limited_to_sagemaker(tf: Module) -> None:
    statement = task_statements(tf)["PassTheSageMakerRoleToSageMakerOnly"]
    assert statement["resources"] == ["${aws_iam_role.sagemaker.arn}"]
    passed = conditions(statement)["iam:PassedToService"]
    assert passed["values"] == ["sagemaker.amazonaws.com"]


def test_sagemaker_access_is_limited_to_the_name_prefix(tf: Module) -> None:
    arns = tf.locals["sagemaker_resource_arns"]
    kinds = {arn.split(":")[-1].split("/")[0] for arn in arns}
    assert kinds == {"training-job", "model", "endpoint-config", "endpoint"}
    assert all(arn.endswith("/${var.sagemaker_name_prefix}*") for arn in arns)
    invoke = task_statements(tf)["InvokeThisPipelinesEndpoints"]
    assert invoke["resources"] == ["${local.sagemaker_arn}:endpoint/${var.sagemaker_name_prefix}*"]


def test_the_task_may_protect_its_own_tasks_from_scale_in(tf: Module) -> None:
    statement = task_statements(tf)["ProtectOwnTaskFromScaleIn"]
    assert set(statement["actions"]) == {"ecs:UpdateTaskProtection", "ecs:GetTaskProtection"}
    (resource,) = statement["resources"]
    assert resource.endswith(":task/${local.cluster_name}/*")


def test_ci_roles_trust_only_the_repository(tf: Module) -> None:
    assert tf.locals["github_oidc"] == "token.actions.githubusercontent.com"
    documents = tf.data["aws_iam_policy_document"]
    for name in ("ci_deploy_trust", "ci_plan_trust"):
        (statement,) = statements(documents[name])
        by_variable = conditions(statement)
        audience = by_variable["${local.github_oidc}:aud"]
        assert audience["values"] == ["sts.amazonaws.com"]
        subjects = by_variable["${local.github_oidc}:sub"]["values"]
        assert subjects
        assert all(s.startswith("repo:${var.github_repository}:") for s in subjects), subjects
    (deploy,) = statements(documents["ci_deploy_trust"])
    subjects = conditions(deploy)["${local.github_oidc}:sub"]["values"]
    assert "repo:${var.github_repository}:ref:refs/heads/${var.github_branch}" in subjects
    assert "repo:${var.github_repository}:environment:${var.github_environment}" in subjects


def sagemaker_operations_the_worker_calls() -> set[str]:
    """Every `self._sm.<operation>(` in handlers/ (the SageMaker gateway and the registry), as
    the IAM action it needs; paginators count as their List operation."""
    called: set[str] = set()
    for path in (DEPLOY.parent / "handlers").rglob("*.py"):
        text = path.read_text()
        called |= set(re.findall(r"self\._sm\.(\w+)\(", text))
        called |= set(re.findall(r'self\._sm\.get_paginator\("(\w+)"\)', text))
    called.discard("get_paginator")
    return {"sagemaker:" + "".join(part.title() for part in op.split("_")) for op in called}


def test_every_sagemaker_call_of_the_worker_is_allowed(tf: Module) -> None:
    allowed = {a for s in task_statements(tf).values() for a in s["actions"]}
    calls = sagemaker_operations_the_worker_calls()
    assert {"sagemaker:CreateModelPackage", "sagemaker:UpdateEndpoint"} <= calls  # it found them
    assert calls - allowed == set()


def test_the_registry_is_limited_to_the_name_prefix(tf: Module) -> None:
    statement = task_statements(tf)["RegisterVersionsOfThisPipeline"]
    assert statement["resources"] == "${local.model_registry_arns}"
    arns = tf.locals["model_registry_arns"]
    assert {arn.split(":")[-1].split("/")[0] for arn in arns} == {
        "model-package-group",
        "model-package",
    }
    assert all(arn.endswith("/${var.sagemaker_name_prefix}*") for arn in arns)


def test_decisions_are_published_to_the_decisions_topic_only(tf: Module) -> None:
    statement = task_statements(tf)["PublishDecisions"]
    assert (statement["actions"], statement["resources"]) == (
        ["sns:Publish"],
        ["${aws_sns_topic.decisions.arn}"],
    )


def test_the_worker_may_rewrite_pointers_the_runs_index_and_predictions_only_in_reports(
    tf: Module,
) -> None:
    from handlers.naming import (
        INDEX_DATA_KEY,
        INDEX_PAGE_KEY,
        ScorePaths,
        champion_key,
        ignored_key,
    )

    statement = task_statements(tf)["ChampionPointersRunsIndexAndPredictions"]
    assert set(statement["actions"]) == {"s3:GetObject", "s3:PutObject"}
    assert statement["resources"] == "${local.reports_shared_objects}"
    assert '${local.bucket_arns["reports"]}' in tf.locals["reports_shared_objects"]
    prefixes = tf.locals["reports_shared_prefixes"]
    scored = ScorePaths.of_key("score/any/rows.csv")
    written = (scored.predictions, scored.summary, scored.error)
    ignored = ignored_key("raw", "data/any/notes.txt")
    for key in (champion_key("any"), INDEX_PAGE_KEY, INDEX_DATA_KEY, *written, ignored):
        assert any(key.startswith(prefix) for prefix in prefixes), key
    assert "score/" in tf.locals["raw_read_prefixes"]  # files to score are read, never written


def test_training_logs_are_read_from_the_training_jobs_group_only(tf: Module) -> None:
    from handlers.aws.training_logs import TRAINING_LOG_GROUP

    statement = task_statements(tf)["ReadTrainingLogs"]
    assert set(statement["actions"]) == {"logs:DescribeLogStreams", "logs:GetLogEvents"}
    [arn] = statement["resources"]
    assert arn.endswith(f":log-group:{TRAINING_LOG_GROUP}:*")


def test_drift_has_an_alarm_on_the_metric_the_train_stage_writes(tf: Module) -> None:
    alarm = tf.resources["aws_cloudwatch_metric_alarm"]["data_drift"]
    assert alarm["metric_name"] == "DataDrifted"
    assert alarm["namespace"] == "${var.metrics_namespace}"
    assert alarm["comparison_operator"] == "GreaterThanOrEqualToThreshold"
    assert "DataDrifted" in Path("handlers/stages/train.py").read_text()


def test_a_live_model_below_its_floors_has_an_alarm_on_the_metric_scoring_writes(
    tf: Module,
) -> None:
    import inspect

    from handlers.stages import score

    alarm = tf.resources["aws_cloudwatch_metric_alarm"]["live_below_floor"]
    assert alarm["metric_name"] == "LiveBelowFloor"
    assert '"LiveBelowFloor"' in inspect.getsource(score)
    assert alarm["namespace"] == "${var.metrics_namespace}"
    assert alarm["dimensions"] == {"Service": "${local.metrics_service}"}
    assert alarm["threshold"] == 1
