output "endpoint" {
  description = "host:port of the primary."
  value       = aws_db_instance.this.endpoint
}

output "address" {
  description = "Host name of the primary."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "PostgreSQL port."
  value       = aws_db_instance.this.port
}

output "master_user_secret_arn" {
  description = "Secrets Manager secret holding the master credentials (for the bootstrap Job)."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "resource_id" {
  description = "DBI resource ID (the resource of rds-db:connect IAM policies)."
  value       = aws_db_instance.this.resource_id
}

output "security_group_id" {
  description = "Security group of the database."
  value       = aws_security_group.this.id
}
