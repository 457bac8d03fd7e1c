package terraform

import (
	"errors"
	"testing"
)

// TestStateLocked reads the lock ID of a held state lock from Terraform's
// message, as each backend words it.
func TestStateLocked(t *testing.T) {
	cases := map[string]struct {
		reason, msg, diags, wantID string
		locked                     bool
	}{
		"s3": {"S3 and DynamoDB report the holder under Lock Info", `exit status 1

Error: Error acquiring the state lock

Error message: ConditionalCheckFailedException: The conditional request failed
Lock Info:
  ID:        8c3a2c9d-2d6e-4b1e-9a4f-3d2c1b0a9f8e
  Path:      acme-state/targets/aws.tfstate
  Operation: OperationTypeApply
`, "", "8c3a2c9d-2d6e-4b1e-9a4f-3d2c1b0a9f8e", true},
		"http": {"the http backend names the holder itself and shows the refused request under Lock Info",
			"exit status 1", "Error acquiring the state lock: HTTP remote state already locked:\nID=holder-1\nLock Info:\n  ID:        mine-2\n",
			"holder-1", true},
		"other": {"any other failure is left as it is", "exit status 1\n\nError: Unsupported argument", "", "", false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := stateLocked(errors.New(tc.msg), tc.diags)
			var locked *StateLockedError
			if errors.As(err, &locked) != tc.locked {
				t.Fatalf("%s: %T %v", tc.reason, err, err)
			}
			if tc.locked && locked.LockID != tc.wantID {
				t.Errorf("%s: lock ID %q, want %q", tc.reason, locked.LockID, tc.wantID)
			}
		})
	}
}

// FuzzStateLocked: any message Terraform (or a backend's server) may
// print is read without panicking, and a lock ID is one word.
func FuzzStateLocked(f *testing.F) {
	f.Add("Error acquiring the state lock\nLock Info:\n  ID:        abc\n", "")
	f.Add("exit status 1", "Error acquiring the state lock: already locked:\nID=x")
	f.Fuzz(func(t *testing.T, msg, diags string) {
		var locked *StateLockedError
		if errors.As(stateLocked(errors.New(msg), diags), &locked) {
			for _, r := range locked.LockID {
				if r == ' ' || r == '\n' || r == '\t' || r == '"' {
					t.Fatalf("lock ID %q is not one word", locked.LockID)
				}
			}
		}
	})
}
