package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/web"
)

// TestUILiveFindings: the open findings of the branch's audits (its
// records on BRANCH@live) count on the overview beside those about the
// config, and the findings page lists them marked live, with their
// resource and remediation, filtered by source and rule.
func TestUILiveFindings(t *testing.T) {
	f := newUIFixture(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	live := func(rule, resource string, sev meridian.Severity, state meridian.FindingState) meridian.FindingRecord {
		fd := meridian.Finding{Rule: rule, Workload: "api", Target: "aws-a", Field: "requires.encryption", Resource: resource}
		return meridian.FindingRecord{RepoID: controlplanetest.RepoID, Branch: controlplane.LiveBranch("master"), Fingerprint: meridian.Fingerprint(fd),
			Rule: rule, Severity: sev, Workload: "api", Target: "aws-a", Field: fd.Field, Resource: resource,
			Message: "bucket " + resource + ": requires customer-managed encryption; target offers provider-managed", File: "workloads/api.yaml", Line: 7,
			Remediation: "On bucket " + resource + " (" + resource + "): Encrypt it again.", State: state,
			FirstSeen: at, LastSeen: at, FirstCommit: "c1", LastCommit: "c1"}
	}
	if _, err := f.srvHistory.SaveFindings(ctx, []meridian.FindingRecord{
		live("MER-ENC-001", "arn:aws:s3:::api-data", meridian.SeverityDeny, meridian.FindingOpen),
		live("MER-ENC-001", "arn:aws:s3:::api-old", meridian.SeverityDeny, meridian.FindingResolved),
		live("MER-TAG-002", "arn:aws:s3:::api-logs", meridian.SeverityWarn, meridian.FindingOpen),
		live("MER-TAG-002", "arn:aws:s3:::api-tmp", meridian.SeverityWarn, meridian.FindingOpen),
	}, nil); err != nil {
		t.Fatal(err)
	}

	_, _, doc := f.get(t, web.RoleViewer, "/")
	for id, want := range map[string]string{"count-deny": "1", "count-warn": "1", "count-live-deny": "1", "count-live-warn": "2"} {
		if n := byID(doc, id); n == nil || text(n) != want {
			t.Errorf("overview #%s = %v, want %s", id, n, want)
		}
	}

	// rows lists a findings page's rows as "RULE [live] RESOURCE" (or
	// "RULE WORKLOAD" for the config's) and their remediations.
	rows := func(path string) (subjects []string, remediations map[string]string) {
		t.Helper()
		_, _, doc := f.get(t, web.RoleViewer, path)
		remediations = map[string]string{}
		for _, table := range find(doc, func(n *html.Node) bool { c, _ := attr(n, "class"); return n.Data == "table" && c == "findings" }) {
			rule := text(find(table, func(n *html.Node) bool { return n.Data == "code" })[0])
			for _, tr := range find(table, func(n *html.Node) bool { return n.Data == "tr" && n.Parent.Data == "tbody" }) {
				th := find(tr, func(n *html.Node) bool { return n.Data == "th" })[0]
				s := rule
				if len(find(th, func(n *html.Node) bool { c, _ := attr(n, "class"); return c == "tag tag-live" })) > 0 {
					s += " live"
				}
				if res := find(th, func(n *html.Node) bool { c, _ := attr(n, "class"); return c == "resource" }); len(res) > 0 {
					s += " " + text(res[0])
				} else {
					s += " " + text(find(th, func(n *html.Node) bool { return n.Data == "a" })[0])
				}
				subjects = append(subjects, s)
				tds := find(tr, func(n *html.Node) bool { return n.Data == "td" })
				remediations[s] = text(tds[2])
			}
		}
		return subjects, remediations
	}
	cases := map[string]struct {
		reason string
		path   string
		want   []string
	}{
		"Live": {"?source=live lists the audits' open findings only, marked live with their resource.", "/findings?state=open&source=live",
			[]string{"MER-ENC-001 live arn:aws:s3:::api-data", "MER-TAG-002 live arn:aws:s3:::api-logs", "MER-TAG-002 live arn:aws:s3:::api-tmp"}},
		"Config": {"?source=config lists the config's findings only.", "/findings?state=open&source=config",
			[]string{"TEST-OWNER web", "ORG-WARN-1 api"}},
		"All": {"Without ?source= both kinds are listed, deny before warn, by rule.", "/findings?state=open",
			[]string{"MER-ENC-001 live arn:aws:s3:::api-data", "TEST-OWNER web", "MER-TAG-002 live arn:aws:s3:::api-logs", "MER-TAG-002 live arn:aws:s3:::api-tmp", "ORG-WARN-1 api"}},
		"Rule": {"?rule= keeps one rule.", "/findings?state=open&rule=MER-TAG-002",
			[]string{"MER-TAG-002 live arn:aws:s3:::api-logs", "MER-TAG-002 live arn:aws:s3:::api-tmp"}},
		"Resolved": {"Resolved live findings are listed under their state.", "/findings?state=resolved&source=live",
			[]string{"MER-ENC-001 live arn:aws:s3:::api-old"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, rem := rows(tc.path)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("%s\nGET %s rows:\n%s\nwant:\n%s", tc.reason, tc.path, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			for s, r := range rem {
				if res, ok := strings.CutPrefix(s, "MER-ENC-001 live "); ok && !strings.Contains(r, "Encrypt it again") {
					t.Errorf("%s: remediation of %s = %q, want the record's", tc.path, res, r)
				}
			}
		})
	}

	var list struct {
		Items []meridian.FindingRecord `json:"items"`
	}
	if code := f.do("GET", "/api/v1/findings?state=open&source=live", web.RoleViewer, nil, &list); code != 200 || len(list.Items) != 3 || list.Items[0].Remediation == "" {
		t.Errorf("GET /api/v1/findings?state=open&source=live: %d %+v, want 3 records with their remediation", code, list.Items)
	}
	if code := f.do("GET", "/api/v1/findings?state=open&source=config", web.RoleViewer, nil, &list); code != 200 || len(list.Items) != 2 {
		t.Errorf("GET /api/v1/findings?state=open&source=config: %d, %d items, want the config's 2", code, len(list.Items))
	}
	if code := f.do("GET", "/api/v1/findings?state=open&source=cloud", web.RoleViewer, nil, nil); code != 400 {
		t.Errorf("GET /api/v1/findings?source=cloud: %d, want 400", code)
	}
	if resp, _, _ := f.get(t, web.RoleViewer, "/findings?source=cloud"); resp.StatusCode != 400 {
		t.Errorf("GET /findings?source=cloud: %d, want 400", resp.StatusCode)
	}
}
