// Package telemetrytest runs an OTLP trace receiver on loopback for tests:
// spans reach it through Meridian's real exporters, over gRPC or
// HTTP/protobuf, configured by the OTEL_* variables as in production.
//
// It implements the OpenTelemetry Collector's TraceService from the
// official protocol definitions (go.opentelemetry.io/proto/otlp). The
// Collector's own otlpreceiver cannot be linked into this module: every
// release of its confmap dependency needs github.com/gobwas/glob v0.2.x,
// and OPA needs the incompatible v1.0.0.
package telemetrytest

import (
	"context"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// Span is one received span, flattened for assertions.
type Span struct {
	Name                          string
	TraceID, SpanID, ParentSpanID string
	Service                       string
	Attributes                    map[string]string
	StatusError                   bool
	StatusMessage                 string
}

// Receiver is a running OTLP trace receiver.
type Receiver struct {
	// GRPC and HTTP are the base endpoints (http://127.0.0.1:PORT) to put
	// in OTEL_EXPORTER_OTLP_ENDPOINT; HTTP serves /v1/traces.
	GRPC, HTTP string
	mu         sync.Mutex
	spans      []Span
	collectortrace.UnimplementedTraceServiceServer
}

// Start starts a receiver, stopped when tb ends.
func Start(tb testing.TB) *Receiver {
	tb.Helper()
	r := &Receiver{}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	gs := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(gs, r)
	go gs.Serve(gl)
	tb.Cleanup(gs.Stop)
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", r.handleHTTP)
	hs := &http.Server{Handler: mux}
	go hs.Serve(hl)
	tb.Cleanup(func() { hs.Close() })
	r.GRPC, r.HTTP = "http://"+gl.Addr().String(), "http://"+hl.Addr().String()
	return r
}

// Export implements the collector's TraceService.
func (r *Receiver) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	r.add(req)
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func (r *Receiver) handleHTTP(w http.ResponseWriter, req *http.Request) {
	if ct := req.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		http.Error(w, "want application/x-protobuf, got "+ct, http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var msg collectortrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &msg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.add(&msg)
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

func (r *Receiver) add(req *collectortrace.ExportTraceServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		svc := attrs(rs.GetResource().GetAttributes())["service.name"]
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				r.spans = append(r.spans, Span{Name: s.GetName(), TraceID: hex.EncodeToString(s.GetTraceId()),
					SpanID: hex.EncodeToString(s.GetSpanId()), ParentSpanID: hex.EncodeToString(s.GetParentSpanId()),
					Service: svc, Attributes: attrs(s.GetAttributes()), StatusError: s.GetStatus().GetCode() == 2,
					StatusMessage: s.GetStatus().GetMessage()})
			}
		}
	}
}

// Spans returns the spans received so far, in arrival order.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

func attrs(kvs []*commonpb.KeyValue) map[string]string {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		v := kv.GetValue()
		switch {
		case v.GetStringValue() != "":
			out[kv.GetKey()] = v.GetStringValue()
		default:
			out[kv.GetKey()] = v.String()
		}
	}
	return out
}
