package gitops

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"

	"github.com/meridianhq/meridian"
)

// DefaultTokenEnv is the environment variable an HTTPS token is read from
// when AuthOptions names none.
const DefaultTokenEnv = "MERIDIAN_GIT_TOKEN"

// DefaultTokenUsername is the basic-auth username sent with a token. GitHub
// requires it for app installation tokens and accepts it for personal access
// tokens; GitLab and Gitea accept any username with a token.
const DefaultTokenUsername = "x-access-token"

// AuthOptions holds credentials for remote repositories. The zero value
// reads an HTTPS token from $MERIDIAN_GIT_TOKEN and uses ssh-agent for SSH;
// the token goes only to the hosts in TokenHosts.
type AuthOptions struct {
	// Token is sent as the basic-auth password to HTTPS remotes on
	// TokenHosts. Empty falls back to credentials in the URL, then to
	// $TokenEnv.
	Token string
	// TokenEnv names the environment variable holding the token.
	// Empty means DefaultTokenEnv.
	TokenEnv string
	// Username goes with Token. Empty means DefaultTokenUsername.
	Username string
	// TokenHosts are the hosts Token (or $TokenEnv) may be sent to: "host"
	// (port 443), "host:port", or an https URL whose host and port count.
	// Hosts compare case-insensitively. The token is attached only to
	// https:// URLs on one of them, and only to requests to that same
	// origin, so a redirect elsewhere does not carry it.
	//
	// Empty means no host: Method never sends the token, because a URL
	// that came from a config repo (a pull request's deploy.repo, say)
	// must not receive the server's credentials. Load fills an empty list
	// with the host of the source it loads, which the operator chose.
	TokenHosts []string

	// SSHKeyFile is a private key file (PEM or OpenSSH format). Empty means
	// ssh-agent.
	SSHKeyFile string
	// SSHKeyPassphrase decrypts SSHKeyFile, if it is encrypted.
	SSHKeyPassphrase string
	// SSHKnownHostsFile verifies SSH host keys. Empty means $SSH_KNOWN_HOSTS,
	// then ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts.
	SSHKnownHostsFile string

	// Getenv reads the environment; nil means os.Getenv. Tests replace it.
	Getenv func(string) string
}

// WithTokenHostOf returns a copy of a whose TokenHosts also hold rawURL's
// host and port, for a caller that has decided rawURL may receive the
// token (the config repo it was started with, the deploy repository of
// the trusted branch). A rawURL that is not an https URL adds nothing.
func (a AuthOptions) WithTokenHostOf(rawURL string) AuthOptions {
	ep, err := transport.NewEndpoint(rawURL)
	if err != nil || ep.Protocol != "https" {
		return a
	}
	a.TokenHosts = append(slices.Clip(a.TokenHosts), endpointOrigin(ep))
	return a
}

// Method returns the transport.AuthMethod for a Git URL: basic auth for
// HTTPS (Token, then the URL's userinfo, then $TokenEnv), public keys from
// SSHKeyFile or ssh-agent for SSH, and nil when there is nothing to send.
//
// Tokens from options or the environment go to https:// remotes on
// TokenHosts only, never to another host and never in clear text over
// http://; credentials written into the URL itself are honoured for both
// schemes, for that URL's origin only. Errors never contain the secrets.
func (a AuthOptions) Method(rawURL string) (transport.AuthMethod, error) {
	ep, err := transport.NewEndpoint(rawURL)
	if err != nil {
		return nil, meridian.Errorf(meridian.EINVALID, "auth for %q: not a Git URL", RedactURL(rawURL))
	}
	return a.method(ep)
}

func (a AuthOptions) method(ep *transport.Endpoint) (transport.AuthMethod, error) {
	getenv := a.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	switch ep.Protocol {
	case "http":
		if ep.User != "" {
			return bind(ep, ep.User, ep.Password), nil
		}
		return nil, nil
	case "https":
		mayToken := a.tokenAllowed(ep)
		if a.Token != "" && mayToken {
			return bind(ep, a.username(), a.Token), nil
		}
		if ep.User != "" {
			return bind(ep, ep.User, ep.Password), nil
		}
		if !mayToken {
			return nil, nil
		}
		if token := getenv(a.tokenEnv()); token != "" {
			return bind(ep, a.username(), token), nil
		}
		return nil, nil
	case "ssh":
		return a.sshMethod(ep, getenv)
	}
	return nil, nil
}

func (a AuthOptions) username() string {
	if a.Username == "" {
		return DefaultTokenUsername
	}
	return a.Username
}

// tokenAllowed reports whether ep's origin is on TokenHosts.
func (a AuthOptions) tokenAllowed(ep *transport.Endpoint) bool {
	want := endpointOrigin(ep)
	for _, h := range a.TokenHosts {
		if o, ok := hostOrigin(h); ok && o == want {
			return true
		}
	}
	return false
}

