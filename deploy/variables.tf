# ---------------------------------------------------------------------------------------------
# Where and what
# ---------------------------------------------------------------------------------------------

variable "region" {
  description = "AWS region for everything (SageMaker serverless inference must be offered there)."
  type        = string
  default     = "eu-west-1"

  # Refers to a local and another variable: Terraform >= 1.9 (versions.tf asks for 1.10).
  validation {
    condition     = try(length(var.xgboost_registry_account_id) > 0, false) || contains(keys(local.xgboost_registry_accounts), var.region)
    error_message = "There is no SageMaker XGBoost registry account known for this region: set xgboost_registry_account_id (and xgboost_image_uri), or pick a region of locals.tf's xgboost_registry_accounts."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name; with the environment it names the deployment (e.g. automlops-prod)."
  type        = string
  default     = "automlops"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.name_prefix))
    error_message = "name_prefix: 2-16 lower-case letters, digits or hyphens, starting with a letter (it ends up in S3 bucket names)."
  }
}

variable "environment" {
  description = "Environment name (prod, staging, ...): part of every name and a default tag."
  type        = string
  default     = "prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,9}$", var.environment))
    error_message = "environment: 2-10 lower-case letters or digits, starting with a letter."
  }
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------------------------
# The worker task
# ---------------------------------------------------------------------------------------------

variable "image_tag" {
  description = "Tag of the worker image in the ECR repository (tags are immutable: one per release, e.g. v1.4.0)."
  type        = string

  validation {
    condition     = var.image_tag != "latest" && can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag: a release tag such as v1.4.0 (not 'latest': the repository's tags are immutable)."
  }
}

variable "task_cpu" {
  description = "Fargate task CPU units (1024 = 1 vCPU)."
  type        = number
  default     = 1024
}

variable "task_memory" {
  description = "Fargate task memory in MiB (preprocessing holds a dataset in pandas; evaluation holds the test set)."
  type        = number
  default     = 4096
}

variable "ephemeral_storage_gib" {
  description = "Fargate ephemeral storage (the /tmp volume: work files of in-flight messages), 21-200 GiB."
  type        = number
  default     = 21

  validation {
    condition     = var.ephemeral_storage_gib >= 21 && var.ephemeral_storage_gib <= 200
    error_message = "ephemeral_storage_gib must be between 21 and 200."
  }
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64 (the image must be built for it)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "use_fargate_spot" {
  description = "Run tasks on Fargate Spot (about 70% cheaper; a task may be stopped with a 2-minute notice, which the worker's SIGTERM handling absorbs)."
  type        = bool
  default     = false
}

variable "worker_threads" {
  description = "Messages one task handles concurrently (AUTOMLOPS_WORKER_THREADS)."
  type        = number
  default     = 4
}

variable "heartbeat_seconds" {
  description = "How often an in-flight message's visibility is extended (AUTOMLOPS_HEARTBEAT_SECONDS)."
  type        = number
  default     = 20
}

variable "visibility_extension_seconds" {
  description = "How far each heartbeat pushes the visibility timeout (AUTOMLOPS_VISIBILITY_EXTENSION_SECONDS)."
  type        = number
  default     = 60

  validation {
    condition     = var.visibility_extension_seconds > var.heartbeat_seconds
    error_message = "visibility_extension_seconds must exceed heartbeat_seconds, or a message reappears between two beats."
  }
}

variable "shutdown_budget_seconds" {
  description = "Seconds the worker spends finishing or handing back in-flight messages after SIGTERM (AUTOMLOPS_SHUTDOWN_BUDGET_SECONDS); must stay under the task's stopTimeout (120 s)."
  type        = number
  default     = 25

  validation {
    condition     = var.shutdown_budget_seconds >= 1 && var.shutdown_budget_seconds <= 115
    error_message = "shutdown_budget_seconds must be 1-115: ECS sends SIGKILL 120 s after SIGTERM."
  }
}

variable "log_level" {
  description = "Worker log level (AUTOMLOPS_LOG_LEVEL)."
  type        = string
  default     = "INFO"
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the worker's metrics (AUTOMLOPS_METRICS_NAMESPACE); use one per environment when several share an account."
  type        = string
  default     = "automlops"
}

# ---------------------------------------------------------------------------------------------
# Scaling
# ---------------------------------------------------------------------------------------------

variable "min_tasks" {
  description = "Fewest running tasks when scale_to_zero is false."
  type        = number
  default     = 1
}

variable "max_tasks" {
  description = "Most running tasks."
  type        = number
  default     = 4

  validation {
    condition     = var.max_tasks >= 1 && var.max_tasks >= var.min_tasks
    error_message = "max_tasks must be at least 1 and at least min_tasks."
  }
}

variable "scale_to_zero" {
  description = "Let the service scale in to 0 tasks when both queues are empty; a queue-depth alarm starts the first task again (cold start: about a minute)."
  type        = bool
  default     = false
}

variable "backlog_per_task_target" {
  description = "Target of visible messages (ingest + stages) per running task for target tracking."
  type        = number
  default     = 10
}

variable "scale_out_cooldown_seconds" {
  description = "Seconds between two scale-out activities."
  type        = number
  default     = 60
}

variable "scale_in_cooldown_seconds" {
  description = "Seconds between two scale-in activities."
  type        = number
  default     = 300
}

# ---------------------------------------------------------------------------------------------
# Queues
# ---------------------------------------------------------------------------------------------

variable "queue_visibility_timeout_seconds" {
  description = "Default visibility timeout of the ingest and stages queues: must outlast the first heartbeat and the shutdown budget."
  type        = number
  default     = 120

  validation {
    condition = (
      var.queue_visibility_timeout_seconds > var.heartbeat_seconds &&
      var.queue_visibility_timeout_seconds > var.shutdown_budget_seconds &&
      var.queue_visibility_timeout_seconds <= 43200
    )
    error_message = "queue_visibility_timeout_seconds must exceed heartbeat_seconds and shutdown_budget_seconds (and be at most 43200)."
  }
}

variable "max_receive_count" {
  description = "Receives before SQS moves a message to its DLQ (unclassified failures retry this often)."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be 1-1000."
  }
}

variable "message_retention_seconds" {
  description = "How long a message may wait in the ingest/stages queues (4 days)."
  type        = number
  default     = 345600
}

variable "dlq_retention_seconds" {
  description = "How long a dead-lettered message is kept (the maximum, 14 days: time to investigate and redrive)."
  type        = number
  default     = 1209600
}

# ---------------------------------------------------------------------------------------------
# Buckets
# ---------------------------------------------------------------------------------------------

variable "run_artifact_expiration_days" {
  description = "Days after which run artifacts (runs/ in the curated, models and reports buckets) expire; 0 keeps them."
  type        = number
  default     = 365
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which overwritten or deleted object versions expire."
  type        = number
  default     = 30
}

variable "access_log_expiration_days" {
  description = "Days S3 server access logs are kept."
  type        = number
  default     = 365
}

variable "force_destroy_buckets" {
  description = "Let `terraform destroy` delete non-empty buckets (true only for throw-away environments)."
  type        = bool
  default     = false
}

variable "ecr_keep_images" {
  description = "Tagged images kept in the ECR repository (older ones expire; untagged ones after 7 days)."
  type        = number
  default     = 30
}

# ---------------------------------------------------------------------------------------------
# SageMaker
# ---------------------------------------------------------------------------------------------

variable "s3_event_delivery" {
  description = "How the ingest queue hears of new objects: \"direct\" bucket notifications, or \"eventbridge\" (S3 sends to EventBridge, rules with the same filters forward to the queue; other consumers may subscribe too). The worker decodes both alike."
  type        = string
  default     = "direct"

  validation {
    condition     = contains(["direct", "eventbridge"], var.s3_event_delivery)
    error_message = "s3_event_delivery must be \"direct\" or \"eventbridge\"."
  }
}

variable "sagemaker_name_prefix" {
  description = "Prefix of the SageMaker resources the worker creates (training jobs, models, endpoint configs, endpoints), with its trailing hyphen; the task role may touch only these, and the worker names them so (AUTOMLOPS_SAGEMAKER_NAME_PREFIX)."
  type        = string
  default     = "aml-"

  validation {
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,9}-$", var.sagemaker_name_prefix))
    error_message = "sagemaker_name_prefix must be 1-10 letters, digits and inner hyphens, then a hyphen (e.g. \"aml-\")."
  }
}

