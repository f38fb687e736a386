output "bootstrap_brokers" {
  description = "Plaintext bootstrap brokers (port 9092; empty when client_broker_encryption is TLS)."
  value       = aws_msk_cluster.this.bootstrap_brokers
}

output "bootstrap_brokers_tls" {
  description = "TLS bootstrap brokers (port 9094)."
  value       = aws_msk_cluster.this.bootstrap_brokers_tls
}

output "security_group_id" {
  description = "Security group of the brokers."
  value       = aws_security_group.this.id
}

output "arn" {
  description = "ARN of the cluster."
  value       = aws_msk_cluster.this.arn
}
