# One Secrets Manager secret per Kubernetes Secret the chart reads, named <name>/<secret>, under
# its own key. Terraform makes the containers; their values are set by the operator (Stripe and
# SMTP credentials, the signing keys) or by the bootstrap described in docs/deploy.md, never in
# Terraform state. External Secrets mirrors each into the cluster under the name the chart uses.
module "key" {
  source = "../kms"

  name        = "${var.name}-app-secrets"
  description = "The application secrets of ${var.name}"
  tags        = var.tags
}

resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:Values are provider credentials and keys rotated by their owners (Stripe, SES, the JWT key rotation of ADR 0006), not by a Secrets Manager Lambda.
  for_each = toset(var.secret_names)

  name       = "${var.name}/${each.key}"
  kms_key_id = module.key.key_arn
  tags       = var.tags
}
