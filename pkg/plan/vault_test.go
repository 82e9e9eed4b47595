package plan

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const vaultSpec = "delivery:\n  keyVault:\n    url: https://contoso-uic.vault.azure.net\n"

// vaultInSync is the vault that matches the secrets file of inSync: every secret present,
// the same value (as pkg/keyvault compares it), enabled, with the wanted attributes.
func vaultInSync(t *testing.T, s Secrets) *Vault {
	v := &Vault{URL: "https://contoso-uic.vault.azure.net/"}
	for _, w := range VaultWants(mustSpec(t, vaultSpec), s) {
		if !w.Available {
			continue
		}
		v.Secrets = append(v.Secrets, VaultSecret{Key: w.Key, Name: w.Name, Found: true, Version: "3f2a9c0e1d2b4a5f8e7d6c5b4a392817",
			Enabled: true, Expires: w.Expires, ContentType: w.ContentType, Tags: w.Tags})
	}
	return v
}

// TestVaultChanges: one item per vault secret, from what was observed; never a value.
func TestVaultChanges(t *testing.T) {
	tests := map[string]struct {
		reason string
		change func(v *Vault, s *Secrets)
		want   map[string]string // address -> action: reason (or the first field's path)
	}{
		"in sync": {reason: "nothing pending",
			change: func(*Vault, *Secrets) {},
			want:   map[string]string{}},
		"no refresh token yet": {reason: "the refresh token waits for consent: a note, not a change",
			change: func(v *Vault, s *Secrets) { s.HasRefreshToken = false; v.Secrets = v.Secrets[:3] },
			want:   map[string]string{"vaultSecret[refreshToken]": "no-op: "}},
		"missing": {reason: "a secret not in the vault is created",
			change: func(v *Vault, _ *Secrets) { v.Secrets[0].Found = false },
			want:   map[string]string{"vaultSecret[tenantId]": "create: secret uic-contoso-tenant-id is not in the vault"}},
		"value differs": {reason: "the vault's value differs from the file: named by the vault's version only",
			change: func(v *Vault, _ *Secrets) { v.Secrets[2].ValueDiffers = true },
			want:   map[string]string{"vaultSecret[clientSecret]": "update: value differs from the secrets file (version 3f2a… in the vault)"}},
		"disabled": {reason: "a disabled latest version is replaced by a new one",
			change: func(v *Vault, _ *Secrets) { v.Secrets[1].Enabled = false },
			want:   map[string]string{"vaultSecret[clientId]": "update: the latest version 3f2a… is disabled"}},
		"attribute drift": {reason: "exp and tags follow the file's end date and keyId",
			change: func(v *Vault, _ *Secrets) {
				v.Secrets[2].Expires = v.Secrets[2].Expires.Add(-24 * time.Hour)
				v.Secrets[2].Tags = map[string]string{"managedBy": "uicctl"}
			},
			want: map[string]string{"vaultSecret[clientSecret]": "update: attributes of version 3f2a… differ from the secrets file"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			obs, s := inSync()
			v := vaultInSync(t, s)
			tc.change(v, &s)
			tp, err := Compute(Input{Name: "contoso", Spec: mustSpec(t, vaultSpec), Secrets: s, Observed: obs, Vault: v, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, c := range tp.Changes {
				if c.Object == ObjVaultSecret {
					got[c.Address] = string(c.Action) + ": " + c.Reason
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

// TestVaultWantsCarryNoValue: the attributes uicctl sets name identifiers and dates only.
func TestVaultWantsCarryNoValue(t *testing.T) {
	_, s := inSync()
	s.HasRefreshToken, s.TokenIssued = true, now
	got := map[string]map[string]string{}
	for _, w := range VaultWants(mustSpec(t, vaultSpec), s) {
		got[w.Name] = w.Tags
	}
	want := map[string]map[string]string{
		"uic-contoso-tenant-id":     {"managedBy": "uicctl", "tenant": "contoso", "credential": "tenantId"},
		"uic-contoso-client-id":     {"managedBy": "uicctl", "tenant": "contoso", "credential": "clientId"},
		"uic-contoso-client-secret": {"managedBy": "uicctl", "tenant": "contoso", "credential": "clientSecret", "keyId": keyID},
		"uic-contoso-refresh-token": {"managedBy": "uicctl", "tenant": "contoso", "credential": "refreshToken", "issuedAt": "2026-11-26T12:00:00Z"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
}
