package github

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// Webhook delivery headers.
const (
	HeaderEvent     = "X-GitHub-Event"
	HeaderDelivery  = "X-GitHub-Delivery"
	HeaderSignature = "X-Hub-Signature-256"
)

// Signature errors. Both mean the delivery must be rejected.
var (
	ErrNoSignature  = errors.New("missing " + HeaderSignature + " header")
	ErrBadSignature = errors.New(HeaderSignature + " does not match the payload")
	ErrNoSecret     = errors.New("no webhook secret configured")
)

// Sign returns the X-Hub-Signature-256 value GitHub sends for body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// ErrMalformedSignature means the signature header is not sha256= and 64
// hex digits, so no payload can match it. It is also an ErrBadSignature.
var ErrMalformedSignature error = malformedSignature{}

type malformedSignature struct{}

func (malformedSignature) Error() string {
	return HeaderSignature + " is malformed: want sha256= followed by 64 hex digits"
}

func (malformedSignature) Is(target error) bool { return target == ErrBadSignature }

// CheckSignatureFormat checks that header (the X-Hub-Signature-256 value)
// is well-formed, without the payload: a server can refuse a malformed or
// missing signature before reading the body.
func CheckSignatureFormat(header string) error {
	_, err := parseSignature(header)
	return err
}

func parseSignature(header string) ([]byte, error) {
	if header == "" {
		return nil, ErrNoSignature
	}
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok || len(hexSig) != 2*sha256.Size {
		return nil, ErrMalformedSignature
	}
	sig, err := hex.DecodeString(hexSig)
	if err != nil {
		return nil, ErrMalformedSignature
	}
	return sig, nil
}

// VerifySignature checks header (the X-Hub-Signature-256 value) against
// the HMAC-SHA256 of body with secret, in constant time. An empty secret is
// an error, never a pass: unsigned deliveries are not accepted.
func VerifySignature(secret, body []byte, header string) error {
	if len(secret) == 0 {
		return ErrNoSecret
	}
	got, err := parseSignature(header)
	if err != nil {
		return err
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}
