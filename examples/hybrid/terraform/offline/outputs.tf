output "deployments" {
  description = "Replicas and log group per workload."
  value = {
    for name, d in terraform_data.deployment : name => {
      replicas  = d.output.replicas
      log_group = d.output.log_group
    }
  }
}

output "capacity_used" {
  description = "vCPU and memory the placements use on this target."
  value = {
    vcpu       = sum(concat([0], [for p in var.placements : p.replicas * p.vcpu]))
    memory_gib = sum(concat([0], [for p in var.placements : p.replicas * p.memory_gib]))
  }
}

output "key_aliases" {
  description = "Key aliases per workload; sensitive, so Meridian redacts them."
  value       = { for name, k in terraform_data.key : name => k.output.alias }
  sensitive   = true
}
