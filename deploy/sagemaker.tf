# The role SageMaker assumes for the worker's training jobs and serverless endpoints. The
# SageMaker resources themselves are created at run time by the worker, named with
# var.sagemaker_name_prefix, and are not in this configuration.

# Pinned to this account. A SourceArn condition would narrow it further, but it is not documented
# for every SageMaker call that assumes the role; left out rather than risk a job that cannot start.
data "aws_iam_policy_document" "sagemaker_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "sagemaker" {
  name               = "${local.name}-sagemaker"
  description        = "SageMaker training jobs and serverless endpoints of the automlops worker"
  assume_role_policy = data.aws_iam_policy_document.sagemaker_trust.json
}

data "aws_iam_policy_document" "sagemaker" {
  # Training reads the run's train/validation splits from the curated bucket.
  statement {
    sid       = "ReadTrainingData"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arns["curated"]}/${local.runs_prefix}*"]
  }

  # Training writes model.tar.gz under runs/<run_id>/model/; the endpoint reads it back.
  statement {
    sid       = "WriteAndServeModelArtifacts"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${local.bucket_arns["models"]}/${local.runs_prefix}*"]
  }

  statement {
    sid       = "ListTheRunPrefixes"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arns["curated"], local.bucket_arns["models"]]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.runs_prefix}*"]
    }
  }

  statement {
    sid       = "UseTheDeploymentKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]
  }

  statement {
    sid       = "EcrLoginIsRegistryWide"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  # The AWS-owned XGBoost image of this region (locals.tf), nothing else.
  statement {
    sid = "PullTheXgboostImage"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:GetDownloadUrlForLayer",
      "ecr:BatchGetImage",
    ]
    resources = ["arn:${local.partition}:ecr:${local.region}:${local.xgboost_registry_account}:repository/sagemaker-xgboost"]
  }

  statement {
    sid = "WriteTrainingAndEndpointLogs"
    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:DescribeLogStreams",
    ]
    resources = [
      "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/sagemaker/TrainingJobs",
      "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/sagemaker/TrainingJobs:*",
      "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/sagemaker/Endpoints/${var.sagemaker_name_prefix}*",
    ]
  }

  statement {
    sid       = "MetricsHaveNoArnSoScopeByNamespace"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
    condition {
      test     = "StringLike"
      variable = "cloudwatch:namespace"
      values   = ["/aws/sagemaker/*"]
    }
  }
}

resource "aws_iam_role_policy" "sagemaker" {
  name   = "train-and-serve"
  role   = aws_iam_role.sagemaker.id
  policy = data.aws_iam_policy_document.sagemaker.json
}
