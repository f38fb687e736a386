output "secret_names" {
  description = "Secrets Manager name of each Kubernetes Secret the chart reads."
  value       = { for name, secret in aws_secretsmanager_secret.this : name => secret.name }
}

output "kms_key_arn" {
  description = "KMS key of the secrets (External Secrets' role needs kms:Decrypt)."
  value       = module.key.key_arn
}
