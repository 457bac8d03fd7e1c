# METADATA
# title: network-peers
# description: |
#   A workload with network.peers must reach them wherever they run, so its
#   target needs a way out to the other sites: private connectivity
#   (network.private) or internet egress (network.internet_egress). A target
#   with neither is an island.
# custom:
#   id: MER-NET-003
#   severity: deny
#   remediation: >-
#     Place the workload on a target with network.private or
#     network.internet_egress, or connect the target and declare it.
package meridian.builtin.placement["network-peers"]

import data.meridian.lib.result

deny contains finding if {
	count(input.workload.network.peers) > 0
	not input.target.network.private
	not input.target.network.internet_egress

	finding := result.finding(
		rego.metadata.chain(),
		sprintf("the workload must reach peers %s but the target has neither private connectivity nor internet egress", [
			concat(", ", input.workload.network.peers),
		]),
		"network.peers",
	)
}
