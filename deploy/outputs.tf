output "buckets" {
  description = "Bucket names by role; upload data to s3://<raw>/data/<dataset>/<file>.csv."
  value       = { for role, bucket in module.bucket : role => bucket.id }
}

output "access_log_bucket" {
  description = "Where S3 server access logs of the four buckets go."
  value       = aws_s3_bucket.access_logs.id
}

output "queue_urls" {
  description = "Work queue URLs by role."
  value       = { for role, queue in aws_sqs_queue.main : role => queue.url }
}

output "dlq_urls" {
  description = "Dead-letter queue URLs by role."
  value       = { for role, queue in aws_sqs_queue.dlq : role => queue.url }
}

output "dlq_arns" {
  description = "Dead-letter queue ARNs by role (for `aws sqs start-message-move-task --source-arn`)."
  value       = { for role, queue in aws_sqs_queue.dlq : role => queue.arn }
}

output "ecr_repository_url" {
  description = "Push the worker image here, tagged with the release (tags are immutable)."
  value       = aws_ecr_repository.worker.repository_url
}

output "cluster_name" {
  value = aws_ecs_cluster.main.name
}

output "service_name" {
  value = aws_ecs_service.worker.name
}

output "log_group" {
  description = "The worker's log group (JSON lines; EMF metrics are extracted from it)."
  value       = aws_cloudwatch_log_group.worker.name
}

output "alarm_topic_arn" {
  value = aws_sns_topic.alarms.arn
}

output "decisions_topic_arn" {
  description = "Every promotion decision is published here (subscribe to follow them)."
  value       = aws_sns_topic.decisions.arn
}

output "live_endpoints" {
  description = "What clients call, by dataset: the endpoint serving that dataset's champion."
  value       = local.live_endpoints
}

output "model_package_groups" {
  description = "The model registry's group of each dataset (SageMaker Studio: Models > Registered models)."
  value       = local.model_package_groups
}

output "dashboard_url" {
  value = "https://${local.region}.console.aws.amazon.com/cloudwatch/home?region=${local.region}#dashboards/dashboard/${aws_cloudwatch_dashboard.main.dashboard_name}"
}

output "saved_queries" {
  description = "Logs Insights saved queries, by name."
  value       = [for query in aws_cloudwatch_query_definition.worker : query.name]
}

output "sagemaker_role_arn" {
  value = aws_iam_role.sagemaker.arn
}

output "task_role_arn" {
  value = aws_iam_role.task.arn
}

output "kms_key_arn" {
  value = aws_kms_key.main.arn
}

output "ci_deploy_role_arn" {
  description = "GitHub variable AWS_DEPLOY_ROLE_ARN."
  value       = one(aws_iam_role.ci_deploy[*].arn)
}

output "ci_plan_role_arn" {
  description = "GitHub variable AWS_PLAN_ROLE_ARN."
  value       = one(aws_iam_role.ci_plan[*].arn)
}

output "worker_environment" {
  description = "The worker's environment, for running the image by hand against this deployment."
  value       = { for variable in local.worker_environment : variable.name => variable.value }
}
