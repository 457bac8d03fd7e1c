package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"

	"go.yaml.in/yaml/v3"
)

// yaml11Ambiguous matches plain scalars that YAML 1.1 parsers, such as the
// one Kubernetes and Argo CD use, would read as something other than a
// string (yes, on, 0755, 1e3, …). yaml.v3 writes YAML 1.2 and leaves them
// unquoted, so they are quoted here. Anything starting like a number is
// quoted, which is conservative and harmless.
var yaml11Ambiguous = regexp.MustCompile(`^(|~|[yYnN]|[yY]es|YES|[nN]o|NO|[tT]rue|TRUE|[fF]alse|FALSE|[oO]n|ON|[oO]ff|OFF|[nN]ull|NULL|[-+.0-9].*|<<|=)$`)

// marshalYAML renders v as a single YAML document: the key order of v's JSON
// encoding (struct field order, sorted map keys), two-space indentation,
// block style, and strings quoted wherever a YAML 1.1 reader could mistake
// them. The output depends only on v.
func marshalYAML(v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	var n yaml.Node
	if err := yaml.Unmarshal(j, &n); err != nil {
		return nil, fmt.Errorf("convert manifest to YAML: %w", err)
	}
	restyle(&n)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, fmt.Errorf("write manifest YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("write manifest YAML: %w", err)
	}
	return b.Bytes(), nil
}

// restyle drops the flow style that parsing JSON leaves on every node, so
// the encoder writes block YAML, and quotes ambiguous strings.
func restyle(n *yaml.Node) {
	n.Style = 0
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && yaml11Ambiguous.MatchString(n.Value) {
		n.Style = yaml.DoubleQuotedStyle
	}
	for _, c := range n.Content {
		restyle(c)
	}
}
