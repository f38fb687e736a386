variable "name" {
  description = "Prefix of every resource's name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,39}$", var.name))
    error_message = "The name is 3-40 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "aws_vpc_id" {
  description = "The AWS VPC (MSK's) the tunnels end in."
  type        = string

  validation {
    condition     = startswith(var.aws_vpc_id, "vpc-")
    error_message = "A VPC id (vpc-...)."
  }
}

variable "aws_route_table_ids" {
  description = "Route tables that learn the GCP subnet through the virtual private gateway (the private subnets', MSK's included)."
  type        = list(string)

  validation {
    condition     = length(var.aws_route_table_ids) > 0 && alltrue([for id in var.aws_route_table_ids : startswith(id, "rtb-")])
    error_message = "At least one route table id (rtb-...)."
  }
}

variable "gcp_network_id" {
  description = "The GCP VPC network of Dataproc."
  type        = string

  validation {
    condition     = length(var.gcp_network_id) > 0
    error_message = "The network's id."
  }
}

variable "gcp_region" {
  description = "GCP region of the HA VPN gateway and its Cloud Router (Dataproc's)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.gcp_region))
    error_message = "A GCP region such as us-east1."
  }
}

variable "aws_asn" {
  description = "BGP ASN of the AWS virtual private gateway."
  type        = number
  default     = 64512

  validation {
    condition     = var.aws_asn >= 64512 && var.aws_asn <= 65534
    error_message = "A private 16-bit ASN (64512-65534)."
  }
}

variable "gcp_asn" {
  description = "BGP ASN of the GCP Cloud Router."
  type        = number
  default     = 65000

  validation {
    condition     = var.gcp_asn >= 64512 && var.gcp_asn <= 65534
    error_message = "A private 16-bit ASN (64512-65534)."
  }
}

variable "tags" {
  description = "Tags of the AWS resources."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for key, value in var.tags : length(key) <= 128 && length(value) <= 256])
    error_message = "AWS tag keys are at most 128 characters, values 256."
  }
}
