package sqlstore

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
)

// Plan documents and Terraform's show JSON are stored gzip-compressed:
// they are JSON of a few shapes repeated for every workload and target,
// which gzip shrinks about tenfold (docs/store.md has the figures). gzip
// rather than a faster codec because it is in the standard library and
// every database tool can read it back.

// compress returns b gzip-compressed, or nil for an empty b.
func compress(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var buf bytes.Buffer
	buf.Grow(len(b) / 8)
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	return buf.Bytes(), nil
}

// stored is a JSON column pair as read: the text of rows saved before
// compression, or the compressed bytes of newer ones (size: the length
// uncompressed). It returns the JSON, or nil when both are empty.
func stored(text string, gz []byte, size int64) ([]byte, error) {
	if len(gz) == 0 {
		if text == "" {
			return nil, nil
		}
		return []byte(text), nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	var buf bytes.Buffer
	buf.Grow(int(min(max(size, 0), 1<<30)))
	if _, err := io.Copy(&buf, zr); err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	return buf.Bytes(), nil
}
