package reportfile

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/useitcloud/uicctl/internal/atomicfile"
)

// Kind is a kind of report: its name for messages, an example file name for the hint, and
// how to recognise a file of the kind, so that a report replaces only an earlier report.
type Kind struct {
	Name    string // "JUnit report"
	Example string // "verify.xml"
	Is      func(content []byte) bool
}

// JUnit is verify --junit's file: XML whose root element is testsuites or testsuite.
var JUnit = Kind{Name: "JUnit report", Example: "junit.xml", Is: func(b []byte) bool {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local == "testsuites" || se.Name.Local == "testsuite"
		}
	}
}}

// Plan is plan --out's file: a JSON object with the plan's format marker and its tenants.
var Plan = Kind{Name: "plan file", Example: "plan.json", Is: func(b []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(b, &top) != nil {
		return false
	}
	_, v := top["format_version"]
	_, t := top["tenants"]
	return v && t
}}

// RefusedError is a report path that names a file uicctl must not replace.
type RefusedError struct {
	Path string
	Kind Kind
	What string // "it is a partner.yaml", ...
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refusing to write the %s to %s: %s", e.Kind.Name, e.Path, e.What)
}

// Hint says where a report may go.
func (e *RefusedError) Hint() string {
	return fmt.Sprintf("name a new file (e.g. %s) or an earlier %s; uicctl never replaces specs, secrets files, .sops.yaml or other files with a report", e.Kind.Example, e.Kind.Name)
}

// Check returns a *RefusedError when path must not receive a report of kind, and nil when
// it may (it does not exist, is empty, or is an earlier report of the kind). Commands call
// it before they do their work, so a mistyped path fails fast.
func Check(path string, kind Kind) error {
	refuse := func(what string) error { return &RefusedError{Path: path, Kind: kind, What: what} }
	switch filepath.Base(path) {
	case "partner.yaml":
		return refuse("it is a partner.yaml")
	case ".sops.yaml", ".sops.yml":
		return refuse("it is the sops configuration")
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return checkNamedSecrets(path, refuse)
	}
	if err != nil {
		return fmt.Errorf("cannot write the %s to %s: %w", kind.Name, path, err)
	}
	if !fi.Mode().IsRegular() {
		return refuse("it is not a regular file")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cannot write the %s to %s: %w", kind.Name, path, err)
	}
	if sopsEncrypted(b) {
		return refuse("it is a sops-encrypted file")
	}
	if err := checkNamedSecrets(path, refuse); err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 || kind.Is(b) {
		return nil
	}
	return refuse("it exists and is not a " + kind.Name)
}

// Write checks path (Check) and replaces it with data atomically.
func Write(path string, kind Kind, data []byte) error {
	if err := Check(path, kind); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("cannot write the %s: %w", kind.Name, err)
	}
	return nil
}

// sopsEncrypted reports whether b is a sops file: YAML or JSON with sops metadata at the top.
func sopsEncrypted(b []byte) bool {
	var top struct {
		Sops map[string]any `yaml:"sops" json:"sops"`
	}
	if json.Unmarshal(b, &top) == nil && top.Sops != nil {
		return true
	}
	top.Sops = nil
	return yaml.Unmarshal(b, &top) == nil && top.Sops != nil
}

// checkNamedSecrets refuses path when the partner.yaml in its folder names it as its
// secrets file (encrypted or not yet: a plain secrets file holds the values in clear).
func checkNamedSecrets(path string, refuse func(string) error) error {
	dir := filepath.Dir(path)
	b, err := os.ReadFile(filepath.Join(dir, "partner.yaml"))
	if err != nil {
		return nil
	}
	var p struct {
		Secrets string `yaml:"secrets"`
	}
	if yaml.Unmarshal(b, &p) != nil || p.Secrets == "" {
		return nil
	}
	if same(filepath.Join(dir, filepath.FromSlash(p.Secrets)), path) {
		return refuse("it is the secrets file of " + filepath.Join(dir, "partner.yaml"))
	}
	return nil
}

func same(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}
