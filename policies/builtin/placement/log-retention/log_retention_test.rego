package meridian.builtin.placement["log-retention_test"]

import data.meridian.builtin.placement["log-retention"] as rule

_input(required, limit) := {
	"workload": {"requires": {"log_retention_days": required}},
	"target": {"log_retention_max_days": limit},
}

test_deny_when_required_exceeds_target_limit if {
	r := rule.deny with input as _input(400, 365)
	r == {{
		"id": "MER-RET-001",
		"msg": "requires 400 days of log retention; target keeps logs at most 365 days",
		"field": "requires.log_retention_days",
		"remediation": concat(" ", [
			"Place the workload on a target with a larger log_retention_max_days, or",
			"lower requires.log_retention_days if the retention policy allows it.",
		]),
	}}
}

test_deny_any_retention_on_target_without_retention if {
	r := rule.deny with input as _input(1, 0)
	count(r) == 1
}

test_pass_when_required_equals_limit if {
	r := rule.deny with input as _input(365, 365)
	r == set()
}

test_pass_when_nothing_is_required if {
	r := rule.deny with input as _input(0, 0)
	r == set()
}
