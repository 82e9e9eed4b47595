package canary

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Prefix starts every canary, so a leak report is recognisable at a glance.
const Prefix = "uicctl-canary-"

// Set is the canaries one test planted. Safe for concurrent use.
type Set struct {
	mu     sync.Mutex
	values map[string]string // name -> value
}

// Plant makes a new canary for name (e.g. "clientSecret") and returns its value. The value
// looks like a client secret or token: long and random, with the "~", "+" and "/" real ones
// contain (so URL escaping changes it and the escaped form is checked separately).
func (s *Set) Plant(name string) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	v := Prefix + name + "-" + hex.EncodeToString(b) + "~Q+/"
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[string]string{}
	}
	s.values[name] = v
	return v
}

// Add records a value planted elsewhere.
func (s *Set) Add(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[string]string{}
	}
	s.values[name] = value
}

// Names lists the planted canaries' names, sorted.
func (s *Set) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n := range s.values {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Leak is one canary found where it must not be. It names the canary, never its value.
type Leak struct {
	Where string // "stdout", "stderr", a file path
	Name  string // which canary
	Form  string // "clear", "base64", "hex", ...
}

func (l Leak) String() string {
	return fmt.Sprintf("canary %q leaked into %s (%s)", l.Name, l.Where, l.Form)
}

// forms are the encodings a leaked secret commonly takes.
var forms = []struct {
	name   string
	encode func(string) string
}{
	{"clear", func(s string) string { return s }},
	{"base64", func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }},
	{"base64url", func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }},
	{"hex", func(s string) string { return hex.EncodeToString([]byte(s)) }},
	{"url-escaped", url.QueryEscape},
	{"quoted", func(s string) string { return fmt.Sprintf("%q", s) }},
}

// Scan returns the leaks in data, found in where.
func (s *Set) Scan(where string, data []byte) []Leak {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Leak
	for _, name := range sortedKeys(s.values) {
		v := s.values[name]
		for _, f := range forms {
			enc := f.encode(v)
			// base64 of a substring shifts with alignment; the first 12 characters of an
			// aligned encoding are enough to recognise the value without false positives.
			if f.name == "base64" || f.name == "base64url" {
				enc = enc[:12]
			}
			if bytes.Contains(data, []byte(enc)) || (f.name == "hex" && bytes.Contains(bytes.ToLower(data), []byte(enc))) {
				out = append(out, Leak{Where: where, Name: name, Form: f.name})
				break
			}
		}
	}
	return out
}

// ScanDir scans every regular file under root, except those for which skip returns true
// (paths relative to root, slash-separated). Files that are sops-encrypted need no
// exception: their secret values are ciphertext, and a value left in clear is a leak.
func (s *Set) ScanDir(root string, skip func(rel string) bool) ([]Leak, error) {
	var out []Leak
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if skip != nil && skip(rel) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, s.Scan(rel, b)...)
		return nil
	})
	return out, err
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Report joins leaks into one message.
func Report(leaks []Leak) string {
	var b strings.Builder
	for _, l := range leaks {
		b.WriteString(l.String())
		b.WriteString("\n")
	}
	return b.String()
}

// Check fails t once per leak found in outputs (name -> content, e.g. "stdout") and in the
// files under dirs (the except paths are relative to their dir, slash-separated). It is the
// one-call form for Go tests that run a command in-process.
func (s *Set) Check(t testing.TB, outputs map[string]string, dirs []string, except ...string) {
	t.Helper()
	skip := map[string]bool{}
	for _, e := range except {
		skip[e] = true
	}
	var leaks []Leak
	for _, name := range sortedKeys(outputs) {
		leaks = append(leaks, s.Scan(name, []byte(outputs[name]))...)
	}
	for _, d := range dirs {
		ls, err := s.ScanDir(d, func(rel string) bool { return skip[rel] })
		if err != nil {
			t.Errorf("canary: scanning %s: %v", d, err)
		}
		leaks = append(leaks, ls...)
	}
	for _, l := range leaks {
		t.Error(l.String())
	}
}
