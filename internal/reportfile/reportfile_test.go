package reportfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	const junit = `<?xml version="1.0" encoding="UTF-8"?>` + "\n<testsuites tests=\"1\"></testsuites>\n"
	const planFile = `{"format_version":"1","tenants":[],"summary":{}}`
	tests := map[string]struct {
		reason  string
		path    string // relative to the fleet folder
		kind    Kind
		refused bool
	}{
		"new file":        {reason: "nothing to lose", path: "out/verify.xml", kind: JUnit},
		"earlier junit":   {reason: "a report replaces the previous one", path: "old.xml", kind: JUnit},
		"earlier plan":    {reason: "recognised by its format marker", path: "plan.json", kind: Plan},
		"empty":           {reason: "an empty file (mktemp) holds nothing", path: "empty", kind: Plan},
		"spec":            {reason: "a partner.yaml", path: "tenants/x/partner.yaml", kind: JUnit, refused: true},
		"new spec name":   {reason: "a report named partner.yaml would become a spec", path: "tenants/y/partner.yaml", kind: Plan, refused: true},
		"secrets":         {reason: "a sops-encrypted file", path: "tenants/x/secrets.sops.yaml", kind: JUnit, refused: true},
		"secrets json":    {reason: "a sops-encrypted JSON file", path: "tenants/x/other.sops.json", kind: Plan, refused: true},
		"plain secrets":   {reason: "the file partner.yaml names, though not encrypted yet", path: "tenants/z/creds.yaml", kind: Plan, refused: true},
		"missing secrets": {reason: "where partner.yaml's secrets file goes", path: "tenants/z/../z/creds.yaml", kind: JUnit, refused: true},
		"sops config":     {reason: ".sops.yaml", path: ".sops.yaml", kind: JUnit, refused: true},
		"other file":      {reason: "a file that is not a report of the kind", path: "README.md", kind: JUnit, refused: true},
		"plan onto junit": {reason: "a JUnit report is not a plan file", path: "old.xml", kind: Plan, refused: true},
		"junit onto plan": {reason: "a plan file is not a JUnit report", path: "plan.json", kind: JUnit, refused: true},
		"folder":          {reason: "a folder", path: "tenants", kind: JUnit, refused: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{
				"tenants/x/partner.yaml":      "apiVersion: uicctl/v1\nsecrets: secrets.sops.yaml\n",
				"tenants/x/secrets.sops.yaml": "clientSecret:\n  value: ENC[AES256_GCM,data:abc]\nsops:\n  mac: ENC[x]\n",
				"tenants/x/other.sops.json":   `{"a":"ENC[x]","sops":{"mac":"x"}}`,
				"tenants/z/partner.yaml":      "secrets: creds.yaml\n",
				"tenants/z/creds.yaml":        "clientSecret:\n  value: clear\n",
				".sops.yaml":                  "creation_rules: []\n",
				"README.md":                   "# fleet\n",
				"old.xml":                     junit,
				"plan.json":                   planFile,
				"empty":                       "",
			}
			if tc.path == "tenants/z/../z/creds.yaml" {
				delete(files, "tenants/z/creds.yaml")
			}
			for p, c := range files {
				os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
				if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(dir, tc.path)
			before, _ := os.ReadFile(path)
			data := []byte(junit)
			if tc.kind.Name == Plan.Name {
				data = []byte(planFile)
			}
			err := Write(path, tc.kind, data)
			var re *RefusedError
			if got := errors.As(err, &re); got != tc.refused {
				t.Fatalf("%s: refused = %v (err %v), want %v", tc.reason, got, err, tc.refused)
			}
			after, _ := os.ReadFile(path)
			switch {
			case tc.refused && string(after) != string(before):
				t.Errorf("%s: refused, yet the file changed", tc.reason)
			case !tc.refused && string(after) != string(data):
				t.Errorf("%s: report not written: %q", tc.reason, after)
			}
		})
	}
}
