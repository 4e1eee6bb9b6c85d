# The four data buckets (raw, curated, models, reports; modules/bucket) and one bucket for their
# access logs. Bucket names carry account and region: S3 names are global.

module "bucket" {
  source   = "./modules/bucket"
  for_each = toset(local.bucket_roles)

  name        = "${local.name}-${each.key}-${local.account_id}-${local.region}"
  kms_key_arn = aws_kms_key.main.arn
  # Through the policy, so that logging starts once the log bucket accepts deliveries.
  access_log_bucket                  = aws_s3_bucket_policy.access_logs.bucket
  access_log_prefix                  = "${each.key}/"
  force_destroy                      = var.force_destroy_buckets
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  # Run artifacts are rebuilt from the raw object when needed; raw data itself never expires
  # (the pipeline never modifies or deletes it).
  expire_prefix = local.runs_prefix
  expire_days   = each.key == "raw" ? 0 : var.run_artifact_expiration_days
}

# New objects that start a stage: the ingest queue hears of them, with exactly the filters of
# handlers.routes.S3_RULES (local.notification_filters; the wiring test compares the two), directly or,
# with s3_event_delivery = "eventbridge", through EventBridge rules (eventbridge.tf).
resource "aws_s3_bucket_notification" "ingest" {
  for_each    = local.notification_filters
  bucket      = module.bucket[each.key].id
  eventbridge = var.s3_event_delivery == "eventbridge"

  dynamic "queue" {
    for_each = var.s3_event_delivery == "direct" ? each.value : []
    content {
      id            = trimsuffix("ingest-${replace(trimsuffix(queue.value.prefix, "/"), "/", "-")}-${replace(queue.value.suffix, ".", "")}", "-")
      queue_arn     = aws_sqs_queue.main["ingest"].arn
      events        = ["s3:ObjectCreated:*"]
      filter_prefix = queue.value.prefix
      filter_suffix = queue.value.suffix != "" ? queue.value.suffix : null
    }
  }

  # S3 sends a test event when the configuration is saved: the queue policy must allow it first.
  depends_on = [aws_sqs_queue_policy.ingest]
}

# --- access logs ------------------------------------------------------------------------------

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_18:This is the access-log bucket; logging it into itself would log its own log deliveries forever
  #checkov:skip=CKV_AWS_144:Access logs are not replicated; losing a region loses its logs with it
  #checkov:skip=CKV_AWS_145:S3 server access logging delivers only to buckets encrypted with SSE-S3, not SSE-KMS
  #checkov:skip=CKV2_AWS_62:No pipeline stage reacts to access logs
  bucket        = "${local.name}-logs-${local.account_id}-${local.region}"
  force_destroy = var.force_destroy_buckets
}

resource "aws_s3_bucket_versioning" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket                  = aws_s3_bucket.access_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

data "aws_iam_policy_document" "access_logs" {
  statement {
    sid       = "S3ServerAccessLogDelivery"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/*"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [for bucket in module.bucket : bucket.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.access_logs.arn,
      "${aws_s3_bucket.access_logs.arn}/*",
    ]
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

resource "aws_s3_bucket_policy" "access_logs" {
  bucket     = aws_s3_bucket.access_logs.id
  policy     = data.aws_iam_policy_document.access_logs.json
  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.access_log_expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.access_logs]
}
