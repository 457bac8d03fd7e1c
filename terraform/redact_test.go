package terraform

import (
	"bytes"
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
