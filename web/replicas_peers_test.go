package web

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// fakeLookup resolves names from a table, so that dns+ entries are
// tested without a DNS server (the web-level test resolves localhost for
// real).
func fakeLookup(table map[string][]string) func(context.Context, string) ([]netip.Addr, error) {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		addrs, ok := table[host]
		if !ok {
			return nil, errors.New("no such host")
		}
		var out []netip.Addr
		for _, a := range addrs {
			out = append(out, netip.MustParseAddr(a))
		}
		return out, nil
	}
}

// TestPeerURLsCheck: which leader URLs an allow-list lets a follower
// forward credentials to, and the origin it forwards to.
func TestPeerURLsCheck(t *testing.T) {
	list := []string{
		"https://meridian.example.com",
		"http://10.1.2.3:8080",
		"http://[fd00::1]:8080",
		"HTTP://*.meridian-peers.prod.svc.cluster.local:8080",
		"dns+http://meridian-peers.prod.svc:8080",
	}
	cases := map[string]struct {
		reason, leader string
		// want is the URL forwarded to; empty: refused.
		want string
	}{
		"exact https":          {"an exact origin, default port", "https://meridian.example.com", "https://meridian.example.com:443"},
		"exact explicit port":  {"the default port spelled out is the same origin", "https://meridian.example.com:443/", "https://meridian.example.com:443"},
		"case":                 {"scheme and host compare without case", "HTTPS://Meridian.Example.COM", "https://meridian.example.com:443"},
		"other port":           {"the port is part of the origin", "https://meridian.example.com:8443", ""},
		"other scheme":         {"http is not https: credentials would travel in clear", "http://meridian.example.com:443", ""},
		"subdomain of exact":   {"an exact entry allows no subdomain", "https://evil.meridian.example.com", ""},
		"suffix trick":         {"a host that ends like the entry", "https://evilmeridian.example.com", ""},
		"ip":                   {"an exact IP entry", "http://10.1.2.3:8080", "http://10.1.2.3:8080"},
		"ip other":             {"another IP", "http://10.1.2.4:8080", ""},
		"ipv6":                 {"IPv6 compares canonically", "http://[fd00:0::0001]:8080", "http://[fd00::1]:8080"},
		"wildcard":             {"one label for the star", "http://meridian-1.meridian-peers.prod.svc.cluster.local:8080", "http://meridian-1.meridian-peers.prod.svc.cluster.local:8080"},
		"wildcard two labels":  {"the star is one label only", "http://a.b.meridian-peers.prod.svc.cluster.local:8080", ""},
		"wildcard bare suffix": {"the star is not empty", "http://meridian-peers.prod.svc.cluster.local:8080", ""},
		"wildcard port":        {"a wildcard keeps its port", "http://meridian-1.meridian-peers.prod.svc.cluster.local:9090", ""},
		"dns name":             {"a dns+ entry allows its name", "http://meridian-peers.prod.svc:8080", "http://meridian-peers.prod.svc:8080"},
		"dns address":          {"and the addresses it resolves to (a pod IP)", "http://10.244.1.5:8080", "http://10.244.1.5:8080"},
		"dns mapped address":   {"an IPv4-mapped IPv6 spelling of a resolved address", "http://[::ffff:10.244.1.5]:8080", "http://10.244.1.5:8080"},
		"dns other address":    {"an address the name does not resolve to", "http://10.244.1.6:8080", ""},
		"dns other port":       {"a dns+ entry keeps its port", "http://10.244.1.5:9090", ""},
		"userinfo":             {"userinfo would be sent along", "https://user:pass@meridian.example.com", ""},
		"userinfo host swap":   {"the host after @ is not the allowed one", "https://meridian.example.com@evil.example", ""},
		"path":                 {"a path could aim the proxy elsewhere on the leader", "https://meridian.example.com/api/../admin", ""},
		"query":                {"no query", "https://meridian.example.com?x=1", ""},
		"fragment":             {"no fragment", "https://meridian.example.com#x", ""},
		"escape":               {"no percent-escape in the host", "https://meridian%2eexample.com", ""},
		"backslash":            {"a backslash some parsers read as a slash", `https://meridian.example.com\@evil.example`, ""},
		"scheme":               {"only http(s)", "ftp://meridian.example.com", ""},
		"no scheme":            {"not an absolute URL", "meridian.example.com", ""},
		"file":                 {"no local file", "file:///etc/passwd", ""},
		"space":                {"no whitespace", "https://meridian.example.com ", ""},
		"decimal ip":           {"a number read as an IP by some resolvers", "http://168427779:8080", ""},
		"octal ip":             {"leading zeros read as octal by some", "http://010.1.2.3:8080", ""},
		"zone":                 {"no IPv6 zone", "http://[fd00::1%25eth0]:8080", ""},
		"bare ipv6":            {"IPv6 needs brackets", "http://fd00::1", ""},
		"port zero":            {"no port 0", "http://10.1.2.3:0", ""},
		"port big":             {"no port above 65535", "http://10.1.2.3:65616", ""},
		"port sign":            {"a port is digits", "http://10.1.2.3:+8080", ""},
		"empty port":           {"an empty port", "http://10.1.2.3:", ""},
		"trailing dot":         {"an absolute DNS name is another spelling", "https://meridian.example.com.", ""},
		"underscore":           {"not a host name", "https://meri_dian.example.com", ""},
		"unicode":              {"no non-ASCII (homographs)", "https://meridiаn.example.com", ""},
	}
	p, err := ParsePeerURLs(list)
	if err != nil {
		t.Fatal(err)
	}
	p.lookup = fakeLookup(map[string][]string{"meridian-peers.prod.svc": {"10.244.1.5", "10.244.2.7"}})
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			u, err := p.Check(context.Background(), tc.leader)
			got := ""
			if err == nil {
				got = u.String()
			}
			if got != tc.want {
				t.Errorf("%s\nCheck(%q) = %q, %v; want %q", tc.reason, tc.leader, got, err, tc.want)
			}
		})
	}
	var none *PeerURLs
	if _, err := none.Check(context.Background(), "https://meridian.example.com"); err == nil {
		t.Error("a nil list allowed a URL: with no --peer-urls nothing may be forwarded")
	}
}