variable "xgboost_image_uri" {
  description = "SageMaker XGBoost image URI (AUTOMLOPS_XGBOOST_IMAGE_URI); empty lets the worker pick the region's image."
  type        = string
  default     = ""
}

variable "xgboost_registry_account_id" {
  description = "Account of the region's SageMaker XGBoost registry; null looks it up in a table of common regions (locals.tf)."
  type        = string
  default     = null
}

variable "training_instance_type" {
  description = "Instance type of training jobs (AUTOMLOPS_TRAINING_INSTANCE_TYPE)."
  type        = string
  default     = "ml.m5.large"
}

variable "training_max_runtime_seconds" {
  description = "Stopping condition of training jobs (AUTOMLOPS_TRAINING_MAX_RUNTIME_SECONDS)."
  type        = number
  default     = 3600
}

variable "endpoint_memory_mb" {
  description = "Serverless endpoint memory (AUTOMLOPS_ENDPOINT_MEMORY_MB): 1024-6144 in steps of 1024."
  type        = number
  default     = 4096

  validation {
    condition     = contains([1024, 2048, 3072, 4096, 5120, 6144], var.endpoint_memory_mb)
    error_message = "endpoint_memory_mb must be one of 1024, 2048, 3072, 4096, 5120, 6144."
  }
}

