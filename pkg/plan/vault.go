package plan

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/useitcloud/uicctl/pkg/spec"
)

// ObjVaultSecret is one credential delivered to the tenant's Key Vault.
const ObjVaultSecret = "vaultSecret"

// VaultContentType is the contentType of every secret uicctl delivers.
const VaultContentType = "text/plain"

// VaultWant is what one vault secret should be: its attributes (never its value, which
// pkg/keyvault compares in memory).
type VaultWant struct {
	Key, Name string
	// Available is false while the secrets file does not hold the value yet (no refresh
	// token before consent).
	Available   bool
	ContentType string
	Tags        map[string]string
	Expires     time.Time // zero: no exp
}

// VaultWants are the four secrets a tenant's vault should hold, from the spec and the
// secrets file's metadata. Tags carry identifiers and dates, never anything derived from a
// value (not even a hash).
func VaultWants(p *spec.Partner, s Secrets) []VaultWant {
	if p.Delivery == nil || p.Delivery.KeyVault == nil {
		return nil
	}
	names := p.Delivery.KeyVault.Names
	var out []VaultWant
	for _, k := range spec.VaultKeys {
		w := VaultWant{Key: k, Name: names.Name(k), ContentType: VaultContentType,
			Tags: map[string]string{"managedBy": "uicctl", "tenant": p.Name, "credential": k}}
		switch k {
		case "tenantId":
			w.Available = true
		case "clientId":
			w.Available = s.ClientID != ""
		case "clientSecret":
			w.Available = s.SecretKeyID != ""
			if w.Available {
				w.Tags["keyId"] = s.SecretKeyID
				w.Expires = s.SecretEnd.UTC()
			}
		case "refreshToken":
			w.Available = s.HasRefreshToken
			if w.Available && !s.TokenIssued.IsZero() {
				w.Tags["issuedAt"] = s.TokenIssued.UTC().Format(time.RFC3339)
			}
		}
		out = append(out, w)
	}
	return out
}

// Vault is what was observed of the tenant's vault.
type Vault struct {
	URL     string
	Secrets []VaultSecret
}

// VaultSecret is the latest version of one vault secret as observed, compared with the
// secrets file in memory: ValueDiffers says whether they differ, never what either is.
type VaultSecret struct {
	Key, Name    string
	Found        bool
	Version      string
	ValueDiffers bool
	Enabled      bool
	Expires      time.Time
	ContentType  string
	Tags         map[string]string
}

// shortVersion is how a plan names a version: its first four hex digits.
func shortVersion(v string) string {
	if len(v) > 4 {
		return v[:4] + "…"
	}
	return v
}

// vault plans one change per vault secret: create, update (the value differs, or this
// apply makes a new client secret), attribute drift, or nothing to do yet.
func (c *computer) vault(obs *Vault) {
	wants := VaultWants(c.p, c.s)
	if len(wants) == 0 {
		return
	}
	byKey := map[string]VaultSecret{}
	if obs != nil {
		for _, v := range obs.Secrets {
			byKey[v.Key] = v
		}
	}
	newSecret, newApp := false, c.o.App == nil
	for _, ch := range c.out {
		if ch.Object == ObjClientSecret && (ch.Action == Create || ch.Action == Replace) {
			newSecret = true
		}
	}
	for _, w := range wants {
		addr := "vaultSecret[" + w.Key + "]"
		live, ok := byKey[w.Key]
		found := ok && live.Found
		pending := func(action Action, reason string, fields []FieldChange) {
			c.add(Change{Object: ObjVaultSecret, Address: addr, Action: action, Reason: reason, Fields: fields})
		}
		comesNow := (w.Key == "clientSecret" && newSecret) || (w.Key == "clientId" && newApp)
		switch {
		case !w.Available && !comesNow:
			if w.Key == "refreshToken" {
				c.add(Change{Object: ObjVaultSecret, Address: addr, Action: NoOp,
					Notes: []string{fmt.Sprintf("secret %s is written when uicctl consent stores a refresh token", w.Name)}})
			}
		case !found:
			reason := fmt.Sprintf("secret %s is not in the vault", w.Name)
			if comesNow {
				reason += "; it gets the value this apply creates"
			}
			pending(Create, reason, []FieldChange{{Path: "name", After: ptr(w.Name)}})
		case comesNow:
			pending(Update, fmt.Sprintf("a new version with the %s this apply creates (version %s in the vault until then)", keyWords(w.Key), shortVersion(live.Version)), nil)
		case live.ValueDiffers:
			pending(Update, fmt.Sprintf("value differs from the secrets file (version %s in the vault)", shortVersion(live.Version)), nil)
		case !live.Enabled:
			pending(Update, fmt.Sprintf("the latest version %s is disabled", shortVersion(live.Version)), nil)
		default:
			if fields := AttributeDrift(w, live); len(fields) > 0 {
				pending(Update, fmt.Sprintf("attributes of version %s differ from the secrets file", shortVersion(live.Version)), fields)
			}
		}
	}
}

func keyWords(key string) string {
	if key == "clientId" {
		return "client ID of the application"
	}
	return "client secret"
}

// AttributeDrift lists the attributes of the latest version that differ from the wanted
// ones: exp, contentType and the tags (identifiers and dates only).
func AttributeDrift(w VaultWant, live VaultSecret) []FieldChange {
	var out []FieldChange
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return "(none)"
		}
		return t.UTC().Format(time.RFC3339)
	}
	if !w.Expires.Equal(live.Expires) {
		out = append(out, FieldChange{Path: "exp", Before: ptr(stamp(live.Expires)), After: ptr(stamp(w.Expires))})
	}
	if w.ContentType != live.ContentType {
		out = append(out, FieldChange{Path: "contentType", Before: ptr(live.ContentType), After: ptr(w.ContentType)})
	}
	keys := slices.Sorted(maps.Keys(w.Tags))
	for k := range live.Tags {
		if _, ok := w.Tags[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		want, wok := w.Tags[k]
		have, hok := live.Tags[k]
		switch {
		case wok && !hok:
			out = append(out, FieldChange{Path: "tags." + k, After: ptr(want)})
		case !wok && hok:
			out = append(out, FieldChange{Path: "tags." + k, Before: ptr(have)})
		case want != have:
			out = append(out, FieldChange{Path: "tags." + k, Before: ptr(have), After: ptr(want)})
		}
	}
	return out
}
