package meridian.builtin.placement["network-isolation_test"]

import data.meridian.builtin.placement["network-isolation"] as rule

_remediation := concat(" ", [
	"Place the workload on a target whose network.isolation_classes lists the",
	"class, or add the class to a target once its network enforces it.",
])

test_deny_class_not_offered if {
	r := rule.deny with input as {
		"workload": {"network": {"isolation": "pci"}},
		"target": {"network": {"model": "vwan", "isolation_classes": ["video", "internal"]}},
	}
	r == {{
		"id": "MER-NET-002",
		"msg": `target enforces isolation classes video, internal, not "pci"`,
		"field": "network.isolation",
		"remediation": _remediation,
	}}
}

test_deny_target_without_classes if {
	r := rule.deny with input as {
		"workload": {"network": {"isolation": "pci"}},
		"target": {"network": {"model": "vlan-nsxt"}},
	}
	r == {{
		"id": "MER-NET-002",
		"msg": `target enforces isolation classes (none), not "pci"`,
		"field": "network.isolation",
		"remediation": _remediation,
	}}
}

test_pass_class_offered if {
	r := rule.deny with input as {
		"workload": {"network": {"isolation": "pci"}},
		"target": {"network": {"isolation_classes": ["internal", "pci"]}},
	}
	r == set()
}

test_pass_no_class_needed if {
	r := rule.deny with input as {
		"workload": {"network": {"private_only": true}},
		"target": {},
	}
	r == set()
}
