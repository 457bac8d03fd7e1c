package meridian.builtin.placement["network-peers_test"]

import data.meridian.builtin.placement["network-peers"] as rule

_remediation := concat(" ", [
	"Place the workload on a target with network.private or",
	"network.internet_egress, or connect the target and declare it; for a",
	"landed pair, place the two workloads where a path between them exists",
	"(and within the workload's jurisdictions), or drop the flow.",
])

test_deny_island_target if {
	r := rule.deny with input as {
		"workload": {"network": {"peers": ["kafka", "redis"]}},
		"target": {"network": {"model": "k3s-flannel"}},
	}
	r == {{
		"id": "MER-NET-003",
		"msg": "the workload must reach peers kafka, redis but the target has neither private connectivity nor internet egress",
		"field": "network.peers",
		"remediation": _remediation,
	}}
}

test_pass_private_target if {
	r := rule.deny with input as {
		"workload": {"network": {"peers": ["kafka"]}},
		"target": {"network": {"private": true}},
	}
	r == set()
}

test_pass_internet_target if {
	r := rule.deny with input as {
		"workload": {"network": {"peers": ["kafka"]}},
		"target": {"network": {"internet_egress": true}},
	}
	r == set()
}

test_pass_no_peers if {
	r := rule.deny with input as {
		"workload": {"network": {"peers": []}},
		"target": {},
	}
	r == set()
}

# Landed pairs: input.peer is where the peer actually runs.

_pair(workload, target, peer) := {"workload": workload, "target": target, "peer": peer}

_peer(name, target, direction) := {
	"workload": {"name": name, "network": {}},
	"target": target,
	"direction": direction,
	"field": "network.peers.0",
}

test_pair_private_path if {
	r := rule.deny with input as _pair(
		{"network": {"peers": ["kafka"], "private_only": true}},
		{"network": {"private": true}},
		_peer("kafka", {"name": "aws", "network": {"private": true}}, "to"),
	)
	r == set()
}

test_pair_internet_path if {
	r := rule.deny with input as _pair(
		{"network": {"peers": ["kafka"]}},
		{"network": {"internet_egress": true}},
		_peer("kafka", {"name": "aws", "network": {"private": true}}, "to"),
	)
	r == set()
}

test_deny_pair_private_only_over_internet if {
	r := rule.deny with input as _pair(
		{"network": {"peers": ["kafka"], "private_only": true}},
		{"network": {"private": true, "internet_egress": true}},
		_peer("kafka", {"name": "edge-7", "network": {"internet_egress": true}}, "to"),
	)
	r == {{
		"id": "MER-NET-003",
		"msg": "kafka runs on edge-7, and no path joins it to this target: the workload is private-only and the targets are not both private",
		"field": "network.peers.0",
		"remediation": _remediation,
	}}
}

test_deny_pair_private_only_peer if {
	p := _peer("kafka", {"name": "edge-7", "network": {"internet_egress": true}}, "to")
	r := rule.deny with input as _pair(
		{"network": {"peers": ["kafka"]}},
		{"network": {"internet_egress": true}},
		json.patch(p, [{"op": "add", "path": "/workload/network/private_only", "value": true}]),
	)
	r == {{
		"id": "MER-NET-003",
		"msg": "kafka runs on edge-7, and no path joins it to this target: kafka is private-only and the targets are not both private",
		"field": "network.peers.0",
		"remediation": _remediation,
	}}
}

test_deny_pair_flow_starts_without_egress if {
	# The admitted peer starts the flow from a target that is private but
	# has no internet egress, and this target is not private.
	r := rule.deny with input as _pair(
		{"network": {"ingress": [{"from": [{"workload": "cam"}]}]}},
		{"network": {"internet_egress": true}},
		json.patch(_peer("cam", {"name": "edge-7", "network": {"private": true}}, "from"), [{"op": "replace", "path": "/field", "value": "network.ingress.0.from.0.workload"}]),
	)
	r == {{
		"id": "MER-NET-003",
		"msg": "cam runs on edge-7, and no path joins it to this target: the targets are not both private, and edge-7 has no internet egress",
		"field": "network.ingress.0.from.0.workload",
		"remediation": _remediation,
	}}
}

test_deny_pair_outside_jurisdictions if {
	r := rule.deny with input as _pair(
		{"requires": {"jurisdictions": ["eu", "ch"]}, "network": {"peers": ["kafka"]}},
		{"jurisdiction": "eu", "network": {"private": true}},
		_peer("kafka", {"name": "aws-us", "jurisdiction": "us", "network": {"private": true}}, "to"),
	)
	r == {{
		"id": "MER-NET-003",
		"msg": `kafka runs on aws-us in jurisdiction "us", outside the workload's allowed eu, ch`,
		"field": "network.peers.0",
		"remediation": _remediation,
	}}
}

test_pair_does_not_repeat_island if {
	# The island check is the placement's; a pair judges the path only.
	r := rule.deny with input as _pair(
		{"network": {"peers": ["kafka"]}},
		{"network": {"private": true}},
		_peer("kafka", {"name": "dc", "network": {"private": true}}, "to"),
	)
	r == set()
}
