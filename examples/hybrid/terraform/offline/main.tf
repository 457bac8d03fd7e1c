# Offline stand-in for a target's infrastructure: the same shape as the
# aws/, azure/ and gcp/ modules (a key per workload that needs a customer-
# managed or HSM key, a log group with the required retention, and the
# deployment), built from terraform_data so that it plans and applies with
# no provider downloads and no network.

terraform {
  required_version = ">= 1.5.0"

  # State stays in the target's workspace under meridian --state-dir.
  backend "local" {}
}

locals {
  # Encryption levels, weakest first (as Meridian orders them).
  levels = ["none", "provider-managed", "customer-managed", "hsm"]

  # Workloads that need a key of their own.
  keyed = { for name, p in var.placements : name => p if contains(["customer-managed", "hsm"], p.encryption) }
}

resource "terraform_data" "key" {
  for_each = local.keyed

  input = {
    alias    = "alias/meridian/${var.target.name}/${each.key}"
    kms      = var.target.kms
    hsm      = each.value.encryption == "hsm"
    rotation = true
    tags     = each.value.tags
  }
}

resource "terraform_data" "log_group" {
  for_each = var.placements

  input = {
    name           = "/meridian/${var.target.name}/${each.key}"
    retention_days = each.value.log_retention_days
    tags           = each.value.tags
  }
}

resource "terraform_data" "deployment" {
  for_each = var.placements

  input = {
    replicas   = each.value.replicas
    vcpu       = each.value.vcpu
    memory_gib = each.value.memory_gib
    log_group  = terraform_data.log_group[each.key].output.name
    key        = try(terraform_data.key[each.key].output.alias, null)
    tags       = each.value.tags
  }
}

check "log_retention_supported" {
  assert {
    condition     = alltrue([for p in var.placements : p.log_retention_days <= var.target.log_retention_max_days])
    error_message = "A workload on ${var.target.name} needs longer log retention than the target's ${var.target.log_retention_max_days} days."
  }
}

check "encryption_supported" {
  assert {
    condition     = alltrue([for p in var.placements : index(local.levels, p.encryption) <= index(local.levels, var.target.encryption)])
    error_message = "A workload on ${var.target.name} needs stronger encryption than the target's ${var.target.encryption}."
  }
}

# Firewall rules, keyed by what they open, so that a rule that stays keeps
# its address when others come and go.
resource "terraform_data" "firewall_rule" {
  for_each = { for r in var.network_rules : "${r.workload}/${r.direction}/${r.protocol}/${r.from_port}-${r.to_port}/${join(",", r.cidrs)}" => r }

  input = {
    workload    = each.value.workload
    direction   = each.value.direction
    protocol    = each.value.protocol
    ports       = each.value.protocol == "all" ? "all" : "${each.value.from_port}-${each.value.to_port}"
    cidrs       = each.value.cidrs
    description = each.value.description
  }
}

check "network_rules_placed" {
  assert {
    condition     = alltrue([for r in var.network_rules : contains(keys(var.placements), r.workload)])
    error_message = "A network rule on ${var.target.name} names a workload that is not placed there."
  }
}
