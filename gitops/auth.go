package gitops

import (
	"fmt"
	"net/url"
	"os"
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
// reads an HTTPS token from $MERIDIAN_GIT_TOKEN and uses ssh-agent for SSH.
type AuthOptions struct {
	// Token is sent as the basic-auth password to HTTPS remotes. Empty
	// falls back to credentials in the URL, then to $TokenEnv.
	Token string
	// TokenEnv names the environment variable holding the token.
	// Empty means DefaultTokenEnv.
	TokenEnv string
	// Username goes with Token. Empty means DefaultTokenUsername.
	Username string

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

// Method returns the transport.AuthMethod for a Git URL: basic auth for
// HTTPS (Token, then the URL's userinfo, then $TokenEnv), public keys from
// SSHKeyFile or ssh-agent for SSH, and nil when there is nothing to send.
//
// Tokens from options or the environment go to https:// remotes only, never
// in clear text over http://; credentials written into the URL itself are
// honoured for both. Errors never contain the secrets.
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
			return &githttp.BasicAuth{Username: ep.User, Password: ep.Password}, nil
		}
		return nil, nil
	case "https":
		token := a.Token
		if token == "" && ep.User != "" {
			return &githttp.BasicAuth{Username: ep.User, Password: ep.Password}, nil
		}
		if token == "" {
			token = getenv(a.tokenEnv())
		}
		if token == "" {
			return nil, nil
		}
		user := a.Username
		if user == "" {
			user = DefaultTokenUsername
		}
		return &githttp.BasicAuth{Username: user, Password: token}, nil
	case "ssh":
		return a.sshMethod(ep, getenv)
	}
	return nil, nil
}

func (a AuthOptions) sshMethod(ep *transport.Endpoint, getenv func(string) string) (transport.AuthMethod, error) {
	user := ep.User
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

// RedactURL returns a Git URL fit for logs, error messages and cache keys:
// without a password, and for HTTP(S) without a username either, since a
// token often sits there (https://TOKEN@host/repo). SSH keeps its username,
// which is not a secret and selects the account. Anything that does not
// parse as a URL is returned unchanged unless it holds an "@", which is then
// cut down to what follows it.
func RedactURL(raw string) string {
	if !strings.Contains(raw, "://") {
		// scp-like user@host:path has no password field, and a path has no
		// userinfo at all.
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		// Unparseable: keep the scheme and what follows the last '@', which
		// drops any userinfo without needing to understand the rest.
		scheme, rest, _ := strings.Cut(raw, "://")
		if i := strings.LastIndexByte(rest, '@'); i >= 0 {
			rest = rest[i+1:]
		}
		return scheme + "://" + rest
	}
	if u.User != nil {
		if u.Scheme == "ssh" {
			u.User = url.User(u.User.Username())
		} else {
			u.User = nil
		}
	}
	return u.String()
}

// secretsOf lists what in a raw URL must never be shown.
func secretsOf(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return nil
	}
	p, _ := u.User.Password()
	out := []string{p, u.User.String()}
	if u.Scheme != "ssh" {
		out = append(out, u.User.Username())
	}
	return out
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
