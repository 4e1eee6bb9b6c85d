# Alarms -> one encrypted SNS topic (optionally e-mailed), a dashboard, and saved Logs Insights
# queries over the worker's JSON logs. README.md says what to do for each alarm.

resource "aws_sns_topic" "alarms" {
  name              = "${local.name}-alarms"
  kms_master_key_id = aws_kms_key.main.arn
}

data "aws_iam_policy_document" "alarms_topic" {
  source_policy_documents = [data.aws_iam_policy_document.topic_common["alarms"].json]

  statement {
    sid       = "OwnAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${local.name}-*"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# What both topics' policies say: the account manages the topic; nothing is published over
# plain HTTP.
data "aws_iam_policy_document" "topic_common" {
  for_each = { alarms = aws_sns_topic.alarms.arn, decisions = aws_sns_topic.decisions.arn }

  statement {
    sid     = "AccountManagesTheTopic"
    actions = ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:Publish"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
    resources = [each.value]
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [each.value]
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

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarms_topic.json
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count     = var.alarm_email == null ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  alarm_actions = [aws_sns_topic.alarms.arn]
}

# --- alarms ---------------------------------------------------------------------------------------

# Anything in a DLQ is a message the pipeline gave up on: look at it, fix, redrive.
resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  for_each            = aws_sqs_queue.dlq
  alarm_name          = "${local.name}-${each.key}-dlq-not-empty"
  alarm_description   = "Messages were dead-lettered from the ${each.key} queue. README: 'A DLQ is not empty'."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# The worker writes MessagesFailed (retry or dead-lettered) for every settled message; the
# Service-only dimension set sums all stages into one series (service/metrics.py).
resource "aws_cloudwatch_metric_alarm" "messages_failed" {
  alarm_name          = "${local.name}-messages-failed"
  alarm_description   = "Stages failed more than ${var.failed_messages_threshold} message(s) in 5 minutes. README: 'Messages are failing'."
  namespace           = var.metrics_namespace
  metric_name         = "MessagesFailed"
  dimensions          = { Service = local.metrics_service }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.failed_messages_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# The train stage writes DataDrifted = 1 for an upload with a feature beyond its recipe's
# [evaluation] drift_psi against the champion's training rows (handlers/stages/train.py).
resource "aws_cloudwatch_metric_alarm" "data_drift" {
  alarm_name          = "${local.name}-data-drift"
  alarm_description   = "An upload drifted from its champion's training data (PSI above the recipe's drift_psi). See the run's report.html, section Drift."
  namespace           = var.metrics_namespace
  metric_name         = "DataDrifted"
  dimensions          = { Service = local.metrics_service }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# Scoring a labelled file by upload measures the live model on fresh rows and writes
# LiveBelowFloor = 1 when it misses a floor of its recipe's [promotion] table
# (handlers/stages/score.py): production performance, where serverless has no Model Monitor.
resource "aws_cloudwatch_metric_alarm" "live_below_floor" {
  alarm_name          = "${local.name}-live-below-floor"
  alarm_description   = "A live model scored a labelled file below its recipe's floors. See predictions/<dataset>/<file>.json, metrics.floors_missed."
  namespace           = var.metrics_namespace
  metric_name         = "LiveBelowFloor"
  dimensions          = { Service = local.metrics_service }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# Every task writes PollsSucceeded after each receive call, messages or not. No data for N
# minutes means no task is polling: crashed, stuck, or unable to reach SQS.
resource "aws_cloudwatch_metric_alarm" "polls_stalled" {
  count               = var.scale_to_zero ? 0 : 1
  alarm_name          = "${local.name}-polls-stalled"
  alarm_description   = "No worker task completed a queue poll for ${var.poll_stall_minutes} minutes. README: 'Polling stalled'."
  namespace           = var.metrics_namespace
  metric_name         = "PollsSucceeded"
  dimensions          = { Service = local.metrics_service }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = var.poll_stall_minutes
  datapoints_to_alarm = var.poll_stall_minutes
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# With scale to zero, no polls is normal while no task runs: alarm only when tasks run and
# none of them polls.
resource "aws_cloudwatch_metric_alarm" "polls_stalled_while_running" {
  count               = var.scale_to_zero ? 1 : 0
  alarm_name          = "${local.name}-polls-stalled"
  alarm_description   = "Worker tasks run but none completed a queue poll for ${var.poll_stall_minutes} minutes. README: 'Polling stalled'."
  evaluation_periods  = var.poll_stall_minutes
  datapoints_to_alarm = var.poll_stall_minutes
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "polls"
    return_data = false
    metric {
      namespace   = var.metrics_namespace
      metric_name = "PollsSucceeded"
      dimensions  = { Service = local.metrics_service }
      stat        = "Sum"
      period      = 60
    }
  }

  metric_query {
    id          = "tasks"
    return_data = false
    metric {
      namespace   = "ECS/ContainerInsights"
      metric_name = "RunningTaskCount"
      dimensions = {
        ClusterName = aws_ecs_cluster.main.name
        ServiceName = aws_ecs_service.worker.name
      }
      stat   = "Maximum"
      period = 60
    }
  }

  metric_query {
    id          = "running_but_not_polling"
    label       = "1 when tasks run and none polled"
    expression  = "IF(tasks > 0 AND FILL(polls, 0) < 1, 1, 0)"
    return_data = true
  }
}

# The oldest upload waiting in the ingest queue: a backlog that does not drain (too few tasks,
# max_tasks reached, or every task failing) shows here before users notice.
resource "aws_cloudwatch_metric_alarm" "ingest_backlog_age" {
  alarm_name          = "${local.name}-ingest-backlog-age"
  alarm_description   = "An ingest message has waited over an hour. README: 'The ingest backlog is old'."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.main["ingest"].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = 3600
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# Clients call each dataset's live endpoint (a run's own endpoint lives only until its decision),
# so the alarms watch the live endpoints by name: errors and the model's latency.
locals {
  live_endpoint_alarms = merge([
    for dataset, endpoint in local.live_endpoints : {
      for metric in ["Invocation4XXErrors", "Invocation5XXErrors"] :
      "${dataset}-${lower(replace(metric, "Invocation", ""))}" => { endpoint = endpoint, metric = metric }
    }
  ]...)
}

resource "aws_cloudwatch_metric_alarm" "endpoint_errors" {
  for_each            = local.live_endpoint_alarms
  alarm_name          = "${local.name}-live-${each.key}"
  alarm_description   = "${each.value.endpoint} returned ${each.value.metric} in the last 5 minutes. README: 'Endpoint errors'."
  namespace           = "AWS/SageMaker"
  metric_name         = each.value.metric
  dimensions          = { EndpointName = each.value.endpoint, VariantName = "AllTraffic" }
  statistic           = "Sum"
  period              = 300
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.endpoint_error_threshold
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# ModelLatency is in microseconds.
resource "aws_cloudwatch_metric_alarm" "endpoint_latency" {
  for_each            = local.live_endpoints
  alarm_name          = "${local.name}-live-${each.key}-latency"
  alarm_description   = "${each.value}'s p90 model latency exceeded ${var.endpoint_latency_threshold_ms} ms over 5 minutes. README: 'Endpoint latency'."
  namespace           = "AWS/SageMaker"
  metric_name         = "ModelLatency"
  dimensions          = { EndpointName = each.value, VariantName = "AllTraffic" }
  extended_statistic  = "p90"
  period              = 300
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.endpoint_latency_threshold_ms * 1000
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# --- promotion decisions ------------------------------------------------------------------------

# Each decision (promoted, rejected, pending-approval, rolled-back, promotion-failed) is published
# here with both metric sets and the reason; the alarm e-mail is subscribed (filter on the
# `decision` message attribute to get only some).
resource "aws_sns_topic" "decisions" {
  name              = "${local.name}-decisions"
  kms_master_key_id = aws_kms_key.main.arn
}

resource "aws_sns_topic_policy" "decisions" {
  arn    = aws_sns_topic.decisions.arn
  policy = data.aws_iam_policy_document.topic_common["decisions"].json
}

resource "aws_sns_topic_subscription" "decisions_email" {
  count     = var.alarm_email == null ? 0 : 1
  topic_arn = aws_sns_topic.decisions.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# --- saved Logs Insights queries (CloudWatch console: Logs Insights -> Saved queries) ----------

locals {
  query_folder = "automlops-${var.environment}"
  saved_queries = {
    # Replace RUN_ID with the run's id (e.g. 20261126-3f9a1c0b2e).
    "run-timeline"      = <<-EOT
      fields @timestamp, event, stage, message_type, outcome, duration_ms, queued_ms, handler_ms, endpoint_wait_ms, receive_count, error, message_id
      | filter run_id = "RUN_ID"
      | sort @timestamp asc
      | limit 1000
    EOT
    "failures-by-stage" = <<-EOT
      filter ispresent(message_id) and outcome in ["retry", "dead-lettered"]
      | stats count(*) as failures, latest(error) as last_error, latest(run_id) as last_run by stage, outcome
      | sort failures desc
    EOT
    "slowest-stages"    = <<-EOT
      filter ispresent(message_id) and ispresent(duration_ms)
      | stats count(*) as messages, avg(duration_ms) as avg_ms, pct(duration_ms, 50) as p50_ms, pct(duration_ms, 95) as p95_ms, max(duration_ms) as max_ms by stage
      | sort p95_ms desc
    EOT
    # Per stage: time in the queue (a training watch's delay included), in the handlers, and the
    # part of that spent waiting for an endpoint to be InService.
    "where-the-time-goes"    = <<-EOT
      filter event = "message.settled" and ispresent(handler_ms)
      | stats count(*) as messages, sum(queued_ms) / 1000 as queued_s, pct(queued_ms, 95) as p95_queued_ms, sum(handler_ms) / 1000 as handler_s, sum(endpoint_wait_ms) / 1000 as endpoint_wait_s by stage
      | sort handler_s desc
    EOT
    "dead-lettered-messages" = <<-EOT
      fields @timestamp, queue, message_type, run_id, message_id, receive_count, stage, error
      | filter outcome = "dead-lettered"
      | sort @timestamp desc
      | limit 200
    EOT
  }
}

resource "aws_cloudwatch_query_definition" "worker" {
  for_each        = local.saved_queries
  name            = "${local.query_folder}/${each.key}"
  log_group_names = [aws_cloudwatch_log_group.worker.name]
  query_string    = each.value
}

# --- dashboard ------------------------------------------------------------------------------------

locals {
  ns = var.metrics_namespace
  # SEARCH matches unquoted terms against the tokens of a value (split at punctuation): "aml"
  # selects aml-<dataset>-<run>-ep endpoints.
  endpoint_token = trimsuffix(var.sagemaker_name_prefix, "-")
  dashboard_widgets = [
    {
      type = "metric", x = 0, y = 0, width = 8, height = 6
      properties = {
        title  = "Queue backlog (visible messages)"
        region = local.region
        view   = "timeSeries"
        stat   = "Maximum"
        period = 60
        metrics = [for role, queue in aws_sqs_queue.main :
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue.name, { label = role }]
        ]
      }
    },
    {
      type = "metric", x = 8, y = 0, width = 8, height = 6
      properties = {
        title  = "Dead-letter queues"
        region = local.region
        view   = "timeSeries"
        stat   = "Maximum"
        period = 300
        metrics = [for role, queue in aws_sqs_queue.dlq :
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue.name, { label = "${role} DLQ" }]
        ]
      }
    },
    {
      type = "metric", x = 16, y = 0, width = 8, height = 6
      properties = {
        title  = "Worker tasks"
        region = local.region
        view   = "timeSeries"
        stat   = "Average"
        period = 60
        metrics = [
          ["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", aws_ecs_cluster.main.name, "ServiceName", aws_ecs_service.worker.name, { label = "running" }],
          ["ECS/ContainerInsights", "DesiredTaskCount", "ClusterName", aws_ecs_cluster.main.name, "ServiceName", aws_ecs_service.worker.name, { label = "desired" }],
        ]
      }
    },
    {
      type = "metric", x = 0, y = 6, width = 8, height = 6
      properties = {
        title  = "Messages processed by stage"
        region = local.region
        view   = "timeSeries"
        period = 300
        metrics = [
          [{ expression = "SEARCH('{${local.ns},Service,Stage} MetricName=\"MessagesProcessed\"', 'Sum', 300)", id = "processed" }],
        ]
      }
    },
    {
      type = "metric", x = 8, y = 6, width = 8, height = 6
      properties = {
        title  = "Failures by stage and outcome"
        region = local.region
        view   = "timeSeries"
        period = 300
        metrics = [
          [{ expression = "SEARCH('{${local.ns},Service,Stage,Outcome} MetricName=\"MessagesFailed\"', 'Sum', 300)", id = "failed" }],
        ]
      }
    },
    {
      type = "metric", x = 16, y = 6, width = 8, height = 6
      properties = {
        title  = "Stage duration p90 (ms)"
        region = local.region
        view   = "timeSeries"
        period = 300
        metrics = [
          [{ expression = "SEARCH('{${local.ns},Service,Stage} MetricName=\"StageDurationMs\"', 'p90', 300)", id = "duration" }],
        ]
      }
    },
    {
      type = "metric", x = 0, y = 12, width = 8, height = 6
      properties = {
        title   = "Polls completed (all tasks)"
        region  = local.region
        view    = "timeSeries"
        stat    = "Sum"
        period  = 60
        metrics = [[local.ns, "PollsSucceeded", "Service", local.metrics_service]]
      }
    },
    {
      type = "metric", x = 8, y = 12, width = 8, height = 6
      properties = {
        title  = "Endpoint errors (${var.sagemaker_name_prefix}* endpoints)"
        region = local.region
        view   = "timeSeries"
        period = 300
        metrics = [
          [{ expression = "SEARCH('{AWS/SageMaker,EndpointName,VariantName} MetricName=\"Invocation4XXErrors\" EndpointName=${local.endpoint_token}', 'Sum', 300)", id = "e4xx" }],
          [{ expression = "SEARCH('{AWS/SageMaker,EndpointName,VariantName} MetricName=\"Invocation5XXErrors\" EndpointName=${local.endpoint_token}', 'Sum', 300)", id = "e5xx" }],
        ]
      }
    },
    {
      type = "metric", x = 16, y = 12, width = 8, height = 6
      properties = {
        title  = "Model quality of evaluated runs"
        region = local.region
        view   = "timeSeries"
        stat   = "Maximum"
        period = 3600
        metrics = [
          [local.ns, "AUC", "Service", local.metrics_service],
          [local.ns, "Accuracy", "Service", local.metrics_service],
          [local.ns, "F1Macro", "Service", local.metrics_service],
          [local.ns, "R2", "Service", local.metrics_service],
          [local.ns, "DataDriftMaxPSI", "Service", local.metrics_service],
        ]
      }
    },
    {
      type = "log", x = 0, y = 18, width = 16, height = 6
      properties = {
        title  = "Recent failures"
        region = local.region
        view   = "table"
        query  = "SOURCE '${aws_cloudwatch_log_group.worker.name}' | fields @timestamp, stage, outcome, run_id, error | filter outcome in [\"retry\", \"dead-lettered\"] | sort @timestamp desc | limit 50"
      }
    },
    {
      type = "alarm", x = 16, y = 18, width = 8, height = 6
      properties = {
        title = "Alarms"
        alarms = concat(
          [for alarm in aws_cloudwatch_metric_alarm.dlq_not_empty : alarm.arn],
          [aws_cloudwatch_metric_alarm.messages_failed.arn, aws_cloudwatch_metric_alarm.ingest_backlog_age.arn],
          [aws_cloudwatch_metric_alarm.data_drift.arn],
          aws_cloudwatch_metric_alarm.polls_stalled[*].arn,
          aws_cloudwatch_metric_alarm.polls_stalled_while_running[*].arn,
          [for alarm in aws_cloudwatch_metric_alarm.endpoint_errors : alarm.arn],
        )
      }
    },
  ]
}

resource "aws_cloudwatch_dashboard" "main" {
  dashboard_name = local.name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
