variable "name" {
  description = "Bucket name (global)."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer-managed key for SSE-KMS."
  type        = string
}

variable "access_log_bucket" {
  description = "Bucket receiving this bucket's server access logs."
  type        = string
}

variable "access_log_prefix" {
  description = "Key prefix of this bucket's access logs in the log bucket."
  type        = string
}

variable "force_destroy" {
  description = "Allow deleting the bucket with its objects."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which overwritten or deleted versions expire."
  type        = number
  default     = 30
}

variable "expire_prefix" {
  description = "Prefix whose objects expire after expire_days."
  type        = string
  default     = "runs/"
}

variable "expire_days" {
  description = "Days after which objects under expire_prefix expire; 0 keeps them."
  type        = number
  default     = 0
}
