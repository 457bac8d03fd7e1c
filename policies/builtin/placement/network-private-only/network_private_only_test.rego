package meridian.builtin.placement["network-private-only_test"]

import data.meridian.builtin.placement["network-private-only"] as rule

_remediation := concat(" ", [
	"Place the workload on a target with network.private: true, or drop",
	"network.private_only if the workload may be reached across the internet.",
])

test_deny_internet_only_target if {
	r := rule.deny with input as {
		"workload": {"network": {"private_only": true}},
		"target": {"network": {"model": "internet", "internet_egress": true}},
	}
	r == {{
		"id": "MER-NET-001",
		"msg": `the workload is private-only but target network "internet" has no private connectivity`,
		"field": "network.private_only",
		"remediation": _remediation,
	}}
}

test_deny_target_without_network if {
	r := rule.deny with input as {
		"workload": {"network": {"private_only": true}},
		"target": {},
	}
	r == {{
		"id": "MER-NET-001",
		"msg": "the workload is private-only but target network (none declared) has no private connectivity",
		"field": "network.private_only",
		"remediation": _remediation,
	}}
}

test_pass_private_target if {
	r := rule.deny with input as {
		"workload": {"network": {"private_only": true}},
		"target": {"network": {"model": "vpc-tgw", "private": true, "internet_egress": true}},
	}
	r == set()
}

test_pass_workload_not_private_only if {
	r := rule.deny with input as {
		"workload": {},
		"target": {"network": {"model": "internet"}},
	}
	r == set()
}
