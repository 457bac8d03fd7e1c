package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlstore"
)

// SchemaBackend is what RunSchema needs of a backend to test that it
// refuses databases another meridian wrote.
type SchemaBackend struct {
	// Migrations is the backend's migrations folder, NNNN_name.sql files
	// (os.DirFS("migrations")). RunSchema needs at least seven.
	Migrations fs.FS
	// Build makes a new database as another meridian would have left it:
	// it applies and records apply, in order, then records foreign
	// without applying anything for them. It returns the database as
	// Open takes it.
	Build func(t *testing.T, apply []sqlstore.Migration, foreign []store.SchemaMigration) string
	// Open opens the store on db, migrating it.
	Open func(ctx context.Context, db string) (io.Closer, error)
	// Name is how the backend's errors name db (its path, or its URL with
	// the password redacted).
	Name func(db string) string
	// Raw is a plain handle on db, without the backend, to read what it
	// records.
	Raw func(t *testing.T, db string) sqlstore.RowsQuerier
	// Snapshot is what a refused open must leave as it was (the files'
	// hashes, the tables and rows), compared with cmp.Diff.
	Snapshot func(t *testing.T, db string) any
}

// SchemaCase is one database for RunSchema.
type SchemaCase struct {
	// Reason says why the case matters.
	Reason string
	// Apply picks the migrations Build applies; Foreign is passed to it.
	Apply   func(v int) bool
	Foreign []store.SchemaMigration
	// Build replaces the backend's Build (nil: the backend's).
	Build func(t *testing.T, apply []sqlstore.Migration, foreign []store.SchemaMigration) string
	// Want is the refusal, Newest left out; nil when the database opens.
	Want *store.SchemaError
	// Say is a part of the refusal's message.
	Say string
}

// RunSchema checks that b refuses, with an EINVALID *store.SchemaError
// and without changing it, a database whose recorded migrations this
// binary does not know (newer, renamed, or missing below a recorded one),
// and that it opens and migrates a database an older binary left; extra
// adds the backend's own cases.
func RunSchema(t *testing.T, b SchemaBackend, extra map[string]SchemaCase) {
	files, err := sqlstore.LoadMigrations(b.Migrations, ".")
	if err != nil {
		t.Fatal(err)
	}
	var ms []store.SchemaMigration
	for _, m := range files {
		ms = append(ms, m.Schema())
	}
	if len(ms) < 7 {
		t.Fatalf("%d migrations: RunSchema needs at least seven", len(ms))
	}
	newest := ms[len(ms)-1]
	seventh, sixth := ms[6], ms[5]
	all := func(int) bool { return true }
	below := func(n int) func(int) bool { return func(v int) bool { return v < n } }
	future := store.SchemaMigration{Version: newest.Version + 1, Name: "from_the_future"}
	other := store.SchemaMigration{Version: seventh.Version, Name: "dev_experiment"}
	cases := map[string]SchemaCase{
		"newer": {
			Reason:  "a newer meridian (another replica, upgraded first) migrated the database past the newest migration this binary knows",
			Apply:   all,
			Foreign: []store.SchemaMigration{future},
			Want:    &store.SchemaError{Unknown: []store.SchemaMigration{future}},
		},
		"known version under another name": {
			Reason:  "a build with other numbering recorded the seventh migration's version for another change",
			Apply:   below(seventh.Version),
			Foreign: []store.SchemaMigration{other},
			Want:    &store.SchemaError{Renamed: []store.SchemaMigration{other}},
			Say:     fmt.Sprintf("it records migration %d as %q", other.Version, other.Name),
		},
		"known version missing below a recorded one": {
			Reason: "the database lacks the sixth migration but records the seventh: applying the sixth now would run it out of order",
			Apply:  func(v int) bool { return v != sixth.Version && v <= seventh.Version },
			Want:   &store.SchemaError{Missing: []store.SchemaMigration{sixth}},
			Say:    "older than ones it records: " + sixth.String(),
		},
		"older": {
			Reason: "a database an older meridian left at its sixth migration opens and is migrated",
			Apply:  below(seventh.Version),
		},
		"current": {
			Reason: "a database at this binary's newest migration opens",
			Apply:  all,
		},
	}
	for name, tc := range extra {
		cases[name] = tc
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			build := tc.Build
			if build == nil {
				build = b.Build
			}
			var apply []sqlstore.Migration
			for _, m := range files {
				if tc.Apply(m.Version) {
					apply = append(apply, m)
				}
			}
			db := build(t, apply, tc.Foreign)
			before := b.Snapshot(t, db)
			s, err := b.Open(context.Background(), db)
			if tc.Want == nil {
				if err != nil {
					t.Fatalf("%s: %v", tc.Reason, err)
				}
				s.Close()
				// What the database lacked was applied, and recorded once.
				got, err := sqlstore.RecordedMigrations(context.Background(), b.Raw(t, db))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(ms, got); diff != "" {
					t.Errorf("%s: recorded migrations (-want +got):\n%s", tc.Reason, diff)
				}
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("%s: the database was opened", tc.Reason)
			}
			want := *tc.Want
			want.Newest = newest
			SchemaRefusal(t, err, &want, tc.Say, b.Name(db))
			if diff := cmp.Diff(before, b.Snapshot(t, db)); diff != "" {
				t.Errorf("%s: the refused database changed (-before +after):\n%s", tc.Reason, diff)
			}
		})
	}
}

// SchemaRefusal fails tb unless err is a backend's refusal to open a
// database another meridian wrote: a *store.SchemaError with the code
// EINVALID whose Unknown, Renamed, Missing and Newest are want's, and
// whose message says each of says (the database's name, say), the newest
// migration this binary knows and what to do.
func SchemaRefusal(tb testing.TB, err error, want *store.SchemaError, says ...string) {
	tb.Helper()
	var got *store.SchemaError
	if !errors.As(err, &got) {
		tb.Fatalf("got %v, want a *store.SchemaError", err)
	}
	if code := meridian.ErrorCode(err); code != meridian.EINVALID {
		tb.Errorf("error code %s, want %s", code, meridian.EINVALID)
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(store.SchemaError{}, "Recorded")); diff != "" {
		tb.Errorf("refusal (-want +got):\n%s", diff)
	}
	for _, part := range append(says, "the newest this meridian knows: "+want.Newest.String(), "upgrade meridian", "--db") {
		if !strings.Contains(err.Error(), part) {
			tb.Errorf("error %q does not say %q", err, part)
		}
	}
}
