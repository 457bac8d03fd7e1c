package meridian.builtin.workload["required-tags_test"]

import data.meridian.builtin.workload["required-tags"] as rule

_remediation := "Add the tag under the workload's tags block with a non-empty value."

test_deny_missing_tag if {
	r := rule.deny with input as {
		"settings": {"required_tags": ["owner", "env"]},
		"workload": {"tags": {"env": "prod"}},
	}
	r == {{
		"id": "MER-TAG-001",
		"msg": `missing required tag "owner"`,
		"field": "tags.owner",
		"remediation": _remediation,
	}}
}

test_deny_each_missing_tag if {
	r := rule.deny with input as {
		"settings": {"required_tags": ["owner", "env"]},
		"workload": {"tags": {}},
	}
	r == {
		{
			"id": "MER-TAG-001",
			"msg": `missing required tag "owner"`,
			"field": "tags.owner",
			"remediation": _remediation,
		},
		{
			"id": "MER-TAG-001",
			"msg": `missing required tag "env"`,
			"field": "tags.env",
			"remediation": _remediation,
		},
	}
}

test_deny_blank_tag if {
	r := rule.deny with input as {
		"settings": {"required_tags": ["owner"]},
		"workload": {"tags": {"owner": "  "}},
	}
	r == {{
		"id": "MER-TAG-001",
		"msg": `required tag "owner" is empty`,
		"field": "tags.owner",
		"remediation": _remediation,
	}}
}

test_pass_all_tags_present if {
	r := rule.deny with input as {
		"settings": {"required_tags": ["owner", "env"]},
		"workload": {"tags": {"owner": "payments", "env": "prod", "extra": "x"}},
	}
	r == set()
}

test_pass_nothing_required if {
	r := rule.deny with input as {
		"settings": {"required_tags": []},
		"workload": {"tags": {}},
	}
	r == set()
}
