package deploy

import (
	"errors"
	"strings"
	"testing"
)

func TestScrubHidesCredentials(t *testing.T) {
	cause := errors.New(`Get "https://ghp_s3cr3t:x-oauth@git.example.com/deploy.git/info/refs": dial tcp: no such host`)
	r := &repo{url: "https://ghp_s3cr3t:x-oauth@git.example.com/deploy.git"}
	err := r.scrub(cause)
	if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "x-oauth") {
		t.Errorf("credentials leak: %v", err)
	}
	if !errors.Is(err, cause) {
		t.Error("the cause must stay reachable")
	}
	if (&repo{url: "file:///tmp/x"}).scrub(cause) != cause {
		t.Error("a URL without credentials needs no scrubbing")
	}
}
