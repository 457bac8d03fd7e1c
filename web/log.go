package web

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// ctxKey is the type of this package's context keys, so that no other
// package can collide with them.
type ctxKey int

const requestKey ctxKey = 0

// requestState is what the middleware learns about a request. The
// authenticating middleware runs inside the logging one, so it fills in the
// principal through this pointer rather than through a new context.
type requestState struct {
	log       *slog.Logger
	principal *Principal
}

func stateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(requestKey).(*requestState)
	return st
}

// logger returns the request-scoped logger (carrying the request ID), or
// fallback outside a request.
func logger(ctx context.Context, fallback *slog.Logger) *slog.Logger {
	if st := stateFrom(ctx); st != nil {
		return st.log
	}
	return fallback
}

// principalFrom returns the authenticated caller of the request.
func principalFrom(ctx context.Context) (*Principal, bool) {
	if st := stateFrom(ctx); st != nil && st.principal != nil {
		return st.principal, true
	}
	return nil, false
}

// logRequests gives every request a logger that carries its request ID and
// logs one line per request, and records the HTTP metrics. It logs the
// method, the route pattern (not the raw path), the status and the client
// IP: never headers, bodies or query strings, which is where credentials
// travel.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		reqID := middleware.GetReqID(r.Context())
		w.Header().Set(middleware.RequestIDHeader, reqID)
		l := s.log.With("request_id", reqID)
		st := &requestState{log: l}
		r = r.WithContext(context.WithValue(r.Context(), requestKey, st))
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		d := time.Since(start)
		// Labels come from fixed sets (methodLabel, the route patterns), so
		// that clients cannot mint time series; log values are clipped.
		method := methodLabel(r.Method)
		s.metrics.httpRequests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
		s.metrics.httpDuration.WithLabelValues(method, route).Observe(d.Seconds())
		attrs := []any{"method", clip(r.Method), "route", route, "status", status, "bytes", ww.BytesWritten(),
			"duration", d, "client_ip", clip(middleware.GetClientIP(r.Context()))}
		if st.principal != nil {
			attrs = append(attrs, "actor", st.principal.Actor())
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		l.Log(r.Context(), level, "http request", attrs...)
	})
}
