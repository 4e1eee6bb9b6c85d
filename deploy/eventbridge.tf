# With s3_event_delivery = "eventbridge": the raw and models buckets send their events to
# EventBridge (aws_s3_bucket_notification.ingest sets eventbridge = true) and these rules forward
# "Object Created" under the same prefixes as the direct notifications to the ingest queue. The
# worker decodes an EventBridge event as it decodes a notification (service/decode.py).

resource "aws_cloudwatch_event_rule" "s3_objects" {
  for_each    = var.s3_event_delivery == "eventbridge" ? local.notification_filters : {}
  name        = "${local.name}-${each.key}-objects"
  description = "Objects created in the ${each.key} bucket that start a pipeline stage"
  event_pattern = jsonencode({
    source        = ["aws.s3"]
    "detail-type" = ["Object Created"]
    detail = {
      bucket = { name = [module.bucket[each.key].id] }
      # Suffixes are the worker's to match (any case, several per rule): prefixes only here.
      object = { key = [for f in each.value : { prefix = f.prefix }] }
    }
  })
}

resource "aws_cloudwatch_event_target" "s3_objects" {
  for_each = aws_cloudwatch_event_rule.s3_objects
  rule     = each.value.name
  arn      = aws_sqs_queue.main["ingest"].arn
}
