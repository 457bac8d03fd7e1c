package gitops

import (
	"net/url"
	"strings"
	"unicode"
)

// RedactURL returns a Git URL fit for logs, error messages and cache keys:
// without a password, and for everything but SSH without a username either,
// since a token often sits there (https://TOKEN@host/repo). SSH keeps its
// username, which is not a secret and selects the account; scp-like
// user:pass@host:path becomes user@host:path. A URL that does not parse
// loses everything before its last '@'. Paths are returned unchanged.
func RedactURL(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return redactSCP(raw)
	}
	u, err := url.Parse(raw)
	if err != nil || misparsed(raw, u) {
		// Unparseable, or parsed in a way that may show a password: keep
		// the scheme and what follows the last '@', which drops any
		// userinfo without needing to understand the rest. Over-redacting
		// a strange URL is the safe mistake.
		scheme, rest := raw[:i], raw[i+3:]
		if j := strings.LastIndexByte(rest, '@'); j >= 0 {
			rest = rest[j+1:]
		}
		return scheme + "://" + rest
	}
	if u.User != nil {
		if u.Scheme == "ssh" && u.User.Username() != "" {
			u.User = url.User(u.User.Username())
		} else {
			u.User = nil
		}
	}
	return u.String()
}

// misparsed reports whether url.Parse may have left a password outside
// u's userinfo: a password holding '/', '?' or '#' ends the authority
// early, so https://user:12/pass@host parses as host "user", port 12 and
// a path holding the rest, and https://tok#en@host as host "tok" and a
// fragment. It is assumed when there is no userinfo but an '@' after an
// authority that has a ':' or ends in '?' or '#'. An honest URL of that
// shape (https://host:8443/a@b) is over-redacted, which is the safe
// mistake.
func misparsed(raw string, u *url.URL) bool {
	if u.User != nil {
		return false
	}
	_, rest, _ := strings.Cut(raw, "://")
	k := strings.IndexAny(rest, "/?#")
	if k < 0 || !strings.Contains(rest[k:], "@") {
		return false
	}
	// Text that also reads as an scp-like user:pw@host:path, with a
	// password starting "//" (deploy://0/@git.example:o/r.git), is
	// treated as one.
	if _, _, after, ok := scpUserinfo(raw); ok && hostThenColon(after) {
		return true
	}
	return strings.Contains(rest[:k], ":") || rest[k] != '/'
}

// redactSCP drops the password from an scp-like user:pass@host:path. Git
// itself has no password in this syntax, but go-git reads "user:pass" as
// the user, and people paste such URLs.
func redactSCP(s string) string {
	user, _, rest, ok := scpUserinfo(s)
	if !ok {
		return s
	}
	return user + "@" + rest
}

