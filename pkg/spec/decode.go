package spec

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decoder walks a parsed partner.yaml and collects every problem instead of stopping at the
// first, so a consultant fixes a file in one go.
type decoder struct {
	file  string
	diags []Diagnostic
	pos   map[string]Pos // key path -> position of its value
	// kvNode is delivery.keyVault, for checks made once the whole file is read.
	kvNode *yaml.Node
}

func (d *decoder) add(n *yaml.Node, path, hint, format string, args ...any) {
	diag := Diagnostic{File: d.file, Path: path, Severity: SeverityError, Message: fmt.Sprintf(format, args...), Hint: hint}
	if n != nil {
		diag.Line, diag.Column = n.Line, n.Column
	}
	d.diags = append(d.diags, diag)
}

// field describes one key of a mapping.
type field struct {
	key    string
	decode func(v *yaml.Node, path string)
}

// mapping checks that n is a mapping, reports duplicate and unknown keys, and decodes the
// known ones. It returns the key nodes it saw, for callers that need a key's position.
func (d *decoder) mapping(n *yaml.Node, path string, fields []field) map[string]*yaml.Node {
	seen := map[string]*yaml.Node{}
	if isNull(n) {
		return seen
	}
	if n.Kind != yaml.MappingNode {
		d.add(n, displayPath(path), "write it as keys and values, one per line", "must be a mapping, not %s", describe(n))
		return seen
	}
	known := make(map[string]field, len(fields))
	names := make([]string, 0, len(fields))
	for _, f := range fields {
		known[f.key] = f
		names = append(names, f.key)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.add(k, displayPath(path), "keys are plain words such as name or tenantId", "a key must be a plain word, not %s", describe(k))
			continue
		}
		kp := join(path, k.Value)
		if prev, dup := seen[k.Value]; dup {
			d.add(k, kp, "remove one of them", "duplicate key %q (first at line %d)", k.Value, prev.Line)
			continue
		}
		seen[k.Value] = k
		if d.pos != nil {
			d.pos[kp] = Pos{Line: v.Line, Column: v.Column}
		}
		f, ok := known[k.Value]
		if !ok {
			d.add(k, kp, unknownHint(k.Value, names), "unknown key %q", k.Value)
			continue
		}
		f.decode(v, kp)
	}
	return seen
}

func unknownHint(key string, names []string) string {
	if s := closest(key, names); s != "" {
		return fmt.Sprintf("did you mean %q?", s)
	}
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	return "known keys here: " + strings.Join(sorted, ", ")
}

// closest returns the known key within a small edit distance of key, for typos.
func closest(key string, names []string) string {
	best, bestDist := "", 3
	for _, n := range names {
		if dist := editDistance(strings.ToLower(key), strings.ToLower(n)); dist < bestDist {
			best, bestDist = n, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// str decodes a string scalar. ok is false (and a diagnostic recorded) for anything else.
func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.add(n, path, "", "must be a string, not %s", describe(n))
		return "", false
	}
	if n.Tag != "!!str" && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
		d.add(n, path, "quote the value to make it a string", "must be a string, not %s", describe(n))
		return "", false
	}
	if strings.TrimSpace(n.Value) == "" {
		d.add(n, path, "", "must not be empty")
		return "", false
	}
	return n.Value, true
}

func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		d.add(n, path, "write true or false", "must be true or false, not %s", describe(n))
		return false, false
	}
	b, err := strconv.ParseBool(n.Value)
	if err != nil {
		d.add(n, path, "write true or false", "must be true or false, not %s", describe(n))
		return false, false
	}
	return b, true
}

// list decodes a sequence, calling item for each element with its indexed path.
func (d *decoder) list(n *yaml.Node, path string, item func(v *yaml.Node, path string)) bool {
	if n.Kind != yaml.SequenceNode {
		d.add(n, path, "write a list, such as [a, b] or one \"- item\" per line; [] for none", "must be a list, not %s", describe(n))
		return false
	}
	for i, v := range n.Content {
		item(v, fmt.Sprintf("%s[%d]", path, i))
	}
	return true
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// describe names a node's type for an error message without echoing its value, since a
// mistyped value could be a pasted secret.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.Tag {
	case "!!null":
		return "an empty value"
	case "!!bool":
		return "a boolean"
	case "!!int":
		return "a number"
	case "!!float":
		return "a number"
	case "!!str":
		return "a string"
	case "!!timestamp":
		return "a date"
	case "!!binary":
		return "binary data"
	}
	return "a " + strings.TrimPrefix(n.Tag, "!!") + " value"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func displayPath(path string) string {
	if path == "" {
		return "(document)"
	}
	return path
}
