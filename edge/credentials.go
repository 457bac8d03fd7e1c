package edge

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// credentialPrefix marks site credentials, so that secret scanners find
// leaked ones and nobody mistakes one for an API token (mrd_).
const credentialPrefix = "mrde_"

// credentialPattern is what every credential looks like: the prefix and
// 256 random bits, base64url. A bearer that does not match is refused
// without a store read.
var credentialPattern = regexp.MustCompile(`^mrde_[A-Za-z0-9_-]{43}$`)

// sitePattern is a site name: a target name that is also safe in a URL
// path and an OPA partition name.
var sitePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$`)

// ValidSite reports whether site can name an edge site.
func ValidSite(site string) error {
	if !sitePattern.MatchString(site) {
		return meridian.Errorf(meridian.EINVALID, "site %q: want 1-63 lowercase letters, digits, '.', '_' or '-', starting and ending with a letter or digit", site)
	}
	return nil
}

// HashCredential is what the store keeps of a credential: its hex SHA-256.
// Credentials are 256 random bits; there is nothing to brute-force.
func HashCredential(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CredentialStore keeps credentials (store.EdgeSites).
type CredentialStore interface {
	CreateEdgeCredential(ctx context.Context, c store.EdgeCredential) error
}

// IssueCredential creates a new credential for site, registering the site
// when it is new, and returns the secret: it exists only in the return
// value. The site's earlier credentials keep working.
func IssueCredential(ctx context.Context, st CredentialStore, site, actor string, now time.Time) (store.EdgeCredential, string, error) {
	if err := ValidSite(site); err != nil {
		return store.EdgeCredential{}, "", err
	}
	var raw [32]byte
	var id [8]byte
	_, _ = rand.Read(raw[:]) // never fails (crypto/rand)
	_, _ = rand.Read(id[:])
	secret := credentialPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	c := store.EdgeCredential{ID: "ec_" + hex.EncodeToString(id[:]), Site: site, Hash: HashCredential(secret), CreatedBy: actor,
		CreatedAt: now.UTC().Truncate(time.Millisecond)}
	if err := st.CreateEdgeCredential(ctx, c); err != nil {
		return c, "", fmt.Errorf("issue credential: %w", err)
	}
	return c, secret, nil
}
