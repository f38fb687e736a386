# The catalog import (cloudmart_products.catalog_import): files uploaded under incoming/ of the import bucket
# trigger the Lambda (container image from ECR), which upserts products into DynamoDB, drops the
# changed products from the Redis cache and writes reports/<key>.json. Failed events go to an SQS
# dead-letter queue. The role may do exactly that and nothing else.
data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  function_name = "${var.name}-catalog-import"
}

module "key" {
  source = "../kms"

  name               = "${var.name}-catalog-import"
  description        = "Catalog import bucket, DLQ, logs and Lambda environment of ${var.name}"
  logs_service       = true
  service_principals = ["s3.amazonaws.com", "lambda.amazonaws.com"]
  tags               = var.tags
}

module "bucket" {
  source = "../s3_bucket"

  name                    = var.bucket_name
  kms_key_arn             = module.key.key_arn
  access_log_bucket       = var.access_log_bucket
  noncurrent_version_days = 30
  force_destroy           = var.force_destroy
  tags                    = var.tags
}

resource "aws_sqs_queue" "dlq" {
  name                              = "${local.function_name}-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = module.key.key_arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = var.tags
}

resource "aws_cloudwatch_log_group" "lambda" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.key.key_arn
  tags              = var.tags
}

resource "aws_security_group" "lambda" {
  name        = local.function_name
  description = "Catalog import Lambda: HTTPS to AWS APIs, Redis to the cache"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = local.function_name })
}

resource "aws_vpc_security_group_egress_rule" "https" {
  #checkov:skip=CKV_AWS_382:S3 and DynamoDB are reached through gateway endpoints, but their prefix lists and the CloudWatch/SQS/KMS APIs (through the NAT) have no fixed CIDR; 443 only.
  security_group_id = aws_security_group.lambda.id
  description       = "HTTPS to AWS APIs (S3, DynamoDB, SQS, KMS, X-Ray)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
  tags              = var.tags
}

resource "aws_vpc_security_group_egress_rule" "redis" {
  security_group_id            = aws_security_group.lambda.id
  description                  = "Redis cache invalidation"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = var.redis_security_group_id
  tags                         = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name               = local.function_name
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "lambda" {
  #checkov:skip=CKV_AWS_356:Only X-Ray trace upload and the VPC ENI actions use "*": AWS supports no resource-level restriction for them.
  #checkov:skip=CKV_AWS_111:Only the VPC ENI actions write on "*" (no resource-level restriction exists for them); every data write is scoped.
  statement {
    sid       = "ReadIncoming"
    actions   = ["s3:GetObject"]
    resources = ["${module.bucket.arn}/${var.incoming_prefix}*"]
  }

  statement {
    sid       = "WriteReports"
    actions   = ["s3:PutObject"]
    resources = ["${module.bucket.arn}/reports/*"]
  }

  statement {
    sid = "UpsertProducts"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:Query",
      "dynamodb:Scan",
      "dynamodb:ConditionCheckItem",
    ]
    resources = concat(var.dynamodb_table_arns, [for arn in var.dynamodb_table_arns : "${arn}/index/*"])
  }

  statement {
    sid       = "UseKeys"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [module.key.key_arn, var.dynamodb_kms_key_arn]
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda.arn}:*"]
  }

  statement {
    sid       = "Traces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  # The ENIs of a VPC Lambda; AWS documents no resource-level restriction for these actions.
  statement {
    sid = "VpcNetworkInterfaces"
    actions = [
      "ec2:CreateNetworkInterface",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DeleteNetworkInterface",
      "ec2:AssignPrivateIpAddresses",
      "ec2:UnassignPrivateIpAddresses",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "lambda" {
  name   = "catalog-import"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_272:Code signing applies to zip packages only; this is a container image, pinned by immutable ECR tag and scanned on push.
  function_name                  = local.function_name
  role                           = aws_iam_role.lambda.arn
  package_type                   = "Image"
  image_uri                      = var.image_uri
  architectures                  = ["x86_64"]
  memory_size                    = 512
  timeout                        = 300
  reserved_concurrent_executions = var.reserved_concurrency
  kms_key_arn                    = module.key.key_arn

  image_config {
    command = ["cloudmart_products.catalog_import.handler.handler"]
  }

  environment {
    variables = merge(var.environment, {
      PRODUCTS_TABLE     = var.products_table_name
      RESERVATIONS_TABLE = var.reservations_table_name
      IMPORT_BUCKET      = module.bucket.bucket
      IMPORT_PREFIX      = var.incoming_prefix
    })
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [aws_security_group.lambda.id]
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.lambda.name
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.lambda]
}

# S3 retries an asynchronous invocation twice, then the event lands in the DLQ.
resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600
}

resource "aws_lambda_permission" "s3" {
  statement_id   = "AllowImportBucket"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this.function_name
  principal      = "s3.amazonaws.com"
  source_arn     = module.bucket.arn
  source_account = data.aws_caller_identity.current.account_id
}

resource "aws_s3_bucket_notification" "incoming" {
  bucket = module.bucket.bucket

  lambda_function {
    lambda_function_arn = aws_lambda_function.this.arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = var.incoming_prefix
  }

  depends_on = [aws_lambda_permission.s3]
}
