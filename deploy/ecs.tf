# The worker: one container per Fargate task, in private subnets, scaled on queue backlog.

resource "aws_ecs_cluster" "main" {
  name = local.cluster_name

  # Container Insights publishes RunningTaskCount, which the backlog-per-task scaling divides by.
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "main" {
  cluster_name       = aws_ecs_cluster.main.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = var.use_fargate_spot ? "FARGATE_SPOT" : "FARGATE"
    weight            = 1
  }
}

resource "aws_cloudwatch_log_group" "worker" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

locals {
  # The worker's whole configuration, as {name, value} pairs: the container's `environment`
  # below, and what tests/deploy/test_terraform_wiring.py checks against Settings.names().
  # Every value is a string (ECS requires it).
  worker_environment = [
    # where things live (all required)
    { name = "AUTOMLOPS_RAW_BUCKET", value = module.bucket["raw"].id },
    { name = "AUTOMLOPS_CURATED_BUCKET", value = module.bucket["curated"].id },
    { name = "AUTOMLOPS_MODELS_BUCKET", value = module.bucket["models"].id },
    { name = "AUTOMLOPS_REPORTS_BUCKET", value = module.bucket["reports"].id },
    { name = "AUTOMLOPS_INGEST_QUEUE_URL", value = aws_sqs_queue.main["ingest"].url },
    { name = "AUTOMLOPS_STAGES_QUEUE_URL", value = aws_sqs_queue.main["stages"].url },
    { name = "AUTOMLOPS_SAGEMAKER_ROLE_ARN", value = aws_iam_role.sagemaker.arn },
    # The worker's prefix has no trailing hyphen; the variable's (an ARN prefix) has.
    { name = "AUTOMLOPS_SAGEMAKER_NAME_PREFIX", value = trimsuffix(var.sagemaker_name_prefix, "-") },
    { name = "AUTOMLOPS_DECISIONS_TOPIC_ARN", value = aws_sns_topic.decisions.arn },
    # the consumer
    { name = "AUTOMLOPS_WORKER_THREADS", value = tostring(var.worker_threads) },
    { name = "AUTOMLOPS_HEARTBEAT_SECONDS", value = tostring(var.heartbeat_seconds) },
    { name = "AUTOMLOPS_VISIBILITY_EXTENSION_SECONDS", value = tostring(var.visibility_extension_seconds) },
    { name = "AUTOMLOPS_SHUTDOWN_BUDGET_SECONDS", value = tostring(var.shutdown_budget_seconds) },
    { name = "AUTOMLOPS_HEALTH_FILE", value = "/tmp/automlops/health" },
    { name = "AUTOMLOPS_WORK_DIR", value = "/tmp/automlops/work" },
    { name = "AUTOMLOPS_LOG_FORMAT", value = "json" },
    { name = "AUTOMLOPS_LOG_LEVEL", value = var.log_level },
    { name = "AUTOMLOPS_METRICS_NAMESPACE", value = var.metrics_namespace },
    # the pipeline
    { name = "AUTOMLOPS_XGBOOST_IMAGE_URI", value = var.xgboost_image_uri },
    { name = "AUTOMLOPS_TRAINING_INSTANCE_TYPE", value = var.training_instance_type },
    { name = "AUTOMLOPS_TRAINING_MAX_RUNTIME_SECONDS", value = tostring(var.training_max_runtime_seconds) },
    { name = "AUTOMLOPS_ENDPOINT_MEMORY_MB", value = tostring(var.endpoint_memory_mb) },
    { name = "AUTOMLOPS_ENDPOINT_MAX_CONCURRENCY", value = tostring(var.endpoint_max_concurrency) },
  ]

  # SIGTERM, then SIGKILL this many seconds later: the most Fargate allows, so the shutdown
  # budget (at most 115 s, validated) always fits.
  stop_timeout_seconds = 120
}

resource "aws_ecs_task_definition" "worker" {
  family                   = "${local.name}-worker"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  ephemeral_storage {
    size_in_gib = var.ephemeral_storage_gib
  }

  # The one writable place: Fargate task storage mounted at /tmp (the root filesystem is
  # read-only). The image declares VOLUME /tmp, so ECS copies the image's /tmp into the volume,
  # including /tmp/automlops/{work,tmp,home} owned by the worker's uid.
  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([
    {
      name                   = local.container_name
      image                  = "${aws_ecr_repository.worker.repository_url}:${var.image_tag}"
      essential              = true
      user                   = "10001:10001"
      readonlyRootFilesystem = true
      privileged             = false
      stopTimeout            = local.stop_timeout_seconds
      # ECS drops variables with an empty value, which would show as a change on every plan.
      environment = [for variable in local.worker_environment : variable if variable.value != ""]
      mountPoints = [
        { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
      ]
      linuxParameters = {
        # tini as PID 1: forwards SIGTERM to the worker and reaps children.
        initProcessEnabled = true
        capabilities       = { drop = ["ALL"] }
      }
      healthCheck = {
        command     = ["CMD", "automlops", "healthcheck"]
        interval    = 30
        timeout     = 5
        retries     = 3
        startPeriod = 60
      }
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.worker.name
          awslogs-region        = local.region
          awslogs-stream-prefix = "worker"
          # Never block the worker on a slow log pipe; lines beyond the buffer are dropped.
          mode            = "non-blocking"
          max-buffer-size = "25m"
        }
      }
    },
  ])
}

resource "aws_ecs_service" "worker" {
  name                    = local.service_name
  cluster                 = aws_ecs_cluster.main.id
  task_definition         = aws_ecs_task_definition.worker.arn
  desired_count           = var.scale_to_zero ? 0 : var.min_tasks
  platform_version        = "LATEST"
  enable_execute_command  = false
  propagate_tags          = "SERVICE"
  enable_ecs_managed_tags = true

  capacity_provider_strategy {
    capacity_provider = var.use_fargate_spot ? "FARGATE_SPOT" : "FARGATE"
    weight            = 1
  }

  # Start the new task before stopping the old one; roll back a deployment whose tasks never
  # become healthy.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = local.subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  lifecycle {
    # Application Auto Scaling owns the task count after the first apply.
    ignore_changes = [desired_count]
  }

  depends_on = [aws_ecs_cluster_capacity_providers.main]
}
