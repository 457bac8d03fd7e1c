package deploy

import (
	"strconv"
	"strings"

	xpv1 "github.com/crossplane/crossplane-runtime/v2/apis/common/v1"

	"github.com/meridianhq/meridian"
)

// Cloud firewall rules of a placement on an engine: crossplane cloud
// target: the addresses outside the target's cluster that its ingress
// rules admit (other targets' CIDRs and outside CIDRs), and the other
// targets its flows go to. Traffic inside the cluster is the
// NetworkPolicies' job; these rules open the cloud's own firewall for the
// cross-site part of a flow, at both ends.

// cloudRule is one direction of one flow in cloud terms.
type cloudRule struct {
	ingress bool
	cidrs   []string
	ports   []meridian.Port
	about   string
}

// cloudRules lists a placement's cross-target rules: ingress from CIDR
// sources and from workloads on other targets, egress to other targets.
func cloudRules(w *meridian.Workload, t *meridian.Target, flows []meridian.Flow) ([]cloudRule, error) {
	rules, err := meridian.FirewallRules(w.Name, t.Name, flows)
	out := make([]cloudRule, len(rules))
	for i, r := range rules {
		out[i] = cloudRule{ingress: r.Direction == meridian.DirectionIngress, cidrs: r.CIDRs, ports: r.Ports, about: r.Peer}
	}
	return out, err
}

// portsOrAll is ports, or one "any port of any protocol" entry.
func portsOrAll(ps []meridian.Port) []meridian.Port {
	if len(ps) == 0 {
		return []meridian.Port{{}}
	}
	return ps
}

func (c *placementCtx) describeRule(r cloudRule) string {
	return "meridian: " + c.w.Name + " on " + c.t.Name + " " + r.about
}

// AWS: one security group per placement and one rule resource per CIDR
// and port, as the VPC security group rule resources take one of each.

