// Package postgrestest gives tests a PostgreSQL server and a fresh
// database on it. The server is the one MERIDIAN_TEST_POSTGRES names (a
// connection URL; scripts/start-postgres.sh starts one and prints it).
// Without it, tests skip, except under CI=true, where they fail: CI must
// never pass by skipping the PostgreSQL store.
package postgrestest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/meridianhq/meridian/citest"
)

// EnvURL is the variable that names the test server.
const EnvURL = "MERIDIAN_TEST_POSTGRES"

// ServerURL returns the test server's URL, or skips the test (fails it
// under CI=true) when there is none.
func ServerURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		citest.Missingf(tb, "%s is not set: start a server with scripts/start-postgres.sh and export its URL", EnvURL)
	}
	return u
}

// NewDatabase creates an empty database meridian_test_<random> on the
// test server and returns its URL. The database is dropped when the test
// ends, after the cleanups registered later (such as closing a store)
// have run; open connections are ended by the drop.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	server := ServerURL(tb)
	u, err := url.Parse(server)
	if err != nil {
		tb.Fatalf("%s: not a URL", EnvURL)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "meridian_test_" + hex.EncodeToString(b[:])
	admin(tb, server, "CREATE DATABASE "+name)
	tb.Cleanup(func() { admin(tb, server, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	u.Path = "/" + name
	return u.String()
}

func admin(tb testing.TB, server, stmt string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, server)
	if err != nil {
		tb.Fatalf("connect to the test server: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, stmt); err != nil {
		tb.Fatalf("%s: %v", stmt, err)
	}
}
