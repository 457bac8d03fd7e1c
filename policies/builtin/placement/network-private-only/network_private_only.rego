# METADATA
# title: network-private-only
# description: |
#   A workload with network.private_only must run on a target whose network
#   reaches the other sites privately (network.private: true, as a VPC with
#   Transit Gateway, a Virtual WAN hub, NSX-T segments or an SD-WAN give).
#   A target that declares no network block offers no private connectivity.
# custom:
#   id: MER-NET-001
#   severity: deny
#   remediation: >-
#     Place the workload on a target with network.private: true, or drop
#     network.private_only if the workload may be reached across the internet.
package meridian.builtin.placement["network-private-only"]

import data.meridian.lib.result

deny contains finding if {
	input.workload.network.private_only
	not input.target.network.private

	finding := result.finding(
		rego.metadata.chain(),
		sprintf("the workload is private-only but target network %s has no private connectivity", [_model]),
		"network.private_only",
	)
}

_model := sprintf("%q", [input.target.network.model]) if input.target.network.model

_model := "(none declared)" if not input.target.network.model
