package meridian.builtin.placement.encryption_test

import data.meridian.builtin.placement.encryption as rule

_input(required, offered) := {
	"workload": {"requires": {"encryption": required}},
	"target": {"encryption_level": offered},
}

_remediation := concat(" ", [
	"Place the workload on a target whose encryption block offers the required",
	"level (customer_managed_keys: true, or hsm: true), or lower",
	"requires.encryption if the data allows it.",
])

test_deny_customer_managed_on_provider_managed if {
	r := rule.deny with input as _input("customer-managed", "provider-managed")
	r == {{
		"id": "MER-ENC-001",
		"msg": "requires customer-managed encryption; target offers provider-managed",
		"field": "requires.encryption",
		"remediation": _remediation,
	}}
}

test_deny_hsm_on_none if {
	r := rule.deny with input as _input("hsm", "none")
	r == {{
		"id": "MER-ENC-001",
		"msg": "requires hsm encryption; target offers none",
		"field": "requires.encryption",
		"remediation": _remediation,
	}}
}

test_pass_when_target_level_is_equal if {
	r := rule.deny with input as _input("customer-managed", "customer-managed")
	r == set()
}

test_pass_when_target_level_is_higher if {
	r := rule.deny with input as _input("provider-managed", "hsm")
	r == set()
}

test_pass_when_nothing_is_required if {
	r := rule.deny with input as _input("none", "none")
	r == set()
}
