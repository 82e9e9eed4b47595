package spec

import (
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/useitcloud/uicctl/internal/scrub"
)

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
		// The shapes are scrub's: what it removes from service errors is what a spec must
		// not hold.
		if kind, ok := scrub.Shape(n.Value); ok {
			d.add(n, displayPath(path), "remove it from partner.yaml, revoke it if it was committed, and keep secrets in the sops secrets file (sops edit tenants/NAME/secrets.sops.yaml)", "value looks like %s", kind)
			return false
		}
	}
	return alias
}
