# Two work queues, each with its dead-letter queue:
#   ingest  <- S3 notifications of the raw and models buckets
#   stages  <- the worker's own follow-up messages
# A message received max_receive_count times without being deleted moves to the DLQ; the worker
# also sends permanent failures there at once, with the reason attached.

resource "aws_sqs_queue" "dlq" {
  for_each                          = toset(local.queue_roles)
  name                              = "${local.name}-${each.key}-dlq"
  message_retention_seconds         = var.dlq_retention_seconds
  kms_master_key_id                 = aws_kms_key.main.arn
  kms_data_key_reuse_period_seconds = 300
}

resource "aws_sqs_queue" "main" {
  for_each                          = toset(local.queue_roles)
  name                              = "${local.name}-${each.key}"
  visibility_timeout_seconds        = var.queue_visibility_timeout_seconds
  message_retention_seconds         = var.message_retention_seconds
  receive_wait_time_seconds         = 20
  kms_master_key_id                 = aws_kms_key.main.arn
  kms_data_key_reuse_period_seconds = 300

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn
    maxReceiveCount     = var.max_receive_count
  })

  lifecycle {
    # The same rule the variable validation states, kept next to the queue it protects: a
    # message must stay hidden past the first heartbeat and past the shutdown budget.
    precondition {
      condition     = var.queue_visibility_timeout_seconds > var.heartbeat_seconds && var.queue_visibility_timeout_seconds > var.shutdown_budget_seconds
      error_message = "The queue visibility timeout must exceed the heartbeat interval and the shutdown budget."
    }
  }
}

# Only its own source queue may move messages into a DLQ (and a redrive moves them back).
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  for_each  = aws_sqs_queue.dlq
  queue_url = each.value.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.main[each.key].arn]
  })
}

# --- queue policies ---------------------------------------------------------------------------

data "aws_iam_policy_document" "ingest_queue" {
  # Only the raw and models buckets of this account may send S3 notifications.
  statement {
    sid       = "S3NotificationsFromOurBuckets"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.main["ingest"].arn]
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [for role in keys(local.notification_filters) : module.bucket[role].arn]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # With s3_event_delivery = "eventbridge": this deployment's rules forward S3's events.
  dynamic "statement" {
    for_each = length(aws_cloudwatch_event_rule.s3_objects) > 0 ? [1] : []
    content {
      sid       = "S3EventsFromOurEventBridgeRules"
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.main["ingest"].arn]
      principals {
        type        = "Service"
        identifiers = ["events.amazonaws.com"]
      }
      condition {
        test     = "ArnEquals"
        variable = "aws:SourceArn"
        values   = [for rule in aws_cloudwatch_event_rule.s3_objects : rule.arn]
      }
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.main["ingest"].arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "ingest" {
  queue_url = aws_sqs_queue.main["ingest"].id
  policy    = data.aws_iam_policy_document.ingest_queue.json
}

# The stages queue and the DLQs are used by the worker's role only (iam.tf); their policies just
# refuse plain-HTTP access.
locals {
  tls_only_queues = merge(
    { for role, queue in aws_sqs_queue.dlq : "${role}-dlq" => queue },
    { stages = aws_sqs_queue.main["stages"] },
  )
}

data "aws_iam_policy_document" "tls_only_queue" {
  for_each = local.tls_only_queues

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [each.value.arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "tls_only" {
  for_each  = local.tls_only_queues
  queue_url = each.value.id
  policy    = data.aws_iam_policy_document.tls_only_queue[each.key].json
}