// TestParsePeerURLs: entries that would allow more than they say are
// refused, each error naming its entry.
func TestParsePeerURLs(t *testing.T) {
	cases := map[string]struct {
		entry, wantErr string
	}{
		"wildcard tld":      {"https://*.com", "at least two labels"},
		"wildcard ip":       {"http://*.10.0.0.1", "IP address"},
		"inner wildcard":    {"https://a.*.example.com", "not a DNS name"},
		"double wildcard":   {"https://*.*.example.com", "not a DNS name"},
		"bare star":         {"https://*", "not a DNS name"},
		"dns ip":            {"dns+http://10.0.0.1:8080", "IP address"},
		"dns wildcard":      {"dns+http://*.peers.example.com", "not a DNS name"},
		"path":              {"https://meridian.example.com/api", "no path"},
		"userinfo":          {"https://u:p@meridian.example.com", "userinfo"},
		"scheme":            {"tcp://meridian.example.com", "only http and https"},
		"not a url":         {"meridian.example.com:8080", "absolute"},
		"no host":           {"https://", "no host"},
		"no host with port": {"https://:8080", "no host"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParsePeerURLs([]string{"https://ok.example.com", tc.entry})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "entry 2") {
				t.Errorf("ParsePeerURLs(%q) = %v; want an error naming entry 2 and %q", tc.entry, err, tc.wantErr)
			}
		})
	}
}

