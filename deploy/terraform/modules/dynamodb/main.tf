# The products service's DynamoDB tables, defined by the very JSON files the service (and make up)
# creates them from: keys, attributes and GSIs (category-index, sku-index) cannot drift apart.
locals {
  schema_dir = "${path.module}/../../../../services/products/src/cloudmart_products"
  schemas = {
    for file in var.schema_files : file => jsondecode(file("${local.schema_dir}/${file}"))
  }
  # Keyed by the table name in the schema; the deployed name gets var.name_prefix.
  tables = { for schema in values(local.schemas) : schema.TableName => schema }
}

module "key" {
  source = "../kms"

  name        = "${var.name_prefix}-dynamodb"
  description = "DynamoDB tables of ${var.name_prefix}"
  tags        = var.tags
}

resource "aws_dynamodb_table" "this" {
  for_each = local.tables

  name         = "${var.name_prefix}-${each.key}"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = one([for key in each.value.KeySchema : key.AttributeName if key.KeyType == "HASH"])
  range_key    = one([for key in each.value.KeySchema : key.AttributeName if key.KeyType == "RANGE"])

  deletion_protection_enabled = var.deletion_protection

  dynamic "attribute" {
    for_each = each.value.AttributeDefinitions

    content {
      name = attribute.value.AttributeName
      type = attribute.value.AttributeType
    }
  }

  dynamic "global_secondary_index" {
    for_each = try(each.value.GlobalSecondaryIndexes, [])

    content {
      name            = global_secondary_index.value.IndexName
      hash_key        = one([for key in global_secondary_index.value.KeySchema : key.AttributeName if key.KeyType == "HASH"])
      range_key       = one([for key in global_secondary_index.value.KeySchema : key.AttributeName if key.KeyType == "RANGE"])
      projection_type = global_secondary_index.value.Projection.ProjectionType
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = module.key.key_arn
  }

  tags = merge(var.tags, { Name = "${var.name_prefix}-${each.key}" })
}
