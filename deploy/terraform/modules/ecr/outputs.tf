output "repository_urls" {
  description = "Repository URLs by image name (push and pull addresses)."
  value       = { for name, repo in aws_ecr_repository.this : name => repo.repository_url }
}

output "repository_arns" {
  description = "Repository ARNs by image name (for CI push policies)."
  value       = { for name, repo in aws_ecr_repository.this : name => repo.arn }
}
