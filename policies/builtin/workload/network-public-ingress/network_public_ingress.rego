# METADATA
# title: network-public-ingress
# description: |
#   A workload with network.private_only must not admit traffic from public
#   addresses: every CIDR in its network.ingress rules must lie in a private
#   range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10,
#   fc00::/7). 0.0.0.0/0 is the whole internet.
# custom:
#   id: MER-NET-004
#   severity: deny
#   remediation: >-
#     Narrow the CIDR to the private range the traffic comes from, or drop
#     network.private_only if the workload is meant to face the internet.
package meridian.builtin.workload["network-public-ingress"]

import data.meridian.lib.result

deny contains finding if {
	input.workload.network.private_only
	some i, rule in input.workload.network.ingress
	some j, peer in rule.from
	cidr := peer.cidr
	not _private(cidr)

	finding := result.finding(
		rego.metadata.chain(),
		sprintf("the workload is private-only but admits traffic from public addresses %s", [cidr]),
		sprintf("network.ingress.%d.from.%d.cidr", [i, j]),
	)
}

# CIDRs reach Rego in canonical form (the loader rewrites them), so the
# address and prefix length can be read off the text.
_private(cidr) if {
	[addr, len] := split(cidr, "/")
	[a, b, _, _] := [to_number(o) | some o in split(addr, ".")]
	some r in _ipv4_private
	a == r[0]
	b >= r[1]
	b <= r[2]
	to_number(len) >= r[3]
}

_private(cidr) if {
	[addr, len] := split(cidr, "/")
	contains(addr, ":")
	substring(lower(addr), 0, 2) in {"fc", "fd"}
	to_number(len) >= 7
}

# [first octet, lowest second octet, highest second octet, shortest prefix]
_ipv4_private := [
	[10, 0, 255, 8],
	[172, 16, 31, 12],
	[192, 168, 168, 16],
	[100, 64, 127, 10],
]
