package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/gitops/gittest"
)

// lockedBuffer is a bytes.Buffer safe for a writer and a reader in
// different goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDemoWithoutTerraform runs `meridian demo` on a machine without a
// Terraform binary: it still plans the example, commits its deploy repo,
// serves the dashboard and prints a sign-in link that works once; on
// shutdown its folder is gone.
func TestDemoWithoutTerraform(t *testing.T) {
	git := gittest.CLI(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("PATH", filepath.Dir(git)+string(filepath.ListSeparator)+t.TempDir()) // git, but no terraform or tofu
	if p, err := exec.LookPath("terraform"); err == nil {
		// Not a missing tool, so no CI failure: this machine cannot be
		// made to look like one without Terraform.
		t.Skipf("terraform (%s) is installed next to git: cannot hide it", p)
	}
	t.Setenv("MERIDIAN_TERRAFORM", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, w := io.Pipe()
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--listen", "127.0.0.1:0"}, strings.NewReader(""), w, &stderr)
		w.Close()
	}()
	var link string
	lines := bufio.NewScanner(out)
	for link == "" && lines.Scan() {
		if l := strings.TrimSpace(lines.Text()); strings.Contains(l, "/login?token=") {
			link = l
		}
	}
	go io.Copy(io.Discard, out)
	if link == "" {
		t.Fatalf("demo printed no sign-in link; exit %d\n%s", <-done, stderr.String())
	}
	if !strings.Contains(stderr.String(), "scripts/install-terraform.sh") {
		t.Errorf("demo without Terraform does not say how to get it:\n%s", stderr.String())
	}
	dirs, _ := filepath.Glob(filepath.Join(tmp, "meridian-demo-*"))
	if len(dirs) != 1 {
		t.Fatalf("demo folders %v, want one", dirs)
	}
	refs, err := exec.Command("git", "-C", deploy.LocalRepoDir(filepath.Join(dirs[0], "state")), "for-each-ref", "refs/heads").Output()
	if err != nil || len(refs) == 0 {
		t.Errorf("the demo committed nothing to its deploy repo: %q, %v", refs, err)
	}

	c := &http.Client{Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "meridian_session" {
			session = ck
		}
	}
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" || session == nil {
		t.Fatalf("the sign-in link: %d to %q, session %v; want 303 to / with a session", resp.StatusCode, resp.Header.Get("Location"), session)
	}
	base := strings.TrimSuffix(link[:strings.Index(link, "/login?")], "/")
	req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
	req.AddCookie(session)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`id="cost-planned"`)) || !bytes.Contains(body, []byte("(operator)")) {
		t.Errorf("the overview with the demo's session: %d\n%s", resp.StatusCode, body)
	}
	if resp, err := c.Get(link); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the sign-in link a second time: %v %v, want 401", resp.StatusCode, err)
	}

	cancel()
	if code := <-done; code != 0 {
		t.Errorf("demo exited %d after the interrupt:\n%s", code, stderr.String())
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "meridian-demo-*")); len(left) != 0 {
		t.Errorf("the demo left its folder behind: %v", left)
	}
}
