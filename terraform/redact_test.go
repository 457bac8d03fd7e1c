package terraform

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLogRedactor(t *testing.T) {
	var out bytes.Buffer
	lr := NewLogRedactor(&out)
	in := strings.Join([]string{
		`{"@level":"info","type":"apply_start","hook":{"resource":{"addr":"terraform_data.a"}}}`,
		`{"@level":"info","type":"outputs","outputs":{"token":{"sensitive":true,"type":"string","value":"hunter2"},"name":{"sensitive":false,"value":"ok"}}}`,
		`{"@level":"error","type":"diagnostic","diagnostic":{"severity":"error","summary":"boom","detail":"it broke"}}`,
		`plain text with hunter2`,
		`{"@level":"info","type":"change_summary"}`,
	}, "\n")
	// Write in awkward chunks: lines must be reassembled before parsing.
	for i := 0; i < len(in); i += 7 {
		if _, err := lr.Write([]byte(in[i:min(i+7, len(in))])); err != nil {
			t.Fatal(err)
		}
	}
	if err := lr.Flush(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "hunter2") {
		t.Errorf("a sensitive output reached the log:\n%s", out.String())
	}
	if !strings.Contains(out.String(), `"value":"ok"`) || !strings.Contains(out.String(), "change_summary") {
		t.Errorf("non-sensitive messages must pass unchanged:\n%s", out.String())
	}
	if diff := cmp.Diff([]string{"boom: it broke"}, lr.Errors()); diff != "" {
		t.Errorf("error diagnostics (-want +got):\n%s", diff)
	}
}

// FuzzLogRedactor feeds arbitrary bytes as Terraform's log: every line
// passed on must be JSON, and a known secret must never get through,
// however it is escaped or wherever it sits.
func FuzzLogRedactor(f *testing.F) {
	const secret = "hunter22"
	for _, seed := range []string{
		`{"@level":"info","type":"outputs","outputs":{"t":{"sensitive":true,"value":"hunter22"}}}`,
		`{"@level":"error","diagnostic":{"summary":"x","detail":"hunt\u0065r22"}}` + "\n",
		`{"hunter22":{"nested":["a","xhunter22y"]}}` + "\n" + `not json hunter22`,
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		lr := NewLogRedactor(&out, secret)
		if _, err := lr.Write(in); err != nil {
			t.Fatal(err)
		}
		if err := lr.Flush(); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(out.Bytes(), []byte(secret)) {
			t.Fatalf("secret passed through:\n%s", out.Bytes())
		}
		for _, line := range bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte("\n")), []byte("\n")) {
			if len(line) > 0 && !json.Valid(line) {
				t.Fatalf("not JSON: %q", line)
			}
		}
	})
}
