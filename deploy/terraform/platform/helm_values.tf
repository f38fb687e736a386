# What the chart needs to know of this infrastructure, as one values file: the apply workflow
# writes `terraform output -raw helm_values` to deploy/helm/cloudmart/values-<env>-platform.yaml
# (in a pull request), and Argo CD deploys with it. No name is typed twice: tables, buckets,
# roles, secrets and endpoints reach the chart from here only (deploy/tests/test_wiring.py).
locals {
  helm_values = {
    environment = var.environment
    aws         = { region = var.aws_region }
    network     = { vpcCidr = var.vpc_cidr }
    ingress     = { host = var.shop_host }
    kafka = {
      # MSK opens TLS only (client_broker TLS): every client speaks SSL.
      bootstrapServers = module.msk.bootstrap_brokers_tls
      securityProtocol = "SSL"
    }
    # pgbouncer's (and the migrations') PostgreSQL: the RDS primary.
    postgres = { host = module.rds.address }
    redis = {
      host      = module.elasticache.primary_endpoint
      urlSecret = module.elasticache.url_secret_name
    }
    services = {
      products = {
        roleArn = module.supporting.products_role_arn
        config = {
          PRODUCTS_TABLE     = module.dynamodb.table_names["products"]
          RESERVATIONS_TABLE = module.dynamodb.table_names["product-reservations"]
        }
      }
    }
    analytics = {
      checkpointDir = "gs://${module.gcp.checkpoint_bucket}/checkpoints"
      lakeDir       = "gs://${module.gcp.results_bucket}/lake"
      dataproc = {
        project       = var.gcp_project_id
        region        = var.gcp_region
        cluster       = module.gcp.cluster_name
        stagingBucket = module.gcp.staging_bucket
      }
    }
  }
}

output "helm_values" {
  description = "The chart's values that come from this infrastructure (values-<env>-platform.yaml)."
  value       = yamlencode(local.helm_values)
}
