package keyvault

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// The snapshot is the vaults as the sandbox's state file keeps them: secret values and
// private keys included (the state file is the sandbox's own database, mode 0600), so a
// restart keeps what was delivered and what sops encrypted with a vault key decrypts.
type snapVault struct {
	Name     string              `json:"name"`
	TenantID string              `json:"tenantId"`
	Roles    map[string][]string `json:"roles"`
	Secrets  []snapSecret        `json:"secrets,omitempty"`
	Deleted  []snapDeleted       `json:"deleted,omitempty"`
	Keys     []snapKey           `json:"keys,omitempty"`
}

type snapSecret struct {
	Name     string        `json:"name"`
	Versions []snapVersion `json:"versions"`
}

type snapVersion struct {
	ID          string            `json:"id"`
	Value       string            `json:"value"`
	ContentType string            `json:"contentType,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Enabled     bool              `json:"enabled"`
	NBF         *time.Time        `json:"nbf,omitempty"`
	Exp         *time.Time        `json:"exp,omitempty"`
	Created     time.Time         `json:"created"`
	Updated     time.Time         `json:"updated"`
}

type snapDeleted struct {
	Secret     snapSecret `json:"secret"`
	Deleted    time.Time  `json:"deleted"`
	PurgeAfter time.Time  `json:"purgeAfter"`
}

type snapKey struct {
	Name     string           `json:"name"`
	Versions []snapKeyVersion `json:"versions"`
}

type snapKeyVersion struct {
	ID      string    `json:"id"`
	PKCS8   []byte    `json:"pkcs8,omitempty"` // absent: never used, made on first use
	Ops     []string  `json:"ops"`
	Enabled bool      `json:"enabled"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

func snapOf(s *secret) snapSecret {
	out := snapSecret{Name: s.name}
	for _, v := range s.versions {
		out.Versions = append(out.Versions, snapVersion{ID: v.id, Value: v.value, ContentType: v.contentType, Tags: v.tags,
			Enabled: v.enabled, NBF: v.nbf, Exp: v.exp, Created: v.created, Updated: v.updated})
	}
	return out
}

func (sn snapSecret) secret() *secret {
	s := &secret{name: sn.Name}
	for _, v := range sn.Versions {
		s.versions = append(s.versions, &secretVersion{id: v.ID, value: v.Value, contentType: v.ContentType, tags: v.Tags,
			enabled: v.Enabled, nbf: v.NBF, exp: v.Exp, created: v.Created, updated: v.Updated})
	}
	return s
}

// Snapshot returns every vault as JSON.
func (s *Service) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []snapVault
	for _, name := range slices.Sorted(maps.Keys(s.vaults)) {
		v := s.vaults[name]
		sv := snapVault{Name: v.name, TenantID: v.tenantID, Roles: v.roles}
		for _, n := range slices.Sorted(maps.Keys(v.secrets)) {
			sv.Secrets = append(sv.Secrets, snapOf(v.secrets[n]))
		}
		for _, n := range slices.Sorted(maps.Keys(v.deleted)) {
			d := v.deleted[n]
			sv.Deleted = append(sv.Deleted, snapDeleted{Secret: snapOf(d.s), Deleted: d.deleted, PurgeAfter: d.purgeAfter})
		}
		for _, n := range slices.Sorted(maps.Keys(v.keys)) {
			k := v.keys[n]
			sk := snapKey{Name: k.name}
			for _, kv := range k.versions {
				var der []byte
				if kv.priv != nil {
					var err error
					if der, err = x509.MarshalPKCS8PrivateKey(kv.priv); err != nil {
						return nil, err
					}
				}
				sk.Versions = append(sk.Versions, snapKeyVersion{ID: kv.id, PKCS8: der, Ops: kv.ops, Enabled: kv.enabled, Created: kv.created, Updated: kv.updated})
			}
			sv.Keys = append(sv.Keys, sk)
		}
		out = append(out, sv)
	}
	return json.Marshal(out)
}

// Restore replaces every vault with a snapshot's.
func (s *Service) Restore(b []byte) error {
	var in []snapVault
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	vaults := map[string]*vault{}
	for _, sv := range in {
		v := &vault{name: strings.ToLower(sv.Name), tenantID: sv.TenantID, roles: sv.Roles,
			secrets: map[string]*secret{}, deleted: map[string]*deletedSecret{}, keys: map[string]*key{}}
		if v.roles == nil {
			v.roles = map[string][]string{}
		}
		for _, ss := range sv.Secrets {
			v.secrets[strings.ToLower(ss.Name)] = ss.secret()
		}
		for _, d := range sv.Deleted {
			v.deleted[strings.ToLower(d.Secret.Name)] = &deletedSecret{s: d.Secret.secret(), deleted: d.Deleted, purgeAfter: d.PurgeAfter}
		}
		for _, sk := range sv.Keys {
			k := &key{name: sk.Name}
			for _, kv := range sk.Versions {
				ver := &keyVersion{id: kv.ID, ops: kv.Ops, enabled: kv.Enabled, created: kv.Created, updated: kv.Updated}
				if len(kv.PKCS8) > 0 {
					p, err := x509.ParsePKCS8PrivateKey(kv.PKCS8)
					rk, ok := p.(*rsa.PrivateKey)
					if err != nil || !ok {
						return fmt.Errorf("vault %s: key %s: bad private key", sv.Name, sk.Name)
					}
					ver.priv = rk
				}
				k.versions = append(k.versions, ver)
			}
			v.keys[strings.ToLower(sk.Name)] = k
		}
		vaults[v.name] = v
	}
	s.mu.Lock()
	s.vaults = vaults
	s.mu.Unlock()
	return nil
}

// Has reports whether a vault exists.
func (s *Service) Has(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.vaults[strings.ToLower(name)]
	return ok
}
