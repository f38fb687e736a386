variable "name" {
  description = "Globally unique bucket name."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name))
    error_message = "Bucket names are 3-63 lowercase letters, digits, dots or hyphens."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the objects (null: SSE-S3, only for the access-log bucket, which S3 logging requires)."
  type        = string

  validation {
    condition     = var.kms_key_arn == null || try(length(var.kms_key_arn) > 0, false)
    error_message = "Give a KMS key ARN, or null for SSE-S3."
  }
}

variable "noncurrent_version_days" {
  description = "Days an overwritten or deleted object version is kept."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_days >= 1
    error_message = "Keep old versions at least one day."
  }
}

variable "infrequent_access_after_days" {
  description = "Days after which objects move to STANDARD_IA (null: never)."
  type        = number
  default     = null

  validation {
    condition     = var.infrequent_access_after_days == null || try(var.infrequent_access_after_days >= 30, false)
    error_message = "S3 moves objects to STANDARD_IA after at least 30 days."
  }
}

variable "access_log_bucket" {
  description = "Bucket receiving the server access logs (null: no access logs, e.g. for the log bucket itself)."
  type        = string
  default     = null

  validation {
    condition     = var.access_log_bucket == null || try(length(var.access_log_bucket) >= 3, false)
    error_message = "The access log bucket is a bucket name."
  }
}

variable "extra_policy_json" {
  description = "A bucket policy document merged with the TLS-only statement (null: none)."
  type        = string
  default     = null

  validation {
    condition     = var.extra_policy_json == null || can(jsondecode(var.extra_policy_json))
    error_message = "The extra policy is a JSON document."
  }
}

variable "force_destroy" {
  description = "Whether terraform destroy may delete a non-empty bucket (dev only)."
  type        = bool
  default     = false

  validation {
    condition     = var.force_destroy != null
    error_message = "force_destroy must be true or false."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for key in keys(var.tags) : length(key) > 0 && length(key) <= 128])
    error_message = "Tag keys are 1-128 characters."
  }
}
