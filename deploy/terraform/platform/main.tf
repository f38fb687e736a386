# CloudMart on AWS (EKS and its data services) and GCP (Dataproc analytics), wired together:
# every security group names its sources (the EKS node group, the Lambda, the GCP subnet).
locals {
  name = "cloudmart-${var.environment}"
  tags = {
    project     = "cloudmart"
    environment = var.environment
    managed-by  = "terraform"
  }
  services = ["gateway", "users", "products", "orders", "notifications", "payments", "dashboard"]
}

module "vpc" {
  source = "../modules/vpc"

  name                        = local.name
  region                      = var.aws_region
  cidr                        = var.vpc_cidr
  availability_zones          = var.availability_zones
  public_subnet_cidrs         = var.public_subnet_cidrs
  private_subnet_cidrs        = var.private_subnet_cidrs
  msk_extra_subnet_cidr       = var.msk_extra_subnet_cidr
  msk_extra_availability_zone = var.msk_extra_availability_zone
  single_nat_gateway          = var.single_nat_gateway
  flow_log_retention_days     = var.log_retention_days
  tags                        = local.tags
}

module "eks" {
  source = "../modules/eks"

  name                   = local.name
  kubernetes_version     = var.kubernetes_version
  subnet_ids             = module.vpc.private_subnet_ids
  endpoint_public_access = var.eks_endpoint_public_access
  public_access_cidrs    = var.eks_public_access_cidrs
  node_instance_type     = var.eks_node_instance_type
  node_min_size          = var.eks_node_min_size
  node_max_size          = var.eks_node_max_size
  node_desired_size      = var.eks_node_desired_size
  log_retention_days     = var.log_retention_days
  tags                   = local.tags
}

module "rds" {
  source = "../modules/rds"

  name                       = local.name
  vpc_id                     = module.vpc.vpc_id
  subnet_ids                 = module.vpc.private_subnet_ids
  eks_node_security_group_id = module.eks.node_security_group_id
  engine_version             = var.rds_engine_version
  instance_class             = var.rds_instance_class
  multi_az                   = var.rds_multi_az
  backup_retention_days      = var.rds_backup_retention_days
  deletion_protection        = var.deletion_protection
  tags                       = local.tags
}

module "msk" {
  source = "../modules/msk"

  name                       = local.name
  vpc_id                     = module.vpc.vpc_id
  subnet_ids                 = module.vpc.msk_subnet_ids
  eks_node_security_group_id = module.eks.node_security_group_id
  gcp_dataproc_cidr          = var.gcp_dataproc_cidr
  broker_count               = var.msk_broker_count
  broker_instance_type       = var.msk_broker_instance_type
  log_retention_days         = var.log_retention_days
  tags                       = local.tags
}

module "dynamodb" {
  source = "../modules/dynamodb"

  name_prefix         = local.name
  deletion_protection = var.deletion_protection
  tags                = local.tags
}

module "elasticache" {
  source = "../modules/elasticache"

  name                       = local.name
  vpc_id                     = module.vpc.vpc_id
  subnet_ids                 = module.vpc.private_subnet_ids
  eks_node_security_group_id = module.eks.node_security_group_id
  extra_client_security_group_ids = {
    "the catalog import Lambda" = module.catalog_import.security_group_id
  }
  node_type  = var.redis_node_type
  node_count = var.redis_node_count
  tags       = local.tags
}

module "ecr" {
  source = "../modules/ecr"

  name_prefix = "cloudmart"
  tags        = local.tags
}

module "catalog_import" {
  source = "../modules/s3_lambda"

  name                    = local.name
  bucket_name             = "${var.bucket_prefix}-catalog-imports"
  image_uri               = "${module.ecr.repository_urls["catalog-import"]}:${var.catalog_import_image_tag}"
  vpc_id                  = module.vpc.vpc_id
  subnet_ids              = module.vpc.private_subnet_ids
  redis_security_group_id = module.elasticache.security_group_id
  dynamodb_table_arns     = values(module.dynamodb.table_arns)
  dynamodb_kms_key_arn    = module.dynamodb.kms_key_arn
  products_table_name     = module.dynamodb.table_names["products"]
  reservations_table_name = module.dynamodb.table_names["product-reservations"]
  access_log_bucket       = module.supporting.access_logs_bucket
  log_retention_days      = var.log_retention_days
  force_destroy           = var.force_destroy_buckets
  environment = {
    # Not `local`: the settings then take DynamoDB, S3 and credentials from AWS itself.
    ENVIRONMENT = var.environment
    AWS_REGION  = var.aws_region
    REDIS_URL   = module.elasticache.redis_url
  }
  tags = local.tags
}

module "gcp" {
  source = "../modules/gcp"

  project_id    = var.gcp_project_id
  region        = var.gcp_region
  name          = local.name
  name_prefix   = var.bucket_prefix
  subnet_cidr   = var.gcp_dataproc_cidr
  master_count  = var.dataproc_master_count
  worker_count  = var.dataproc_worker_count
  machine_type  = var.dataproc_machine_type
  force_destroy = var.force_destroy_buckets
  labels        = local.tags
}

# The Kubernetes Secrets the chart reads, as Secrets Manager secrets External Secrets mirrors
# (the Redis URL is the cache module's). test_wiring.py keeps this list equal to the chart's.
module "app_secrets" {
  source = "../modules/app_secrets"

  name = local.name
  secret_names = [
    "cloudmart-admin",
    "cloudmart-jwt-keys",
    "cloudmart-orders-db",
    "cloudmart-payments-db",
    "cloudmart-pgbouncer-users",
    "cloudmart-reset-token",
    "cloudmart-service-clients",
    "cloudmart-smtp",
    "cloudmart-stripe",
    "cloudmart-users-db",
  ]
  tags = local.tags
}

# The Flink job's path from Dataproc to MSK (ADR 0035): HA VPN between the two VPCs.
module "gcp_aws_vpn" {
  source = "../modules/gcp_aws_vpn"

  name                = local.name
  aws_vpc_id          = module.vpc.vpc_id
  aws_route_table_ids = module.vpc.private_route_table_ids
  gcp_network_id      = module.gcp.network_id
  gcp_region          = var.gcp_region
  tags                = local.tags
}

module "supporting" {
  source = "../modules/supporting"
  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }

  name                  = local.name
  name_prefix           = var.bucket_prefix
  log_group_services    = local.services
  log_retention_days    = var.log_retention_days
  billing_threshold_usd = var.billing_threshold_usd
  billing_alert_emails  = var.billing_alert_emails
  route53_zone_id       = var.route53_zone_id
  shop_host             = var.shop_host
  alb_dns_name          = var.alb_dns_name
  alb_zone_id           = var.alb_zone_id
  oidc_provider_arn     = module.eks.oidc_provider_arn
  oidc_issuer           = module.eks.oidc_issuer
  dynamodb_table_arns   = values(module.dynamodb.table_arns)
  dynamodb_kms_key_arn  = module.dynamodb.kms_key_arn
  force_destroy         = var.force_destroy_buckets
  tags                  = local.tags
}
