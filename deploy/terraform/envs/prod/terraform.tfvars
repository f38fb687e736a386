# Production: the numbers of architecture.md §7.
environment = "prod"
aws_region  = "us-east-1"

vpc_cidr                    = "10.0.0.0/16"
availability_zones          = ["us-east-1a", "us-east-1b"]
public_subnet_cidrs         = ["10.0.0.0/24", "10.0.1.0/24"]
private_subnet_cidrs        = ["10.0.10.0/24", "10.0.11.0/24"]
msk_extra_subnet_cidr       = "10.0.12.0/24"
msk_extra_availability_zone = "us-east-1c"
single_nat_gateway          = false

kubernetes_version         = "1.34"
eks_endpoint_public_access = false
eks_public_access_cidrs    = []
eks_node_instance_type     = "t3.medium"
eks_node_min_size          = 2
eks_node_max_size          = 4
eks_node_desired_size      = 2

rds_engine_version        = "15"
rds_instance_class        = "db.m6g.large"
rds_multi_az              = true
rds_backup_retention_days = 14

msk_broker_count         = 3
msk_broker_instance_type = "kafka.m5.large"

redis_node_type  = "cache.m6g.large"
redis_node_count = 2

deletion_protection   = true
force_destroy_buckets = false
log_retention_days    = 365

bucket_prefix            = "cloudmart-prod"
catalog_import_image_tag = "latest-release"

gcp_project_id        = "cloudmart-analytics-prod"
gcp_region            = "us-east1"
gcp_dataproc_cidr     = "10.20.0.0/24"
dataproc_master_count = 1
dataproc_worker_count = 2
dataproc_machine_type = "n1-standard-2"

billing_threshold_usd = 1500
billing_alert_emails  = ["ops@cloudmart.example"]

route53_zone_id = "Z0000000000000000PROD"
shop_host       = "shop.cloudmart.example"
alb_zone_id     = "Z35SXDOTRQ7X7K"
