output "bucket" {
  description = "Name of the catalog import bucket (upload under incoming/)."
  value       = module.bucket.bucket
}

output "function_name" {
  description = "Name of the catalog import Lambda."
  value       = aws_lambda_function.this.function_name
}

output "dlq_url" {
  description = "URL of the dead-letter queue of failed imports."
  value       = aws_sqs_queue.dlq.url
}

output "security_group_id" {
  description = "Security group of the Lambda (a Redis client)."
  value       = aws_security_group.lambda.id
}
