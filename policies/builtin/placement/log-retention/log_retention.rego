# METADATA
# title: log-retention
# description: |
#   The target must be able to keep logs for as long as the workload requires:
#   requires.log_retention_days must not exceed the target's
#   log_retention_max_days.
# custom:
#   id: MER-RET-001
#   severity: deny
#   remediation: >-
#     Place the workload on a target with a larger log_retention_max_days, or
#     lower requires.log_retention_days if the retention policy allows it.
#   live_remediation: >-
#     Set its retention back to at least requires.log_retention_days (or to
#     never expire), as Meridian's apply set it: it was changed outside
#     Meridian. Lower requires.log_retention_days only if the retention
#     policy allows it.
package meridian.builtin.placement["log-retention"]

import data.meridian.lib.result

deny contains finding if {
	required := input.workload.requires.log_retention_days
	limit := input.target.log_retention_max_days
	required > limit

	finding := result.finding(
		rego.metadata.chain(),
		sprintf("requires %d days of log retention; target keeps logs at most %d days", [required, limit]),
		"requires.log_retention_days",
	)
}
