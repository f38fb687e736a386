variable "project_id" {
  description = "GCP project of the analytics resources."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "A GCP project ID is 6-30 lowercase letters, digits or hyphens."
  }
}

variable "region" {
  description = "GCP region of the cluster and the buckets."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "A GCP region looks like europe-west1."
  }
}

variable "name" {
  description = "Name of the cluster, network and service account prefix."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,20}$", var.name))
    error_message = "3-21 lowercase letters, digits or hyphens, starting with a letter (service account IDs are short)."
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

variable "subnet_cidr" {
  description = "CIDR of the Dataproc subnet: the source MSK allows (over the AWS-GCP VPN)."
  type        = string

  validation {
    condition     = can(cidrhost(var.subnet_cidr, 0))
    error_message = "A valid IPv4 CIDR block."
  }
}

variable "master_count" {
  description = "Dataproc master nodes (architecture.md §7: 1)."
  type        = number
  default     = 1

  validation {
    condition     = contains([1, 3], var.master_count)
    error_message = "Dataproc runs 1 master (standard) or 3 (high availability)."
  }
}

variable "worker_count" {
  description = "Dataproc primary workers (architecture.md §7: 2)."
  type        = number
  default     = 2

  validation {
    condition     = var.worker_count >= 2 && floor(var.worker_count) == var.worker_count
    error_message = "A standard Dataproc cluster has at least 2 workers."
  }
}

variable "machine_type" {
  description = "Machine type of masters and workers (architecture.md §7: n1-standard-2)."
  type        = string
  default     = "n1-standard-2"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]*-[a-z]+-[0-9]+$", var.machine_type))
    error_message = "A machine type looks like n1-standard-2."
  }
}

variable "boot_disk_gb" {
  description = "Boot disk per node in GB."
  type        = number
  default     = 100

  validation {
    condition     = var.boot_disk_gb >= 30 && var.boot_disk_gb <= 1000
    error_message = "30 to 1000 GB."
  }
}

variable "image_version" {
  description = "Dataproc image version (decides the Flink version of the FLINK component)."
  type        = string
  default     = "2.2-debian12"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+(\\.[0-9]+)?(-[a-z0-9]+)?$", var.image_version))
    error_message = "A Dataproc image version looks like 2.2-debian12."
  }
}

variable "checkpoint_retention_days" {
  description = "Days before leftover checkpoint files are swept (Flink deletes subsumed checkpoints itself; keep this above the age of the oldest file a retained checkpoint may reference)."
  type        = number
  default     = 30

  validation {
    condition     = var.checkpoint_retention_days >= 7
    error_message = "At least 7 days, so that retained checkpoints survive."
  }
}

variable "results_retention_days" {
  description = "Days analytics results (the lake) are kept."
  type        = number
  default     = 365

  validation {
    condition     = var.results_retention_days >= 30
    error_message = "At least 30 days (they move to NEARLINE after 30)."
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

variable "labels" {
  description = "Labels added to every resource that takes labels."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for key in keys(var.labels) : can(regex("^[a-z][a-z0-9_-]{0,62}$", key))])
    error_message = "GCP label keys are lowercase letters, digits, '_' or '-', starting with a letter."
  }
}
