# Development: the network, EKS node numbers, PostgreSQL 15, three MSK brokers and the Dataproc
# shape stay as in architecture.md §7 (and prod). Smaller or cheaper than prod, on purpose:
# - one NAT gateway instead of one per AZ;
# - the EKS API also public, restricted to the office range;
# - RDS single-AZ on a burstable class, 7 days of backups, no deletion protection;
# - burstable MSK brokers and Redis nodes; 30 days of logs; buckets may be force-destroyed.
environment = "dev"
aws_region  = "us-east-1"

vpc_cidr                    = "10.0.0.0/16"
availability_zones          = ["us-east-1a", "us-east-1b"]
public_subnet_cidrs         = ["10.0.0.0/24", "10.0.1.0/24"]
private_subnet_cidrs        = ["10.0.10.0/24", "10.0.11.0/24"]
msk_extra_subnet_cidr       = "10.0.12.0/24"
msk_extra_availability_zone = "us-east-1c"
single_nat_gateway          = true

kubernetes_version         = "1.34"
eks_endpoint_public_access = true
eks_public_access_cidrs    = ["203.0.113.0/24"]
eks_node_instance_type     = "t3.medium"
eks_node_min_size          = 2
eks_node_max_size          = 4
eks_node_desired_size      = 2

rds_engine_version        = "15"
rds_instance_class        = "db.t4g.medium"
rds_multi_az              = false
rds_backup_retention_days = 7

msk_broker_count         = 3
msk_broker_instance_type = "kafka.t3.small"

redis_node_type  = "cache.t4g.small"
redis_node_count = 2

deletion_protection   = false
force_destroy_buckets = true
log_retention_days    = 30

bucket_prefix            = "cloudmart-dev"
catalog_import_image_tag = "latest-release"

gcp_project_id        = "cloudmart-analytics-dev"
gcp_region            = "us-east1"
gcp_dataproc_cidr     = "10.20.0.0/24"
dataproc_master_count = 1
dataproc_worker_count = 2
dataproc_machine_type = "n1-standard-2"

billing_threshold_usd = 300
billing_alert_emails  = ["ops@cloudmart.example"]

route53_zone_id = "Z00000000000000000DEV"
shop_host       = "shop.dev.cloudmart.example"
alb_zone_id     = "Z35SXDOTRQ7X7K"
