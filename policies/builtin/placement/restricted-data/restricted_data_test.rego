package meridian.builtin.placement["restricted-data_test"]

import data.meridian.builtin.placement["restricted-data"] as rule

_input(class, provider) := {
	"workload": {"tags": {"data-class": class}},
	"target": {"provider": provider},
}

test_deny_restricted_on_cloud if {
	r := rule.deny with input as _input("restricted", "aws")
	r == {{
		"id": "MER-DATA-001",
		"msg": "data-class restricted must run on-prem; target provider is aws",
		"field": "tags.data-class",
		"remediation": concat(" ", [
			"Place the workload on an on-prem target, or change the data-class tag if",
			"the data is not restricted.",
		]),
	}}
}

test_deny_restricted_on_edge if {
	r := rule.deny with input as _input("restricted", "edge")
	count(r) == 1
}

test_pass_restricted_on_prem if {
	r := rule.deny with input as _input("restricted", "onprem")
	r == set()
}

test_pass_other_data_class_on_cloud if {
	r := rule.deny with input as _input("confidential", "aws")
	r == set()
}

test_pass_without_data_class if {
	r := rule.deny with input as {"workload": {"tags": {}}, "target": {"provider": "aws"}}
	r == set()
}
