package github

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestVerifySignatureDocsVector checks GitHub's documented test vector.
func TestVerifySignatureDocsVector(t *testing.T) {
	var v struct {
		Secret    string `json:"secret"`
		Payload   string `json:"payload"`
		Signature string `json:"X-Hub-Signature-256"`
	}
	readJSON(t, "testdata/webhooks/signature-test-vector.github-docs.json", &v)
	if err := VerifySignature([]byte(v.Secret), []byte(v.Payload), v.Signature); err != nil {
		t.Errorf("docs test vector: %v", err)
	}
	if got := Sign([]byte(v.Secret), []byte(v.Payload)); got != v.Signature {
		t.Errorf("Sign = %s, want %s", got, v.Signature)
	}
}

// TestVerifySignatureRecordedPayloads verifies the real payload files
// against signatures computed over their exact bytes.
func TestVerifySignatureRecordedPayloads(t *testing.T) {
	var sigs struct {
		Secret string `json:"secret"`
		Files  map[string]struct {
			Event     string `json:"X-GitHub-Event"`
			Signature string `json:"X-Hub-Signature-256"`
		} `json:"files"`
	}
	readJSON(t, "testdata/webhooks/signatures.computed.json", &sigs)
	if len(sigs.Files) == 0 {
		t.Fatal("no signatures")
	}
	for name, f := range sigs.Files {
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata/webhooks", name))
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifySignature([]byte(sigs.Secret), body, f.Signature); err != nil {
				t.Fatalf("recorded payload: %v", err)
			}
			// One changed byte must fail.
			body[len(body)/2] ^= 1
			if err := VerifySignature([]byte(sigs.Secret), body, f.Signature); !errors.Is(err, ErrBadSignature) {
				t.Errorf("tampered payload: got %v, want ErrBadSignature", err)
			}
			ev, err := Decode(f.Event, body[:0:0])
			if err == nil && ev != nil {
				t.Errorf("empty body decoded without error")
			}
		})
	}
}

func TestVerifySignatureRejects(t *testing.T) {
	body := []byte(`{"zen":"x"}`)
	good := Sign([]byte("s3cret"), body)
	cases := map[string]struct {
		reason string
		secret string
		header string
		want   error
	}{
		"NoSecret":     {"An unset secret never accepts a delivery, signed or not.", "", good, ErrNoSecret},
		"NoHeader":     {"An unsigned delivery is rejected.", "s3cret", "", ErrNoSignature},
		"WrongSecret":  {"A signature made with another secret is rejected.", "other", good, ErrBadSignature},
		"SHA1":         {"The legacy sha1 header format is not accepted.", "s3cret", "sha1=" + good[7:47], ErrBadSignature},
		"NotHex":       {"A malformed signature is rejected.", "s3cret", "sha256=zz", ErrBadSignature},
		"Truncated":    {"A prefix of the right signature is rejected.", "s3cret", good[:len(good)-2], ErrBadSignature},
		"Good":         {"The right signature passes.", "s3cret", good, nil},
		"UpperCaseHex": {"Hex case does not matter.", "s3cret", "sha256=" + upper(good[7:]), nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if err := VerifySignature([]byte(tc.secret), body, tc.header); !errors.Is(err, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.reason, err, tc.want)
			}
		})
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func TestDecodeRecordedPayloads(t *testing.T) {
	body, err := os.ReadFile("testdata/webhooks/pull_request.synchronize.payload.json")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Decode(EventPullRequest, body)
	if err != nil {
		t.Fatal(err)
	}
	pr := ev.(*PullRequestEvent)
	if pr.Action != "synchronize" || pr.Number != 2 || pr.PullRequest.Head.SHA != "ec26c3e57ca3a959ca5aad62de7213c562f8c821" ||
		pr.PullRequest.Base.Ref != "master" || pr.Repository.FullName != "Codertocat/Hello-World" || pr.PullRequest.Head.Repo == nil {
		t.Errorf("decoded %+v", pr)
	}
	body, err = os.ReadFile("testdata/webhooks/push.branch.argo-cd-testdata.json")
	if err != nil {
		t.Fatal(err)
	}
	ev, err = Decode(EventPush, body)
	if err != nil {
		t.Fatal(err)
	}
	push := ev.(*PushEvent)
	if b, ok := push.Branch(); !ok || b != "master" || push.After != "63738bb582c8b540af7bcfc18f87c575c3ed66e0" {
		t.Errorf("decoded %+v", push)
	}
	if ev, err := Decode("issues", body); ev != nil || err != nil {
		t.Errorf("unhandled events decode to (nil, nil), got (%v, %v)", ev, err)
	}
}

// FuzzVerifySignature checks that outside input never panics the verifier
// and that only the exact signature passes.
func FuzzVerifySignature(f *testing.F) {
	f.Add([]byte("Hello, World!"), "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
	f.Add([]byte("{}"), "sha256=")
	f.Add([]byte(""), "sha1=abc")
	secret := []byte("It's a Secret to Everybody")
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		err := VerifySignature(secret, body, header)
		if err == nil && header != Sign(secret, body) && upper(header) != upper(Sign(secret, body)) {
			t.Fatalf("accepted %q for %q", header, body)
		}
	})
}

// FuzzDecode feeds arbitrary bodies to the event decoder.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"pull_request.opened.payload.json", "push.with-new-branch.payload.json"} {
		b, err := os.ReadFile(filepath.Join("testdata/webhooks", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ev := range []string{EventPing, EventPush, EventPullRequest} {
			_, _ = Decode(ev, body)
		}
	})
}

// TestCheckSignatureFormat: the server refuses these before reading a
// payload, so the check must accept every signature GitHub sends and no
// header that cannot match.
func TestCheckSignatureFormat(t *testing.T) {
	good := Sign([]byte("s3cret"), []byte(`{}`))
	cases := map[string]struct {
		reason string
		header string
		want   error
	}{
		"Good":      {"GitHub's format passes.", good, nil},
		"Upper":     {"Hex case does not matter.", "sha256=" + upper(good[7:]), nil},
		"Missing":   {"No header is ErrNoSignature.", "", ErrNoSignature},
		"SHA1":      {"The sha1 header format is malformed.", "sha1=" + good[7:47], ErrMalformedSignature},
		"Short":     {"Fewer than 64 hex digits cannot match.", good[:len(good)-2], ErrMalformedSignature},
		"Long":      {"More than 64 hex digits cannot match.", good + "00", ErrMalformedSignature},
		"NotHex":    {"Non-hex digits cannot match.", "sha256=" + strings.Repeat("zz", 32), ErrMalformedSignature},
		"HugeValue": {"A huge header is refused as malformed.", "sha256=" + strings.Repeat("a", 1<<20), ErrMalformedSignature},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if err := CheckSignatureFormat(tc.header); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("%s: got %v, want %v", tc.reason, err, tc.want)
			}
			if tc.want == ErrMalformedSignature && !errors.Is(CheckSignatureFormat(tc.header), ErrBadSignature) {
				t.Errorf("a malformed signature must also be ErrBadSignature")
			}
		})
	}
}
