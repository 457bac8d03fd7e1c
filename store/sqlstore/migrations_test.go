package sqlstore

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/meridianhq/meridian/store"
)

func TestCheckRecorded(t *testing.T) {
	known := []Migration{{Version: 1, Name: "core"}, {Version: 2, Name: "server"}, {Version: 4, Name: "alerts"}, {Version: 5, Name: "sessions"}}
	newest := store.SchemaMigration{Version: 5, Name: "sessions"}
	type m = store.SchemaMigration
	sm := func(v int, name string) m { return m{Version: v, Name: name} }
	cases := map[string]struct {
		reason   string
		recorded []m
		want     *store.SchemaError
	}{
		"new":    {reason: "a database that records nothing is new", recorded: nil},
		"prefix": {reason: "an older database records a prefix of the known migrations", recorded: []m{sm(1, "core"), sm(2, "server")}},
		"current": {reason: "a gap in the numbering (no 3) is no problem when the database lacks 3 too",
			recorded: []m{sm(1, "core"), sm(2, "server"), sm(4, "alerts"), sm(5, "sessions")}},
		"everything at once": {
			reason:   "every problem is reported, not the first: 3 and 9 are unknown, 4 is renamed, 2 and 5 are missing below 9",
			recorded: []m{sm(1, "core"), sm(3, "dev"), sm(4, "alarms"), sm(9, "future")},
			want: &store.SchemaError{Unknown: []m{sm(3, "dev"), sm(9, "future")}, Renamed: []m{sm(4, "alarms")},
				Missing: []m{sm(2, "server"), sm(5, "sessions")}, Newest: newest},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := CheckRecorded(tc.recorded, known)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("%s: %v", tc.reason, err)
				}
				return
			}
			if diff := cmp.Diff(tc.want, err, cmpopts.IgnoreFields(store.SchemaError{}, "Recorded")); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}