variable "endpoint_max_concurrency" {
  description = "Serverless endpoint MaxConcurrency (AUTOMLOPS_ENDPOINT_MAX_CONCURRENCY), 1-200."
  type        = number
  default     = 1

  validation {
    condition     = var.endpoint_max_concurrency >= 1 && var.endpoint_max_concurrency <= 200
    error_message = "endpoint_max_concurrency must be 1-200."
  }
}

# ---------------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------------

variable "vpc_id" {
  description = "Existing VPC to run in; null creates one."
  type        = string
  default     = null
}

variable "private_subnet_ids" {
  description = "Private subnets of the existing VPC (only with vpc_id)."
  type        = list(string)
  default     = []
}

variable "private_route_table_ids" {
  description = "Route tables of those subnets, for the S3 gateway endpoint (only with vpc_id and use_vpc_endpoints)."
  type        = list(string)
  default     = []
}

variable "vpc_cidr" {
  description = "CIDR of the VPC created when vpc_id is null."
  type        = string
  default     = "10.40.0.0/16"
}

variable "availability_zone_count" {
  description = "Availability zones of the created VPC (every interface endpoint is billed per AZ)."
  type        = number
  default     = 2
}

variable "use_vpc_endpoints" {
  description = "Reach AWS APIs through VPC endpoints (private, about $7.30 per interface endpoint per AZ per month)."
  type        = bool
  default     = true
}

variable "use_nat_gateway" {
  description = "Reach AWS APIs through one NAT gateway instead (about $33 per month plus $0.045 per GB)."
  type        = bool
  default     = false

  validation {
    condition     = var.use_nat_gateway || var.use_vpc_endpoints
    error_message = "The tasks need a way out: enable use_vpc_endpoints, use_nat_gateway or both."
  }
}

variable "interface_endpoints" {
  description = "Interface endpoints created when use_vpc_endpoints is true (S3 is a free gateway endpoint on top)."
  type        = list(string)
  default     = ["sqs", "logs", "ecr.api", "ecr.dkr", "sagemaker.api", "sagemaker.runtime", "monitoring", "sts", "ecs"]
}

variable "enable_flow_logs" {
  description = "VPC flow logs (rejected traffic only) of the created VPC to CloudWatch Logs."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------------------------
# Observability
# ---------------------------------------------------------------------------------------------

variable "log_retention_days" {
  description = "Retention of the worker's and the flow logs' log groups."
  type        = number
  default     = 365
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (confirm the subscription mail); null for none."
  type        = string
  default     = null
}

variable "failed_messages_threshold" {
  description = "Alarm when more messages than this fail (retry or dead-letter) within 5 minutes."
  type        = number
  default     = 0
}

variable "poll_stall_minutes" {
  description = "Alarm when no task has completed a queue poll for this many minutes."
  type        = number
  default     = 10
}

variable "endpoint_error_threshold" {
  description = "Alarm when a dataset's live endpoint returns more 4XX or 5XX errors than this within 5 minutes."
  type        = number
  default     = 0
}

variable "endpoint_latency_threshold_ms" {
  description = "Alarm when a live endpoint's p90 model latency exceeds this many milliseconds over 5 minutes."
  type        = number
  default     = 1000
}

variable "datasets" {
  description = "The datasets (folders under data/) whose live endpoints get alarms and appear in the outputs. Other datasets work too; they are only not alarmed."
  type        = list(string)
  default     = ["bank-marketing"]

  validation {
    # So that `<prefix><dataset>-live` fits SageMaker's 63 characters without being shortened
    # (handlers/naming.py shortens longer ones with a digest; the alarms need the exact name).
    condition     = alltrue([for d in var.datasets : can(regex("^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$", d)) && length(d) <= 47])
    error_message = "Each dataset must be lower-case letters, digits and inner hyphens, at most 47 characters."
  }
}

# ---------------------------------------------------------------------------------------------
# CI/CD (GitHub Actions with OIDC)
# ---------------------------------------------------------------------------------------------

variable "github_repository" {
  description = "owner/name of the GitHub repository whose workflows may assume the CI roles; null creates no CI roles."
  type        = string
  default     = null

  validation {
    condition     = var.github_repository == null || can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must look like owner/name."
  }
}

variable "github_branch" {
  description = "Branch whose pushes may deploy."
  type        = string
  default     = "main"
}

variable "github_environment" {
  description = "GitHub environment (with required reviewers) whose jobs may deploy."
  type        = string
  default     = "production"
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub OIDC provider (false when the account already has one: there can be only one per URL)."
  type        = bool
  default     = true
}

variable "state_bucket" {
  description = "Name of the Terraform state bucket the CI roles read and write; null grants none."
  type        = string
  default     = null
}

variable "state_key_prefix" {
  description = "Key prefix of this deployment's state in the state bucket."
  type        = string
  default     = "automlops/"
}

variable "ci_plan_policy_arns" {
  description = "Managed policies of the pull-request (plan) role: it reads every resource Terraform refreshes."
  type        = list(string)
  default     = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
}

variable "ci_deploy_policy_arns" {
  description = "Managed policies that let the deploy role apply this configuration (scope them to this stack; see README)."
  type        = list(string)
  default     = []
}
