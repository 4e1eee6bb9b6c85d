# Least privilege on exact ARNs. The only "*" resources are actions AWS cannot scope to a
# resource, each with its reason next to it (the wiring test keeps that list closed):
#   ecr:GetAuthorizationToken  - registry-wide login token
#   cloudwatch:PutMetricData   - metrics have no ARN; scoped by the cloudwatch:namespace condition
#   sagemaker:ListEndpoints    - a List action has no resource (clean-up finds failed runs' endpoints)
#   sagemaker:ListModelPackages - likewise (clean-up and `automlops models` read the versions)

# --- ECS task execution role: what ECS itself needs to start the task ------------------------

# ECS assumes the execution role to start the task; scoped to this account.
data "aws_iam_policy_document" "ecs_execution_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# The task role, as the ECS documentation's confused-deputy guard: tasks of this account and region.
data "aws_iam_policy_document" "ecs_task_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${local.name}-ecs-execution"
  description        = "ECS pulls the worker image and ships its logs"
  assume_role_policy = data.aws_iam_policy_document.ecs_execution_trust.json
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "EcrLoginIsRegistryWide"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "PullTheWorkerImage"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:GetDownloadUrlForLayer",
      "ecr:BatchGetImage",
    ]
    resources = [aws_ecr_repository.worker.arn]
  }

  statement {
    sid       = "WriteTheWorkerLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.worker.arn}:*"]
  }

  statement {
    sid       = "DecryptTheImage"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-image-and-write-logs"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# --- ECS task role: what the worker does -----------------------------------------------------

resource "aws_iam_role" "task" {
  name               = "${local.name}-worker"
  description        = "The automlops worker: queues, buckets, SageMaker resources named ${var.sagemaker_name_prefix}*"
  assume_role_policy = data.aws_iam_policy_document.ecs_task_trust.json
}

locals {
  bucket_arns = { for role, bucket in module.bucket : role => bucket.arn }
  # Objects the worker reads and writes, per bucket. The raw object is never modified or deleted
  # (docs/architecture.md §4), so nothing in raw is writable.
  worker_read_objects = concat(
    [for prefix in local.raw_read_prefixes : "${local.bucket_arns["raw"]}/${prefix}*"],
    [for role in ["curated", "models", "reports"] : "${local.bucket_arns[role]}/${local.runs_prefix}*"],
  )
  worker_write_objects = [for role in ["curated", "models", "reports"] : "${local.bucket_arns[role]}/${local.runs_prefix}*"]
  # Besides runs/, the reports bucket holds each dataset's champion pointer (datasets/), the
  # runs index (reports/), which the worker rewrites after each decision, the predictions of
  # files scored by upload (predictions/) and the records of uploads it ignored (ignored/).
  reports_shared_objects = [for prefix in local.reports_shared_prefixes : "${local.bucket_arns["reports"]}/${prefix}*"]
}

data "aws_iam_policy_document" "task" {
  statement {
    sid       = "ReadUploadsRecipesAndRunArtifacts"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = local.worker_read_objects
  }

  statement {
    sid       = "WriteRunArtifacts"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = local.worker_write_objects
  }

  statement {
    sid       = "ChampionPointersRunsIndexAndPredictions"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = local.reports_shared_objects
  }

  # ListBucket without a prefix condition on purpose: S3 answers a GET or HEAD of a missing key
  # with 404 only to callers that may list the bucket, and 403 to everyone else. The stages
  # tell "not there yet" (404) from "forbidden" (403) when they check before they create.
  statement {
    sid       = "ListOurBuckets"
    actions   = ["s3:ListBucket"]
    resources = values(local.bucket_arns)
  }

  statement {
    sid = "ConsumeAndFeedTheQueues"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:SendMessage",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
    ]
    resources = [for queue in aws_sqs_queue.main : queue.arn]
  }

  # Permanent failures go to the DLQ at once, with the reason attached.
  statement {
    sid       = "DeadLetterPermanentFailures"
    actions   = ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
    resources = [for queue in aws_sqs_queue.dlq : queue.arn]
  }

  statement {
    sid       = "UseTheDeploymentKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]
  }

  # Each call is authorized against every resource it names (CreateEndpoint: the endpoint and
  # its endpoint config), so one statement covers the four kinds, all named with the prefix.
  statement {
    sid = "SageMakerResourcesOfThisPipeline"
    actions = [
      "sagemaker:CreateTrainingJob",
      "sagemaker:DescribeTrainingJob",
      "sagemaker:StopTrainingJob",
      "sagemaker:CreateModel",
      "sagemaker:DescribeModel",
      "sagemaker:DeleteModel",
      "sagemaker:CreateEndpointConfig",
      "sagemaker:DescribeEndpointConfig",
      "sagemaker:DeleteEndpointConfig",
      "sagemaker:CreateEndpoint",
      "sagemaker:DescribeEndpoint",
      "sagemaker:UpdateEndpoint",
      "sagemaker:DeleteEndpoint",
      "sagemaker:AddTags",
      "sagemaker:ListTags",
    ]
    resources = local.sagemaker_resource_arns
  }

  statement {
    sid = "RegisterVersionsOfThisPipeline"
    actions = [
      "sagemaker:CreateModelPackageGroup",
      "sagemaker:DescribeModelPackageGroup",
      "sagemaker:CreateModelPackage",
      "sagemaker:DescribeModelPackage",
      "sagemaker:UpdateModelPackage",
    ]
    resources = local.model_registry_arns
  }

  statement {
    sid       = "ListActionsHaveNoResource"
    actions   = ["sagemaker:ListEndpoints", "sagemaker:ListModelPackages"]
    resources = ["*"]
  }

  statement {
    sid       = "PublishDecisions"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.decisions.arn]
  }

  statement {
    sid       = "InvokeThisPipelinesEndpoints"
    actions   = ["sagemaker:InvokeEndpoint"]
    resources = ["${local.sagemaker_arn}:endpoint/${var.sagemaker_name_prefix}*"]
  }

  statement {
    sid       = "PassTheSageMakerRoleToSageMakerOnly"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.sagemaker.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["sagemaker.amazonaws.com"]
    }
  }

  # The report's training curves: the rounds the XGBoost container logged.
  statement {
    sid       = "ReadTrainingLogs"
    actions   = ["logs:DescribeLogStreams", "logs:GetLogEvents"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/sagemaker/TrainingJobs:*"]
  }

  statement {
    sid       = "MetricsHaveNoArnSoScopeByNamespace"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metrics_namespace]
    }
  }

  # The ECS agent's task-protection endpoint calls ECS with this role (service/protection.py).
  statement {
    sid       = "ProtectOwnTaskFromScaleIn"
    actions   = ["ecs:UpdateTaskProtection", "ecs:GetTaskProtection"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${local.cluster_name}/*"]
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "automlops-worker"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# --- VPC flow logs ------------------------------------------------------------------------------

data "aws_iam_policy_document" "flow_logs_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "flow_logs" {
  count              = local.create_vpc && var.enable_flow_logs ? 1 : 0
  name               = "${local.name}-flow-logs"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_trust.json
}

data "aws_iam_policy_document" "flow_logs" {
  count = local.create_vpc && var.enable_flow_logs ? 1 : 0
  statement {
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:DescribeLogStreams",
    ]
    resources = ["${aws_cloudwatch_log_group.flow_logs[0].arn}:*"]
  }
}

resource "aws_iam_role_policy" "flow_logs" {
  count  = local.create_vpc && var.enable_flow_logs ? 1 : 0
  name   = "write-flow-logs"
  role   = aws_iam_role.flow_logs[0].id
  policy = data.aws_iam_policy_document.flow_logs[0].json
}
