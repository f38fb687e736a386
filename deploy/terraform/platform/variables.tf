variable "environment" {
  description = "Environment name (dev or prod): part of every resource name and the state key."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "The environment is dev or prod."
  }
}

variable "aws_region" {
  description = "AWS region of the platform."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "The region looks like us-east-1."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC (architecture.md §7: 10.0.0.0/16)."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "A valid IPv4 CIDR block."
  }
}

variable "availability_zones" {
  description = "The two AZs of the public and private subnets."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) == 2 && length(distinct(var.availability_zones)) == 2
    error_message = "architecture.md §7 spreads the subnets over exactly two distinct AZs."
  }
}

variable "public_subnet_cidrs" {
  description = "Public subnet CIDRs, one per AZ (architecture.md §7: 10.0.0.0/24, 10.0.1.0/24)."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_cidrs) == 2 && alltrue([for cidr in var.public_subnet_cidrs : can(cidrhost(cidr, 0))])
    error_message = "Two valid IPv4 CIDR blocks."
  }
}

variable "private_subnet_cidrs" {
  description = "Private subnet CIDRs, one per AZ (architecture.md §7: 10.0.10.0/24, 10.0.11.0/24)."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_cidrs) == 2 && alltrue([for cidr in var.private_subnet_cidrs : can(cidrhost(cidr, 0))])
    error_message = "Two valid IPv4 CIDR blocks."
  }
}

variable "msk_extra_subnet_cidr" {
  description = "CIDR of the MSK-only private subnet in a third AZ (three brokers need three subnets)."
  type        = string

  validation {
    condition     = can(cidrhost(var.msk_extra_subnet_cidr, 0))
    error_message = "A valid IPv4 CIDR block."
  }
}

variable "msk_extra_availability_zone" {
  description = "The third AZ, used by the MSK-only subnet."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9][a-z]$", var.msk_extra_availability_zone))
    error_message = "An AZ looks like us-east-1c."
  }
}

variable "single_nat_gateway" {
  description = "One shared NAT gateway (dev) instead of one per AZ (prod)."
  type        = bool

  validation {
    condition     = var.single_nat_gateway != null
    error_message = "single_nat_gateway must be true or false."
  }
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version (architecture.md §7: 1.27 or newer)."
  type        = string

  validation {
    condition     = can(regex("^1\\.[0-9]+$", var.kubernetes_version)) && try(tonumber(split(".", var.kubernetes_version)[1]) >= 27, false)
    error_message = "Kubernetes 1.27 or newer, written as 1.<minor>."
  }
}

variable "eks_endpoint_public_access" {
  description = "Whether the EKS API is reachable from eks_public_access_cidrs (false: private only)."
  type        = bool

  validation {
    condition     = var.eks_endpoint_public_access != null
    error_message = "eks_endpoint_public_access must be true or false."
  }
}

variable "eks_public_access_cidrs" {
  description = "CIDRs allowed on the public EKS endpoint (operators' addresses; never 0.0.0.0/0)."
  type        = list(string)

  validation {
    condition     = alltrue([for cidr in var.eks_public_access_cidrs : can(cidrhost(cidr, 0)) && cidr != "0.0.0.0/0"])
    error_message = "Valid IPv4 CIDR blocks, and not 0.0.0.0/0."
  }
}

variable "eks_node_instance_type" {
  description = "Instance type of the EKS nodes (architecture.md §7: t3.medium)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]*\\.[a-z0-9]+$", var.eks_node_instance_type))
    error_message = "An instance type looks like t3.medium."
  }
}

variable "eks_node_min_size" {
  description = "Minimum EKS nodes (architecture.md §7: 2)."
  type        = number

  validation {
    condition     = var.eks_node_min_size >= 1 && floor(var.eks_node_min_size) == var.eks_node_min_size
    error_message = "At least one node, a whole number."
  }
}

variable "eks_node_max_size" {
  description = "Maximum EKS nodes (architecture.md §7: 4)."
  type        = number

  validation {
    condition     = var.eks_node_max_size >= 1 && var.eks_node_max_size <= 100 && floor(var.eks_node_max_size) == var.eks_node_max_size
    error_message = "1 to 100 nodes, a whole number."
  }
}

variable "eks_node_desired_size" {
  description = "Initial EKS nodes (between min and max)."
  type        = number

  validation {
    condition     = var.eks_node_desired_size >= 1 && floor(var.eks_node_desired_size) == var.eks_node_desired_size
    error_message = "At least one node, a whole number."
  }
}

variable "rds_engine_version" {
  description = "PostgreSQL version (architecture.md §7: 15)."
  type        = string

  validation {
    condition     = can(regex("^15(\\.[0-9]+)?$", var.rds_engine_version))
    error_message = "PostgreSQL 15 (15 or 15.<minor>)."
  }
}

variable "rds_instance_class" {
  description = "RDS instance class."
  type        = string

  validation {
    condition     = startswith(var.rds_instance_class, "db.")
    error_message = "A DB instance class looks like db.m6g.large."
  }
}

variable "rds_multi_az" {
  description = "Whether RDS keeps a standby in a second AZ (architecture.md §7: yes)."
  type        = bool

  validation {
    condition     = var.rds_multi_az != null
    error_message = "rds_multi_az must be true or false."
  }
}

variable "rds_backup_retention_days" {
  description = "Days RDS automated backups are kept (7-35)."
  type        = number

  validation {
    condition     = var.rds_backup_retention_days >= 7 && var.rds_backup_retention_days <= 35
    error_message = "7 to 35 days."
  }
}

