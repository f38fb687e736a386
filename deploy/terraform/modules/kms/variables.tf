variable "name" {
  description = "Alias of the key (without the alias/ prefix)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_-]{1,200}$", var.name)) && !startswith(var.name, "aws/")
    error_message = "The name is 1-200 letters, digits, '/', '_' or '-', and must not start with aws/."
  }
}

variable "description" {
  description = "What the key encrypts."
  type        = string

  validation {
    condition     = length(var.description) > 0
    error_message = "Describe what the key encrypts."
  }
}

variable "logs_service" {
  description = "Whether CloudWatch Logs of this account and region may use the key (encrypted log groups)."
  type        = bool
  default     = false

  validation {
    condition     = var.logs_service != null
    error_message = "logs_service must be true or false."
  }
}

variable "service_principals" {
  description = "AWS service principals (e.g. sns.amazonaws.com) allowed to decrypt and generate data keys."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for principal in var.service_principals : endswith(principal, ".amazonaws.com")])
    error_message = "Service principals end with .amazonaws.com."
  }
}

variable "deletion_window_in_days" {
  description = "Days a scheduled deletion waits (7-30)."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "The deletion window is 7 to 30 days."
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
