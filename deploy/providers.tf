provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      Project     = "automlops"
      Environment = var.environment
      ManagedBy   = "terraform"
    })
  }
}
