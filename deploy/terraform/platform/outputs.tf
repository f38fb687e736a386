output "vpc_id" {
  description = "ID of the VPC."
  value       = module.vpc.vpc_id
}

output "eks_cluster_name" {
  description = "EKS cluster name (aws eks update-kubeconfig --name)."
  value       = module.eks.cluster_name
}

output "eks_cluster_endpoint" {
  description = "EKS API server URL."
  value       = module.eks.cluster_endpoint
}

output "rds_endpoint" {
  description = "PostgreSQL host:port (DATABASE_URL of users, orders, payments)."
  value       = module.rds.endpoint
}

output "rds_master_secret_arn" {
  description = "Secrets Manager secret of the RDS master credentials."
  value       = module.rds.master_user_secret_arn
}

output "msk_bootstrap_brokers" {
  description = "KAFKA_BOOTSTRAP_SERVERS (plaintext, 9092)."
  value       = module.msk.bootstrap_brokers
}

output "msk_bootstrap_brokers_tls" {
  description = "TLS bootstrap brokers (9094), for Dataproc."
  value       = module.msk.bootstrap_brokers_tls
}

output "redis_primary_endpoint" {
  description = "Redis primary host (TLS, AUTH token in the secret below)."
  value       = module.elasticache.primary_endpoint
}

output "redis_auth_secret_arn" {
  description = "Secrets Manager secret of the Redis AUTH token."
  value       = module.elasticache.auth_token_secret_arn
}

output "dynamodb_table_names" {
  description = "PRODUCTS_TABLE and RESERVATIONS_TABLE by schema name."
  value       = module.dynamodb.table_names
}

output "ecr_repository_urls" {
  description = "ECR repository URL per image (CI pushes here)."
  value       = module.ecr.repository_urls
}

output "catalog_import_bucket" {
  description = "Bucket of catalog uploads (incoming/) and reports (reports/)."
  value       = module.catalog_import.bucket
}

output "catalog_import_dlq_url" {
  description = "Dead-letter queue of failed catalog imports."
  value       = module.catalog_import.dlq_url
}

output "static_assets_bucket" {
  description = "S3 bucket of static assets."
  value       = module.supporting.static_assets_bucket
}

output "backups_bucket" {
  description = "S3 bucket of backups."
  value       = module.supporting.backups_bucket
}

output "lb_controller_role_arn" {
  description = "IRSA role ARN for the AWS Load Balancer Controller's service account."
  value       = module.supporting.lb_controller_role_arn
}

output "products_role_arn" {
  description = "IRSA role ARN for the products service account."
  value       = module.supporting.products_role_arn
}

output "dataproc_cluster_name" {
  description = "Dataproc cluster running the Flink job."
  value       = module.gcp.cluster_name
}

output "flink_checkpoint_bucket" {
  description = "GCS bucket of Flink checkpoints."
  value       = module.gcp.checkpoint_bucket
}

output "analytics_results_bucket" {
  description = "GCS bucket of analytics results."
  value       = module.gcp.results_bucket
}
