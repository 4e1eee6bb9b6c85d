terraform {
  # 1.10+ for S3-native state locking (use_lockfile); 1.9+ for cross-variable validation.
  required_version = ">= 1.10.0, < 2.0.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Written against the v5 schema and kept to what v6 still accepts (no deprecated blocks).
      version = ">= 5.80.0, < 7.0.0"
    }
  }

  # Partial configuration: bucket, key and region come from `terraform init -backend-config=…`
  # (see backend.hcl.example), so one set of files serves every account and environment.
  backend "s3" {}
}
