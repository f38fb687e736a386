# GCP side of architecture.md §7: a Dataproc cluster (1 master + 2 workers, n1-standard-2) with the Flink
# component for the order analytics job, and GCS buckets for its checkpoints and results (the lake).
# The cluster runs as its own service account, which may only be a Dataproc worker and use these
# buckets. Nodes have no public IPs; Kafka (MSK) is reached from var.subnet_cidr over the VPN.
resource "google_compute_network" "this" {
  project                 = var.project_id
  name                    = var.name
  auto_create_subnetworks = false
}

resource "google_compute_subnetwork" "dataproc" {
  project                  = var.project_id
  name                     = "${var.name}-dataproc"
  region                   = var.region
  network                  = google_compute_network.this.id
  ip_cidr_range            = var.subnet_cidr
  private_ip_google_access = true

  log_config {
    aggregation_interval = "INTERVAL_5_MIN"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

# Dataproc nodes talk to each other on every port; nothing else gets in.
resource "google_compute_firewall" "internal" {
  project   = var.project_id
  name      = "${var.name}-dataproc-internal"
  network   = google_compute_network.this.id
  direction = "INGRESS"

  source_ranges = [var.subnet_cidr]

  allow {
    protocol = "tcp"
  }

  allow {
    protocol = "udp"
  }

  allow {
    protocol = "icmp"
  }
}

resource "google_service_account" "dataproc" {
  project      = var.project_id
  account_id   = "${var.name}-dataproc"
  display_name = "CloudMart Dataproc (Flink analytics)"
}

# The role a Dataproc VM service account needs; storage rights are granted per bucket below.
resource "google_project_iam_member" "dataproc_worker" {
  project = var.project_id
  role    = "roles/dataproc.worker"
  member  = "serviceAccount:${google_service_account.dataproc.email}"
}

locals {
  buckets = {
    staging = {
      name              = "${var.name_prefix}-dataproc-staging"
      delete_after_days = 30
      nearline_after    = null
    }
    checkpoints = {
      name              = "${var.name_prefix}-flink-checkpoints"
      delete_after_days = var.checkpoint_retention_days
      nearline_after    = null
    }
    results = {
      name              = "${var.name_prefix}-analytics-results"
      delete_after_days = var.results_retention_days
      nearline_after    = 30
    }
  }
}

resource "google_storage_bucket" "this" {
  #checkov:skip=CKV_GCP_62:Access logs of these buckets would be a second bucket per bucket; Cloud Audit Logs (data access) cover who read what.
  for_each = local.buckets

  project                     = var.project_id
  name                        = each.value.name
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age = each.value.delete_after_days
    }

    action {
      type = "Delete"
    }
  }

  # Old versions (overwritten checkpoint metadata, replaced results) go after a week.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 7
    }

    action {
      type = "Delete"
    }
  }

  dynamic "lifecycle_rule" {
    for_each = each.value.nearline_after == null ? [] : [each.value.nearline_after]

    content {
      condition {
        age = lifecycle_rule.value
      }

      action {
        type          = "SetStorageClass"
        storage_class = "NEARLINE"
      }
    }
  }

  labels = var.labels
}

resource "google_storage_bucket_iam_member" "dataproc" {
  for_each = google_storage_bucket.this

  bucket = each.value.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.dataproc.email}"
}

resource "google_dataproc_cluster" "this" {
  #checkov:skip=CKV_GCP_91:Disks use Google-managed encryption; a CMEK needs a Cloud KMS keyring decision that is left to the platform team.
  project = var.project_id
  name    = var.name
  region  = var.region
  labels  = var.labels

  cluster_config {
    staging_bucket = google_storage_bucket.this["staging"].name

    master_config {
      num_instances = var.master_count
      machine_type  = var.machine_type

      disk_config {
        boot_disk_type    = "pd-balanced"
        boot_disk_size_gb = var.boot_disk_gb
      }
    }

    worker_config {
      num_instances = var.worker_count
      machine_type  = var.machine_type

      disk_config {
        boot_disk_type    = "pd-balanced"
        boot_disk_size_gb = var.boot_disk_gb
      }
    }

    software_config {
      image_version       = var.image_version
      optional_components = ["FLINK"]
    }

    gce_cluster_config {
      subnetwork             = google_compute_subnetwork.dataproc.id
      internal_ip_only       = true
      service_account        = google_service_account.dataproc.email
      service_account_scopes = ["cloud-platform"]
      tags                   = ["${var.name}-dataproc"]

      shielded_instance_config {
        enable_secure_boot          = true
        enable_vtpm                 = true
        enable_integrity_monitoring = true
      }
    }

    endpoint_config {
      enable_http_port_access = false
    }
  }

  depends_on = [
    google_project_iam_member.dataproc_worker,
    google_storage_bucket_iam_member.dataproc,
  ]
}
