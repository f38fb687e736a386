output "table_names" {
  description = "Deployed table names by schema TableName (products, product-reservations): PRODUCTS_TABLE and RESERVATIONS_TABLE."
  value       = { for key, table in aws_dynamodb_table.this : key => table.name }
}

output "table_arns" {
  description = "Table ARNs by schema TableName."
  value       = { for key, table in aws_dynamodb_table.this : key => table.arn }
}

output "kms_key_arn" {
  description = "KMS key of the tables (readers need kms:Decrypt on it)."
  value       = module.key.key_arn
}
