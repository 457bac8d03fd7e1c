package dashboard_test

import (
	"strings"
	"testing"

	"github.com/meridianhq/meridian/dashboard"
)

func TestSourceLink(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	cases := map[string]struct {
		reason     string
		repo, file string
		line       int
		href, text string
	}{
		"github": {"a GitHub repo links to the blob at the commit, with the line as #L",
			"https://github.com/acme/config", "workloads/api.yaml", 14, "https://github.com/acme/config/blob/" + sha + "/workloads/api.yaml#L14", "workloads/api.yaml:14"},
		"github .git": {"a clone URL loses its .git suffix",
			"https://github.com/acme/config.git", "meridian.yaml", 0, "https://github.com/acme/config/blob/" + sha + "/meridian.yaml", "meridian.yaml"},
		"github token": {"a token in the URL never reaches the page",
			"https://x-access-token:ghs_SECRET@github.com/acme/config.git", "a.yaml", 2, "https://github.com/acme/config/blob/" + sha + "/a.yaml#L2", "a.yaml:2"},
		"gitlab": {"GitLab's blob path has the /-/ separator",
			"https://gitlab.com/group/sub/config", "targets/eu.yaml", 3, "https://gitlab.com/group/sub/config/-/blob/" + sha + "/targets/eu.yaml#L3", "targets/eu.yaml:3"},
		"self-hosted gitlab with user": {"a self-hosted gitlab.* host links too, without its user info",
			"https://oauth2:glpat-SECRET@gitlab.example.com/team/config.git", "w.yaml", 1, "https://gitlab.example.com/team/config/-/blob/" + sha + "/w.yaml#L1", "w.yaml:1"},
		"query and fragment": {"a query or fragment of the repo URL (where tokens also travel) is dropped",
			"https://github.com/acme/config?access_token=SECRET#frag", "a.yaml", 1, "https://github.com/acme/config/blob/" + sha + "/a.yaml#L1", "a.yaml:1"},
		"plain directory": {"a local repo gets the plain path", "/repos/config", "workloads/api.yaml", 14, "", "workloads/api.yaml:14"},
		"ssh":             {"an SSH URL has no web page to link to", "git@github.com:acme/config.git", "a.yaml", 1, "", "a.yaml:1"},
		"other host":      {"an unknown forge gets the plain path", "https://git.example.com/acme/config", "a.yaml", 1, "", "a.yaml:1"},
		"no file":         {"a finding without a file links nowhere", "https://github.com/acme/config", "", 0, "", ""},
		"javascript":      {"only http(s) repo URLs link", "javascript:alert(1)//github.com/a/b", "a.yaml", 1, "", "a.yaml:1"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			href, text := dashboard.SourceLink(tc.repo, sha, tc.file, tc.line)
			if href != tc.href || text != tc.text {
				t.Errorf("%s:\n got %q %q\nwant %q %q", tc.reason, href, text, tc.href, tc.text)
			}
			if strings.Contains(href, "SECRET") || strings.Contains(href, "@") {
				t.Errorf("%s: the link carries credentials: %s", tc.reason, href)
			}
		})
	}
}
