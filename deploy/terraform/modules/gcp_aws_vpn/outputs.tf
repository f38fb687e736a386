output "aws_vpn_gateway_id" {
  description = "The AWS virtual private gateway of the tunnels."
  value       = aws_vpn_gateway.this.id
}

output "gcp_router_name" {
  description = "The Cloud Router that holds the BGP sessions with AWS."
  value       = google_compute_router.this.name
}

output "tunnel_names" {
  description = "The four GCP tunnels to AWS (their status: gcloud compute vpn-tunnels describe)."
  value       = google_compute_vpn_tunnel.aws[*].name
}
