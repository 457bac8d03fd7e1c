# Reference module for a GCP region target: a key ring with a rotating
# crypto key per workload that needs one (HSM protection level for hsm),
# and a log bucket per workload with the required retention, encrypted with
# that key.

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 5.0"
    }
  }

  # bucket and prefix come from the target's terraform.backend_config.
  backend "gcs" {}
}

variable "project" {
  description = "GCP project of the target (set through terraform.vars)."
  type        = string
}

provider "google" {
  project = var.project
  region  = var.target.region
}

locals {
  keyed = { for name, p in var.placements : name => p if contains(["customer-managed", "hsm"], p.encryption) }

  # GCP labels are lower case.
  labels = { for name, p in var.placements : name => { for k, v in p.tags : lower(k) => lower(v) } }
}

resource "google_kms_key_ring" "target" {
  count = length(local.keyed) > 0 ? 1 : 0

  name     = "meridian-${var.target.name}"
  location = var.target.region
}

resource "google_kms_crypto_key" "workload" {
  for_each = local.keyed

  name            = each.key
  key_ring        = google_kms_key_ring.target[0].id
  purpose         = "ENCRYPT_DECRYPT"
  rotation_period = "7776000s" # 90 days
  labels          = local.labels[each.key]

  version_template {
    algorithm        = "GOOGLE_SYMMETRIC_ENCRYPTION"
    protection_level = each.value.encryption == "hsm" ? "HSM" : "SOFTWARE"
  }

  lifecycle {
    prevent_destroy = true
  }
}

resource "google_logging_project_bucket_config" "workload" {
  for_each = var.placements

  project        = var.project
  location       = var.target.region
  bucket_id      = "meridian-${each.key}"
  retention_days = max(each.value.log_retention_days, 30)

  dynamic "cmek_settings" {
    for_each = contains(keys(local.keyed), each.key) ? [1] : []
    content {
      kms_key_name = google_kms_crypto_key.workload[each.key].id
    }
  }
}

check "log_retention_supported" {
  assert {
    condition     = alltrue([for p in var.placements : p.log_retention_days <= 3650])
    error_message = "Cloud Logging buckets keep logs for at most 3650 days."
  }
}

output "log_buckets" {
  value = { for name, b in google_logging_project_bucket_config.workload : name => b.id }
}

output "crypto_keys" {
  value     = { for name, k in google_kms_crypto_key.workload : name => k.id }
  sensitive = true
}

# Firewall rules: one VPC firewall per network rule, on the whole network
# (the target's network.cloud_network).

variable "network" {
  description = "VPC network of the firewalls (set through terraform.vars; the target's network.cloud_network)."
  type        = string
  default     = "default"
}

resource "google_compute_firewall" "workload" {
  for_each = { for r in var.network_rules : "${r.workload}/${r.direction}/${r.protocol}/${r.from_port}-${r.to_port}/${join(",", r.cidrs)}" => r }

  # Names are at most 63 characters and start with a letter.
  name               = "meridian-${substr(sha256("${var.target.name}/${each.key}"), 0, 20)}"
  project            = var.project
  network            = var.network
  description        = each.value.description
  direction          = upper(each.value.direction)
  source_ranges      = each.value.direction == "ingress" ? each.value.cidrs : null
  destination_ranges = each.value.direction == "egress" ? each.value.cidrs : null

  allow {
    protocol = each.value.protocol
    ports    = each.value.protocol == "all" ? [] : [each.value.from_port == each.value.to_port ? tostring(each.value.from_port) : "${each.value.from_port}-${each.value.to_port}"]
  }
}
