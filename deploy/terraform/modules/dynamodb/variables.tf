variable "name_prefix" {
  description = "Prefix of the table names (the schema's TableName follows it)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{3,100}$", var.name_prefix))
    error_message = "3-100 letters, digits, '_', '.' or '-'."
  }
}

variable "schema_files" {
  description = "CreateTable JSON files of services/products/src/cloudmart_products to deploy."
  type        = list(string)
  default     = ["table_schema.json", "reservations_table_schema.json"]

  validation {
    condition     = length(var.schema_files) > 0 && alltrue([for file in var.schema_files : endswith(file, ".json")])
    error_message = "List at least one .json schema file."
  }
}

variable "deletion_protection" {
  description = "Whether the tables refuse deletion (true in prod)."
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
