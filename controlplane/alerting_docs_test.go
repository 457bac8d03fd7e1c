package controlplane_test

import (
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/meridianhq/meridian/alerting"
	"github.com/meridianhq/meridian/controlplane"
)

// docSecrets has every secret the documented example names.
type docSecrets struct{}

func (docSecrets) Getenv(name string) string {
	if strings.HasPrefix(name, "MERIDIAN_") {
		return "https://hooks.example.com/" + name
	}
	return ""
}

func (docSecrets) ReadFile(name string) ([]byte, error) {
	if strings.HasPrefix(name, "/run/secrets/") {
		return []byte("https://hooks.example.com/file\n"), nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// TestDocumentedAlertingExample: the complete alerting.yaml of
// docs/alerts.md loads as the server loads it, sinks and all, so the
// example cannot go stale.
func TestDocumentedAlertingExample(t *testing.T) {
	b, err := os.ReadFile("../docs/alerts.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "### A complete alerting.yaml")
	if !ok {
		t.Fatal(`docs/alerts.md has no "### A complete alerting.yaml"`)
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/alerts.md: the complete example is not a yaml code block")
	}
	cfg, senders, err := controlplane.LoadAlerting([]byte(example), docSecrets{}, alerting.SenderOptions{})
	if err != nil {
		t.Fatalf("the documented example does not load:\n%v", err)
	}
	if len(cfg.Sinks) != 5 || len(senders) != 5 || len(cfg.Routes) != 4 || cfg.Default == nil {
		t.Errorf("documented example: %d sinks, %d senders, %d routes, default %v", len(cfg.Sinks), len(senders), len(cfg.Routes), cfg.Default)
	}
}
