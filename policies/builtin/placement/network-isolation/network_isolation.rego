# METADATA
# title: network-isolation
# description: |
#   A workload with network.isolation must run on a target that enforces that
#   isolation class: the class is one of the target's
#   network.isolation_classes.
# custom:
#   id: MER-NET-002
#   severity: deny
#   remediation: >-
#     Place the workload on a target whose network.isolation_classes lists the
#     class, or add the class to a target once its network enforces it.
package meridian.builtin.placement["network-isolation"]

import data.meridian.lib.result

deny contains finding if {
	class := input.workload.network.isolation
	class != ""
	not class in _offered

	finding := result.finding(
		rego.metadata.chain(),
		sprintf("target enforces isolation classes %s, not %q", [_list(_offered), class]),
		"network.isolation",
	)
}

_offered := input.target.network.isolation_classes if input.target.network.isolation_classes

_offered := [] if not input.target.network.isolation_classes

_list(cs) := concat(", ", cs) if count(cs) > 0

_list(cs) := "(none)" if count(cs) == 0
