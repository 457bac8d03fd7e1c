# METADATA
# title: jurisdiction
# description: |
#   Data residency: when the workload lists requires.jurisdictions, the
#   target's jurisdiction must be one of them. A workload without
#   requires.jurisdictions may run in any jurisdiction.
# custom:
#   id: MER-JUR-001
#   severity: deny
#   remediation: >-
#     Place the workload on a target in one of the listed jurisdictions, or add
#     the target's jurisdiction to requires.jurisdictions if residency rules
#     allow it.
package meridian.builtin.placement.jurisdiction

import data.meridian.lib.result

deny contains finding if {
	allowed := input.workload.requires.jurisdictions
	count(allowed) > 0
	not input.target.jurisdiction in allowed

	finding := result.finding(
		rego.metadata.chain(),
		sprintf("target jurisdiction %s is not one of the allowed %s", [
			_describe(input.target.jurisdiction),
			concat(", ", allowed),
		]),
		"requires.jurisdictions",
	)
}

_describe(j) := sprintf("%q", [j]) if j != ""

_describe("") := "(none declared)"
