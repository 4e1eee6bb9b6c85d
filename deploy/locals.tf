data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  name       = "${var.name_prefix}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  # var.region rather than data.aws_region: its attribute is `name` in provider v5, `region` in v6.
  region = var.region

  # The roles of the four buckets and two queues, named as the worker's settings name them
  # (AUTOMLOPS_<ROLE>_BUCKET, AUTOMLOPS_<ROLE>_QUEUE_URL) and as localcloud/stack.py creates them.
  bucket_roles = ["raw", "curated", "models", "reports"]
  queue_roles  = ["ingest", "stages"]

  # Which new objects start a pipeline stage: the same filters as handlers.routes.S3_RULES (the wiring
  # test compares them with localcloud.stack.notification_filters(S3_RULES)).
  notification_filters = {
    # `.csv`, `.tsv`, `.csv.gz` and `.tsv.gz` in any letter case: S3 matches one case-sensitive suffix, so the
    # whole prefix is announced and the worker takes what its rule accepts (logging the rest).
    raw = [
      { prefix = "data/", suffix = "" },
      { prefix = "score/", suffix = "" },
    ]
    models = [
      { prefix = "runs/", suffix = "model.tar.gz" },
    ]
  }

  # Every artifact of a run lives under runs/<run_id>/ (docs/architecture.md §3).
  runs_prefix = "runs/"
  # Reports bucket: champion pointers (handlers/naming.py champion_key), the runs index and the
  # predictions of files scored by upload.
  reports_shared_prefixes = ["datasets/", "reports/", "predictions/", "ignored/"]
  # What the worker reads from the raw bucket: uploads, operator-provided recipes and files of
  # rows to score.
  raw_read_prefixes = ["data/", "recipes/", "score/"]

  # The account hosting the SageMaker XGBoost images, per region: the same table as
  # handlers/aws/images.py (the wiring test keeps them equal). Set var.xgboost_registry_account_id
  # for a region missing here.
  xgboost_registry_accounts = {
    "af-south-1"     = "510948584623"
    "ap-east-1"      = "651117190479"
    "ap-northeast-1" = "354813040037"
    "ap-northeast-2" = "366743142698"
    "ap-northeast-3" = "867004704886"
    "ap-south-1"     = "720646828776"
    "ap-southeast-1" = "121021644041"
    "ap-southeast-2" = "783357654285"
    "ca-central-1"   = "341280168497"
    "eu-central-1"   = "492215442770"
    "eu-north-1"     = "662702820516"
    "eu-south-1"     = "978288397137"
    "eu-west-1"      = "141502667606"
    "eu-west-2"      = "764974769150"
    "eu-west-3"      = "659782779980"
    "me-south-1"     = "801668240914"
    "sa-east-1"      = "737474898029"
    "us-east-1"      = "683313688378"
    "us-east-2"      = "257758044811"
    "us-west-1"      = "746614075791"
    "us-west-2"      = "246618743249"
  }
  # var.region's validation makes sure one of the two is there.
  xgboost_registry_account = try(length(var.xgboost_registry_account_id) > 0, false) ? var.xgboost_registry_account_id : local.xgboost_registry_accounts[var.region]

  # SageMaker ARNs of what the worker creates: every name starts with the prefix (handlers/naming.py).
  sagemaker_arn = "arn:${local.partition}:sagemaker:${local.region}:${local.account_id}"
  sagemaker_resource_arns = [
    "${local.sagemaker_arn}:training-job/${var.sagemaker_name_prefix}*",
    "${local.sagemaker_arn}:model/${var.sagemaker_name_prefix}*",
    "${local.sagemaker_arn}:endpoint-config/${var.sagemaker_name_prefix}*",
    "${local.sagemaker_arn}:endpoint/${var.sagemaker_name_prefix}*",
  ]
  # The registry: one model package group per dataset, `<prefix><dataset>`, and its versions
  # (`model-package/<group>/<n>`).
  model_registry_arns = [
    "${local.sagemaker_arn}:model-package-group/${var.sagemaker_name_prefix}*",
    "${local.sagemaker_arn}:model-package/${var.sagemaker_name_prefix}*",
  ]
  # What clients call: one stable endpoint per dataset (docs/architecture.md §3, handlers/naming.py).
  live_endpoints       = { for d in var.datasets : d => "${var.sagemaker_name_prefix}${d}-live" }
  model_package_groups = { for d in var.datasets : d => "${var.sagemaker_name_prefix}${d}" }

  log_group_name = "/ecs/${local.name}/worker"
  cluster_name   = local.name
  service_name   = "${local.name}-worker"
  container_name = "worker"

  # The metrics' Service dimension (service/metrics.py DEFAULT_SERVICE).
  metrics_service = "automlops"
}
