package terraform

import (
	"strings"
	"testing"
)

func TestDeclaredBackend(t *testing.T) {
	cases := map[string]struct {
		reason string
		files  Files
		want   string
		err    string
	}{
		"none": {
			reason: "a module with a terraform block but no backend keeps its state locally",
			files:  Files{"main.tf": []byte("terraform {\n  required_version = \">= 1.5\"\n}\nresource \"terraform_data\" \"x\" {}\n")},
		},
		"s3": {
			reason: "a declared backend is the module's to keep",
			files:  Files{"main.tf": []byte("resource \"terraform_data\" \"x\" {}\n"), "backend.tf": []byte("terraform {\n  backend \"s3\" {\n    bucket = \"b\"\n  }\n}\n")},
			want:   "s3",
		},
		"local in an override file": {
			reason: "override files are part of the root module too",
			files:  Files{"main.tf": []byte(""), "x_override.tf": []byte("terraform {\n  backend \"local\" {}\n}\n")},
			want:   "local",
		},
		"cloud": {
			reason: "HCP Terraform's cloud block is a backend of its own",
			files:  Files{"main.tf": []byte("terraform {\n  cloud {\n    organization = \"o\"\n  }\n}\n")},
			want:   "cloud",
		},
		"json": {
			reason: "modules may be written as JSON",
			files:  Files{"main.tf.json": []byte(`{"terraform": {"backend": {"pg": {}}}}`)},
			want:   "pg",
		},
		"nested module": {
			reason: "a child module's files in a subfolder do not make the root's backend",
			files:  Files{"main.tf": []byte(""), "modules/x/main.tf": []byte("terraform {\n  backend \"s3\" {}\n}\n")},
		},
		"syntax error": {
			reason: "a module that does not parse is reported with its file and line",
			files:  Files{"main.tf": []byte("terraform {\n  backend \"s3\" {\n")},
			err:    "main.tf:",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := tc.files.DeclaredBackend()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("%s: err %v, want one containing %q", tc.reason, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("%s: got %q, %v; want %q", tc.reason, got, err, tc.want)
			}
		})
	}
}

// FuzzDeclaredBackend feeds arbitrary module files: DeclaredBackend must
// answer or fail, never panic, and it answers the same on the same files.
func FuzzDeclaredBackend(f *testing.F) {
	f.Add([]byte("terraform {\n  backend \"s3\" {}\n}\n"), false)
	f.Add([]byte(`{"terraform": [{"backend": {"pg": {}}}]}`), true)
	f.Add([]byte("terraform {\n  cloud {}\n  backend x {}\n}\n"), false)
	f.Fuzz(func(t *testing.T, src []byte, asJSON bool) {
		name := "main.tf"
		if asJSON {
			name += ".json"
		}
		got, err := Files{name: src}.DeclaredBackend()
		again, err2 := Files{name: src, "other.tf": nil}.DeclaredBackend()
		if got != again || (err == nil) != (err2 == nil) {
			t.Errorf("an empty second file changed the answer: %q, %v then %q, %v", got, err, again, err2)
		}
	})
}
