output "log_group_names" {
  description = "CloudWatch log groups by service."
  value       = { for service, group in aws_cloudwatch_log_group.services : service => group.name }
}

output "billing_topic_arn" {
  description = "SNS topic (us-east-1) of the billing alarm."
  value       = aws_sns_topic.billing.arn
}

output "static_assets_bucket" {
  description = "Bucket of the static assets."
  value       = module.static_assets.bucket
}

output "backups_bucket" {
  description = "Bucket of the backups."
  value       = module.backups.bucket
}

output "access_logs_bucket" {
  description = "Bucket receiving S3 server access logs."
  value       = module.access_logs.bucket
}

output "shop_fqdn" {
  description = "The shop's DNS record (null until alb_dns_name is set)."
  value       = one(aws_route53_record.shop[*].fqdn)
}

output "lb_controller_role_arn" {
  description = "IRSA role of the AWS Load Balancer Controller (eks.amazonaws.com/role-arn of its service account)."
  value       = aws_iam_role.lbc.arn
}

output "products_role_arn" {
  description = "IRSA role of the products service (DynamoDB)."
  value       = aws_iam_role.products.arn
}
