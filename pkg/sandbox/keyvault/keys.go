package keyvault

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"
)

type keyVersion struct {
	id               string
	priv             *rsa.PrivateKey // made on first use: 2048-bit generation is slow
	ops              []string
	enabled          bool
	created, updated time.Time
}

// defaultKeyOps are the operations of an RSA key created without key_ops.
var defaultKeyOps = []string{"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"}

// CreateKey adds a new version of RSA key name to a vault (the sandbox's own set-up; the
// REST create is createKey) and returns its kid.
func (s *Service) CreateKey(vaultName, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vaults[strings.ToLower(vaultName)]
	if !ok {
		return "", fmt.Errorf("no vault %q", vaultName)
	}
	k := v.newKeyVersion(name, nil, s.o.Now())
	return "https://" + Host(v.name) + "/keys/" + k.name + "/" + k.versions[len(k.versions)-1].id, nil
}

func (v *vault) newKeyVersion(name string, ops []string, now time.Time) *key {
	k := v.keys[strings.ToLower(name)]
	if k == nil {
		k = &key{name: name}
		v.keys[strings.ToLower(name)] = k
	}
	if len(ops) == 0 {
		ops = defaultKeyOps
	}
	now = now.UTC().Truncate(time.Second)
	k.versions = append(k.versions, &keyVersion{id: newID(), ops: slices.Clone(ops), enabled: true, created: now, updated: now})
	return k
}

type createKeyBody struct {
	Kty     string   `json:"kty"`
	KeySize *int     `json:"key_size"`
	KeyOps  []string `json:"key_ops"`
}

// createKey is POST /keys/{name}/create: RSA only (the sandbox's vaults hold software keys).
func (h *handler) createKey(name string) {
	if h.badName(name) {
		return
	}
	var body createKeyBody
	if !h.readBody(&body) {
		return
	}
	if body.Kty != "RSA" {
		writeError(h.w, http.StatusBadRequest, "BadParameter", "", "The sandbox creates RSA keys only (kty RSA).") // sandbox limit
		return
	}
	if body.KeySize != nil && *body.KeySize != 2048 {
		writeError(h.w, http.StatusBadRequest, "BadParameter", "", "The sandbox creates 2048-bit RSA keys only.") // sandbox limit
		return
	}
	k := h.v.newKeyVersion(name, body.KeyOps, h.s.o.Now())
	kv := k.versions[len(k.versions)-1]
	if err := kv.ensure(); err != nil {
		writeError(h.w, http.StatusInternalServerError, "InternalError", "", "cannot create key")
		return
	}
	writeJSON(h.w, http.StatusOK, h.keyBundle(k, kv))
}

func (kv *keyVersion) ensure() error {
	if kv.priv != nil {
		return nil
	}
	p, err := rsa.GenerateKey(rand.Reader, 2048)
	kv.priv = p
	return err
}

func (h *handler) findKey(name, version string) (*key, *keyVersion, bool) {
	k := h.v.keys[strings.ToLower(name)]
	if k != nil {
		for i := len(k.versions) - 1; i >= 0; i-- {
			if version == "" || k.versions[i].id == strings.ToLower(version) {
				kv := k.versions[i]
				if err := kv.ensure(); err != nil {
					break
				}
				return k, kv, true
			}
		}
	}
	id := name
	if version != "" {
		id += "/" + version
	}
	writeError(h.w, http.StatusNotFound, "KeyNotFound", "",
		fmt.Sprintf("A key with (name/id) %s was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", id))
	return nil, nil, false
}

// keyBundle is a KeyBundle: the public JWK (n, e base64url) and attributes.
func (h *handler) keyBundle(k *key, kv *keyVersion) map[string]any {
	pub := kv.priv.PublicKey
	return map[string]any{
		"key": map[string]any{"kid": h.base + "/keys/" + k.name + "/" + kv.id, "kty": "RSA", "key_ops": kv.ops,
			"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())},
		"attributes": map[string]any{"enabled": kv.enabled, "created": kv.created.Unix(), "updated": kv.updated.Unix(),
			"recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90},
	}
}

func (h *handler) getKey(name, version string) {
	if k, kv, ok := h.findKey(name, version); ok {
		writeJSON(h.w, http.StatusOK, h.keyBundle(k, kv))
	}
}

type keyOpBody struct {
	Alg   string `json:"alg"`
	Value string `json:"value"`
}

// opNames are the key_ops names of the REST operations.
var opNames = map[string]string{"encrypt": "encrypt", "decrypt": "decrypt", "wrapkey": "wrapKey", "unwrapkey": "unwrapKey"}

// keyOperation is POST /keys/{name}/{version}/{encrypt|decrypt|wrapkey|unwrapkey} with
// RSA-OAEP-256 (OAEP with SHA-256 and MGF1-SHA-256), the algorithm sops uses. Values are
// base64url without padding (learn.microsoft.com/rest/api/keyvault/keys/encrypt).
func (h *handler) keyOperation(name, version, op string) {
	var body keyOpBody
	if !h.readBody(&body) {
		return
	}
	k, kv, ok := h.findKey(name, version)
	if !ok {
		return
	}
	if !slices.Contains(kv.ops, opNames[op]) {
		writeError(h.w, http.StatusForbidden, "Forbidden", "", fmt.Sprintf("Operation %s is not permitted on this key.", opNames[op])) // UNCONFIRMED
		return
	}
	if body.Alg != "RSA-OAEP-256" {
		// The sandbox does the algorithm sops and uicctl use; the service knows RSA1_5 and RSA-OAEP too.
		writeError(h.w, http.StatusBadRequest, "BadParameter", "", "The sandbox supports alg RSA-OAEP-256 only.")
		return
	}
	in, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(body.Value, "="))
	if err != nil {
		writeError(h.w, http.StatusBadRequest, "BadParameter", "", "Property value is not valid base64url.") // UNCONFIRMED
		return
	}
	var out []byte
	switch op {
	case "encrypt", "wrapkey":
		out, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, &kv.priv.PublicKey, in, nil)
	default:
		out, err = rsa.DecryptOAEP(sha256.New(), nil, kv.priv, in, nil)
	}
	if err != nil {
		// UNCONFIRMED: Key Vault's text for ciphertext it cannot decrypt.
		writeError(h.w, http.StatusBadRequest, "BadParameter", "", "The parameter is incorrect.")
		return
	}
	writeJSON(h.w, http.StatusOK, map[string]any{"kid": h.base + "/keys/" + k.name + "/" + kv.id,
		"value": base64.RawURLEncoding.EncodeToString(out)})
}
