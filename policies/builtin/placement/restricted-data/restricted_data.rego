# METADATA
# title: restricted-data
# description: |
#   A workload tagged data-class: restricted may only run on on-prem targets
#   (provider onprem); public clouds and edge sites are excluded.
# custom:
#   id: MER-DATA-001
#   severity: deny
#   remediation: >-
#     Place the workload on an on-prem target, or change the data-class tag if
#     the data is not restricted.
package meridian.builtin.placement["restricted-data"]

import data.meridian.lib.result

deny contains finding if {
	input.workload.tags["data-class"] == "restricted"
	input.target.provider != "onprem"

	finding := result.finding(
		rego.metadata.chain(),
		sprintf("data-class restricted must run on-prem; target provider is %s", [input.target.provider]),
		"tags.data-class",
	)
}
