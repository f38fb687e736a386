output "cluster_name" {
  description = "Name of the Dataproc cluster (gcloud dataproc jobs submit flink --cluster)."
  value       = google_dataproc_cluster.this.name
}

output "checkpoint_bucket" {
  description = "GCS bucket of Flink checkpoints (--checkpoint-dir gs://<bucket>/)."
  value       = google_storage_bucket.this["checkpoints"].name
}

output "results_bucket" {
  description = "GCS bucket of analytics results (--lake-dir gs://<bucket>/)."
  value       = google_storage_bucket.this["results"].name
}

output "service_account_email" {
  description = "Service account the cluster runs as."
  value       = google_service_account.dataproc.email
}

output "subnet_cidr" {
  description = "CIDR of the Dataproc subnet (the GCP source of the MSK rules)."
  value       = google_compute_subnetwork.dataproc.ip_cidr_range
}

output "staging_bucket" {
  description = "GCS bucket Dataproc stages jobs in (the Flink job's jar goes here)."
  value       = google_storage_bucket.this["staging"].name
}

output "network_id" {
  description = "The VPC network of Dataproc (the HA VPN to AWS attaches to it)."
  value       = google_compute_network.this.id
}