// scpUserinfo splits s = user:pass@rest when the first ':' comes before the
// first '@' and the user looks like one (no path separators). The password
// runs to the last '@' that is followed by a host and ':' (a password may
// hold '@'), or else to the last '@'.
func scpUserinfo(s string) (user, pass, rest string, ok bool) {
	at := strings.IndexByte(s, '@')
	colon := strings.IndexByte(s, ':')
	if at < 0 || colon < 0 || colon > at {
		return "", "", "", false
	}
	user = s[:colon]
	if user == "" || strings.ContainsAny(user, `/\`) {
		return "", "", "", false
	}
	end := -1
	for j := len(s) - 1; j > colon; j-- {
		if s[j] != '@' {
			continue
		}
		if end < 0 {
			end = j
		}
		if hostThenColon(s[j+1:]) {
			end = j
			break
		}
	}
	return user, s[colon+1 : end], s[end+1:], true
}

// hostThenColon reports whether t starts with host: (or [v6]:).
func hostThenColon(t string) bool {
	if strings.HasPrefix(t, "[") {
		end := strings.Index(t, "]:")
		return end > 1 && !strings.ContainsAny(t[:end], "@/")
	}
	k := strings.IndexByte(t, ':')
	return k > 0 && !strings.ContainsFunc(t[:k], func(r rune) bool {
		return r == '@' || r == '/' || unicode.IsSpace(r)
	})
}

// RedactText returns s with the credentials of every URL in it removed as
// RedactURL removes them: scheme://user:pass@host... and scp-like
// user:pass@host:path, wherever they appear (log lines, error messages,
// API output). Text without an '@' is returned as is.
//
// URLs are told apart from the surrounding text by whitespace, quotes,
// angle brackets and backticks; a password holding one of those must be
// percent-encoded in a URL anyway.
func RedactText(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for len(s) > 0 {
		i := strings.IndexFunc(s, isTextSep)
		if i < 0 {
			i = len(s)
		}
		b.WriteString(redactToken(s[:i]))
		s = s[i:]
		j := strings.IndexFunc(s, func(r rune) bool { return !isTextSep(r) })
		if j < 0 {
			j = len(s)
		}
		b.WriteString(s[:j])
		s = s[j:]
	}
	return b.String()
}

func isTextSep(r rune) bool {
	return unicode.IsSpace(r) || strings.ContainsRune("\"'<>`", r)
}

// redactToken redacts one run of text without separators, which may hold
// several URLs back to back (https://a?next=https://u:p@b).
func redactToken(tok string) string {
	if !strings.Contains(tok, "@") {
		return tok
	}
	starts := schemeStarts(tok)
	if len(starts) == 0 {
		return redactSCP(tok)
	}
	var b strings.Builder
	b.WriteString(redactSCP(tok[:starts[0]]))
	for k, st := range starts {
		end := len(tok)
		if k+1 < len(starts) {
			end = starts[k+1]
		}
		b.WriteString(RedactURL(tok[st:end]))
	}
	return b.String()
}

// schemeStarts returns where each scheme:// in tok begins.
func schemeStarts(tok string) []int {
	var out []int
	for off := 0; ; {
		i := strings.Index(tok[off:], "://")
		if i < 0 {
			return out
		}
		i += off
		st := i
		for st > 0 && isSchemeByte(tok[st-1]) {
			st--
		}
		// A scheme starts with a letter; skip digits and the like that
		// precede it (x1https://... keeps x1 as text only if it cannot be
		// part of the scheme, so move to the first letter).
		for st < i && !isLetter(tok[st]) {
			st++
		}
		if st < i && (len(out) == 0 || st >= out[len(out)-1] && authorityEnded(tok[out[len(out)-1]:st])) {
			out = append(out, st)
		}
		off = i + 3
	}
}

// authorityEnded reports whether the URL prev has left its authority (a
// '/', '?' or '#' after its "://"), so that a scheme:// after it starts a
// new URL (https://a?next=https://u:p@b). Before that, a "://" belongs to
// prev's userinfo: in https://user:///pw@host the password is "///pw".
func authorityEnded(prev string) bool {
	_, rest, _ := strings.Cut(prev, "://")
	return strings.ContainsAny(rest, "/?#")
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isSchemeByte(c byte) bool {
	return isLetter(c) || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'
}

// secretsOf lists what in a raw URL must never be shown: the userinfo as
// written, the password, and for anything but SSH the username (where a
// token often sits).
func secretsOf(raw string) []string {
	i := strings.Index(raw, "://")
	if i < 0 {
		user, pass, _, ok := scpUserinfo(raw)
		if !ok {
			return nil
		}
		return []string{pass, user + ":" + pass}
	}
	var out []string
	if u, err := url.Parse(raw); err == nil && !misparsed(raw, u) {
		if u.User == nil {
			return nil
		}
		p, _ := u.User.Password()
		out = append(out, p, u.User.String())
		if u.Scheme != "ssh" {
			out = append(out, u.User.Username())
		}
		return out
	}
	// What RedactURL cuts off: everything before the last '@'.
	rest := raw[i+3:]
	j := strings.LastIndexByte(rest, '@')
	if j < 0 {
		return nil
	}
	info := rest[:j]
	user, pass, _ := strings.Cut(info, ":")
	out = append(out, info, pass)
	if !strings.EqualFold(raw[:i], "ssh") {
		out = append(out, user)
	}
	return out
}
