package edge

import (
	"fmt"
	"net/url"
	"strings"

	"sigs.k8s.io/yaml"
)

// Path is where the server serves bundles and takes status reports: an
// agent's service URL is the server's URL with this path.
const Path = "/edge/v1"

// AgentConfigInput is what an agent's config is made of.
type AgentConfigInput struct {
	Site string
	// Server is the Meridian server's external URL (http or https).
	Server string
	// Credential is the site's secret (IssueCredential).
	Credential string
	Key        *Key
	// LongPoll is the long-polling timeout in seconds (default 30): a new
	// revision reaches the agent as soon as it is built, and an idle agent
	// asks (and reports) once per LongPoll.
	LongPoll int
	// PersistDir, when set, makes the agent keep its last activated bundle
	// on disk there, so that it starts with it when Meridian cannot be
	// reached. Empty: OPA's default folder (.opa under its working
	// directory), still persisted.
	PersistDir string
}

// agentConfig is the subset of OPA's configuration file Meridian writes.
type agentConfig struct {
	Services             map[string]service      `json:"services"`
	Labels               map[string]string       `json:"labels"`
	Bundles              map[string]bundleConfig `json:"bundles"`
	Keys                 map[string]keyConfig    `json:"keys"`
	Status               statusConfig            `json:"status"`
	PersistenceDirectory string                  `json:"persistence_directory,omitempty"`
}

type service struct {
	URL                          string      `json:"url"`
	ResponseHeaderTimeoutSeconds int         `json:"response_header_timeout_seconds"`
	Credentials                  credentials `json:"credentials"`
}

type credentials struct {
	Bearer struct {
		Token string `json:"token"`
	} `json:"bearer"`
}

type bundleConfig struct {
	Service  string  `json:"service"`
	Resource string  `json:"resource"`
	Persist  bool    `json:"persist"`
	Polling  polling `json:"polling"`
	Signing  signing `json:"signing"`
}

type polling struct {
	MinDelaySeconds           int `json:"min_delay_seconds"`
	MaxDelaySeconds           int `json:"max_delay_seconds"`
	LongPollingTimeoutSeconds int `json:"long_polling_timeout_seconds"`
}

type signing struct {
	KeyID string `json:"keyid"`
}

type keyConfig struct {
	Algorithm string `json:"algorithm"`
	Key       string `json:"key"`
}

type statusConfig struct {
	Service       string `json:"service"`
	PartitionName string `json:"partition_name"`
}

// AgentConfig returns a complete OPA configuration file (YAML) for the
// site: the Meridian service with the site's bearer credential, the
// bundle with long polling and the public verification key inline (OPA
// then refuses unsigned or tampered bundles), and status reporting to
// Meridian. `opa run --server --config-file FILE` uses it as it is.
func AgentConfig(in AgentConfigInput) ([]byte, error) {
	if err := ValidSite(in.Site); err != nil {
		return nil, err
	}
	u, err := url.Parse(in.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("server URL %q: want http(s)://HOST[:PORT][/PATH] without credentials, query or fragment", in.Server)
	}
	if in.LongPoll <= 0 {
		in.LongPoll = 30
	}
	const svc = "meridian"
	s := service{URL: strings.TrimSuffix(u.String(), "/") + Path,
		// Long polls hold the response for LongPoll seconds; OPA lifts
		// the header timeout for them, and this bounds every other call.
		ResponseHeaderTimeoutSeconds: 10}
	s.Credentials.Bearer.Token = in.Credential
	cfg := agentConfig{
		Services: map[string]service{svc: s},
		Labels:   map[string]string{"site": in.Site},
		Bundles: map[string]bundleConfig{BundleName: {Service: svc, Resource: "bundles/" + in.Site, Persist: true,
			// The delays apply after a failed request (and to servers
			// without long polling): retries back off from 1 to 10 s.
			Polling: polling{MinDelaySeconds: 1, MaxDelaySeconds: 10, LongPollingTimeoutSeconds: in.LongPoll},
			Signing: signing{KeyID: in.Key.ID}}},
		Keys:                 map[string]keyConfig{in.Key.ID: {Algorithm: SigningAlgorithm, Key: in.Key.PublicPEM}},
		Status:               statusConfig{Service: svc, PartitionName: in.Site},
		PersistenceDirectory: in.PersistDir,
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("agent config: %w", err)
	}
	return append([]byte("# OPA configuration for edge site "+in.Site+", made by `meridian edge agent-config`.\n# It holds the site's credential: keep it as secret as a password.\n"), out...), nil
}
