package spec

import (
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// secretShapes are the forms a pasted credential takes. A match is reported by position and
// kind only: the value itself is never repeated.
var secretShapes = []struct {
	kind string
	re   *regexp.Regexp
}{
	// Entra client secrets since 2021: three characters, a digit, "Q~", then 31-34 more.
	{"an Entra client secret", regexp.MustCompile(`^[A-Za-z0-9_\-.~]{3}[0-9]Q~[A-Za-z0-9_\-.~]{31,34}$`)},
	// A JWT (access or ID token).
	{"a token", regexp.MustCompile(`^eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.`)},
	// Entra v2 refresh tokens start with "0.A" or "1.A" and run to hundreds of characters.
	{"a refresh token", regexp.MustCompile(`^[01]\.A[A-Za-z0-9_\-.*]{80,}$`)},
	{"an age private key", regexp.MustCompile(`^AGE-SECRET-KEY-1[0-9A-Z]{58}$`)},
	{"a private key", regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`)},
}

// scanSecrets reports every scalar that looks like a credential (partner.yaml is reviewed in
// pull requests, so a secret pasted into it is a leak waiting to happen) and every alias
// (refused: an alias bomb expands beyond any bound, and specs gain nothing from them). It
// reports whether it found an alias.
func (d *decoder) scanSecrets(n *yaml.Node, path string) (alias bool) {
	switch n.Kind {
	case yaml.AliasNode:
		d.add(n, displayPath(path), "write the value out in full", "YAML aliases are not allowed in partner.yaml")
		return true
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			p := path
			if n.Kind == yaml.SequenceNode {
				p = path + "[" + strconv.Itoa(i) + "]"
			}
			alias = d.scanSecrets(c, p) || alias
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			alias = d.scanSecrets(n.Content[i+1], join(path, n.Content[i].Value)) || alias
		}
	case yaml.ScalarNode:
		for _, s := range secretShapes {
			if s.re.MatchString(n.Value) {
				d.add(n, displayPath(path), "remove it from partner.yaml, revoke it if it was committed, and keep secrets in the sops secrets file (sops edit tenants/NAME/secrets.sops.yaml)", "value looks like %s", s.kind)
				return false
			}
		}
	}
	return alias
}
