variable "name" {
  description = "Prefix of every resource (e.g. cloudmart-prod)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "The name is 3-31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "bucket_name" {
  description = "Globally unique name of the catalog import bucket."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "Bucket names are 3-63 lowercase letters, digits, dots or hyphens."
  }
}

variable "incoming_prefix" {
  description = "Key prefix whose uploads trigger an import (IMPORT_PREFIX)."
  type        = string
  default     = "incoming/"

  validation {
    condition     = endswith(var.incoming_prefix, "/") && var.incoming_prefix != "reports/"
    error_message = "A folder prefix ending in '/', and not reports/ (where reports are written)."
  }
}

variable "image_uri" {
  description = "ECR image of the function (repository URL and an immutable tag)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com/.+[:@].+$", var.image_uri))
    error_message = "An ECR image URI with a tag or digest, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/cloudmart/catalog-import:abc123."
  }
}

variable "vpc_id" {
  description = "VPC of the function (it reaches Redis)."
  type        = string

  validation {
    condition     = length(var.vpc_id) > 0
    error_message = "A VPC ID is required."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the function."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "Use subnets in at least two AZs."
  }
}

variable "redis_security_group_id" {
  description = "Security group of Redis (egress 6379 target)."
  type        = string

  validation {
    condition     = length(var.redis_security_group_id) > 0
    error_message = "The Redis security group is required."
  }
}

variable "dynamodb_table_arns" {
  description = "ARNs of the products tables the function may read and write."
  type        = list(string)

  validation {
    condition     = length(var.dynamodb_table_arns) > 0
    error_message = "At least one table ARN."
  }
}

variable "dynamodb_kms_key_arn" {
  description = "KMS key of the products tables."
  type        = string

  validation {
    condition     = length(var.dynamodb_kms_key_arn) > 0
    error_message = "The tables' KMS key is required."
  }
}

variable "products_table_name" {
  description = "Deployed name of the products table (PRODUCTS_TABLE)."
  type        = string

  validation {
    condition     = length(var.products_table_name) >= 3
    error_message = "A DynamoDB table name has 3 or more characters."
  }
}

variable "reservations_table_name" {
  description = "Deployed name of the reservations table (RESERVATIONS_TABLE)."
  type        = string

  validation {
    condition     = length(var.reservations_table_name) >= 3
    error_message = "A DynamoDB table name has 3 or more characters."
  }
}

variable "environment" {
  description = "Further environment of the function (REDIS_URL, AWS_REGION settings...)."
  type        = map(string)
  default     = {}
  sensitive   = true

  validation {
    condition     = alltrue([for name in keys(var.environment) : can(regex("^[A-Z][A-Z0-9_]*$", name))])
    error_message = "Environment variable names are upper-case letters, digits and underscores."
  }
}

variable "reserved_concurrency" {
  description = "Concurrent executions reserved (and capped) for the function."
  type        = number
  default     = 5

  validation {
    condition     = var.reserved_concurrency >= 1 && var.reserved_concurrency <= 100
    error_message = "Reserve 1 to 100 executions."
  }
}

variable "access_log_bucket" {
  description = "Bucket receiving the import bucket's access logs (null: none)."
  type        = string
  default     = null

  validation {
    condition     = var.access_log_bucket == null || try(length(var.access_log_bucket) >= 3, false)
    error_message = "The access log bucket is a bucket name."
  }
}

variable "log_retention_days" {
  description = "Days the function's logs are kept."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "Use a retention CloudWatch Logs supports (e.g. 30, 90, 365)."
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
