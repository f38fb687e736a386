# MSK of architecture.md §7: three brokers, one per AZ (three client subnets). Reachable from the EKS
# nodes and from the GCP Dataproc subnet (the Flink job reads the order events) on 9094, TLS only:
# every client sets security.protocol SSL (KAFKA_SECURITY_PROTOCOL). Encrypted at rest with a CMK
# and between brokers.
locals {
  # 9092 is the plaintext listener, 9094 the TLS one; with TLS only, 9092 stays closed.
  # Strings, because for_each takes a set of strings.
  kafka_ports = var.client_broker_encryption == "TLS" ? toset(["9094"]) : toset(["9092", "9094"])
}

module "key" {
  source = "../kms"

  name         = "${var.name}-msk"
  description  = "MSK storage and broker logs of ${var.name}"
  logs_service = true
  tags         = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.name}-msk"
  description = "Kafka: 9092/9094 from the EKS nodes and the GCP Dataproc subnet"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-msk" })
}

resource "aws_vpc_security_group_ingress_rule" "kafka_from_eks" {
  for_each = local.kafka_ports

  security_group_id            = aws_security_group.this.id
  description                  = "Kafka ${each.value} from the EKS nodes"
  ip_protocol                  = "tcp"
  from_port                    = tonumber(each.value)
  to_port                      = tonumber(each.value)
  referenced_security_group_id = var.eks_node_security_group_id
  tags                         = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "kafka_from_gcp" {
  for_each = local.kafka_ports

  security_group_id = aws_security_group.this.id
  description       = "Kafka ${each.value} from GCP Dataproc (the Flink job)"
  ip_protocol       = "tcp"
  from_port         = tonumber(each.value)
  to_port           = tonumber(each.value)
  cidr_ipv4         = var.gcp_dataproc_cidr
  tags              = var.tags
}

resource "aws_cloudwatch_log_group" "brokers" {
  name              = "/aws/msk/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.key.key_arn
  tags              = var.tags
}

resource "aws_msk_configuration" "this" {
  name           = var.name
  kafka_versions = [var.kafka_version]
  # Topics are created by the chart's topic Job (cloudmart_common.topic_admin) with the
  # topology's replication (2) and configs. min.insync.replicas=2 with two replicas puts
  # durability first: while a replica is down its partitions refuse acks=all writes, and the
  # services' outboxes keep the events until it is back (docs/deploy.md, Kafka).
  server_properties = <<-PROPERTIES
    auto.create.topics.enable=false
    default.replication.factor=3
    min.insync.replicas=2
    num.partitions=6
  PROPERTIES
}

resource "aws_msk_cluster" "this" {
  cluster_name           = var.name
  kafka_version          = var.kafka_version
  number_of_broker_nodes = var.broker_count

  broker_node_group_info {
    instance_type   = var.broker_instance_type
    client_subnets  = var.subnet_ids
    security_groups = [aws_security_group.this.id]

    storage_info {
      ebs_storage_info {
        volume_size = var.broker_volume_gib
      }
    }
  }

  configuration_info {
    arn      = aws_msk_configuration.this.arn
    revision = aws_msk_configuration.this.latest_revision
  }

  encryption_info {
    encryption_at_rest_kms_key_arn = module.key.key_arn

    encryption_in_transit {
      client_broker = var.client_broker_encryption
      in_cluster    = true
    }
  }

  logging_info {
    broker_logs {
      cloudwatch_logs {
        enabled   = true
        log_group = aws_cloudwatch_log_group.brokers.name
      }
    }
  }

  open_monitoring {
    prometheus {
      jmx_exporter {
        enabled_in_broker = true
      }

      node_exporter {
        enabled_in_broker = true
      }
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.broker_count % length(var.subnet_ids) == 0
      error_message = "MSK needs a broker count that is a multiple of the number of client subnets."
    }
  }
}
