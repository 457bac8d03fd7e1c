package meridian.builtin.placement.jurisdiction_test

import data.meridian.builtin.placement.jurisdiction as rule

_remediation := concat(" ", [
	"Place the workload on a target in one of the listed jurisdictions, or add",
	"the target's jurisdiction to requires.jurisdictions if residency rules",
	"allow it.",
])

test_deny_target_outside_allowed_jurisdictions if {
	r := rule.deny with input as {
		"workload": {"requires": {"jurisdictions": ["eu", "ch"]}},
		"target": {"jurisdiction": "us"},
	}
	r == {{
		"id": "MER-JUR-001",
		"msg": `target jurisdiction "us" is not one of the allowed eu, ch`,
		"field": "requires.jurisdictions",
		"remediation": _remediation,
	}}
}

test_deny_target_without_jurisdiction if {
	r := rule.deny with input as {
		"workload": {"requires": {"jurisdictions": ["eu"]}},
		"target": {"jurisdiction": ""},
	}
	r == {{
		"id": "MER-JUR-001",
		"msg": "target jurisdiction (none declared) is not one of the allowed eu",
		"field": "requires.jurisdictions",
		"remediation": _remediation,
	}}
}

test_pass_target_in_allowed_jurisdictions if {
	r := rule.deny with input as {
		"workload": {"requires": {"jurisdictions": ["eu", "ch"]}},
		"target": {"jurisdiction": "ch"},
	}
	r == set()
}

test_pass_any_jurisdiction_when_none_listed if {
	r := rule.deny with input as {
		"workload": {"requires": {}},
		"target": {"jurisdiction": "us"},
	}
	r == set()
}

test_pass_any_jurisdiction_when_list_is_empty if {
	r := rule.deny with input as {
		"workload": {"requires": {"jurisdictions": []}},
		"target": {"jurisdiction": "us"},
	}
	r == set()
}
