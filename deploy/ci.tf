# GitHub Actions reach AWS with short-lived OIDC credentials, no stored keys. Two roles:
#   <name>-ci-deploy  pushes images and applies Terraform: only from var.github_branch, from the
#                     var.github_environment environment (with required reviewers) and from
#                     release tags v*
#   <name>-ci-plan    reads, for `terraform plan` on pull requests
# Both exist only when var.github_repository is set.

locals {
  ci_enabled   = var.github_repository != null
  github_oidc  = "token.actions.githubusercontent.com"
  oidc_arn     = local.ci_enabled ? (var.create_github_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn) : ""
  state_prefix = "${trimsuffix(var.state_key_prefix, "/")}/"
}

resource "aws_iam_openid_connect_provider" "github" {
  count          = local.ci_enabled && var.create_github_oidc_provider ? 1 : 0
  url            = "https://${local.github_oidc}"
  client_id_list = ["sts.amazonaws.com"]
  # AWS no longer uses these for GitHub's provider; older provider versions require the argument.
  thumbprint_list = [
    "6938fd4d98bab03faadb97b34396831e3780aea1",
    "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
  ]
}

data "aws_iam_openid_connect_provider" "github" {
  count = local.ci_enabled && !var.create_github_oidc_provider ? 1 : 0
  url   = "https://${local.github_oidc}"
}

data "aws_iam_policy_document" "ci_deploy_trust" {
  count = local.ci_enabled ? 1 : 0
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.oidc_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc}:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringLike"
      variable = "${local.github_oidc}:sub"
      values = [
        "repo:${var.github_repository}:ref:refs/heads/${var.github_branch}",
        "repo:${var.github_repository}:environment:${var.github_environment}",
        "repo:${var.github_repository}:ref:refs/tags/v*",
      ]
    }
  }
}

data "aws_iam_policy_document" "ci_plan_trust" {
  count = local.ci_enabled ? 1 : 0
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.oidc_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc}:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc}:sub"
      values   = ["repo:${var.github_repository}:pull_request"]
    }
  }
}

resource "aws_iam_role" "ci_deploy" {
  count                = local.ci_enabled ? 1 : 0
  name                 = "${local.name}-ci-deploy"
  description          = "GitHub Actions of ${var.github_repository}: push images, apply Terraform"
  assume_role_policy   = data.aws_iam_policy_document.ci_deploy_trust[0].json
  max_session_duration = 3600
}

resource "aws_iam_role" "ci_plan" {
  count                = local.ci_enabled ? 1 : 0
  name                 = "${local.name}-ci-plan"
  description          = "GitHub Actions of ${var.github_repository}: terraform plan on pull requests"
  assume_role_policy   = data.aws_iam_policy_document.ci_plan_trust[0].json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "ci_deploy" {
  count = local.ci_enabled ? 1 : 0

  statement {
    sid       = "EcrLoginIsRegistryWide"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "PushTheWorkerImageOnly"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImages",
      "ecr:GetDownloadUrlForLayer",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = [aws_ecr_repository.worker.arn]
  }

  statement {
    sid       = "EncryptPushedLayers"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]
  }

  dynamic "statement" {
    for_each = var.state_bucket == null ? [] : [var.state_bucket]
    content {
      sid       = "ListTheState"
      actions   = ["s3:ListBucket"]
      resources = ["arn:${local.partition}:s3:::${statement.value}"]
      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["${local.state_prefix}*"]
      }
    }
  }

  # Read and write the state; put and delete its .tflock object (S3-native locking).
  dynamic "statement" {
    for_each = var.state_bucket == null ? [] : [var.state_bucket]
    content {
      sid       = "ReadWriteAndLockTheState"
      actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
      resources = ["arn:${local.partition}:s3:::${statement.value}/${local.state_prefix}*"]
    }
  }
}

data "aws_iam_policy_document" "ci_plan" {
  count = local.ci_enabled && var.state_bucket != null ? 1 : 0

  statement {
    sid       = "ListTheState"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${var.state_bucket}"]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.state_prefix}*"]
    }
  }

  # A plan reads the state and takes the lock (writes, then deletes, the .tflock object).
  statement {
    sid       = "ReadTheState"
    actions   = ["s3:GetObject"]
    resources = ["arn:${local.partition}:s3:::${var.state_bucket}/${local.state_prefix}*"]
  }

  statement {
    sid       = "TakeTheLock"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["arn:${local.partition}:s3:::${var.state_bucket}/${local.state_prefix}*.tflock"]
  }
}

resource "aws_iam_role_policy" "ci_deploy" {
  count  = local.ci_enabled ? 1 : 0
  name   = "push-image-and-state"
  role   = aws_iam_role.ci_deploy[0].id
  policy = data.aws_iam_policy_document.ci_deploy[0].json
}

resource "aws_iam_role_policy" "ci_plan" {
  count  = local.ci_enabled && var.state_bucket != null ? 1 : 0
  name   = "read-state"
  role   = aws_iam_role.ci_plan[0].id
  policy = data.aws_iam_policy_document.ci_plan[0].json
}

resource "aws_iam_role_policy_attachment" "ci_deploy" {
  for_each   = local.ci_enabled ? toset(var.ci_deploy_policy_arns) : toset([])
  role       = aws_iam_role.ci_deploy[0].name
  policy_arn = each.value
}

resource "aws_iam_role_policy_attachment" "ci_plan" {
  for_each   = local.ci_enabled ? toset(var.ci_plan_policy_arns) : toset([])
  role       = aws_iam_role.ci_plan[0].name
  policy_arn = each.value
}
