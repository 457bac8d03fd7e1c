package meridian.builtin.workload["network-public-ingress_test"]

import data.meridian.builtin.workload["network-public-ingress"] as rule

_remediation := concat(" ", [
	"Narrow the CIDR to the private range the traffic comes from, or drop",
	"network.private_only if the workload is meant to face the internet.",
])

_workload(cidrs) := {"network": {
	"private_only": true,
	"ingress": [{"from": [{"workload": "gw"}, {"cidr": c}]} | some c in cidrs],
}}

test_deny_public_and_too_wide_ranges if {
	r := rule.deny with input as {"workload": _workload(["0.0.0.0/0", "10.0.0.0/7", "172.32.0.0/16", "203.0.113.0/24", "2001:db8::/32"])}
	r == {
		{"id": "MER-NET-004", "msg": "the workload is private-only but admits traffic from public addresses 0.0.0.0/0", "field": "network.ingress.0.from.1.cidr", "remediation": _remediation},
		{"id": "MER-NET-004", "msg": "the workload is private-only but admits traffic from public addresses 10.0.0.0/7", "field": "network.ingress.1.from.1.cidr", "remediation": _remediation},
		{"id": "MER-NET-004", "msg": "the workload is private-only but admits traffic from public addresses 172.32.0.0/16", "field": "network.ingress.2.from.1.cidr", "remediation": _remediation},
		{"id": "MER-NET-004", "msg": "the workload is private-only but admits traffic from public addresses 203.0.113.0/24", "field": "network.ingress.3.from.1.cidr", "remediation": _remediation},
		{"id": "MER-NET-004", "msg": "the workload is private-only but admits traffic from public addresses 2001:db8::/32", "field": "network.ingress.4.from.1.cidr", "remediation": _remediation},
	}
}

test_pass_private_ranges if {
	r := rule.deny with input as {"workload": _workload(["10.0.0.0/8", "172.16.0.0/12", "172.31.4.0/24", "192.168.1.0/24", "100.64.0.0/10", "fd00:1::/64"])}
	r == set()
}

test_pass_public_cidr_when_not_private_only if {
	r := rule.deny with input as {"workload": {"network": {"ingress": [{"from": [{"cidr": "0.0.0.0/0"}]}]}}}
	r == set()
}
