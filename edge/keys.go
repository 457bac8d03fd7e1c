package edge

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// SigningAlgorithm is the JWS algorithm of the bundles' signatures: ECDSA
// P-256, whose keys are small enough to sit inline in an agent config.
const SigningAlgorithm = "ES256"

// KeyFile is where the signing key is generated under the state dir when
// the operator gives none.
const KeyFile = "edge/bundle-signing-key.pem"

// Key signs bundles. Only the server holds the private half; sites get
// PublicPEM.
type Key struct {
	// ID names the key in signatures and in the agents' keys section: it
	// is derived from the public key, so a new key gets a new ID.
	ID         string
	PrivatePEM string
	PublicPEM  string
}

// LoadKey reads the ECDSA P-256 private key in PEM (PKCS #8 or SEC 1) at
// path. With create, a missing file is generated (mode 0600, its folder
// 0700) rather than an error: the server's first start makes its key.
func LoadKey(path string, create bool) (*Key, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		return generateKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("bundle signing key: %w", err)
	}
	k, err := parseKey(b)
	if err != nil {
		return nil, fmt.Errorf("bundle signing key %s: %w", path, err)
	}
	return k, nil
}

func generateKey(path string) (*Key, error) {
	pk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate bundle signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(pk)
	if err != nil {
		return nil, fmt.Errorf("generate bundle signing key: %w", err)
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("bundle signing key: %w", err)
	}
	// O_EXCL: of two processes making the key at once, one wins and the
	// other reads the winner's key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadKey(path, false)
	}
	if err != nil {
		return nil, fmt.Errorf("bundle signing key: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, fmt.Errorf("write bundle signing key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write bundle signing key %s: %w", path, err)
	}
	return parseKey(b)
}

func parseKey(b []byte) (*Key, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var pk any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		pk, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		pk, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block is %q, want an ECDSA P-256 PRIVATE KEY", block.Type)
	}
	if err != nil {
		return nil, err
	}
	ec, ok := pk.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("want an ECDSA P-256 key for %s, got %T", SigningAlgorithm, pk)
	}
	der, err := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	// The private key is re-encoded as PKCS #8, which OPA's signer reads.
	priv, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		return nil, err
	}
	return &Key{ID: "meridian-" + hex.EncodeToString(sum[:6]),
		PrivatePEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv})),
		PublicPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}, nil
}
