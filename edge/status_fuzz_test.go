package edge

import (
	"testing"
	"unicode/utf8"
)

func FuzzParseReport(f *testing.F) {
	f.Add([]byte(`{"labels":{"id":"a","version":"1.22.0"},"bundles":{"meridian":{"name":"meridian","active_revision":"abc-def","last_successful_activation":"2026-12-05T01:00:00Z"}}}`))
	f.Add([]byte(`{"bundles":{"meridian":{"name":"meridian","code":"bundle_error","message":"verification failed","errors":[{"code":"x","message":"y"}]}}}`))
	f.Add([]byte(`{"bundle":{"name":"meridian","active_revision":"r"}}`))
	f.Add([]byte(`{"bundles":{}} {}`))
	f.Add([]byte(`{"labels":{"id":"a"},"plugins":{"bundle":{"state":"NOT_READY"},"status":{"state":"OK"}}}`))
	f.Add([]byte(`{"bundles":{"authz":{"name":"authz","active_revision":"v1"}},"bundle":{"name":"x\u0007"}}`))
	f.Add([]byte("{\"bundles\":{\"meridian\":{\"active_revision\":\"\\u0000\\ud800\"}}}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseReport(body)
		if err != nil {
			return
		}
		for name, s := range map[string]string{"agent": r.AgentID, "revision": r.Revision, "code": r.Code, "message": r.Message} {
			if !utf8.ValidString(s) {
				t.Errorf("%s %q is not valid UTF-8", name, s)
			}
			for _, c := range s {
				if c < 0x20 || c == 0x7f {
					t.Errorf("%s %q holds a control character", name, s)
				}
			}
		}
		if len(r.Message) > maxErrorText+len("…") || len(r.Revision) > 256+len("…") {
			t.Errorf("report fields over their bounds: %d, %d bytes", len(r.Message), len(r.Revision))
		}
		if r.Message != "" && r.Code == "" {
			t.Errorf("an error message %q without a code would not count as failing", r.Message)
		}
	})
}
