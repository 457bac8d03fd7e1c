package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/meridianhq/meridian/gitops"
	"net/http"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// Error codes the HTTP edge adds to meridian's. meridian.EUNAVAILABLE (a
// dependency down, a store that cannot write, a server shutting down)
// becomes 503 with Retry-After.
const (
	// ERATELIMITED: too many failed authentications from this client.
	ERATELIMITED = "rate_limited"
	// EDISABLED: the endpoint is switched off by configuration.
	EDISABLED = "disabled"
	// ELENGTHREQUIRED: a body that must be sized before it is read came
	// without a Content-Length.
	ELENGTHREQUIRED = "length_required"
	// ETOOLARGE: a body over its endpoint's cap.
	ETOOLARGE = "too_large"
)

// retryAfterUnavailable is the Retry-After of 503 answers, in seconds: long
// enough for an operator's alert to fire, short enough for a retrying
// client to recover soon after the disk is freed.
const retryAfterUnavailable = "30"

// errorStatus is the one place error codes become HTTP statuses.
var errorStatus = map[string]int{
	meridian.EINVALID:      http.StatusBadRequest,
	meridian.ENOTFOUND:     http.StatusNotFound,
	meridian.ECONFLICT:     http.StatusConflict,
	meridian.EUNAUTHORIZED: http.StatusUnauthorized,
	meridian.EFORBIDDEN:    http.StatusForbidden,
	meridian.EINTERNAL:     http.StatusInternalServerError,
	ERATELIMITED:           http.StatusTooManyRequests,
	meridian.EUNAVAILABLE:  http.StatusServiceUnavailable,
	meridian.ETIMEOUT:      http.StatusGatewayTimeout,
	EDISABLED:              http.StatusNotFound,
	ELENGTHREQUIRED:        http.StatusLengthRequired,
	ETOOLARGE:              http.StatusRequestEntityTooLarge,
}

// ErrorStatus returns the HTTP status for an error's meridian code.
func ErrorStatus(err error) int {
	if s, ok := errorStatus[meridian.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// errorBody is every error response: {"error": {"code", "message", "request_id"}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
	// ConfigErrors lists every problem of an invalid config repo.
	ConfigErrors []configError `json:"config_errors,omitempty"`
}

type configError struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// writeError answers with err as JSON. Internal errors and storage failures
// are logged with the request ID and answered with a generic message: their
// text may name files, hosts or SQL that a client has no business seeing.
// 503s carry Retry-After.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := meridian.ErrorCode(err)
	status := ErrorStatus(err)
	msg := err.Error()
	var details []configError
	var ces meridian.ConfigErrors
	if errors.As(err, &ces) {
		code, status = meridian.EINVALID, http.StatusBadRequest
		msg = fmt.Sprintf("the config repo has %d error(s)", len(ces))
		for _, e := range ces {
			details = append(details, configError(e))
		}
	}
	var unavailable *store.UnavailableError
	switch {
	case status == http.StatusInternalServerError:
		logger(r.Context(), s.log).ErrorContext(r.Context(), "request failed", "err", err)
		code, msg = meridian.EINTERNAL, "internal error; the server log has the details (search for the request ID)"
	case errors.As(err, &unavailable):
		logger(r.Context(), s.log).ErrorContext(r.Context(), "store unavailable", "err", err)
		msg = "the store is unavailable (" + unavailable.Reason + "); retry later"
	}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", retryAfterUnavailable)
	}
	// Errors quote URLs as they were given (a repo, a deploy repo): never
	// with their credentials.
	msg = gitops.RedactText(msg)
	for i := range details {
		details[i].Message = gitops.RedactText(details[i].Message)
	}
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: msg, RequestID: middleware.GetReqID(r.Context()), ConfigErrors: details}})
}

// writeJSON writes v with status. An encoding error is dropped: the status
// line is gone by then, and v is always one of this package's own types.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decodeJSON reads a JSON request body of at most 1 MiB into v, refusing
// unknown fields so that typos fail loudly.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return meridian.Errorf(meridian.EINVALID, "request body: %v", err)
	}
	return nil
}
