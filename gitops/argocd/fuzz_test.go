package argocd_test

import (
	"encoding/json"
	"testing"

	"github.com/meridianhq/meridian/gitops/argocd"
)

// FuzzDecodeApplication decodes arbitrary API responses: never a panic, and
// an Application that decodes reports a status without failing.
func FuzzDecodeApplication(f *testing.F) {
	f.Add(string(syncedApp(f)))
	f.Add(`{"spec":{"source":{"kustomize":{"replicas":[{"name":"a","count":"3"}]}}}}`)
	f.Add(`{"status":{"resources":[{"health":null,"status":"OutOfSync"}]}}`)
	f.Fuzz(func(t *testing.T, body string) {
		var app argocd.Application
		if json.Unmarshal([]byte(body), &app) != nil {
			return
		}
		_ = app.Ready()
		_ = app.Summary()
		for _, r := range app.Unhealthy() {
			_ = r.Ref()
		}
	})
}
