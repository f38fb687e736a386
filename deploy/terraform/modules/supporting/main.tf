# The design document's supporting services: DNS for the shop, CloudWatch log groups, a billing
# alarm, S3 for static assets and backups, and the IRSA roles of the AWS Load Balancer Controller
# (which creates the ALB from the Ingress annotations) and of the products service (DynamoDB).
data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition
}

module "logs_key" {
  source = "../kms"

  name         = "${var.name}-logs"
  description  = "Application log groups and buckets of ${var.name}"
  logs_service = true
  tags         = var.tags
}

resource "aws_cloudwatch_log_group" "services" {
  for_each = toset(var.log_group_services)

  name              = "/cloudmart/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.logs_key.key_arn
  tags              = merge(var.tags, { service = each.key })
}

# --- Billing alarm: billing metrics exist only in us-east-1, so the alarm and its topic live there.
module "billing_key" {
  source = "../kms"
  providers = {
    aws = aws.us_east_1
  }

  name               = "${var.name}-billing-alerts"
  description        = "Billing alert topic of ${var.name}"
  service_principals = ["cloudwatch.amazonaws.com"]
  tags               = var.tags
}

resource "aws_sns_topic" "billing" {
  provider = aws.us_east_1

  name              = "${var.name}-billing-alerts"
  kms_master_key_id = module.billing_key.key_arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "billing_email" {
  provider = aws.us_east_1
  for_each = toset(var.billing_alert_emails)

  topic_arn = aws_sns_topic.billing.arn
  protocol  = "email"
  endpoint  = each.key
}

resource "aws_cloudwatch_metric_alarm" "billing" {
  provider = aws.us_east_1

  alarm_name          = "${var.name}-estimated-charges"
  alarm_description   = "Estimated monthly AWS charges above ${var.billing_threshold_usd} USD"
  namespace           = "AWS/Billing"
  metric_name         = "EstimatedCharges"
  dimensions          = { Currency = "USD" }
  statistic           = "Maximum"
  period              = 21600
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.billing_threshold_usd
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.billing.arn]
  tags                = var.tags
}

# --- S3: access logs (SSE-S3: the only encryption S3 log delivery supports), static assets (the web UI's files, served through the ALB/CDN), backups.
data "aws_iam_policy_document" "access_logs" {
  statement {
    sid       = "S3ServerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["arn:${local.partition}:s3:::${var.name_prefix}-access-logs/*"]

    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

module "access_logs" {
  source = "../s3_bucket"

  name                         = "${var.name_prefix}-access-logs"
  kms_key_arn                  = null
  extra_policy_json            = data.aws_iam_policy_document.access_logs.json
  infrequent_access_after_days = 30
  force_destroy                = var.force_destroy
  tags                         = var.tags
}

module "static_assets" {
  source = "../s3_bucket"

  name              = "${var.name_prefix}-static-assets"
  kms_key_arn       = module.logs_key.key_arn
  access_log_bucket = module.access_logs.bucket
  force_destroy     = var.force_destroy
  tags              = var.tags
}

module "backups" {
  source = "../s3_bucket"

  name                         = "${var.name_prefix}-backups"
  kms_key_arn                  = module.logs_key.key_arn
  access_log_bucket            = module.access_logs.bucket
  infrequent_access_after_days = 30
  noncurrent_version_days      = var.backup_noncurrent_days
  force_destroy                = var.force_destroy
  tags                         = var.tags
}

# --- DNS: the shop host is an alias of the ALB that the Load Balancer Controller created for the
# Ingress. Its name is only known after the first sync, so the record waits for var.alb_dns_name.
resource "aws_route53_record" "shop" {
  count = var.alb_dns_name == null ? 0 : 1

  zone_id = var.route53_zone_id
  name    = var.shop_host
  type    = "A"

  alias {
    name                   = var.alb_dns_name
    zone_id                = var.alb_zone_id
    evaluate_target_health = true
  }
}

# --- IRSA: the AWS Load Balancer Controller (kube-system/aws-load-balancer-controller).
data "aws_iam_policy_document" "lbc_assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:sub"
      values   = ["system:serviceaccount:kube-system:aws-load-balancer-controller"]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lbc" {
  name               = "${var.name}-aws-load-balancer-controller"
  assume_role_policy = data.aws_iam_policy_document.lbc_assume.json
  tags               = var.tags
}

resource "aws_iam_policy" "lbc" {
  name        = "${var.name}-aws-load-balancer-controller"
  description = "What the AWS Load Balancer Controller needs to manage ALBs for Ingresses"
  policy      = file("${path.module}/lbc-policy.json")
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "lbc" {
  role       = aws_iam_role.lbc.name
  policy_arn = aws_iam_policy.lbc.arn
}

# --- IRSA: the products service's ServiceAccount (the chart's cloudmart-products) on its two
# DynamoDB tables.
data "aws_iam_policy_document" "products_assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.app_namespace}:${var.products_service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "products" {
  name               = "${var.name}-products"
  assume_role_policy = data.aws_iam_policy_document.products_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "products" {
  statement {
    actions = [
      "dynamodb:DescribeTable",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
      "dynamodb:Query",
      "dynamodb:Scan",
      "dynamodb:ConditionCheckItem",
    ]
    resources = concat(var.dynamodb_table_arns, [for arn in var.dynamodb_table_arns : "${arn}/index/*"])
  }

  statement {
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.dynamodb_kms_key_arn]
  }
}

resource "aws_iam_role_policy" "products" {
  name   = "dynamodb"
  role   = aws_iam_role.products.id
  policy = data.aws_iam_policy_document.products.json
}
