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
