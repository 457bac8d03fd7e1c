package meridian.lib.result_test

import data.meridian.lib.result

test_finding_takes_id_and_remediation_from_nearest_custom_id if {
	chain := [
		{"path": ["data", "p", "deny"], "annotations": {"scope": "rule", "title": "no custom"}},
		{"path": ["data", "p"], "annotations": {"scope": "package", "custom": {"id": "X-1", "severity": "deny", "remediation": "fix it"}}},
	]
	result.finding(chain, "bad", "a.b") == {"id": "X-1", "msg": "bad", "field": "a.b", "remediation": "fix it"}
}

test_finding_without_remediation_is_empty if {
	chain := [{"path": ["data", "p"], "annotations": {"custom": {"id": "X-2"}}}]
	result.finding(chain, "bad", "") == {"id": "X-2", "msg": "bad", "field": "", "remediation": ""}
}

test_finding_undefined_without_custom_id if {
	not result.finding([{"path": ["data", "p"], "annotations": {"title": "t"}}], "bad", "")
}
