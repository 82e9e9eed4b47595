package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const header = "apiVersion: uicctl/v1\nkind: Partner\nname: contoso\ntenantId: 6f0e3c3a-1b2c-4d5e-8f90-123456789abc\n"

// TestDelivery: delivery.keyVault with its defaults, and each mistake at its position.
func TestDelivery(t *testing.T) {
	tests := map[string]struct {
		reason string
		yaml   string
		want   *KeyVault
		diags  []string // "line:col path: message"
	}{
		"defaults": {reason: "the names default to uic-<name>-..., the URL is normalised",
			yaml: "delivery:\n  keyVault:\n    url: https://Contoso-UIC.vault.azure.net\n",
			want: &KeyVault{URL: "https://contoso-uic.vault.azure.net/", Names: DefaultVaultNames("contoso")}},
		"names": {reason: "a name given replaces its default only",
			yaml: "delivery:\n  keyVault:\n    url: https://contoso-uic.vault.azure.net/\n    names:\n      refreshToken: UIC-RT\n",
			want: &KeyVault{URL: "https://contoso-uic.vault.azure.net/", Names: VaultNames{TenantID: "uic-contoso-tenant-id",
				ClientID: "uic-contoso-client-id", ClientSecret: "uic-contoso-client-secret", RefreshToken: "UIC-RT"}}},
		"http": {reason: "a vault is reached over https only",
			yaml:  "delivery:\n  keyVault:\n    url: http://contoso-uic.vault.azure.net/\n",
			diags: []string{"7:10 delivery.keyVault.url: a vault URL must use https"}},
		"path": {reason: "the URL is the vault's, not a secret's",
			yaml:  "delivery:\n  keyVault:\n    url: https://contoso-uic.vault.azure.net/secrets/x\n",
			diags: []string{"7:10 delivery.keyVault.url: a vault URL is only https://NAME.vault.azure.net/, without path, query or user"}},
		"bad name": {reason: "Key Vault names are letters, digits and dashes",
			yaml:  "delivery:\n  keyVault:\n    url: https://v.vault.azure.net/\n    names:\n      clientSecret: client_secret\n",
			diags: []string{"9:21 delivery.keyVault.names.clientSecret: invalid Key Vault secret name"}},
		"same name twice": {reason: "two credentials cannot share a secret (names compare case-insensitively)",
			yaml:  "delivery:\n  keyVault:\n    url: https://v.vault.azure.net/\n    names:\n      clientSecret: UIC-CONTOSO-CLIENT-ID\n",
			diags: []string{`9:21 delivery.keyVault.names.clientSecret: secret name "UIC-CONTOSO-CLIENT-ID" is also used for clientId`}},
		"no url": {reason: "the URL is required in the block",
			yaml:  "delivery:\n  keyVault:\n    names:\n      tenantId: x\n",
			diags: []string{`7:5 delivery.keyVault.url: missing required key "url"`}},
		"unknown key": {reason: "unknown keys are errors, as everywhere",
			yaml:  "delivery:\n  keyVault:\n    url: https://v.vault.azure.net/\n    vault: x\n",
			diags: []string{`8:5 delivery.keyVault.vault: unknown key "vault"`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, diags := Parse("partner.yaml", []byte(header+tc.yaml))
			var got []string
			for _, d := range diags {
				got = append(got, fmt.Sprintf("%d:%d %s: %s", d.Line, d.Column, d.Path, d.Message))
			}
			if diff := cmp.Diff(tc.diags, got); diff != "" {
				t.Fatalf("%s: diagnostics (-want +got):\n%s", tc.reason, diff)
			}
			if tc.want != nil {
				if diff := cmp.Diff(tc.want, p.Delivery.KeyVault); diff != "" {
					t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
				}
			}
		})
	}
}

// TestDeliveryNamesUniquePerVault: two tenants may not write the same secret of one vault.
func TestDeliveryNamesUniquePerVault(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i, name := range []string{"contoso", "fabrikam"} {
		f := filepath.Join(dir, name, "partner.yaml")
		os.MkdirAll(filepath.Dir(f), 0o755)
		y := fmt.Sprintf("apiVersion: uicctl/v1\nkind: Partner\nname: %s\ntenantId: 6f0e3c3a-1b2c-4d5e-8f90-00000000000%d\n"+
			"delivery:\n  keyVault:\n    url: https://shared.vault.azure.net/\n    names:\n      tenantId: uic-tenant-id\n", name, i)
		os.WriteFile(f, []byte(y), 0o644)
		files = append(files, f)
	}
	fl := LoadFleet(files, 2)
	if fl.Errors() != 1 {
		t.Fatalf("want one error, got %v", fl.Diagnostics)
	}
	d := fl.Diagnostics[0]
	want := `secret "uic-tenant-id" of https://shared.vault.azure.net/ is also written by contoso`
	if d.File != files[1] || d.Path != "delivery.keyVault.names.tenantId" || d.Message != want || d.Line != 9 {
		t.Errorf("got %s:%d %s: %s, want %s:9 delivery.keyVault.names.tenantId: %s", d.File, d.Line, d.Path, d.Message, files[1], want)
	}
}
