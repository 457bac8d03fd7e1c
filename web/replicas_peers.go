package web

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/publicsuffix"
)

// A follower forwards plans and applies, with the client's credentials,
// to the URL the leader wrote into its lease. The lease row is outside
// input (a shared or compromised database, a misconfigured replica), so
// the URL is parsed strictly and forwarded to only when PeerURLs allows
// it: credentials go only to the hosts the operator configured.

// PeerURLs is the allow-list of leader origins a follower forwards to
// (serve --peer-urls). Its zero value and nil allow nothing. Entries are
// origins, scheme://host[:port] with scheme http or https:
//
//   - an exact origin, host a DNS name or an IP address;
//   - a wildcard origin, host *.SUFFIX: any one DNS label in place of the
//     star (StatefulSet pods behind a headless service), never an IP
//     address and never more than one label;
//   - dns+http://NAME:PORT (or dns+https): NAME itself, and any IP address
//     that NAME resolves to when the leader's URL is checked (a headless
//     service's name, which resolves to its pods' IPs: a Deployment's pods
//     advertise their IP).
//
// The port must match (default 80 for http, 443 for https).
type PeerURLs struct {
	entries []peerEntry
	// lookup resolves a dns+ entry's name (tests replace it).
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)

	mu    sync.Mutex
	cache map[string]peerLookup
}

// peerLookupTTL is how long a dns+ entry's addresses are reused: /readyz
// needs no token, and a flood of it must not become a flood of lookups.
const peerLookupTTL = 2 * time.Second

type peerLookup struct {
	addrs []netip.Addr
	at    time.Time
}

// peerEntry is one allowed origin.
type peerEntry struct {
	origin
	// wildcard: host is the suffix after "*."; dns: host is a name whose
	// addresses are allowed too; loopback: any loopback host, any port
	// (a derived default only, see DerivePeerURLs).
	wildcard, dns, loopback bool
}

// origin is a parsed scheme://host:port: scheme lower-case http or https,
// host a lower-case DNS name or a canonical IP address (no brackets), port
// in decimal.
type origin struct {
	scheme, host, port string
	ip                 netip.Addr
}

func (o origin) url() *url.URL {
	return &url.URL{Scheme: o.scheme, Host: net.JoinHostPort(o.host, o.port)}
}

// ParsePeerURLs parses the entries of --peer-urls. An error names the
// entry and what is wrong with it.
func ParsePeerURLs(list []string) (*PeerURLs, error) {
	p := newPeerURLs()
	var errs []error
	for i, s := range list {
		e, err := parsePeerEntry(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("entry %d %s: %w", i+1, redactPeerURL(s), err))
			continue
		}
		p.entries = append(p.entries, e)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

func newPeerURLs() *PeerURLs {
	return &PeerURLs{cache: map[string]peerLookup{},
		lookup: func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}}
}

// DerivePeerURLs is the allow-list of a replica without --peer-urls, from
// its own --advertise-url: the replicas of one deployment advertise alike,
// so a leader is allowed when it advertises as this replica would.
//
//   - its own origin, always;
//   - a loopback address or localhost: any loopback origin of the same
//     scheme, any port (replicas on one machine: the credentials never
//     leave the host);
//   - a DNS name: its siblings, *.PARENT with the same scheme and port,
//     when PARENT lies below a registrable domain (pod-0.peers.ns.svc.
//     cluster.local allows *.peers.ns.svc.cluster.local, but m1.example.com
//     does not allow all of example.com, nor m1.co.uk all of co.uk).
//
// Other IP addresses allow nothing else: a Deployment's pods need
// --peer-urls (the Helm chart sets a dns+ entry). Empty advertise allows
// nothing.
func DerivePeerURLs(advertise string) (*PeerURLs, error) {
	p := newPeerURLs()
	if advertise == "" {
		return p, nil
	}
	o, err := parseOrigin(advertise)
	if err != nil {
		return nil, fmt.Errorf("--advertise-url %s: %w", redactPeerURL(advertise), err)
	}
	p.entries = append(p.entries, peerEntry{origin: o})
	switch {
	case o.ip.IsValid() && o.ip.IsLoopback(), o.host == "localhost":
		p.entries = append(p.entries, peerEntry{origin: origin{scheme: o.scheme}, loopback: true})
	case !o.ip.IsValid():
		_, parent, ok := strings.Cut(o.host, ".")
		if !ok {
			break
		}
		if site, err := publicsuffix.EffectiveTLDPlusOne(parent); err == nil && site != parent {
			p.entries = append(p.entries, peerEntry{origin: origin{scheme: o.scheme, host: parent, port: o.port}, wildcard: true})
		}
	}
	return p, nil
}

// Patterns lists the entries as --peer-urls would spell them.
func (p *PeerURLs) Patterns() []string {
	if p == nil {
		return nil
	}
	out := make([]string, 0, len(p.entries))
	for _, e := range p.entries {
		out = append(out, e.String())
	}
	return out
}

func (e peerEntry) String() string {
	switch {
	case e.loopback:
		return e.scheme + "://LOOPBACK:ANY-PORT"
	case e.wildcard:
		return e.scheme + "://*." + net.JoinHostPort(e.host, e.port)
	case e.dns:
		return "dns+" + e.url().String()
	}
	return e.url().String()
}

// errPeerNotAllowed: a well-formed leader URL outside the list.
var errPeerNotAllowed = errors.New("not among the allowed peer URLs (--peer-urls)")

