package meridian

import "fmt"

// EncryptionLevel orders key-management strength:
// none < provider-managed < customer-managed < hsm.
type EncryptionLevel int

// Encryption levels, weakest first.
const (
	EncryptionNone EncryptionLevel = iota
	EncryptionProviderManaged
	EncryptionCustomerManaged
	EncryptionHSM
)

var encryptionNames = [...]string{"none", "provider-managed", "customer-managed", "hsm"}

// String returns the config spelling.
func (l EncryptionLevel) String() string {
	if l < 0 || int(l) >= len(encryptionNames) {
		return fmt.Sprintf("EncryptionLevel(%d)", int(l))
	}
	return encryptionNames[l]
}

// ParseEncryptionLevel parses the config spelling.
func ParseEncryptionLevel(s string) (EncryptionLevel, error) {
	for i, n := range encryptionNames {
		if n == s {
			return EncryptionLevel(i), nil
		}
	}
	return 0, fmt.Errorf("must be one of none, provider-managed, customer-managed, hsm, got %q", s)
}

// MarshalText writes the config spelling.
func (l EncryptionLevel) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads the config spelling.
func (l *EncryptionLevel) UnmarshalText(b []byte) error {
	v, err := ParseEncryptionLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}
