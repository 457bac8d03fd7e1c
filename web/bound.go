package web

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"regexp"
	"unicode/utf8"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/meridianhq/meridian/github"
)

// Anything a client sends can reach a log line, an audit row or a metric
// label only through the helpers below, so that an unauthenticated request
// costs a bounded amount of memory, disk and time series however large its
// headers or path.

// maxEcho is the most bytes of a client-supplied value (a header, a path, a
// method) kept in a log line, an audit row or an error message.
const maxEcho = 200

// clip returns s cut to maxEcho bytes (on a UTF-8 boundary), followed by
// an ellipsis and s's original length when it was longer.
func clip(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	cut := maxEcho
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…(%d bytes)", s[:cut], len(s))
}

// eventLabel maps an X-GitHub-Event value to the fixed set Meridian
// handles, plus "other": the only values that may become a metric label.
func eventLabel(event string) string {
	switch event {
	case github.EventPing, github.EventPush, github.EventPullRequest, github.EventIssueComment, github.EventPullRequestReview:
		return event
	}
	return "other"
}

// methodLabel maps an HTTP method to the standard ones, plus "other": Go
// accepts any token as a method, and each would be a new time series.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// requestIDPattern is what a client's X-Request-Id must look like to be
// kept: short, and nothing that could forge a log field or a header.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestID is chi's middleware.RequestID with a check: the client's
// X-Request-Id is kept only when it matches requestIDPattern (so that
// callers can correlate their own IDs), and replaced by a fresh random
// one otherwise.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(middleware.RequestIDHeader)
		if !requestIDPattern.MatchString(id) {
			id = rand.Text()
		}
		// chi's key, so that middleware.GetReqID keeps working.
		ctx := context.WithValue(r.Context(), middleware.RequestIDKey, id)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