type awsSecurityGroup struct {
	Region      string            `json:"region"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	VPCID       string            `json:"vpcId,omitempty"`
	Tags        map[string]string `json:"tags"`
}

type awsSecurityGroupRule struct {
	Region             string `json:"region"`
	SecurityGroupIDRef ref    `json:"securityGroupIdRef"`
	Description        string `json:"description"`
	IPProtocol         string `json:"ipProtocol"`
	FromPort           *int   `json:"fromPort,omitempty"`
	ToPort             *int   `json:"toPort,omitempty"`
	CIDRIPv4           string `json:"cidrIpv4,omitempty"`
	CIDRIPv6           string `json:"cidrIpv6,omitempty"`
}

func (c *placementCtx) awsFirewall(rules []cloudRule) []manifest {
	if len(rules) == 0 {
		return nil
	}
	out := []manifest{c.mr("ec2.aws.m.upbound.io/v1beta1", "SecurityGroup", "sg", "", xpv1.DeletionDelete, awsSecurityGroup{
		Region: c.t.Region, Name: dnsLabel("meridian-"+c.w.Name, 255), Description: describe(c.w, c.t),
		VPCID: c.t.Network.CloudNetwork, Tags: c.cloudTags(),
	})}
	n := map[bool]int{}
	for _, r := range rules {
		kind, prefix := "SecurityGroupEgressRule", "sg-out-"
		if r.ingress {
			kind, prefix = "SecurityGroupIngressRule", "sg-in-"
		}
		for _, cidr := range r.cidrs {
			for _, p := range portsOrAll(r.ports) {
				rule := awsSecurityGroupRule{Region: c.t.Region, SecurityGroupIDRef: ref{Name: c.name("sg")},
					Description: c.describeRule(r), IPProtocol: "-1"}
				if p.Protocol != "" {
					from, to := p.Port, p.Last()
					rule.IPProtocol, rule.FromPort, rule.ToPort = strings.ToLower(p.Protocol), &from, &to
				}
				if strings.Contains(cidr, ":") {
					rule.CIDRIPv6 = cidr
				} else {
					rule.CIDRIPv4 = cidr
				}
				out = append(out, c.mr("ec2.aws.m.upbound.io/v1beta1", kind, prefix+strconv.Itoa(n[r.ingress]), "", xpv1.DeletionDelete, rule))
				n[r.ingress]++
			}
		}
	}
	return out
}

// Azure: a network security group in the placement's resource group, and a
// security rule per flow and protocol.

type azureNSG struct {
	Location             string            `json:"location"`
	ResourceGroupNameRef ref               `json:"resourceGroupNameRef"`
	Tags                 map[string]string `json:"tags"`
}

type azureSecurityRule struct {
	ResourceGroupNameRef        ref      `json:"resourceGroupNameRef"`
	NetworkSecurityGroupNameRef ref      `json:"networkSecurityGroupNameRef"`
	Description                 string   `json:"description"`
	Access                      string   `json:"access"`
	Direction                   string   `json:"direction"`
	Priority                    int      `json:"priority"`
	Protocol                    string   `json:"protocol"`
	SourcePortRange             string   `json:"sourcePortRange"`
	SourceAddressPrefixes       []string `json:"sourceAddressPrefixes,omitempty"`
	SourceAddressPrefix         string   `json:"sourceAddressPrefix,omitempty"`
	DestinationAddressPrefixes  []string `json:"destinationAddressPrefixes,omitempty"`
	DestinationAddressPrefix    string   `json:"destinationAddressPrefix,omitempty"`
	DestinationPortRange        string   `json:"destinationPortRange,omitempty"`
	DestinationPortRanges       []string `json:"destinationPortRanges,omitempty"`
}

// azurePriorityBase leaves priorities 100-199 to the operator's own rules.
const azurePriorityBase = 200

func (c *placementCtx) azureFirewall(rules []cloudRule) []manifest {
	if len(rules) == 0 {
		return nil
	}
	out := []manifest{c.mr("network.azure.m.upbound.io/v1beta1", "SecurityGroup", "nsg", dnsLabel("meridian-"+c.w.Name, 80), xpv1.DeletionDelete, azureNSG{
		Location: c.t.Region, ResourceGroupNameRef: ref{Name: c.name("rg")}, Tags: c.cloudTags(),
	})}
	local := c.t.Network.CIDRs
	n := map[bool]int{}
	for _, r := range rules {
		for _, proto := range protocolGroups(r.ports) {
			rule := azureSecurityRule{
				ResourceGroupNameRef: ref{Name: c.name("rg")}, NetworkSecurityGroupNameRef: ref{Name: c.name("nsg")},
				Description: c.describeRule(r), Access: "Allow", Priority: azurePriorityBase + len(out) - 1,
				Protocol: azureProtocol(proto), SourcePortRange: "*",
			}
			if ranges := portRanges(r.ports, proto, "-"); len(ranges) > 0 {
				rule.DestinationPortRanges = ranges
			} else {
				rule.DestinationPortRange = "*"
			}
			if r.ingress {
				rule.Direction, rule.SourceAddressPrefixes = "Inbound", r.cidrs
				rule.DestinationAddressPrefixes, rule.DestinationAddressPrefix = prefixesOr(local, "VirtualNetwork")
			} else {
				rule.Direction, rule.DestinationAddressPrefixes = "Outbound", r.cidrs
				rule.SourceAddressPrefixes, rule.SourceAddressPrefix = prefixesOr(local, "VirtualNetwork")
			}
			name := "nsg-in-"
			if !r.ingress {
				name = "nsg-out-"
			}
			name += strconv.Itoa(n[r.ingress])
			n[r.ingress]++
			out = append(out, c.mr("network.azure.m.upbound.io/v1beta1", "SecurityRule", name,
				dnsLabel("meridian-"+c.w.Name+"-"+name, 80), xpv1.DeletionDelete, rule))
		}
	}
	return out
}

// prefixesOr returns cidrs as a list, or the single service tag when the
// target declares none.
func prefixesOr(cidrs []string, tag string) ([]string, string) {
	if len(cidrs) > 0 {
		return cidrs, ""
	}
	return nil, tag
}

func azureProtocol(p string) string {
	switch p {
	case meridian.ProtocolTCP:
		return "Tcp"
	case meridian.ProtocolUDP:
		return "Udp"
	}
	return "*" // Azure has no SCTP: the port range still narrows the rule
}

// portRanges are the ports of one protocol as "80" or "9000<sep>9100".
func portRanges(ports []meridian.Port, proto, sep string) []string {
	var out []string
	for _, p := range ports {
		if p.Protocol != proto {
			continue
		}
		s := strconv.Itoa(p.Port)
		if p.EndPort > p.Port {
			s += sep + strconv.Itoa(p.EndPort)
		}
		out = append(out, s)
	}
	return out
}

// GCP: one firewall per direction and flow, with an allow entry per
// protocol.

type gcpFirewall struct {
	Project           string             `json:"project"`
	Network           string             `json:"network,omitempty"`
	Description       string             `json:"description"`
	Direction         string             `json:"direction"`
	Priority          int                `json:"priority"`
	SourceRanges      []string           `json:"sourceRanges,omitempty"`
	DestinationRanges []string           `json:"destinationRanges,omitempty"`
	Allow             []gcpFirewallAllow `json:"allow"`
}

type gcpFirewallAllow struct {
	Protocol string   `json:"protocol"`
	Ports    []string `json:"ports,omitempty"`
}

func (c *placementCtx) gcpFirewall(rules []cloudRule) []manifest {
	var out []manifest
	n := map[bool]int{}
	for _, r := range rules {
		fw := gcpFirewall{Project: c.t.Crossplane.Project, Network: c.t.Network.CloudNetwork,
			Description: c.describeRule(r), Priority: 1000}
		for _, proto := range protocolGroups(r.ports) {
			a := gcpFirewallAllow{Protocol: strings.ToLower(proto), Ports: portRanges(r.ports, proto, "-")}
			if proto == "" {
				a.Protocol = "all"
			}
			fw.Allow = append(fw.Allow, a)
		}
		name := "fw-in-"
		if r.ingress {
			fw.Direction, fw.SourceRanges = "INGRESS", r.cidrs
		} else {
			name = "fw-out-"
			fw.Direction, fw.DestinationRanges = "EGRESS", r.cidrs
		}
		name += strconv.Itoa(n[r.ingress])
		n[r.ingress]++
		out = append(out, c.mr("compute.gcp.m.upbound.io/v1beta1", "Firewall", name,
			dnsLabel("meridian-"+c.w.Name+"-"+c.t.Name+"-"+name, 63), xpv1.DeletionDelete, fw))
	}
	return out
}
