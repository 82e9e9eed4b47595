package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that no input panics the loader, that a refused spec always says why
// with a position inside the file, and that an accepted one is complete.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("../../testdata/corpus/*/*/partner.yaml")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(minimal))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, diags := Parse("partner.yaml", data)
		// YAML breaks lines at \n, \r and the Unicode line separators: count every one as an
		// upper bound.
		lines := 1
		for _, sep := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
			lines += strings.Count(string(data), sep)
		}
		for _, d := range diags {
			if d.Message == "" || d.File != "partner.yaml" {
				t.Fatalf("diagnostic without message or file: %+v", d)
			}
			if d.Line < 0 || d.Line > lines+1 {
				t.Fatalf("diagnostic line %d outside a %d-line file: %+v", d.Line, lines, d)
			}
		}
		if p == nil && !hasErrors(diags) {
			t.Fatalf("refused without an error: %v", diags)
		}
		if p != nil && (p.Name == "" || p.TenantID == "" || p.Application.ClientSecret.Lifetime <= p.Application.ClientSecret.RenewBefore) {
			t.Fatalf("accepted an incomplete spec: %+v", p)
		}
	})
}
