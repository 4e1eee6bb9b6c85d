# One customer-managed key for the deployment's data at rest: the four buckets, the queues and
# their DLQs, the SNS alarm topic, the log groups and the ECR repository. One key keeps the key
# policy in one place and costs $1/month; CloudTrail shows each use with its service.
resource "aws_kms_key" "main" {
  description             = "${local.name}: S3, SQS, SNS, CloudWatch Logs and ECR encryption"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "main" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.main.key_id
}

# In a key policy, Resource "*" means "this key". The account statement hands authorization to
# IAM (the roles' policies in iam.tf name the key's ARN); the service statements let AWS services
# that act without an IAM role of ours use the key for this account's resources only.
data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:Key policy: "*" is this key; the account root statement delegates to IAM policies
  #checkov:skip=CKV_AWS_111:Key policy: "*" is this key; the account root statement delegates to IAM policies
  #checkov:skip=CKV_AWS_356:Key policy: "*" is this key, the only resource a key policy can name
  statement {
    sid       = "AccountAdministersAndDelegatesToIam"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # S3 event notifications are sent by S3 itself to the encrypted ingest queue.
  statement {
    sid       = "S3SendsNotificationsToEncryptedQueue"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # With s3_event_delivery = "eventbridge", EventBridge's rules send S3's events to the queue.
  dynamic "statement" {
    for_each = var.s3_event_delivery == "eventbridge" ? [1] : []
    content {
      sid       = "EventBridgeSendsS3EventsToEncryptedQueue"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = ["*"]
      principals {
        type        = "Service"
        identifiers = ["events.amazonaws.com"]
      }
      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [local.account_id]
      }
    }
  }

  # Alarms publish to the encrypted SNS topic.
  statement {
    sid       = "CloudWatchAlarmsPublishToEncryptedTopic"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # Log groups encrypted with the key (worker logs, VPC flow logs).
  statement {
    sid = "CloudWatchLogsEncryptsThisAccountsLogGroups"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }
}
