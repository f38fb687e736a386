variable "name" {
  description = "Prefix of every resource (e.g. cloudmart-prod)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "The name is 3-31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "name_prefix" {
  description = "Globally unique prefix of the bucket names."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{2,40}$", var.name_prefix))
    error_message = "3-41 lowercase letters, digits or hyphens."
  }
}

variable "log_group_services" {
  description = "Services that get a CloudWatch log group /cloudmart/<name>/<service>."
  type        = list(string)

  validation {
    condition     = alltrue([for service in var.log_group_services : can(regex("^[a-z][a-z0-9-]*$", service))])
    error_message = "Service names are lowercase letters, digits or hyphens."
  }
}

variable "log_retention_days" {
  description = "Days the application logs are kept."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "Use a retention CloudWatch Logs supports (e.g. 30, 90, 365)."
  }
}

variable "billing_threshold_usd" {
  description = "Estimated monthly charges (USD) above which the billing alarm fires."
  type        = number

  validation {
    condition     = var.billing_threshold_usd > 0
    error_message = "The threshold is a positive amount."
  }
}

variable "billing_alert_emails" {
  description = "Addresses subscribed to the billing alarm (each confirms by e-mail)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for email in var.billing_alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", email))])
    error_message = "Give e-mail addresses."
  }
}

variable "backup_noncurrent_days" {
  description = "Days overwritten or deleted backup versions are kept."
  type        = number
  default     = 90

  validation {
    condition     = var.backup_noncurrent_days >= 7
    error_message = "Keep old backup versions at least 7 days."
  }
}

variable "route53_zone_id" {
  description = "Hosted zone of the shop host."
  type        = string

  validation {
    condition     = can(regex("^Z[A-Z0-9]+$", var.route53_zone_id))
    error_message = "A hosted zone ID looks like Z0123456789ABCDEFGHIJ."
  }
}

variable "shop_host" {
  description = "DNS name of the shop (the Ingress host)."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9-]+\\.)+[a-z]{2,}$", var.shop_host))
    error_message = "A DNS name like shop.example.com."
  }
}

variable "alb_dns_name" {
  description = "DNS name of the ALB the Load Balancer Controller created for the Ingress (null until it exists)."
  type        = string
  default     = null

  validation {
    condition     = var.alb_dns_name == null || try(endswith(var.alb_dns_name, ".elb.amazonaws.com"), false)
    error_message = "An ALB DNS name ends with .elb.amazonaws.com."
  }
}

variable "alb_zone_id" {
  description = "Canonical hosted zone of the ALB (per region, e.g. Z35SXDOTRQ7X7K in us-east-1)."
  type        = string
  default     = null

  validation {
    condition     = var.alb_zone_id == null || try(can(regex("^Z[A-Z0-9]+$", var.alb_zone_id)), false)
    error_message = "A hosted zone ID looks like Z35SXDOTRQ7X7K."
  }
}

variable "oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider."
  type        = string

  validation {
    condition     = length(var.oidc_provider_arn) > 0
    error_message = "The OIDC provider ARN is required."
  }
}

variable "oidc_issuer" {
  description = "OIDC issuer without https:// (condition key prefix)."
  type        = string

  validation {
    condition     = !startswith(var.oidc_issuer, "https://")
    error_message = "Give the issuer without the https:// scheme."
  }
}

variable "app_namespace" {
  description = "Kubernetes namespace of the CloudMart services."
  type        = string
  default     = "cloudmart"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.app_namespace))
    error_message = "A Kubernetes namespace name."
  }
}

variable "products_service_account" {
  description = "The products service's Kubernetes ServiceAccount (the chart names it cloudmart-products)."
  type        = string
  default     = "cloudmart-products"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.products_service_account))
    error_message = "A Kubernetes ServiceAccount name."
  }
}

variable "dynamodb_table_arns" {
  description = "ARNs of the products tables (the products service's IRSA role)."
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

variable "force_destroy" {
  description = "Whether terraform destroy may delete non-empty buckets (dev only)."
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
