output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "IPv4 CIDR of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "IDs of the public subnets (ALB, NAT gateways)."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets across the two main AZs."
  value       = aws_subnet.private[*].id
}

output "msk_subnet_ids" {
  description = "The three private subnets, in three AZs, of the MSK brokers."
  value       = concat(aws_subnet.private[*].id, [aws_subnet.msk_extra.id])
}

output "nat_public_ips" {
  description = "Public IPs of the NAT gateways (egress addresses to allow-list at third parties)."
  value       = aws_eip.nat[*].public_ip
}

output "private_route_table_ids" {
  description = "Route tables of the private subnets, MSK's included (the VPN to GCP propagates its routes into them)."
  value       = concat(aws_route_table.private[*].id, [aws_route_table.msk_extra.id])
}
