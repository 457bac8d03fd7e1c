package inventory_test

import (
	"encoding/json"
	"testing"

	"github.com/meridianhq/meridian/inventory"
)

// FuzzParseResources: a recorded inventory never panics the parser, and
// what it accepts survives a round trip unchanged.
func FuzzParseResources(f *testing.F) {
	f.Add([]byte(`[{"provider":"aws","kind":"bucket","id":"arn:aws:s3:::b","name":"b","encryption":{"level":"customer-managed","key_id":"k"}}]`))
	f.Add([]byte(`[{"kind":"log-store","id":"x","retention_days":30,"tags":{"owner":"a"}}]`))
	f.Add([]byte(`[{"kind":"key","id":"k","key":{"level":"hsm","customer_managed":true}}] []`))
	f.Add([]byte(`[{"kind":"vm","id":"i","retention_days":-1}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := inventory.ParseResources(b)
		if err != nil {
			return
		}
		again, err := json.Marshal(rs)
		if err != nil {
			t.Fatalf("marshal accepted inventory: %v", err)
		}
		back, err := inventory.ParseResources(again)
		if err != nil {
			t.Fatalf("re-parse %s: %v", again, err)
		}
		b1, _ := json.Marshal(back)
		if string(b1) != string(again) {
			t.Fatalf("round trip changed the inventory:\n%s\n%s", again, b1)
		}
	})
}
