package sqlstore

import "testing"

func TestRebind(t *testing.T) {
	cases := map[string]struct {
		reason   string
		numbered bool
		in, want string
	}{
		"SQLite": {"? placeholders stay as they are", false,
			`SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = ? AND c = ?`},
		"Numbered": {"PostgreSQL numbers them in order", true,
			`UPDATE t SET a = ?, b = ? WHERE c = ?`, `UPDATE t SET a = $1, b = $2 WHERE c = $3`},
		"QuotedString": {"a ? in a string literal is data, not a placeholder", true,
			`SELECT '?', 'it''s ?' FROM t WHERE a = ?`, `SELECT '?', 'it''s ?' FROM t WHERE a = $1`},
		"QuotedIdentifier": {"nor in a quoted identifier", true,
			`SELECT "a?" FROM t WHERE b = ?`, `SELECT "a?" FROM t WHERE b = $1`},
		"Comment": {"nor in a comment", true,
			"SELECT a -- why? because\nFROM t WHERE b = ?", "SELECT a -- why? because\nFROM t WHERE b = $1"},
		"Minus": {"a lone minus is arithmetic", true,
			`SELECT a - ? FROM t`, `SELECT a - $1 FROM t`},
		"Unterminated": {"an unterminated quote keeps the rest as it is", true,
			`SELECT ? FROM t WHERE a = 'x?`, `SELECT $1 FROM t WHERE a = 'x?`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := Dialect{Numbered: tc.numbered}
			if got := d.Rebind(tc.in); got != tc.want {
				t.Errorf("%s:\n got %s\nwant %s", tc.reason, got, tc.want)
			}
		})
	}
}
