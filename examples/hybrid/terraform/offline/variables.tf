variable "target" {
  description = "The target, as Meridian describes it."
  type = object({
    name                   = string
    provider               = string
    region                 = string
    jurisdiction           = string
    encryption             = string
    kms                    = string
    log_retention_max_days = number
    labels                 = map(string)
  })
}

variable "placements" {
  description = "The workloads Meridian placed on this target, by name."
  type = map(object({
    name               = string
    replicas           = number
    vcpu               = number
    memory_gib         = number
    tags               = map(string)
    encryption         = string
    log_retention_days = number
  }))
  default = {}
}

variable "network_rules" {
  description = "Firewall rules the placements' traffic needs across targets, one per workload, direction, protocol and port range. Protocol all with ports 0-0 opens everything."
  type = list(object({
    workload    = string
    direction   = string
    protocol    = string
    from_port   = number
    to_port     = number
    cidrs       = list(string)
    description = string
  }))
  default = []

  validation {
    condition     = alltrue([for r in var.network_rules : contains(["ingress", "egress"], r.direction)])
    error_message = "Each network rule's direction must be ingress or egress."
  }
  validation {
    condition     = alltrue([for r in var.network_rules : contains(["tcp", "udp", "sctp", "all"], r.protocol)])
    error_message = "Each network rule's protocol must be tcp, udp, sctp or all."
  }
  validation {
    condition = alltrue([for r in var.network_rules : r.protocol == "all" ? r.from_port == 0 && r.to_port == 0 : (
    r.from_port >= 1 && r.from_port <= r.to_port && r.to_port <= 65535)])
    error_message = "Each network rule needs 1 <= from_port <= to_port <= 65535, or ports 0-0 with protocol all."
  }
  validation {
    condition     = alltrue([for r in var.network_rules : length(r.cidrs) > 0 && alltrue([for c in r.cidrs : can(cidrhost(c, 0))])])
    error_message = "Each network rule needs at least one CIDR, and every CIDR must be valid (like 10.0.0.0/16)."
  }
}
