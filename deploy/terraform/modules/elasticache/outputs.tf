output "primary_endpoint" {
  description = "Host name of the primary (REDIS_URL is rediss://:<token>@<host>:6379/0)."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "auth_token_secret_arn" {
  description = "Secrets Manager secret holding the AUTH token."
  value       = aws_secretsmanager_secret.auth.arn
}

output "redis_url" {
  description = "Full REDIS_URL (TLS, with the AUTH token): sensitive."
  value       = "rediss://:${random_password.auth.result}@${aws_elasticache_replication_group.this.primary_endpoint_address}:6379/0"
  sensitive   = true
}

output "security_group_id" {
  description = "Security group of the cache."
  value       = aws_security_group.this.id
}

output "kms_key_arn" {
  description = "KMS key of the cache and its secret (readers of the secret need kms:Decrypt)."
  value       = module.key.key_arn
}

output "url_secret_name" {
  description = "The Kubernetes Secret (key url) the chart reads REDIS_URL from; its Secrets Manager source is <name>/<this>."
  value       = var.url_secret_name
}
