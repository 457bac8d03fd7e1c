package meridian.builtin.workload["tag-format_test"]

import data.meridian.builtin.workload["tag-format"] as rule

_settings := {"tag_formats": {"cost-center": `cc-[0-9]{4}`, "env": "prod|staging|dev"}}

test_deny_value_not_matching_format if {
	r := rule.deny with input as {
		"settings": _settings,
		"workload": {"tags": {"cost-center": "1234", "env": "prod"}},
	}
	r == {{
		"id": "MER-TAG-002",
		"msg": `tag "cost-center" value "1234" does not match format cc-[0-9]{4}`,
		"field": "tags.cost-center",
		"remediation": "Change the tag value to match the format configured in meridian.yaml's tag_formats.",
	}}
}

test_deny_partial_match_because_format_is_anchored if {
	r := rule.deny with input as {
		"settings": _settings,
		"workload": {"tags": {"env": "production"}},
	}
	r == {{
		"id": "MER-TAG-002",
		"msg": `tag "env" value "production" does not match format prod|staging|dev`,
		"field": "tags.env",
		"remediation": "Change the tag value to match the format configured in meridian.yaml's tag_formats.",
	}}
}

test_pass_matching_values if {
	r := rule.deny with input as {
		"settings": _settings,
		"workload": {"tags": {"cost-center": "cc-0042", "env": "staging"}},
	}
	r == set()
}

test_pass_absent_or_empty_tags_are_left_to_required_tags if {
	r := rule.deny with input as {
		"settings": _settings,
		"workload": {"tags": {"env": ""}},
	}
	r == set()
}
