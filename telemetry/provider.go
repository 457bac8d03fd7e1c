package telemetry

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// The environment variables Setup reads itself. The exporters and the SDK
// read the rest of the OTEL_* family (headers, timeouts, TLS, the sampler,
// the batch processor, resource attributes) as the specification says.
const (
	EnvSDKDisabled     = "OTEL_SDK_DISABLED"
	EnvTracesExporter  = "OTEL_TRACES_EXPORTER"
	EnvEndpoint        = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvTracesEndpoint  = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	EnvProtocol        = "OTEL_EXPORTER_OTLP_PROTOCOL"
	EnvTracesProtocol  = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	defaultServiceName = "meridian"
)

// Provider is the process's tracer provider. Its zero value is not usable;
// call Setup.
type Provider struct {
	trace.TracerProvider
	// Exporter describes where spans go ("off" when nowhere), for the
	// startup log line.
	Exporter string
	sdk      *sdktrace.TracerProvider
}

// Shutdown flushes the spans still buffered and stops the exporter. It is
// a no-op when tracing is off.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p.sdk == nil {
		return nil
	}
	if err := p.sdk.Shutdown(ctx); err != nil {
		return fmt.Errorf("flush traces: %w", err)
	}
	return nil
}

// Options tunes Setup. The zero value is usable.
type Options struct {
	// Getenv reads the environment (default: none set). Give os.Getenv.
	Getenv func(string) string
	// Version is the service.version resource attribute.
	Version string
	// SpanProcessors are added to the provider besides the exporter's
	// batch processor (tests add an in-memory one).
	SpanProcessors []sdktrace.SpanProcessor
}

// Setup returns the tracer provider the environment asks for. Tracing is
// off (a no-op provider, no goroutine, no connection) unless an OTLP
// endpoint is named by OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
// OTEL_EXPORTER_OTLP_ENDPOINT; OTEL_SDK_DISABLED=true and
// OTEL_TRACES_EXPORTER=none turn it off whatever else is set. The protocol
// is OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL:
// grpc or http/protobuf (the specification's default).
func Setup(ctx context.Context, o Options) (*Provider, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	off := &Provider{TracerProvider: noop.NewTracerProvider(), Exporter: "off"}
	if v := strings.TrimSpace(getenv(EnvSDKDisabled)); v != "" {
		disabled, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("%s: want true or false, got %q", EnvSDKDisabled, v)
		}
		if disabled {
			return off, nil
		}
	}
	switch exp := strings.TrimSpace(getenv(EnvTracesExporter)); exp {
	case "none":
		return off, nil
	case "", "otlp":
	default:
		return nil, fmt.Errorf("%s: Meridian exports traces with otlp (or none), got %q", EnvTracesExporter, exp)
	}
	endpoint := firstSet(getenv, EnvTracesEndpoint, EnvEndpoint)
	if endpoint == "" && len(o.SpanProcessors) == 0 {
		return off, nil
	}
	res, err := resource.New(ctx,
		// Later detectors win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
		// override the defaults.
		resource.WithAttributes(attribute.String("service.name", defaultServiceName), attribute.String("service.version", o.Version)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	// The sampler comes from OTEL_TRACES_SAMPLER(_ARG), read by the SDK.
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	desc := "off"
	if endpoint != "" {
		exp, d, err := newExporter(ctx, getenv, endpoint)
		if err != nil {
			return nil, err
		}
		opts, desc = append(opts, sdktrace.WithBatcher(exp)), d
	}
	for _, sp := range o.SpanProcessors {
		opts = append(opts, sdktrace.WithSpanProcessor(sp))
	}
	sdk := sdktrace.NewTracerProvider(opts...)
	return &Provider{TracerProvider: sdk, Exporter: desc, sdk: sdk}, nil
}

func newExporter(ctx context.Context, getenv func(string) string, endpoint string) (sdktrace.SpanExporter, string, error) {
	proto := firstSet(getenv, EnvTracesProtocol, EnvProtocol)
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch proto {
	case "grpc":
		// The exporter reads the endpoint, headers, TLS and timeout
		// settings from the same variables.
		exp, err = otlptracegrpc.New(ctx)
	case "", "http/protobuf":
		proto = "http/protobuf"
		exp, err = otlptracehttp.New(ctx)
	default:
		return nil, "", fmt.Errorf("%s: want grpc or http/protobuf, got %q", EnvProtocol, proto)
	}
	if err != nil {
		return nil, "", fmt.Errorf("OTLP trace exporter (%s): %w", proto, err)
	}
	return exp, "otlp " + proto + " " + redactEndpoint(endpoint), nil
}

// redactEndpoint drops the userinfo and query of an endpoint URL before it
// is logged: OTLP endpoints sometimes carry keys there.
func redactEndpoint(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		if at := strings.LastIndex(rest, "@"); at >= 0 && !strings.Contains(rest[:at], "/") {
			rest = rest[at+1:]
		}
		return scheme + "://" + rest
	}
	return s
}

func firstSet(getenv func(string) string, keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
	}
	return ""
}
