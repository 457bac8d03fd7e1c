# METADATA
# title: edge sites
# description: Store and hub edge sites host only workloads built for them
#   (tagged tier=edge); everything else would eat the sites' small capacity
#   and could not be serviced there.
# custom:
#   id: ORG-EDGE-001
#   severity: deny
#   remediation: Place the workload on a cloud region or data centre, or tag it tier=edge if it is designed to run at the edge.
package meridian.org.placement.edge

import data.meridian.lib.result

deny contains result.finding(rego.metadata.chain(), "edge sites host only workloads tagged tier=edge", "tags.tier") if {
	input.target.labels.tier == "edge"
	object.get(input.workload.tags, "tier", "") != "edge"
}