// Check parses the leader's URL strictly and returns the origin to
// forward to, rebuilt from its parsed parts (no userinfo, path, query or
// fragment reaches the proxy), or an error when it is malformed or not
// allowed. ctx bounds a dns+ entry's lookup.
func (p *PeerURLs) Check(ctx context.Context, raw string) (*url.URL, error) {
	o, err := parseOrigin(raw)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errPeerNotAllowed
	}
	for _, e := range p.entries {
		if p.match(ctx, e, o) {
			return o.url(), nil
		}
	}
	return nil, errPeerNotAllowed
}

func (p *PeerURLs) match(ctx context.Context, e peerEntry, o origin) bool {
	if e.scheme != o.scheme {
		return false
	}
	if e.loopback {
		return o.host == "localhost" || o.ip.IsValid() && o.ip.IsLoopback()
	}
	if e.port != o.port {
		return false
	}
	switch {
	case e.wildcard:
		label, rest, ok := strings.Cut(o.host, ".")
		return !o.ip.IsValid() && ok && label != "" && rest == e.host
	case e.dns && o.ip.IsValid() && o.host != e.host:
		for _, a := range p.resolve(ctx, e.host) {
			if a.Unmap() == o.ip {
				return true
			}
		}
		return false
	}
	return e.host == o.host
}

// resolve returns the addresses of a dns+ entry's name, reused for
// peerLookupTTL; none when the lookup fails.
func (p *PeerURLs) resolve(ctx context.Context, host string) []netip.Addr {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.cache[host]; ok && time.Since(c.at) < peerLookupTTL {
		return c.addrs
	}
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addrs, _ := p.lookup(lctx, host)
	// A lookup cut short by its caller going away is not the name's
	// answer: kept, it would refuse the next callers' leader for the TTL.
	if ctx.Err() == nil {
		p.cache[host] = peerLookup{addrs: addrs, at: time.Now()}
	}
	return addrs
}

// parsePeerEntry parses one --peer-urls entry.
func parsePeerEntry(s string) (peerEntry, error) {
	var e peerEntry
	if rest, ok := strings.CutPrefix(strings.ToLower(s), "dns+"); ok {
		e.dns, s = true, rest
	}
	if scheme, host, ok := strings.Cut(s, "://*."); ok && !e.dns {
		e.wildcard, s = true, scheme+"://"+host
	}
	o, err := parseOrigin(s)
	if err != nil {
		return e, err
	}
	e.origin = o
	switch {
	case (e.wildcard || e.dns) && o.ip.IsValid():
		return e, errors.New("a wildcard or dns+ entry names a DNS name, not an IP address")
	case e.wildcard && !strings.Contains(o.host, "."):
		return e, errors.New("a wildcard needs at least two labels after *. (*.peers.example.com)")
	}
	return e, nil
}

// parseOrigin parses scheme://host[:port][/] strictly: scheme http or
// https; no userinfo, path, query, fragment, percent-escape, space or
// control character; host an IP address (IPv6 in brackets, no zone) or a
// DNS name of letters, digits and hyphens whose last label is not all
// digits (no 2130706433 or 0x7f.1 for an address); port 1-65535.
func parseOrigin(s string) (origin, error) {
	var o origin
	if len(s) > 300 {
		return o, errors.New("longer than 300 bytes")
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return o, errors.New("not an absolute http(s) URL")
	}
	o.scheme = strings.ToLower(scheme)
	switch o.scheme {
	case "http":
		o.port = "80"
	case "https":
		o.port = "443"
	default:
		// The scheme is not quoted: what precedes :// may be anything,
		// a credential included.
		return o, errors.New("only http and https schemes")
	}
	rest = strings.TrimSuffix(rest, "/")
	for i := 0; i < len(rest); i++ {
		switch c := rest[i]; {
		case c == '@':
			return o, errors.New("userinfo (user:password@) is not allowed")
		case c == '/' || c == '?' || c == '#' || c == '\\':
			return o, errors.New("an origin has no path, query or fragment")
		case c == '%':
			return o, errors.New("percent-escapes are not allowed")
		case c <= ' ' || c >= 0x7f:
			return o, errors.New("spaces, control and non-ASCII characters are not allowed")
		}
	}
	host := rest
	if strings.LastIndexByte(rest, ':') > strings.LastIndexByte(rest, ']') {
		h, port, err := net.SplitHostPort(rest)
		if err != nil {
			return o, err
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strings.TrimLeft(port, "0123456789") != "" {
			return o, fmt.Errorf("port %q: must be 1-65535", port)
		}
		host, o.port = h, strconv.Itoa(n)
	} else if strings.HasPrefix(host, "[") {
		if !strings.HasSuffix(host, "]") {
			return o, errors.New("unclosed [ in the host")
		}
		host = host[1 : len(host)-1]
	}
	if host == "" {
		return o, errors.New("no host")
	}
	if strings.ContainsAny(host, ":[]") {
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is6() || ip.Zone() != "" || !strings.HasPrefix(rest, "[") {
			return o, fmt.Errorf("host %q: not an IPv6 address in brackets", host)
		}
		o.ip = ip.Unmap()
		o.host = o.ip.String()
		return o, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		o.ip, o.host = ip, ip.String()
		return o, nil
	}
	o.host = strings.ToLower(host)
	return o, checkDNSName(o.host)
}

// checkDNSName accepts a lower-case host name: labels of 1-63 letters,
// digits and hyphens, not starting or ending with a hyphen, at most 253
// bytes, the last label not all digits.
func checkDNSName(h string) error {
	if len(h) > 253 {
		return errors.New("host longer than 253 bytes")
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' ||
			strings.TrimLeft(l, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return fmt.Errorf("host %q: not a DNS name (label %q)", h, l)
		}
	}
	if strings.TrimLeft(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Errorf("host %q: a numeric last label reads as an IP address", h)
	}
	return nil
}
