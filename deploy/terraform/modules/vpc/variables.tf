variable "name" {
  description = "Name prefix of every resource (e.g. cloudmart-prod)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "The name is 3-31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "region" {
  description = "AWS region of the VPC (names the gateway endpoints)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "The region looks like us-east-1."
  }
}

variable "cidr" {
  description = "IPv4 CIDR of the VPC."
  type        = string

  validation {
    condition     = can(cidrhost(var.cidr, 0))
    error_message = "The VPC CIDR must be a valid IPv4 CIDR block."
  }
}

variable "availability_zones" {
  description = "AZs of the public and private subnets, in the order of the CIDR lists."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2 && length(distinct(var.availability_zones)) == length(var.availability_zones)
    error_message = "At least two distinct AZs are required."
  }
}

variable "public_subnet_cidrs" {
  description = "CIDRs of the public subnets, one per AZ."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_cidrs) >= 2 && alltrue([for cidr in var.public_subnet_cidrs : can(cidrhost(cidr, 0))])
    error_message = "At least two valid IPv4 CIDR blocks are required."
  }
}

variable "private_subnet_cidrs" {
  description = "CIDRs of the private subnets, one per AZ (EKS nodes, RDS, ElastiCache, Lambda, MSK)."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_cidrs) >= 2 && alltrue([for cidr in var.private_subnet_cidrs : can(cidrhost(cidr, 0))])
    error_message = "At least two valid IPv4 CIDR blocks are required."
  }
}

variable "msk_extra_subnet_cidr" {
  description = "CIDR of the private subnet in a third AZ that MSK's third broker uses."
  type        = string

  validation {
    condition     = can(cidrhost(var.msk_extra_subnet_cidr, 0))
    error_message = "The MSK subnet CIDR must be a valid IPv4 CIDR block."
  }
}

variable "msk_extra_availability_zone" {
  description = "The third AZ (not one of availability_zones) of the MSK-only subnet."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9][a-z]$", var.msk_extra_availability_zone))
    error_message = "An AZ looks like us-east-1c."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all AZs (cheaper, dev) instead of one per AZ (prod)."
  type        = bool
  default     = false

  validation {
    condition     = var.single_nat_gateway != null
    error_message = "single_nat_gateway must be true or false."
  }
}

variable "flow_log_retention_days" {
  description = "Days the VPC flow logs are kept in CloudWatch."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "Use a retention CloudWatch Logs supports (e.g. 30, 90, 365)."
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
