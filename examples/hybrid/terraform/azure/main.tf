# Reference module for an Azure region target: a Key Vault (premium, so
# HSM-backed keys are available, when a workload requires hsm) with a
# rotating key per workload that needs one, and a Log Analytics workspace
# per workload whose table retention meets the requirement.

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 3.100"
    }
  }

  # resource_group_name, storage_account_name, container_name and key come
  # from the target's terraform.backend_config; blob leases lock the state.
  backend "azurerm" {}
}

provider "azurerm" {
  features {}
}

data "azurerm_client_config" "current" {}

locals {
  keyed    = { for name, p in var.placements : name => p if contains(["customer-managed", "hsm"], p.encryption) }
  any_hsm  = anytrue([for p in var.placements : p.encryption == "hsm"])
  location = var.target.region
  tags     = merge(var.target.labels, { "managed-by" = "meridian", "meridian-target" = var.target.name })
}

resource "azurerm_resource_group" "target" {
  name     = "meridian-${var.target.name}"
  location = local.location
  tags     = local.tags
}

resource "azurerm_key_vault" "target" {
  count = length(local.keyed) > 0 ? 1 : 0

  name                       = substr(replace("mer-${var.target.name}", "_", "-"), 0, 24)
  location                   = local.location
  resource_group_name        = azurerm_resource_group.target.name
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  sku_name                   = local.any_hsm ? "premium" : "standard"
  purge_protection_enabled   = true
  soft_delete_retention_days = 90
  enable_rbac_authorization  = true
  tags                       = local.tags
}

resource "azurerm_key_vault_key" "workload" {
  for_each = local.keyed

  name         = each.key
  key_vault_id = azurerm_key_vault.target[0].id
  key_type     = each.value.encryption == "hsm" ? "RSA-HSM" : "RSA"
  key_size     = 3072
  key_opts     = ["encrypt", "decrypt", "wrapKey", "unwrapKey"]
  tags         = each.value.tags

  rotation_policy {
    expire_after         = "P400D"
    notify_before_expiry = "P30D"

    automatic {
      time_before_expiry = "P35D"
    }
  }
}

resource "azurerm_log_analytics_workspace" "workload" {
  for_each = var.placements

  name                = "mer-${var.target.name}-${each.key}"
  location            = local.location
  resource_group_name = azurerm_resource_group.target.name
  sku                 = "PerGB2018"
  # Interactive retention is 30 to 730 days; longer requirements are met
  # by the table's total (archive) retention below.
  retention_in_days = min(max(each.value.log_retention_days, 30), 730)
  tags              = each.value.tags
}

resource "azurerm_log_analytics_workspace_table" "containers" {
  for_each = var.placements

  name                    = "ContainerLogV2"
  workspace_id            = azurerm_log_analytics_workspace.workload[each.key].id
  retention_in_days       = min(max(each.value.log_retention_days, 30), 730)
  total_retention_in_days = max(each.value.log_retention_days, 30)
}

check "log_retention_supported" {
  assert {
    condition     = alltrue([for p in var.placements : p.log_retention_days <= 4383])
    error_message = "Log Analytics keeps logs for at most 4383 days (12 years) including archive."
  }
}

output "workspaces" {
  value = { for name, w in azurerm_log_analytics_workspace.workload : name => w.id }
}

output "key_ids" {
  value     = { for name, k in azurerm_key_vault_key.workload : name => k.id }
  sensitive = true
}

# Firewall rules: a network security group per workload with cross-target
# traffic, one security rule per network rule. Priorities start at 200,
# leaving 100-199 to your own rules; associate the groups with the node
# subnet or NICs.

locals {
  firewalled = toset([for r in var.network_rules : r.workload])
  azure_rules = merge([for w in local.firewalled : {
    for i, r in [for r in var.network_rules : r if r.workload == w] : "${w}/${i}" => merge(r, { priority = 200 + i })
  }]...)
}

resource "azurerm_network_security_group" "workload" {
  for_each = local.firewalled

  name                = "meridian-${each.key}"
  location            = azurerm_resource_group.target.location
  resource_group_name = azurerm_resource_group.target.name
  tags                = var.placements[each.key].tags
}

resource "azurerm_network_security_rule" "workload" {
  for_each = local.azure_rules

  name                         = "meridian-${replace(each.key, "/", "-")}"
  resource_group_name          = azurerm_resource_group.target.name
  network_security_group_name  = azurerm_network_security_group.workload[each.value.workload].name
  description                  = each.value.description
  priority                     = each.value.priority
  access                       = "Allow"
  direction                    = each.value.direction == "ingress" ? "Inbound" : "Outbound"
  protocol                     = lookup({ tcp = "Tcp", udp = "Udp" }, each.value.protocol, "*")
  source_port_range            = "*"
  destination_port_range       = each.value.protocol == "all" ? "*" : "${each.value.from_port}-${each.value.to_port}"
  source_address_prefixes      = each.value.direction == "ingress" ? each.value.cidrs : null
  source_address_prefix        = each.value.direction == "ingress" ? null : "VirtualNetwork"
  destination_address_prefixes = each.value.direction == "ingress" ? null : each.value.cidrs
  destination_address_prefix   = each.value.direction == "ingress" ? "VirtualNetwork" : null
}
