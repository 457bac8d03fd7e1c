# Reference module for an AWS region target: a rotating KMS key per
# workload that needs a customer-managed (or CloudHSM-backed) key, and a
# CloudWatch log group per workload with the required retention, encrypted
# with that key and tagged with the workload's tags.

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }

  # bucket, key, region and dynamodb_table come from the target's
  # terraform.backend_config; DynamoDB keeps Terraform's state lock.
  backend "s3" {}
}

provider "aws" {
  region = var.target.region

  default_tags {
    tags = {
      "managed-by"      = "meridian"
      "meridian-target" = var.target.name
    }
  }
}

variable "custom_key_store_id" {
  description = "CloudHSM key store for workloads that require hsm (set through terraform.vars)."
  type        = string
  default     = null
}

locals {
  keyed = { for name, p in var.placements : name => p if contains(["customer-managed", "hsm"], p.encryption) }

  # CloudWatch Logs accepts only these retention periods: use the
  # shortest one that meets the requirement (at least 30 days).
  retention_steps = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]
}

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "key" {
  statement {
    sid       = "AccountAdmin"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogs"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${var.target.region}.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "workload" {
  for_each = local.keyed

  description             = "Meridian: ${each.key} on ${var.target.name}"
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
  # Keys in a CloudHSM key store cannot rotate automatically; their
  # rotation is the HSM cluster's.
  enable_key_rotation = each.value.encryption != "hsm"
  custom_key_store_id = each.value.encryption == "hsm" ? var.custom_key_store_id : null
  tags                = each.value.tags
}

resource "aws_kms_alias" "workload" {
  for_each = local.keyed

  name          = "alias/meridian/${var.target.name}/${each.key}"
  target_key_id = aws_kms_key.workload[each.key].key_id
}

resource "aws_cloudwatch_log_group" "workload" {
  for_each = var.placements

  name              = "/meridian/${var.target.name}/${each.key}"
  retention_in_days = min([for d in local.retention_steps : d if d >= max(each.value.log_retention_days, 30)]...)
  kms_key_id        = try(aws_kms_key.workload[each.key].arn, null)
  tags              = each.value.tags
}

check "log_retention_supported" {
  assert {
    condition     = alltrue([for p in var.placements : p.log_retention_days <= 3653])
    error_message = "CloudWatch Logs keeps logs for at most 3653 days."
  }
}

output "log_groups" {
  value = { for name, g in aws_cloudwatch_log_group.workload : name => g.arn }
}

output "key_arns" {
  value     = { for name, k in aws_kms_key.workload : name => k.arn }
  sensitive = true
}

# Firewall rules: a security group per workload with cross-target traffic,
# and a rule per network rule. Attach the groups to the nodes (for example
# through the EKS node group's vpc_security_group_ids).

variable "vpc_id" {
  description = "VPC of the security groups (set through terraform.vars; the target's network.cloud_network)."
  type        = string
  default     = null
}

locals {
  firewalled = toset([for r in var.network_rules : r.workload])
  # AWS names TCP and UDP, numbers the rest; -1 is every protocol.
  aws_protocol = { all = "-1", sctp = "132" }
}

resource "aws_security_group" "workload" {
  for_each = local.firewalled

  name        = "meridian-${var.target.name}-${each.key}"
  description = "Meridian: traffic of ${each.key} on ${var.target.name}"
  vpc_id      = var.vpc_id
  tags        = var.placements[each.key].tags
}

resource "aws_security_group_rule" "workload" {
  for_each = { for r in var.network_rules : "${r.workload}/${r.direction}/${r.protocol}/${r.from_port}-${r.to_port}/${join(",", r.cidrs)}" => r }

  security_group_id = aws_security_group.workload[each.value.workload].id
  type              = each.value.direction
  description       = each.value.description
  protocol          = lookup(local.aws_protocol, each.value.protocol, each.value.protocol)
  from_port         = each.value.from_port
  to_port           = each.value.to_port
  cidr_blocks       = [for c in each.value.cidrs : c if !strcontains(c, ":")]
  ipv6_cidr_blocks  = [for c in each.value.cidrs : c if strcontains(c, ":")]
}
