variable "name" {
  description = "Identifier of the instance and prefix of its resources."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,50}$", var.name))
    error_message = "The name is 3-51 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  description = "VPC of the database security group."
  type        = string

  validation {
    condition     = length(var.vpc_id) > 0
    error_message = "A VPC ID is required."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the DB subnet group (two AZs for Multi-AZ)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "A DB subnet group needs subnets in at least two AZs."
  }
}

variable "eks_node_security_group_id" {
  description = "Security group of the EKS nodes: the only source allowed on 5432."
  type        = string

  validation {
    condition     = length(var.eks_node_security_group_id) > 0
    error_message = "The EKS node security group is required."
  }
}

variable "engine_version" {
  description = "PostgreSQL version (architecture.md §7: 15; a major version alone takes the default minor)."
  type        = string
  default     = "15"

  validation {
    condition     = can(regex("^15(\\.[0-9]+)?$", var.engine_version))
    error_message = "architecture.md §7 asks for PostgreSQL 15 (15 or 15.<minor>)."
  }
}

variable "instance_class" {
  description = "DB instance class."
  type        = string

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "A DB instance class looks like db.m6g.large."
  }
}

variable "multi_az" {
  description = "Whether a standby runs in a second AZ (architecture.md §7: yes)."
  type        = bool
  default     = true

  validation {
    condition     = var.multi_az != null
    error_message = "multi_az must be true or false."
  }
}

variable "allocated_storage_gib" {
  description = "Initial storage in GiB."
  type        = number
  default     = 50

  validation {
    condition     = var.allocated_storage_gib >= 20 && var.allocated_storage_gib <= 65536
    error_message = "gp3 storage is 20 to 65536 GiB."
  }
}

variable "max_allocated_storage_gib" {
  description = "Ceiling of storage autoscaling in GiB."
  type        = number
  default     = 200

  validation {
    condition     = var.max_allocated_storage_gib >= 20 && var.max_allocated_storage_gib <= 65536
    error_message = "gp3 storage is 20 to 65536 GiB."
  }
}

variable "backup_retention_days" {
  description = "Days automated backups are kept (7 or more)."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 35
    error_message = "Keep backups 7 to 35 days."
  }
}

variable "deletion_protection" {
  description = "Whether the instance refuses deletion (true in prod)."
  type        = bool
  default     = true

  validation {
    condition     = var.deletion_protection != null
    error_message = "deletion_protection must be true or false."
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
