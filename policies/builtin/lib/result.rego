# METADATA
# title: result
# description: |
#   Helpers that build the finding objects the Meridian engine reads, so that
#   a rule states its ID and remediation once, in its METADATA block.
package meridian.lib.result

# METADATA
# description: |
#   finding returns {"id", "msg", "field", "remediation"}, taking id and
#   remediation from the custom block of the nearest annotation in chain that
#   has a custom.id. Call it with rego.metadata.chain() from the rule body.
finding(chain, msg, field) := {
	"id": custom.id,
	"msg": msg,
	"field": field,
	"remediation": object.get(custom, "remediation", ""),
} if {
	custom := [link.annotations.custom |
		some link in chain
		link.annotations.custom.id
	][0]
}
