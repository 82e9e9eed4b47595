package spec

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Delivery says where else the credentials go besides the secrets file.
type Delivery struct {
	// KeyVault, when set, receives the four credentials as Key Vault secrets.
	KeyVault *KeyVault `json:"keyVault,omitempty"`
}

// KeyVault is an Azure Key Vault the credentials are delivered to.
type KeyVault struct {
	// URL is the vault's https URL, normalised to https://HOST/.
	URL   string     `json:"url"`
	Names VaultNames `json:"names"`
}

// VaultNames are the names of the four secrets in the vault.
type VaultNames struct {
	TenantID     string `json:"tenantId"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	RefreshToken string `json:"refreshToken"`
}

// VaultKeys are the credentials a vault receives, in the order plans list them.
var VaultKeys = []string{"tenantId", "clientId", "clientSecret", "refreshToken"}

// Name returns the vault secret name of key (one of VaultKeys).
func (n VaultNames) Name(key string) string {
	switch key {
	case "tenantId":
		return n.TenantID
	case "clientId":
		return n.ClientID
	case "clientSecret":
		return n.ClientSecret
	case "refreshToken":
		return n.RefreshToken
	}
	return ""
}

// DefaultVaultNames are the names of a tenant's secrets when the spec names none:
// uic-<name>-tenant-id and so on.
func DefaultVaultNames(name string) VaultNames {
	return VaultNames{TenantID: "uic-" + name + "-tenant-id", ClientID: "uic-" + name + "-client-id",
		ClientSecret: "uic-" + name + "-client-secret", RefreshToken: "uic-" + name + "-refresh-token"}
}

// vaultSecretNamePattern: Key Vault secret names are 1-127 letters, digits and dashes
// (learn.microsoft.com/azure/key-vault/general/about-keys-secrets-certificates#objects-identifiers-and-versioning).
const vaultSecretNamePattern = `^[0-9A-Za-z-]{1,127}$`

var vaultSecretNameRE = regexp.MustCompile(vaultSecretNamePattern)

// vaultURLPattern is what the JSON Schema checks; the loader checks more (no path, query or
// user).
const vaultURLPattern = `^https://[A-Za-z0-9.-]+(:[0-9]+)?/?$`

// NormalizeVaultURL checks a vault URL and returns it as https://HOST/, or a message.
func NormalizeVaultURL(s string) (string, string) {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "":
		return "", "not a URL"
	case u.Scheme != "https":
		return "", "a vault URL must use https"
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/"):
		return "", "a vault URL is only https://NAME.vault.azure.net/, without path, query or user"
	}
	return "https://" + strings.ToLower(u.Host) + "/", ""
}

func (d *decoder) delivery(n *yaml.Node, kp string, p *Partner) {
	d.mapping(n, kp, []field{
		{"keyVault", func(v *yaml.Node, kp string) {
			kv := &KeyVault{}
			urlSet := false
			d.mapping(v, kp, []field{
				{"url", func(v *yaml.Node, kp string) {
					if s, ok := d.str(v, kp); ok {
						urlSet = true
						u, msg := NormalizeVaultURL(s)
						if msg != "" {
							d.add(v, kp, "the vault's URI from the portal (Overview > Vault URI), such as https://contoso-uic.vault.azure.net/", "%s", msg)
						}
						kv.URL = u
					}
				}},
				{"names", func(v *yaml.Node, kp string) {
					set := func(dst *string) func(v *yaml.Node, kp string) {
						return func(v *yaml.Node, kp string) {
							if s, ok := d.str(v, kp); ok {
								if !vaultSecretNameRE.MatchString(s) {
									d.add(v, kp, "1 to 127 letters, digits and dashes", "invalid Key Vault secret name")
								}
								*dst = s
							}
						}
					}
					d.mapping(v, kp, []field{
						{"tenantId", set(&kv.Names.TenantID)},
						{"clientId", set(&kv.Names.ClientID)},
						{"clientSecret", set(&kv.Names.ClientSecret)},
						{"refreshToken", set(&kv.Names.RefreshToken)},
					})
				}},
			})
			if !urlSet && v.Kind == yaml.MappingNode {
				d.add(v, kp+".url", "the vault's URI, such as https://contoso-uic.vault.azure.net/", "missing required key \"url\"")
			}
			p.Delivery = &Delivery{KeyVault: kv}
			d.kvNode = v
		}},
	})
}

// finishDelivery fills the default secret names (the tenant's name may come after the
// block) and checks that the four names differ.
func (d *decoder) finishDelivery(p *Partner) {
	if p.Delivery == nil || p.Delivery.KeyVault == nil {
		return
	}
	n, def := &p.Delivery.KeyVault.Names, DefaultVaultNames(p.Name)
	for _, f := range []struct {
		dst *string
		def string
	}{{&n.TenantID, def.TenantID}, {&n.ClientID, def.ClientID},
		{&n.ClientSecret, def.ClientSecret}, {&n.RefreshToken, def.RefreshToken}} {
		if *f.dst == "" {
			*f.dst = f.def
		}
	}
	seen := map[string]string{}
	for _, k := range VaultKeys {
		name := strings.ToLower(n.Name(k))
		if prev, dup := seen[name]; dup {
			at, path := d.kvNode, "delivery.keyVault.names."+k
			if pos, ok := d.pos[path]; ok {
				at = &yaml.Node{Line: pos.Line, Column: pos.Column}
			}
			d.add(at, path, "each credential needs its own secret name", "secret name %q is also used for %s", n.Name(k), prev)
		}
		seen[name] = k
	}
}

// vaultNameConflicts reports the vault secrets of p that another tenant of the fleet
// already delivers to the same vault: Key Vault names are case-insensitive.
func vaultNameConflicts(p *Partner, taken map[string]string) []string {
	if p.Delivery == nil || p.Delivery.KeyVault == nil {
		return nil
	}
	var out []string
	kv := p.Delivery.KeyVault
	for _, k := range VaultKeys {
		id := kv.URL + strings.ToLower(kv.Names.Name(k))
		if prev, dup := taken[id]; dup {
			out = append(out, fmt.Sprintf("delivery.keyVault.names.%s: secret %q of %s is also written by %s", k, kv.Names.Name(k), kv.URL, prev))
			continue
		}
		taken[id] = p.Name
	}
	return out
}
