# METADATA
# title: tag-format
# description: |
#   A tag listed in meridian.yaml's tag_formats must match its regular
#   expression in full (the pattern is anchored as ^(?:pattern)$). Absent and
#   empty tags are left to required-tags.
# custom:
#   id: MER-TAG-002
#   severity: deny
#   remediation: Change the tag value to match the format configured in meridian.yaml's tag_formats.
#   live_remediation: >-
#     Change the resource's tag value to match the format configured in
#     meridian.yaml's tag_formats, where the resource is created (its
#     Terraform module, template or manifest).
package meridian.builtin.workload["tag-format"]

import data.meridian.lib.result

deny contains finding if {
	some tag, pattern in input.settings.tag_formats
	value := input.workload.tags[tag]
	trim_space(value) != ""
	not regex.match(sprintf("^(?:%s)$", [pattern]), value)

	finding := result.finding(
		rego.metadata.chain(),
		sprintf("tag %q value %q does not match format %s", [tag, value, pattern]),
		concat(".", ["tags", tag]),
	)
}
