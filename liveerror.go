package meridian

import (
	"errors"
	"fmt"
)

// LiveReadError is one service of a cloud account that an inventory reader
// could not list (permission denied, throttled past its retries, an
// unreachable endpoint). Readers return the resources they did read
// together with one LiveReadError per failed service, joined: what they
// return for the listed Kinds is incomplete, so an audit must not report
// those kinds as "declared but missing" for that account.
type LiveReadError struct {
	Provider Provider
	// Account is the AWS account, Azure subscription or GCP project.
	Account string
	// Service names the API that failed, as the provider calls it
	// (cloudkms, Microsoft.KeyVault, s3).
	Service string
	// Kinds are the Live* kinds whose listing is incomplete.
	Kinds []string
	Err   error
}

func (e *LiveReadError) Error() string {
	return fmt.Sprintf("%s inventory of %s: %s: %v", e.Provider, e.Account, e.Service, e.Err)
}

func (e *LiveReadError) Unwrap() error { return e.Err }

// LiveReadErrors returns every *LiveReadError in err's tree, including
// those joined with errors.Join or wrapped with %w, in order.
func LiveReadErrors(err error) []*LiveReadError {
	switch x := err.(type) {
	case nil:
		return nil
	case *LiveReadError:
		return []*LiveReadError{x}
	case interface{ Unwrap() []error }:
		var out []*LiveReadError
		for _, inner := range x.Unwrap() {
			out = append(out, LiveReadErrors(inner)...)
		}
		return out
	default:
		return LiveReadErrors(errors.Unwrap(err))
	}
}
