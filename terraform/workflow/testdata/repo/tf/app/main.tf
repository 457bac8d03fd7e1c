# A test module with the shape of a real one: one resource per workload,
# a rollout step whose provisioner can be made slow (to kill an apply in
# the middle), a sensitive variable and a sensitive output.
terraform {
  backend "local" {}
}

variable "target" {
  type = any
}

variable "placements" {
  type = map(object({
    name               = string
    replicas           = number
    vcpu               = number
    memory_gib         = number
    tags               = map(string)
    encryption         = string
    log_retention_days = number
  }))
}

variable "token" {
  type      = string
  default   = ""
  sensitive = true
}

resource "terraform_data" "workload" {
  for_each = var.placements
  input = {
    replicas = each.value.replicas
    region   = var.target.region
    token    = var.token
  }
}

resource "terraform_data" "rollout" {
  for_each         = var.placements
  triggers_replace = [each.value.replicas]
  provisioner "local-exec" {
    command = "if [ -n \"$MERIDIAN_TEST_SLOW\" ]; then echo $$ > \"$MERIDIAN_TEST_SLOW.tmp\"; mv \"$MERIDIAN_TEST_SLOW.tmp\" \"$MERIDIAN_TEST_SLOW\"; exec sleep 120; fi"
  }
}

output "token" {
  value     = var.token
  sensitive = true
}

output "replicas" {
  value = { for k, w in terraform_data.workload : k => w.output.replicas }
}
