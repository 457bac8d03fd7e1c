package meridian.org.workload.availability_test

import data.meridian.org.workload.availability

test_single_replica_prod_warns if {
	r := availability.warn with input as {"workload": {"tags": {"env": "prod"}, "replicas": {"min": 1, "max": 3}}}
	r == {{
		"id": "ORG-HA-001",
		"msg": "production workload runs with replicas.min 1",
		"field": "replicas.min",
		"remediation": "Set replicas.min to 2 or more, or tag the workload env=staging if it is not production.",
	}}
}

test_two_replicas_prod_passes if {
	r := availability.warn with input as {"workload": {"tags": {"env": "prod"}, "replicas": {"min": 2, "max": 3}}}
	r == set()
}

test_single_replica_dev_passes if {
	r := availability.warn with input as {"workload": {"tags": {"env": "dev"}, "replicas": {"min": 1, "max": 1}}}
	r == set()
}
