variable "name" {
  description = "Prefix of the secrets' names: <name>/<Kubernetes Secret name>."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,39}$", var.name))
    error_message = "The name is 3-40 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "secret_names" {
  description = "The Kubernetes Secrets the chart reads (deploy/tests/test_wiring.py keeps this list and the chart's equal)."
  type        = list(string)

  validation {
    condition     = alltrue([for name in var.secret_names : can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", name))])
    error_message = "Kubernetes Secret names."
  }
}

variable "tags" {
  description = "Tags of every secret."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for key, value in var.tags : length(key) <= 128 && length(value) <= 256])
    error_message = "AWS tag keys are at most 128 characters, values 256."
  }
}
