# METADATA
# title: network-peers
# description: |
#   A workload with network.peers must reach them wherever they run, so its
#   target needs a way out to the other sites: private connectivity
#   (network.private) or internet egress (network.internet_egress). A target
#   with neither is an island. Once placed, every flow between two workloads
#   on different targets (a peer it reaches, a workload its ingress admits)
#   is judged where both ends landed (input.peer): it needs a private path
#   (both targets network.private) or, when neither workload is
#   private_only, internet egress where the flow starts; and a workload with
#   requires.jurisdictions exchanges data only with peers in those
#   jurisdictions.
# custom:
#   id: MER-NET-003
#   severity: deny
#   remediation: >-
#     Place the workload on a target with network.private or
#     network.internet_egress, or connect the target and declare it; for a
#     landed pair, place the two workloads where a path between them exists
#     (and within the workload's jurisdictions), or drop the flow.
package meridian.builtin.placement["network-peers"]

import data.meridian.lib.result

deny contains finding if {
	not input.peer
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

# input.peer is a landed pair: the peer workload, the target it landed on
# (always another target than input.target), "to" when the workload starts
# the flow and "from" when the peer does, and the field that asks for it.
deny contains finding if {
	input.peer
	not _private_path
	not _internet_path

	finding := result.finding(
		rego.metadata.chain(),
		sprintf("%s runs on %s, and no path joins it to this target: %s", [
			input.peer.workload.name, input.peer.target.name, _why_no_path,
		]),
		input.peer.field,
	)
}

deny contains finding if {
	allowed := input.workload.requires.jurisdictions
	count(allowed) > 0
	not input.peer.target.jurisdiction in allowed

	finding := result.finding(
		rego.metadata.chain(),
		sprintf("%s runs on %s in jurisdiction %s, outside the workload's allowed %s", [
			input.peer.workload.name, input.peer.target.name,
			_describe(input.peer.target.jurisdiction), concat(", ", allowed),
		]),
		input.peer.field,
	)
}

_private_path if {
	input.target.network.private
	input.peer.target.network.private
}

# Rules read input.target and input.workload only by constant paths,
# never whole, so that placement evaluation keeps grouping equal targets.
_internet_path if {
	not input.workload.network.private_only
	not input.peer.workload.network.private_only
	_egress_where_it_starts
}

_egress_where_it_starts if {
	input.peer.direction == "to"
	input.target.network.internet_egress
}

_egress_where_it_starts if {
	input.peer.direction == "from"
	input.peer.target.network.internet_egress
}

_starts := "this target" if input.peer.direction == "to"

_starts := input.peer.target.name if input.peer.direction == "from"

_why_no_path := "the workload is private-only and the targets are not both private" if {
	input.workload.network.private_only
}

_why_no_path := sprintf("%s is private-only and the targets are not both private", [input.peer.workload.name]) if {
	not input.workload.network.private_only
	input.peer.workload.network.private_only
}

_why_no_path := sprintf("the targets are not both private, and %s has no internet egress", [_starts]) if {
	not input.workload.network.private_only
	not input.peer.workload.network.private_only
}

_describe(j) := sprintf("%q", [j]) if j != ""

_describe("") := "(none declared)"
