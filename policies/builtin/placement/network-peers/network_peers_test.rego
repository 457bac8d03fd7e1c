package meridian.builtin.placement["network-peers_test"]

import data.meridian.builtin.placement["network-peers"] as rule

_remediation := concat(" ", [
	"Place the workload on a target with network.private or",
	"network.internet_egress, or connect the target and declare it.",
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
