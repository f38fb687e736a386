variable "name" {
  description = "Name of the cluster and prefix of its resources."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,50}$", var.name))
    error_message = "The name is 3-51 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  description = "VPC of the broker security group."
  type        = string

  validation {
    condition     = length(var.vpc_id) > 0
    error_message = "A VPC ID is required."
  }
}

variable "subnet_ids" {
  description = "Private client subnets, one per AZ (two or three)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2 && length(var.subnet_ids) <= 3
    error_message = "MSK takes two or three client subnets in distinct AZs."
  }
}

variable "eks_node_security_group_id" {
  description = "Security group of the EKS nodes (a Kafka client source)."
  type        = string

  validation {
    condition     = length(var.eks_node_security_group_id) > 0
    error_message = "The EKS node security group is required."
  }
}

variable "gcp_dataproc_cidr" {
  description = "CIDR of the GCP Dataproc subnet (reached over the AWS-GCP VPN): the other Kafka client source."
  type        = string

  validation {
    condition     = can(cidrhost(var.gcp_dataproc_cidr, 0)) && var.gcp_dataproc_cidr != "0.0.0.0/0"
    error_message = "A valid IPv4 CIDR block, and not 0.0.0.0/0."
  }
}

variable "kafka_version" {
  description = "Apache Kafka version of the brokers."
  type        = string
  default     = "3.6.0"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+(\\.x)?$", var.kafka_version))
    error_message = "A Kafka version looks like 3.6.0."
  }
}

variable "broker_count" {
  description = "Number of brokers (architecture.md §7: 3), a multiple of the subnet count."
  type        = number
  default     = 3

  validation {
    condition     = var.broker_count >= 2 && floor(var.broker_count) == var.broker_count
    error_message = "At least two brokers, a whole number."
  }
}

variable "broker_instance_type" {
  description = "Instance type of the brokers."
  type        = string

  validation {
    condition     = startswith(var.broker_instance_type, "kafka.")
    error_message = "An MSK instance type looks like kafka.m5.large."
  }
}

variable "broker_volume_gib" {
  description = "EBS storage per broker in GiB."
  type        = number
  default     = 100

  validation {
    condition     = var.broker_volume_gib >= 1 && var.broker_volume_gib <= 16384
    error_message = "1 to 16384 GiB per broker."
  }
}

variable "client_broker_encryption" {
  description = "Client-broker encryption: TLS (9094 only) or TLS_PLAINTEXT (9092 and 9094). Every client (the services, the Flink job, the topic Job) speaks TLS."
  type        = string
  default     = "TLS"

  validation {
    condition     = contains(["TLS", "TLS_PLAINTEXT"], var.client_broker_encryption)
    error_message = "Use TLS or TLS_PLAINTEXT (never PLAINTEXT alone)."
  }
}

variable "log_retention_days" {
  description = "Days the broker logs are kept."
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
