variable "name" {
  description = "Name of the cluster and prefix of its resources."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "The name is 3-31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane (architecture.md §7: 1.27 or newer)."
  type        = string

  validation {
    condition     = can(regex("^1\\.[0-9]+$", var.kubernetes_version)) && try(tonumber(split(".", var.kubernetes_version)[1]) >= 27, false)
    error_message = "The Kubernetes version is 1.27 or newer, written as 1.<minor>."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the control plane ENIs and the nodes (at least two AZs)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "EKS needs subnets in at least two AZs."
  }
}

variable "endpoint_public_access" {
  description = "Whether the API server is reachable from the internet (restricted to public_access_cidrs)."
  type        = bool
  default     = false

  validation {
    condition     = var.endpoint_public_access != null
    error_message = "endpoint_public_access must be true or false."
  }
}

variable "public_access_cidrs" {
  description = "CIDRs allowed to reach the public API endpoint (never 0.0.0.0/0)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.public_access_cidrs : can(cidrhost(cidr, 0)) && cidr != "0.0.0.0/0"])
    error_message = "Give valid IPv4 CIDR blocks, and not 0.0.0.0/0."
  }
}

variable "node_instance_type" {
  description = "EC2 instance type of the managed node group."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]*\\.[a-z0-9]+$", var.node_instance_type))
    error_message = "An instance type looks like t3.medium."
  }
}

variable "node_min_size" {
  description = "Minimum number of nodes."
  type        = number

  validation {
    condition     = var.node_min_size >= 1 && floor(var.node_min_size) == var.node_min_size
    error_message = "At least one node, a whole number."
  }
}

variable "node_max_size" {
  description = "Maximum number of nodes."
  type        = number

  validation {
    condition     = var.node_max_size >= 1 && var.node_max_size <= 100 && floor(var.node_max_size) == var.node_max_size
    error_message = "Between 1 and 100 nodes, a whole number."
  }
}

variable "node_desired_size" {
  description = "Initial number of nodes (the autoscaler owns it afterwards)."
  type        = number

  validation {
    condition     = var.node_desired_size >= 1 && floor(var.node_desired_size) == var.node_desired_size
    error_message = "At least one node, a whole number."
  }
}

variable "node_disk_gib" {
  description = "Root volume size of each node in GiB."
  type        = number
  default     = 50

  validation {
    condition     = var.node_disk_gib >= 20 && var.node_disk_gib <= 1000
    error_message = "Between 20 and 1000 GiB."
  }
}

variable "log_retention_days" {
  description = "Days the control plane logs are kept."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
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
