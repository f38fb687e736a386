# Redis 7 of architecture.md §7: a primary and replicas in different AZs with automatic failover, TLS
# in transit, KMS at rest, an AUTH token kept in Secrets Manager. 6379 from the EKS nodes (every
# service caches there) and from extra sources (the catalog import Lambda invalidates entries).
module "key" {
  source = "../kms"

  name        = "${var.name}-redis"
  description = "Redis storage, snapshots and AUTH token of ${var.name}"
  tags        = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.name}-redis"
  description = "Redis: 6379 from the EKS nodes and the catalog import Lambda"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-redis" })
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_eks" {
  security_group_id            = aws_security_group.this.id
  description                  = "Redis from the EKS nodes"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = var.eks_node_security_group_id
  tags                         = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_extra" {
  for_each = var.extra_client_security_group_ids

  security_group_id            = aws_security_group.this.id
  description                  = "Redis from ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = each.value
  tags                         = var.tags
}

resource "aws_elasticache_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "random_password" "auth" {
  length  = 64
  special = false
}

resource "aws_secretsmanager_secret" "auth" {
  #checkov:skip=CKV2_AWS_57:ElastiCache AUTH rotation needs a ROTATE/SET sequence on the replication group, not a Secrets Manager rotation Lambda; rotate by replacing random_password.auth.
  name       = "${var.name}/redis-auth-token"
  kms_key_id = module.key.key_arn
  tags       = var.tags
}

resource "aws_secretsmanager_secret_version" "auth" {
  secret_id     = aws_secretsmanager_secret.auth.id
  secret_string = random_password.auth.result
}

# The whole REDIS_URL the services take (TLS, AUTH token), as the Kubernetes Secret the chart
# names (redis.urlSecret, key `url`) expects it: External Secrets mirrors it into the cluster.
resource "aws_secretsmanager_secret" "url" {
  #checkov:skip=CKV2_AWS_57:Derived from the AUTH token above; rotated with it.
  name       = "${var.name}/${var.url_secret_name}"
  kms_key_id = module.key.key_arn
  tags       = var.tags
}

resource "aws_secretsmanager_secret_version" "url" {
  secret_id = aws_secretsmanager_secret.url.id
  secret_string = jsonencode({
    url = "rediss://:${random_password.auth.result}@${aws_elasticache_replication_group.this.primary_endpoint_address}:6379/0"
  })
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id = var.name
  description          = "CloudMart cache and rate limits (${var.name})"
  engine               = "redis"
  engine_version       = var.engine_version
  node_type            = var.node_type
  num_cache_clusters   = var.node_count
  port                 = 6379

  automatic_failover_enabled = true
  multi_az_enabled           = true
  subnet_group_name          = aws_elasticache_subnet_group.this.name
  security_group_ids         = [aws_security_group.this.id]

  at_rest_encryption_enabled = true
  kms_key_id                 = module.key.key_arn
  transit_encryption_enabled = true
  auth_token                 = random_password.auth.result

  snapshot_retention_limit   = var.snapshot_retention_days
  snapshot_window            = "01:00-02:00"
  maintenance_window         = "sun:04:30-sun:05:30"
  auto_minor_version_upgrade = true
  apply_immediately          = false

  tags = var.tags
}
