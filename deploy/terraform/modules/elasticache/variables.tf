variable "name" {
  description = "Replication group ID and prefix of its resources."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,39}$", var.name))
    error_message = "The name is 3-40 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "url_secret_name" {
  description = "Name of the Kubernetes Secret holding REDIS_URL (the chart's redis.urlSecret); the Secrets Manager secret is <name>/<this>."
  type        = string
  default     = "cloudmart-redis"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.url_secret_name))
    error_message = "A Kubernetes Secret name."
  }
}

variable "vpc_id" {
  description = "VPC of the cache security group."
  type        = string

  validation {
    condition     = length(var.vpc_id) > 0
    error_message = "A VPC ID is required."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the cache nodes (two AZs for Multi-AZ)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "Multi-AZ needs subnets in at least two AZs."
  }
}

variable "eks_node_security_group_id" {
  description = "Security group of the EKS nodes (allowed on 6379)."
  type        = string

  validation {
    condition     = length(var.eks_node_security_group_id) > 0
    error_message = "The EKS node security group is required."
  }
}

variable "extra_client_security_group_ids" {
  description = "Other security groups allowed on 6379, by a label saying who they are."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for label in keys(var.extra_client_security_group_ids) : length(label) > 0])
    error_message = "Label every security group."
  }
}

variable "engine_version" {
  description = "Redis engine version (7.x)."
  type        = string
  default     = "7.1"

  validation {
    condition     = can(regex("^7\\.[0-9]+$", var.engine_version))
    error_message = "architecture.md §2 asks for Redis 7 (7.<minor>)."
  }
}

variable "node_type" {
  description = "Cache node type."
  type        = string

  validation {
    condition     = startswith(var.node_type, "cache.")
    error_message = "A cache node type looks like cache.t4g.small."
  }
}

variable "node_count" {
  description = "Primary plus replicas (at least 2 for automatic failover)."
  type        = number
  default     = 2

  validation {
    condition     = var.node_count >= 2 && var.node_count <= 6
    error_message = "Automatic failover needs 2 to 6 nodes."
  }
}

variable "snapshot_retention_days" {
  description = "Days daily snapshots are kept."
  type        = number
  default     = 7

  validation {
    condition     = var.snapshot_retention_days >= 1 && var.snapshot_retention_days <= 35
    error_message = "Keep snapshots 1 to 35 days."
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