// TestDerivePeerURLs: the allow-list of a replica without --peer-urls,
// from its own --advertise-url.
func TestDerivePeerURLs(t *testing.T) {
	cases := map[string]struct {
		reason, advertise string
		allowed, refused  []string
	}{
		"statefulset": {"siblings under a headless service's domain",
			"http://meridian-0.meridian.prod.svc.cluster.local:8080",
			[]string{"http://meridian-0.meridian.prod.svc.cluster.local:8080", "http://meridian-2.meridian.prod.svc.cluster.local:8080"},
			[]string{"http://meridian-2.meridian.prod.svc.cluster.local:9090", "https://meridian-2.meridian.prod.svc.cluster.local:8080",
				"http://x.meridian-2.meridian.prod.svc.cluster.local:8080", "http://evil.prod.svc.cluster.local:8080"}},
		"corp subdomain": {"siblings below a registrable domain",
			"https://m1.meridian.corp.example.com",
			[]string{"https://m2.meridian.corp.example.com"},
			[]string{"https://intranet.corp.example.com", "https://m2.meridian.corp.example.com:8443"}},
		"registrable": {"not every host of the organisation's domain",
			"https://m1.example.com",
			[]string{"https://m1.example.com"},
			[]string{"https://m2.example.com", "https://evil.example.com"}},
		"public suffix": {"never a public suffix",
			"https://m1.example.co.uk",
			[]string{"https://m1.example.co.uk"},
			[]string{"https://m2.example.co.uk", "https://evil.co.uk"}},
		"loopback": {"replicas on one machine: any loopback port, the same scheme",
			"http://127.0.0.1:8081",
			[]string{"http://127.0.0.1:8082", "http://localhost:9000", "http://[::1]:8080", "http://127.0.0.2:80"},
			[]string{"https://127.0.0.1:8082", "http://10.0.0.1:8082", "http://localhost.evil.example:8082"}},
		"pod ip": {"a Deployment's pod IP allows only itself: the chart sets --peer-urls",
			"http://10.244.1.5:8080",
			[]string{"http://10.244.1.5:8080"},
			[]string{"http://10.244.1.6:8080", "http://127.0.0.1:8080"}},
		"none": {"no advertise URL allows nothing", "", nil, []string{"http://127.0.0.1:8080"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := DerivePeerURLs(tc.advertise)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range tc.allowed {
				if _, err := p.Check(context.Background(), u); err != nil {
					t.Errorf("%s: %s refused (%v); patterns %q", tc.reason, u, err, p.Patterns())
				}
			}
			for _, u := range tc.refused {
				if _, err := p.Check(context.Background(), u); err == nil {
					t.Errorf("%s: %s allowed; patterns %q", tc.reason, u, p.Patterns())
				}
			}
		})
	}
	if _, err := DerivePeerURLs("http://user:pw@host:8080"); err == nil || !strings.Contains(err.Error(), "--advertise-url") {
		t.Errorf("a malformed --advertise-url: %v; want an error naming it", err)
	}
}

// FuzzPeerURLsCheck feeds the matcher lease URLs and entries it never
// saw: it must not panic, an allowed URL must come back as a bare
// http(s) origin that the list allows again, and a URL with userinfo,
// a path, a query or a fragment is never allowed.
func FuzzPeerURLsCheck(f *testing.F) {
	for _, s := range [][2]string{
		{"http://*.peers.example.com:8080", "http://a.peers.example.com:8080"},
		{"dns+http://peers.example.com:8080", "http://10.0.0.1:8080"},
		{"https://[fd00::1]", "https://[fd00:0::1]:443/"},
		{"http://127.0.0.1:1", "http://u@127.0.0.1:1/x?y#z"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, entry, leader string) {
		p, err := ParsePeerURLs([]string{entry})
		if err != nil {
			return
		}
		p.lookup = fakeLookup(map[string][]string{"peers.example.com": {"10.0.0.1", "fd00::1"}})
		if again, err := ParsePeerURLs(p.Patterns()); err != nil || !slices.Equal(again.Patterns(), p.Patterns()) {
			t.Fatalf("entry %q reads back as %q: %v", entry, p.Patterns(), err)
		}
		u, err := p.Check(context.Background(), leader)
		if err != nil {
			return
		}
		if strings.ContainsAny(leader, "@?#\\%") || u.User != nil || u.Path != "" || u.RawQuery != "" || (u.Scheme != "http" && u.Scheme != "https") {
			t.Fatalf("Check(%q) under %q allowed %#v", leader, entry, u)
		}
		if _, err := p.Check(context.Background(), u.String()); err != nil {
			t.Fatalf("Check(%q) = %s, which is then refused: %v", leader, u, err)
		}
	})
}

// TestPeerURLsLookupOfGoneCaller: a dns+ lookup cut short because its
// caller went away is not cached, so the next caller's leader is checked
// against the name's real addresses.
func TestPeerURLsLookupOfGoneCaller(t *testing.T) {
	p, err := ParsePeerURLs([]string{"dns+http://peers.example.com:8080"})
	if err != nil {
		t.Fatal(err)
	}
	real := fakeLookup(map[string][]string{"peers.example.com": {"10.0.0.1"}})
	p.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return real(ctx, host)
	}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Check(gone, "http://10.0.0.1:8080"); err == nil {
		t.Fatal("a lookup with a cancelled context allowed the leader")
	}
	if _, err := p.Check(context.Background(), "http://10.0.0.1:8080"); err != nil {
		t.Fatalf("after a cancelled caller's lookup, the leader is refused: %v", err)
	}
}
