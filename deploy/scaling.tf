# Scaling on queue backlog per task: (visible messages in ingest + stages) / running tasks,
# tracked towards var.backlog_per_task_target. CPU says little about this worker (it mostly
# waits on SageMaker); the backlog says how long a new message will wait.

resource "aws_appautoscaling_target" "worker" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.worker.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.scale_to_zero ? 0 : var.min_tasks
  max_capacity       = var.max_tasks
}

resource "aws_appautoscaling_policy" "backlog_per_task" {
  name               = "${local.name}-backlog-per-task"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  resource_id        = aws_appautoscaling_target.worker.resource_id
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.backlog_per_task_target
    scale_in_cooldown  = var.scale_in_cooldown_seconds
    scale_out_cooldown = var.scale_out_cooldown_seconds

    customized_metric_specification {
      metrics {
        id          = "ingest"
        label       = "Visible messages in the ingest queue"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "AWS/SQS"
            metric_name = "ApproximateNumberOfMessagesVisible"
            dimensions {
              name  = "QueueName"
              value = aws_sqs_queue.main["ingest"].name
            }
          }
        }
      }

      metrics {
        id          = "stages"
        label       = "Visible messages in the stages queue"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "AWS/SQS"
            metric_name = "ApproximateNumberOfMessagesVisible"
            dimensions {
              name  = "QueueName"
              value = aws_sqs_queue.main["stages"].name
            }
          }
        }
      }

      metrics {
        id          = "tasks"
        label       = "Running tasks of the worker service"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"
            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.main.name
            }
            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.worker.name
            }
          }
        }
      }

      # With 0 tasks RunningTaskCount has no data, so this has none either and target tracking
      # does nothing: waking up from zero is the step policy's job (below).
      metrics {
        id          = "backlog_per_task"
        label       = "Visible messages per running task"
        expression  = "(ingest + stages) / tasks"
        return_data = true
      }
    }
  }
}

# --- scale to zero and back -------------------------------------------------------------------

# Sets the service to one task when messages wait and no task runs. Once a task runs, target
# tracking takes over (the alarm's expression is 0 whenever a task runs, so the two never fight).
# ExactCapacity, not +1: the alarm repeats while in ALARM, and a task takes a minute or two to
# show in RunningTaskCount; repeating "exactly 1" cannot overshoot.
resource "aws_appautoscaling_policy" "wake_from_zero" {
  count              = var.scale_to_zero ? 1 : 0
  name               = "${local.name}-wake-from-zero"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  resource_id        = aws_appautoscaling_target.worker.resource_id
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension

  step_scaling_policy_configuration {
    adjustment_type         = "ExactCapacity"
    cooldown                = 120
    metric_aggregation_type = "Maximum"

    step_adjustment {
      metric_interval_lower_bound = 0
      scaling_adjustment          = 1
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "wake_from_zero" {
  count               = var.scale_to_zero ? 1 : 0
  alarm_name          = "${local.name}-wake-from-zero"
  alarm_description   = "Messages are waiting and no worker task runs: start one."
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 1
  datapoints_to_alarm = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_appautoscaling_policy.wake_from_zero[0].arn]

  metric_query {
    id          = "ingest"
    return_data = false
    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = aws_sqs_queue.main["ingest"].name }
      stat        = "Maximum"
      period      = 60
    }
  }

  metric_query {
    id          = "stages"
    return_data = false
    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = aws_sqs_queue.main["stages"].name }
      stat        = "Maximum"
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

  # Backlog while no task runs (a service at zero publishes no RunningTaskCount: FILL makes it 0).
  metric_query {
    id          = "waiting_without_workers"
    label       = "Visible messages while no task runs"
    expression  = "IF(FILL(tasks, 0) < 1, ingest + stages, 0)"
    return_data = true
  }
}
