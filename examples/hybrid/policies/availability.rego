# METADATA
# title: availability
# description: Production workloads run at least two replicas, so that one
#   node failure or a rolling update never takes them down.
# custom:
#   id: ORG-HA-001
#   severity: warn
#   remediation: Set replicas.min to 2 or more, or tag the workload env=staging if it is not production.
package meridian.org.workload.availability

import data.meridian.lib.result

warn contains result.finding(rego.metadata.chain(), sprintf("production workload runs with replicas.min %d", [input.workload.replicas.min]), "replicas.min") if {
	input.workload.tags.env == "prod"
	input.workload.replicas.min < 2
}
