package meridian.org.placement.edge_test

import data.meridian.org.placement.edge

_finding := {
	"id": "ORG-EDGE-001",
	"msg": "edge sites host only workloads tagged tier=edge",
	"field": "tags.tier",
	"remediation": "Place the workload on a cloud region or data centre, or tag it tier=edge if it is designed to run at the edge.",
}

test_untagged_workload_denied_on_edge if {
	r := edge.deny with input as {"workload": {"tags": {"env": "prod"}}, "target": {"labels": {"tier": "edge"}}}
	r == {_finding}
}

test_edge_workload_allowed_on_edge if {
	r := edge.deny with input as {"workload": {"tags": {"tier": "edge"}}, "target": {"labels": {"tier": "edge"}}}
	r == set()
}

test_any_workload_allowed_in_cloud if {
	r := edge.deny with input as {"workload": {"tags": {}}, "target": {"labels": {"tier": "cloud"}}}
	r == set()
}
