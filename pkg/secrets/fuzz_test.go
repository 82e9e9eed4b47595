package secrets

import (
	"strings"
	"testing"
)

// FuzzParseNeverEchoes feeds arbitrary files to the keyless parser: it must not panic, and
// no error may quote the marker the input contains (it stands for a secret pasted in the
// wrong place).
func FuzzParseNeverEchoes(f *testing.F) {
	const marker = "Zq7SECRETxK"
	for _, seed := range []string{
		"clientSecret:\n  value: " + marker + "\n",
		"a: *" + marker + "\n",
		"a: &" + marker + " x\nb: *" + marker + "x\n",
		"!!" + marker + " x\n",
		"a: !" + marker + " b\n",
		"%TAG ! " + marker + "\n--- x\n",
		"{" + marker + ": [1, 2\n",
		"a: \"" + marker + "\\q\"\n",
		"- " + marker + "\n",
		marker + ":\n  - a\n  b: c\n",
		"sops: " + marker + "\n",
		"sops:\n  mac: " + marker + "\n  age: " + marker + "\n",
		"a: 1\na: " + marker + "\nsops: {}\n",
		marker + ": 1\n" + marker + ": 2\nsops: {}\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if !strings.Contains(in, marker) {
			return
		}
		_, err := parse("f.yaml", "/nonexistent/f.yaml", []byte(in))
		if err != nil && strings.Contains(err.Error(), marker) {
			t.Fatalf("error quotes the input: %v", err)
		}
	})
}
