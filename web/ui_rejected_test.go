package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/meridianhq/meridian/controlplane/controlplanetest"
)

// TestUIPlacementsShowRejectedGroups checks that the placements page shows
// a placement's rejected targets as the plan groups them: the rule, how
// many targets, the nearest named and the rest counted.
func TestUIPlacementsShowRejectedGroups(t *testing.T) {
	db := controlplanetest.OpenSQLite(t)
	_, hs := scaleServer(t, db, scaleConfig(3, 10), func() {})
	req, _ := http.NewRequest("GET", hs.URL+"/placements?q=w00001", nil)
	req.Header.Set("Cookie", signIn(t, hs, db))
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	// scalePlanner rejects t+2 for one rule and 40 targets, t+3 to t+5
	// named, for another; w00001 is placed on t007.
	for _, want := range []string{"<div>MER-ENC-001 (1): t009</div>", "<div>MER-RES-002 (40): t000, t001, t002 and 37 more</div>"} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET /placements: %d, lacks %q:\n%s", resp.StatusCode, want, body)
		}
	}
}