// origin is host:port as a connection uses it: the host lower-cased (an IP
// address in its canonical form, without brackets), the port without
// leading zeros and defaulted from the scheme. Two URLs with the same origin
// reach the same server.
func origin(scheme, host, port string) string {
	host = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if ip, err := netip.ParseAddr(host); err == nil {
		host = ip.String()
	}
	if n, err := strconv.Atoi(port); err == nil && n > 0 {
		port = strconv.Itoa(n)
	} else if strings.EqualFold(scheme, "http") {
		port = "80"
	} else {
		port = "443"
	}
	return net.JoinHostPort(host, port)
}

func endpointOrigin(ep *transport.Endpoint) string {
	port := ""
	if ep.Port > 0 {
		port = strconv.Itoa(ep.Port)
	}
	return origin(ep.Protocol, ep.Host, port)
}

// hostOrigin reads a TokenHosts entry as an https origin.
func hostOrigin(h string) (string, bool) {
	h = strings.TrimSpace(h)
	if strings.Contains(h, "://") {
		u, err := url.Parse(h)
		if err != nil || !strings.EqualFold(u.Scheme, "https") || u.Hostname() == "" {
			return "", false
		}
		return origin("https", u.Hostname(), u.Port()), true
	}
	if host, port, err := net.SplitHostPort(h); err == nil {
		return origin("https", host, port), host != ""
	}
	return origin("https", h, ""), h != ""
}

// boundAuth is basic auth that is attached only to requests for the origin
// it was issued for. go-git already drops credentials when a redirect
// leaves the origin; this keeps the promise in Meridian's own code too, for
// every request the transport makes, whatever its redirect handling.
type boundAuth struct {
	*githttp.BasicAuth
	scheme, origin string
}

func bind(ep *transport.Endpoint, user, pass string) *boundAuth {
	return &boundAuth{
		BasicAuth: &githttp.BasicAuth{Username: user, Password: pass},
		scheme:    ep.Protocol,
		origin:    endpointOrigin(ep),
	}
}

// SetAuth implements githttp.AuthMethod.
func (b *boundAuth) SetAuth(r *http.Request) {
	if r == nil || r.URL == nil || !strings.EqualFold(r.URL.Scheme, b.scheme) ||
		origin(r.URL.Scheme, r.URL.Hostname(), r.URL.Port()) != b.origin {
		return
	}
	b.BasicAuth.SetAuth(r)
}

func (a AuthOptions) sshMethod(ep *transport.Endpoint, getenv func(string) string) (transport.AuthMethod, error) {
	// go-git reads scp-like user:pass@host:path as user "user:pass"; SSH
	// has no password there, and the login is what precedes the ':'.
	user, _, _ := strings.Cut(ep.User, ":")
	if user == "" {
		user = "git"
	}
	var (
		auth   transport.AuthMethod
		helper *gitssh.HostKeyCallbackHelper
	)
	if a.SSHKeyFile != "" {
		k, err := gitssh.NewPublicKeysFromFile(user, a.SSHKeyFile, a.SSHKeyPassphrase)
		if err != nil {
			// The file's content never reaches the message; the passphrase
			// might, through a parser error, so scrub it.
			return nil, fmt.Errorf("%w: %w",
				meridian.Errorf(meridian.EUNAUTHORIZED, "SSH key %s", a.SSHKeyFile),
				scrub(err, []string{a.SSHKeyPassphrase}))
		}
		auth, helper = k, &k.HostKeyCallbackHelper
	} else {
		if getenv("SSH_AUTH_SOCK") == "" {
			return nil, meridian.Errorf(meridian.EUNAUTHORIZED,
				"no SSH key file given and no ssh-agent running (SSH_AUTH_SOCK is unset)")
		}
		k, err := gitssh.NewSSHAgentAuth(user)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", meridian.Errorf(meridian.EUNAUTHORIZED, "ssh-agent"), err)
		}
		auth, helper = k, &k.HostKeyCallbackHelper
	}
	if a.SSHKnownHostsFile != "" {
		cb, err := gitssh.NewKnownHostsCallback(a.SSHKnownHostsFile)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", meridian.Errorf(meridian.EINVALID, "SSH known hosts %s", a.SSHKnownHostsFile), err)
		}
		helper.HostKeyCallback = cb
	}
	return auth, nil
}

func (a AuthOptions) tokenEnv() string {
	if a.TokenEnv == "" {
		return DefaultTokenEnv
	}
	return a.TokenEnv
}

// scrub wraps err so that its message has every secret replaced. errors.Is
// and errors.As still see the original chain.
func scrub(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	var keep []string
	for _, s := range secrets {
		if s != "" {
			keep = append(keep, s)
		}
	}
	if len(keep) == 0 {
		return err
	}
	return &scrubbedError{err: err, secrets: keep}
}

type scrubbedError struct {
	err     error
	secrets []string
}

func (e *scrubbedError) Error() string {
	msg := e.err.Error()
	for _, s := range e.secrets {
		msg = strings.ReplaceAll(msg, s, "REDACTED")
	}
	return msg
}

func (e *scrubbedError) Unwrap() error { return e.err }
