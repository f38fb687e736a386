# The network path of the Flink job from GCP Dataproc to MSK in AWS: an HA VPN (GCP's two-interface
# gateway, AWS's virtual private gateway, two site-to-site connections of two IPsec tunnels each,
# BGP on every tunnel), as Google documents for AWS. The AWS private route tables learn the Dataproc
# subnet through route propagation, the Cloud Router learns the VPC's; MSK's security group lets the
# Dataproc subnet in on 9094 (modules/msk). Four tunnels: one interface or one AWS endpoint can go.

# --- AWS side -------------------------------------------------------------------------------------

resource "aws_vpn_gateway" "this" {
  vpc_id          = var.aws_vpc_id
  amazon_side_asn = var.aws_asn
  tags            = merge(var.tags, { Name = "${var.name}-to-gcp" })
}

resource "aws_vpn_gateway_route_propagation" "private" {
  count = length(var.aws_route_table_ids)

  vpn_gateway_id = aws_vpn_gateway.this.id
  route_table_id = var.aws_route_table_ids[count.index]
}

# One customer gateway per interface of GCP's HA VPN gateway.
resource "aws_customer_gateway" "gcp" {
  count = 2

  bgp_asn    = var.gcp_asn
  ip_address = google_compute_ha_vpn_gateway.this.vpn_interfaces[count.index].ip_address
  type       = "ipsec.1"
  tags       = merge(var.tags, { Name = "${var.name}-gcp-${count.index}" })
}

resource "aws_vpn_connection" "gcp" {
  count = 2

  vpn_gateway_id      = aws_vpn_gateway.this.id
  customer_gateway_id = aws_customer_gateway.gcp[count.index].id
  type                = "ipsec.1"
  static_routes_only  = false
  # IKEv2 with the ciphers both sides support.
  tunnel1_ike_versions                 = ["ikev2"]
  tunnel2_ike_versions                 = ["ikev2"]
  tunnel1_phase1_encryption_algorithms = ["AES256"]
  tunnel2_phase1_encryption_algorithms = ["AES256"]
  tunnel1_phase2_encryption_algorithms = ["AES256"]
  tunnel2_phase2_encryption_algorithms = ["AES256"]
  tunnel1_phase1_integrity_algorithms  = ["SHA2-256"]
  tunnel2_phase1_integrity_algorithms  = ["SHA2-256"]
  tunnel1_phase2_integrity_algorithms  = ["SHA2-256"]
  tunnel2_phase2_integrity_algorithms  = ["SHA2-256"]
  tunnel1_phase1_dh_group_numbers      = [14]
  tunnel2_phase1_dh_group_numbers      = [14]
  tunnel1_phase2_dh_group_numbers      = [14]
  tunnel2_phase2_dh_group_numbers      = [14]
  tags                                 = merge(var.tags, { Name = "${var.name}-gcp-${count.index}" })
}

# --- GCP side -------------------------------------------------------------------------------------

locals {
  # The four AWS tunnel endpoints, in the order of the external gateway's interfaces: connection
  # 0 tunnels 1 and 2 (GCP interface 0), connection 1 tunnels 1 and 2 (GCP interface 1).
  tunnels = [
    for index in range(4) : {
      connection    = floor(index / 2)
      gcp_interface = floor(index / 2)
      outside_ip    = index % 2 == 0 ? aws_vpn_connection.gcp[floor(index / 2)].tunnel1_address : aws_vpn_connection.gcp[floor(index / 2)].tunnel2_address
      shared_secret = index % 2 == 0 ? aws_vpn_connection.gcp[floor(index / 2)].tunnel1_preshared_key : aws_vpn_connection.gcp[floor(index / 2)].tunnel2_preshared_key
      gcp_inside_ip = index % 2 == 0 ? aws_vpn_connection.gcp[floor(index / 2)].tunnel1_cgw_inside_address : aws_vpn_connection.gcp[floor(index / 2)].tunnel2_cgw_inside_address
      aws_inside_ip = index % 2 == 0 ? aws_vpn_connection.gcp[floor(index / 2)].tunnel1_vgw_inside_address : aws_vpn_connection.gcp[floor(index / 2)].tunnel2_vgw_inside_address
    }
  ]
}

resource "google_compute_ha_vpn_gateway" "this" {
  name    = "${var.name}-to-aws"
  region  = var.gcp_region
  network = var.gcp_network_id
}

resource "google_compute_router" "this" {
  name    = "${var.name}-to-aws"
  region  = var.gcp_region
  network = var.gcp_network_id

  bgp {
    asn = var.gcp_asn
  }
}

resource "google_compute_external_vpn_gateway" "aws" {
  name            = "${var.name}-aws"
  redundancy_type = "FOUR_IPS_REDUNDANCY"
  description     = "The four tunnel endpoints of the AWS virtual private gateway"

  dynamic "interface" {
    for_each = local.tunnels
    content {
      id         = interface.key
      ip_address = interface.value.outside_ip
    }
  }
}

resource "google_compute_vpn_tunnel" "aws" {
  count = 4

  name                            = "${var.name}-aws-${count.index}"
  region                          = var.gcp_region
  vpn_gateway                     = google_compute_ha_vpn_gateway.this.id
  vpn_gateway_interface           = local.tunnels[count.index].gcp_interface
  peer_external_gateway           = google_compute_external_vpn_gateway.aws.id
  peer_external_gateway_interface = count.index
  shared_secret                   = local.tunnels[count.index].shared_secret
  router                          = google_compute_router.this.id
  ike_version                     = 2
}

resource "google_compute_router_interface" "aws" {
  count = 4

  name       = "${var.name}-aws-${count.index}"
  region     = var.gcp_region
  router     = google_compute_router.this.name
  ip_range   = "${local.tunnels[count.index].gcp_inside_ip}/30"
  vpn_tunnel = google_compute_vpn_tunnel.aws[count.index].name
}

resource "google_compute_router_peer" "aws" {
  count = 4

  name            = "${var.name}-aws-${count.index}"
  region          = var.gcp_region
  router          = google_compute_router.this.name
  interface       = google_compute_router_interface.aws[count.index].name
  peer_ip_address = local.tunnels[count.index].aws_inside_ip
  peer_asn        = var.aws_asn
}
