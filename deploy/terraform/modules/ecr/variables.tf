variable "name_prefix" {
  description = "Namespace of the repositories (cloudmart/<image>)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+([._-][a-z0-9]+)*$", var.name_prefix))
    error_message = "Lowercase letters and digits, separated by '.', '_' or '-'."
  }
}

variable "repositories" {
  description = "Image names, one repository each."
  type        = list(string)
  default = [
    "gateway",
    "users",
    "products",
    "orders",
    "notifications",
    "payments",
    "dashboard",
    "pgbouncer",
    "analytics",
    "catalog-import",
  ]

  validation {
    condition     = length(var.repositories) > 0 && alltrue([for repo in var.repositories : can(regex("^[a-z0-9]+([._-][a-z0-9]+)*$", repo))])
    error_message = "Repository names are lowercase letters and digits, separated by '.', '_' or '-'."
  }
}

variable "keep_images" {
  description = "Tagged images kept per repository."
  type        = number
  default     = 30

  validation {
    condition     = var.keep_images >= 5 && var.keep_images <= 1000
    error_message = "Keep 5 to 1000 images (enough to roll back)."
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
