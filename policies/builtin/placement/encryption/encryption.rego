# METADATA
# title: encryption
# description: |
#   The target's key management must be at least as strong as the workload's
#   requires.encryption, ordered none < provider-managed < customer-managed < hsm.
#   The target's level is input.target.encryption_level, which Meridian computes
#   from its encryption block: hsm if encryption.hsm, else customer-managed if
#   encryption.customer_managed_keys, else provider-managed if encryption.kms is
#   set, else none.
# custom:
#   id: MER-ENC-001
#   severity: deny
#   remediation: >-
#     Place the workload on a target whose encryption block offers the required
#     level (customer_managed_keys: true, or hsm: true), or lower
#     requires.encryption if the data allows it.
#   live_remediation: >-
#     Encrypt it again at the level requires.encryption names, with a
#     customer-managed key of its account (HSM-backed for hsm), as the
#     target's encryption block and Meridian's apply set it: it was changed
#     outside Meridian. Lower requires.encryption only if the data allows it.
package meridian.builtin.placement.encryption

import data.meridian.lib.result

_rank := {"none": 0, "provider-managed": 1, "customer-managed": 2, "hsm": 3}

deny contains finding if {
	required := input.workload.requires.encryption
	offered := input.target.encryption_level
	_rank[offered] < _rank[required]

	finding := result.finding(
		rego.metadata.chain(),
		sprintf("requires %s encryption; target offers %s", [required, offered]),
		"requires.encryption",
	)
}
