# METADATA
# title: required-tags
# description: |
#   Every workload must carry each tag listed in meridian.yaml's
#   required_tags, with a non-empty value.
# custom:
#   id: MER-TAG-001
#   severity: deny
#   remediation: Add the tag under the workload's tags block with a non-empty value.
#   live_remediation: >-
#     Tag the resource with a non-empty value where it is created (its
#     Terraform module, template or manifest), or on the resource itself if
#     nothing manages it.
package meridian.builtin.workload["required-tags"]

import data.meridian.lib.result

deny contains finding if {
	some tag in input.settings.required_tags
	not input.workload.tags[tag]

	finding := result.finding(
		rego.metadata.chain(),
		sprintf("missing required tag %q", [tag]),
		concat(".", ["tags", tag]),
	)
}

deny contains finding if {
	some tag in input.settings.required_tags
	trim_space(input.workload.tags[tag]) == ""

	finding := result.finding(
		rego.metadata.chain(),
		sprintf("required tag %q is empty", [tag]),
		concat(".", ["tags", tag]),
	)
}
