package workflow

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian/terraform"
)

func TestBackendResolve(t *testing.T) {
	pg := &Backend{Type: "pg", Config: func(repoID, target string) map[string]string {
		return map[string]string{"schema_name": "s_" + repoID + "_" + target}
	}, RefuseLocal: "state would stay here"}
	main := []byte("resource \"terraform_data\" \"x\" {}\n")
	cases := map[string]struct {
		reason   string
		b        *Backend
		files    terraform.Files
		settings map[string]string
		want     map[string]string
		wantFile bool
		err      string
	}{
		"no backend declared": {
			reason: "the module gets the pg backend, configured per target; the target's own settings win",
			b:      pg, files: terraform.Files{"main.tf": main}, settings: map[string]string{"schema_name": "mine", "x": "1"},
			want: map[string]string{"schema_name": "mine", "x": "1"}, wantFile: true,
		},
		"defaults only": {
			reason: "without settings of its own the target's schema is Meridian's",
			b:      pg, files: terraform.Files{"main.tf": main},
			want: map[string]string{"schema_name": "s_r_t"}, wantFile: true,
		},
		"declared remote backend": {
			reason: "a module's own backend is kept as it is",
			b:      pg, files: terraform.Files{"main.tf": []byte("terraform {\n  backend \"s3\" {}\n}\n")}, settings: map[string]string{"bucket": "b"},
			want: map[string]string{"bucket": "b"},
		},
		"local refused": {
			reason: "a local backend would keep the state in one replica's state dir",
			b:      pg, files: terraform.Files{"main.tf": []byte("terraform {\n  backend \"local\" {}\n}\n")},
			err: `declares backend "local": state would stay here`,
		},
		"local on a shared state dir": {
			reason: "with the state dir shared, a local backend is the operator's choice",
			b:      &Backend{Type: "pg", Config: pg.Config}, files: terraform.Files{"main.tf": []byte("terraform {\n  backend \"local\" {}\n}\n")},
		},
		"no shared backend": {
			reason: "a SQLite store changes nothing",
			files:  terraform.Files{"main.tf": main}, settings: map[string]string{"a": "b"},
			want: map[string]string{"a": "b"},
		},
		"file clash": {
			reason: "a module file of Meridian's name is not overwritten",
			b:      pg, files: terraform.Files{"main.tf": main, terraform.BackendFile: []byte("# mine\n")},
			err: "holds its own " + terraform.BackendFile,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := tc.b.resolve(tc.files, "r", "t", tc.settings)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("%s: err %v, want %q", tc.reason, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", tc.reason, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s: settings (-want +got):\n%s", tc.reason, diff)
			}
			_, added := tc.files[terraform.BackendFile]
			if added != tc.wantFile {
				t.Errorf("%s: backend file added: %v, want %v", tc.reason, added, tc.wantFile)
			}
			if added && !strings.Contains(string(tc.files[terraform.BackendFile]), `backend "pg" {}`) {
				t.Errorf("%s: backend file:\n%s", tc.reason, tc.files[terraform.BackendFile])
			}
		})
	}
}