variable "msk_broker_count" {
  description = "MSK brokers (architecture.md §7: 3, one per client subnet)."
  type        = number

  validation {
    condition     = var.msk_broker_count >= 3 && var.msk_broker_count % 3 == 0
    error_message = "A multiple of 3 (the three MSK client subnets), at least 3."
  }
}

variable "msk_broker_instance_type" {
  description = "MSK broker instance type."
  type        = string

  validation {
    condition     = startswith(var.msk_broker_instance_type, "kafka.")
    error_message = "An MSK instance type looks like kafka.m5.large."
  }
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string

  validation {
    condition     = startswith(var.redis_node_type, "cache.")
    error_message = "A cache node type looks like cache.t4g.small."
  }
}

variable "redis_node_count" {
  description = "Redis primary plus replicas (2+ for Multi-AZ failover)."
  type        = number

  validation {
    condition     = var.redis_node_count >= 2 && var.redis_node_count <= 6
    error_message = "2 to 6 nodes."
  }
}

variable "deletion_protection" {
  description = "Whether RDS and DynamoDB refuse deletion (true in prod)."
  type        = bool

  validation {
    condition     = var.deletion_protection != null
    error_message = "deletion_protection must be true or false."
  }
}

variable "force_destroy_buckets" {
  description = "Whether destroy may empty buckets (dev only)."
  type        = bool

  validation {
    condition     = var.force_destroy_buckets != null
    error_message = "force_destroy_buckets must be true or false."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch logs (flow, EKS, MSK, Lambda, services) are kept."
  type        = number

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "Use a retention CloudWatch Logs supports (e.g. 30, 90, 365)."
  }
}

variable "bucket_prefix" {
  description = "Globally unique prefix of S3 and GCS bucket names."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{2,30}$", var.bucket_prefix))
    error_message = "3-31 lowercase letters, digits or hyphens."
  }
}

variable "catalog_import_image_tag" {
  description = "Immutable tag (git SHA) of the catalog-import image in ECR."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.catalog_import_image_tag))
    error_message = "A Docker tag: letters, digits, '_', '.' or '-', at most 128."
  }
}

variable "gcp_project_id" {
  description = "GCP project of the analytics."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.gcp_project_id))
    error_message = "A GCP project ID is 6-30 lowercase letters, digits or hyphens."
  }
}

variable "gcp_region" {
  description = "GCP region of Dataproc and the buckets."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.gcp_region))
    error_message = "A GCP region looks like us-east1."
  }
}

variable "gcp_dataproc_cidr" {
  description = "CIDR of the Dataproc subnet, which MSK allows on 9092/9094 (over the AWS-GCP VPN)."
  type        = string

  validation {
    condition     = can(cidrhost(var.gcp_dataproc_cidr, 0)) && var.gcp_dataproc_cidr != "0.0.0.0/0"
    error_message = "A valid IPv4 CIDR block, and not 0.0.0.0/0."
  }
}

variable "dataproc_master_count" {
  description = "Dataproc masters (architecture.md §7: 1)."
  type        = number

  validation {
    condition     = contains([1, 3], var.dataproc_master_count)
    error_message = "1 master, or 3 for high availability."
  }
}

variable "dataproc_worker_count" {
  description = "Dataproc workers (architecture.md §7: 2)."
  type        = number

  validation {
    condition     = var.dataproc_worker_count >= 2 && floor(var.dataproc_worker_count) == var.dataproc_worker_count
    error_message = "At least 2 workers, a whole number."
  }
}

variable "dataproc_machine_type" {
  description = "Dataproc machine type (architecture.md §7: n1-standard-2)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]*-[a-z]+-[0-9]+$", var.dataproc_machine_type))
    error_message = "A machine type looks like n1-standard-2."
  }
}

variable "billing_threshold_usd" {
  description = "Estimated monthly charges (USD) that fire the billing alarm."
  type        = number

  validation {
    condition     = var.billing_threshold_usd > 0
    error_message = "A positive amount."
  }
}

variable "billing_alert_emails" {
  description = "Addresses notified by the billing alarm."
  type        = list(string)

  validation {
    condition     = alltrue([for email in var.billing_alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", email))])
    error_message = "Give e-mail addresses."
  }
}

variable "route53_zone_id" {
  description = "Route 53 hosted zone of the shop host."
  type        = string

  validation {
    condition     = can(regex("^Z[A-Z0-9]+$", var.route53_zone_id))
    error_message = "A hosted zone ID looks like Z0123456789ABCDEFGHIJ."
  }
}

variable "shop_host" {
  description = "DNS name of the shop (the Ingress host)."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9-]+\\.)+[a-z]{2,}$", var.shop_host))
    error_message = "A DNS name like shop.example.com."
  }
}

variable "alb_dns_name" {
  description = "DNS name of the Ingress ALB (kubectl get ingress after the first Argo CD sync); null until then."
  type        = string
  default     = null

  validation {
    condition     = var.alb_dns_name == null || try(endswith(var.alb_dns_name, ".elb.amazonaws.com"), false)
    error_message = "An ALB DNS name ends with .elb.amazonaws.com."
  }
}

variable "alb_zone_id" {
  description = "Canonical hosted zone ID of ALBs in aws_region (us-east-1: Z35SXDOTRQ7X7K)."
  type        = string

  validation {
    condition     = can(regex("^Z[A-Z0-9]+$", var.alb_zone_id))
    error_message = "A hosted zone ID looks like Z35SXDOTRQ7X7K."
  }
}
