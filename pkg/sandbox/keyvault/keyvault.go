package keyvault

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// DNSSuffix is the host suffix of every vault of the public cloud, and Resource the
// audience of its tokens (learn.microsoft.com/azure/key-vault/general/about-keys-secrets-certificates).
const (
	DNSSuffix = ".vault.azure.net"
	Resource  = "https://vault.azure.net"
	// AppID is Azure Key Vault's first-party application (the v1 resource ID of its tokens).
	AppID = "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"
)

// Data-plane roles of Azure RBAC for Key Vault (learn.microsoft.com/azure/key-vault/general/rbac-guide).
const (
	SecretsOfficer = "Key Vault Secrets Officer"
	SecretsUser    = "Key Vault Secrets User"
	CryptoOfficer  = "Key Vault Crypto Officer"
	CryptoUser     = "Key Vault Crypto User"
)

// roleActions are the data actions each role allows, as the built-in role definitions list
// them (learn.microsoft.com/azure/role-based-access-control/built-in-roles/security).
var roleActions = map[string][]string{
	SecretsOfficer: {"secrets/*", "deletedSecrets/*"},
	SecretsUser:    {"secrets/getSecret/action", "secrets/readMetadata/action"},
	CryptoOfficer:  {"keys/*", "deletedKeys/*"},
	CryptoUser:     {"keys/read", "keys/encrypt/action", "keys/decrypt/action", "keys/wrap/action", "keys/unwrap/action"},
}

// Principal is the caller a bearer token names.
type Principal struct {
	TenantID, ObjectID, AppID string
}

// Authentication failures Options.Authenticate reports; each has Key Vault's own 401 text.
var (
	ErrNoToken     = errors.New("AKV10000: Request is missing a Bearer or PoP token.")
	ErrBadAudience = errors.New("AKV10022: Invalid audience.")
	ErrExpired     = errors.New("AKV10013: Token is expired.") // UNCONFIRMED: Key Vault's code for an expired token.
	ErrBadToken    = errors.New("AKV10019: Invalid token signature.")
)

// Options wire the service into the sandbox.
type Options struct {
	// Authenticate verifies the bearer token of r (signature, lifetime, audience Resource)
	// and returns its principal, or one of the Err* values.
	Authenticate func(r *http.Request) (Principal, error)
	// Now is the sandbox clock.
	Now func() time.Time
	// Authority is the sign-in host the 401 challenge names (as Key Vault names
	// login.windows.net or login.microsoftonline.com); clients read only its tenant segment.
	Authority string
}

// Service is every vault of the sandbox. It is safe for concurrent use.
type Service struct {
	o      Options
	mu     sync.Mutex
	vaults map[string]*vault // by name, lower case
}

// New returns an empty service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Authority == "" {
		o.Authority = "https://login.microsoftonline.com"
	}
	return &Service{o: o, vaults: map[string]*vault{}}
}

type vault struct {
	name, tenantID string
	roles          map[string][]string // principal object ID -> role names
	secrets        map[string]*secret  // by lower-case name
	deleted        map[string]*deletedSecret
	keys           map[string]*key
}

type secret struct {
	name     string
	versions []*secretVersion // oldest first
}

type secretVersion struct {
	id, value, contentType string
	tags                   map[string]string
	enabled                bool
	nbf, exp               *time.Time
	created, updated       time.Time
}

type deletedSecret struct {
	s                   *secret
	deleted, purgeAfter time.Time
}

type key struct {
	name     string
	versions []*keyVersion
}

// Host returns the host name of a vault.
func Host(name string) string { return strings.ToLower(name) + DNSSuffix }

// IsVaultHost reports whether host (with or without port) is a vault's.
func IsVaultHost(host string) bool {
	h := strings.ToLower(host)
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	return strings.HasSuffix(h, DNSSuffix) && len(h) > len(DNSSuffix)
}

// vaultNameRE is a vault name: 3-24 characters, letters, digits and dashes, starting with a
// letter (learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules).
var vaultNameRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$`)

// AddVault creates an empty vault of tenant tenantID. Adding an existing vault is a no-op.
func (s *Service) AddVault(name, tenantID string) error {
	if !vaultNameRE.MatchString(name) || strings.Contains(name, "--") {
		return fmt.Errorf("invalid vault name %q", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.vaults[strings.ToLower(name)]; ok {
		return nil
	}
	s.vaults[strings.ToLower(name)] = &vault{name: strings.ToLower(name), tenantID: tenantID, roles: map[string][]string{},
		secrets: map[string]*secret{}, deleted: map[string]*deletedSecret{}, keys: map[string]*key{}}
	return nil
}

// SetRoles replaces the data-plane roles principal (an object ID) holds on a vault.
func (s *Service) SetRoles(vaultName, principal string, roles []string) error {
	for _, r := range roles {
		if _, ok := roleActions[r]; !ok {
			return fmt.Errorf("unknown role %q (want one of %s)", r, strings.Join(slices.Sorted(maps.Keys(roleActions)), ", "))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vaults[strings.ToLower(vaultName)]
	if !ok {
		return fmt.Errorf("no vault %q", vaultName)
	}
	v.roles[strings.ToLower(principal)] = slices.Clone(roles)
	return nil
}

// Roles returns the roles principal holds on a vault.
func (s *Service) Roles(vaultName, principal string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.vaults[strings.ToLower(vaultName)]; ok {
		return slices.Clone(v.roles[strings.ToLower(principal)])
	}
	return nil
}

// ServeHTTP answers a request to https://NAME.vault.azure.net/.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := strings.ToLower(r.Host)
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	name := strings.TrimSuffix(host, DNSSuffix)
	s.mu.Lock()
	v, ok := s.vaults[name]
	s.mu.Unlock()
	if !ok {
		// A vault that does not exist has no DNS name; the proxy refuses it before this.
		writeError(w, http.StatusNotFound, "VaultNotFound", "", "The vault "+name+" does not exist.") // UNCONFIRMED
		return
	}
	if msg := checkAPIVersion(r.URL.Query().Get("api-version")); msg != "" {
		writeError(w, http.StatusBadRequest, "BadParameter", "", msg)
		return
	}
	p, err := s.o.Authenticate(r)
	if err == nil && !strings.EqualFold(p.TenantID, v.tenantID) {
		// learn.microsoft.com/azure/key-vault/general/rest-error-codes: a token of another tenant.
		err = fmt.Errorf("AKV10032: Invalid issuer. Expected one of https://sts.windows.net/%s/, found https://sts.windows.net/%s/.", v.tenantID, p.TenantID)
	}
	if err != nil {
		s.challenge(w, v, err)
		return
	}
	seg := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	h := &handler{s: s, v: v, p: p, w: w, r: r, base: "https://" + host}
	h.route(seg)
}

// challenge answers 401 with the challenge the Azure SDKs parse: the authority (whose last
// segment is the vault's tenant) and the resource to ask a token for. Example in
// learn.microsoft.com/azure/key-vault/general/rest-error-codes ("HTTP 401"); the parser is
// the challenge policy of github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/internal.
func (s *Service) challenge(w http.ResponseWriter, v *vault, err error) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization="%s/%s", resource="%s"`, strings.TrimSuffix(s.o.Authority, "/"), v.tenantID, Resource))
	writeError(w, http.StatusUnauthorized, "Unauthorized", "", err.Error())
}

// apiVersions Key Vault answers (api-version is required on every request); azsecrets 1.4
// sends 7.6, azkeys 1.5 (sops 3.13) 2025-07-01. UNCONFIRMED: the exact text for a missing
// or unknown version.
var apiVersions = []string{"7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01"}

func checkAPIVersion(v string) string {
	switch {
	case v == "":
		return "The 'api-version' query parameter is missing."
	case !slices.Contains(apiVersions, v):
		return fmt.Sprintf("The specified version (%s) is not recognized. Consider using the latest supported version (7.6).", v)
	}
	return ""
}

// writeError writes Key Vault's error body: {"error":{"code","message","innererror"?}}
// (learn.microsoft.com/rest/api/keyvault/secrets/get-secret/get-secret#keyvaulterror).
func writeError(w http.ResponseWriter, status int, code, inner, msg string) {
	e := map[string]any{"code": code, "message": msg}
	if inner != "" {
		e["innererror"] = map[string]any{"code": inner}
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("x-ms-keyvault-service-version", "1.9.2565.1")
	w.Header().Set("x-ms-request-id", newID()[:8]+"-"+newID()[:4]+"-"+newID()[:4]+"-"+newID()[:4]+"-"+newID()[:12])
	w.WriteHeader(status)
	w.Write(b)
}

// newID is a version identifier: 32 lower-case hex digits, as Key Vault makes them.
func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// handler serves one authenticated request to one vault.
type handler struct {
	s    *Service
	v    *vault
	p    Principal
	w    http.ResponseWriter
	r    *http.Request
	base string
}

func (h *handler) route(seg []string) {
	m := h.r.Method
	switch {
	case len(seg) == 1 && seg[0] == "secrets" && m == http.MethodGet:
		h.do("secrets/readMetadata/action", h.listSecrets)
	case len(seg) == 2 && seg[0] == "secrets" && m == http.MethodPut:
		h.do("secrets/setSecret/action", func() { h.setSecret(seg[1]) })
	case len(seg) == 2 && seg[0] == "secrets" && m == http.MethodGet:
		h.do("secrets/getSecret/action", func() { h.getSecret(seg[1], "") })
	case len(seg) == 2 && seg[0] == "secrets" && m == http.MethodDelete:
		h.do("secrets/delete", func() { h.deleteSecret(seg[1]) })
	case len(seg) == 3 && seg[0] == "secrets" && seg[2] == "versions" && m == http.MethodGet:
		h.do("secrets/readMetadata/action", func() { h.listVersions(seg[1]) })
	case len(seg) == 3 && seg[0] == "secrets" && m == http.MethodGet:
		h.do("secrets/getSecret/action", func() { h.getSecret(seg[1], seg[2]) })
	case len(seg) == 3 && seg[0] == "secrets" && m == http.MethodPatch:
		h.do("secrets/update/action", func() { h.updateSecret(seg[1], seg[2]) })
	case len(seg) == 2 && seg[0] == "secrets" && m == http.MethodPatch:
		h.do("secrets/update/action", func() { h.updateSecret(seg[1], "") })
	case len(seg) == 2 && seg[0] == "deletedsecrets" && m == http.MethodGet:
		h.do("deletedSecrets/read", func() { h.getDeleted(seg[1]) })
	case len(seg) == 3 && seg[0] == "deletedsecrets" && seg[2] == "recover" && m == http.MethodPost:
		h.do("deletedSecrets/recover/action", func() { h.recover(seg[1]) })
	case len(seg) == 2 && seg[0] == "deletedsecrets" && m == http.MethodDelete:
		h.do("deletedSecrets/delete", func() { h.purge(seg[1]) })
	case len(seg) == 3 && seg[0] == "keys" && seg[2] == "create" && m == http.MethodPost:
		h.do("keys/create/action", func() { h.createKey(seg[1]) })
	case (len(seg) == 2 || len(seg) == 3) && seg[0] == "keys" && m == http.MethodGet:
		ver := ""
		if len(seg) == 3 {
			ver = seg[2]
		}
		h.do("keys/read", func() { h.getKey(seg[1], ver) })
	case (len(seg) == 3 || len(seg) == 4) && seg[0] == "keys" && m == http.MethodPost:
		op := seg[len(seg)-1]
		ver := ""
		if len(seg) == 4 {
			ver = seg[2]
		}
		action, ok := keyOps[op]
		if !ok {
			writeError(h.w, http.StatusNotFound, "NotFound", "", "The requested operation is not supported.") // UNCONFIRMED
			return
		}
		h.do(action, func() { h.keyOperation(seg[1], ver, op) })
	default:
		// UNCONFIRMED: Key Vault's answer to an unknown path.
		writeError(h.w, http.StatusNotFound, "NotFound", "", "The requested resource was not found.")
	}
}

// keyOps maps the key operations to the data action RBAC checks.
var keyOps = map[string]string{"encrypt": "keys/encrypt/action", "decrypt": "keys/decrypt/action",
	"wrapkey": "keys/wrap/action", "unwrapkey": "keys/unwrap/action"}

// do runs f when the caller holds a role allowing action on the vault, else answers 403
// ForbiddenByRbac with the message Key Vault writes (its shape as reported in
// github.com/hashicorp/terraform-provider-azurerm/issues/27817 and Azure/azure-cli#15528).
func (h *handler) do(action string, f func()) {
	h.s.mu.Lock()
	roles := h.v.roles[strings.ToLower(h.p.ObjectID)]
	h.s.mu.Unlock()
	for _, role := range roles {
		for _, a := range roleActions[role] {
			if a == action || (strings.HasSuffix(a, "/*") && strings.HasPrefix(action, strings.TrimSuffix(a, "*"))) {
				h.s.mu.Lock()
				defer h.s.mu.Unlock()
				f()
				return
			}
		}
	}
	msg := fmt.Sprintf("Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n"+
		"Caller: appid=%s;oid=%s;iss=https://sts.windows.net/%s/\r\nAction: 'Microsoft.KeyVault/vaults/%s'\r\n"+
		"Resource: '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/uic/providers/microsoft.keyvault/vaults/%s'\r\n"+
		"Assignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\nVault: %s;location=westeurope\r\n",
		h.p.AppID, h.p.ObjectID, h.p.TenantID, action, h.v.name, h.v.name)
	writeError(h.w, http.StatusForbidden, "Forbidden", "ForbiddenByRbac", msg)
}

// secretNameRE: secret and key names are 1-127 letters, digits and dashes.
var secretNameRE = regexp.MustCompile(`^[0-9A-Za-z-]{1,127}$`)

func (h *handler) badName(name string) bool {
	if secretNameRE.MatchString(name) {
		return false
	}
	// UNCONFIRMED: the text of Key Vault's answer to an invalid name.
	writeError(h.w, http.StatusBadRequest, "BadParameter", "", "The request URI contains an invalid name: "+name)
	return true
}

// maxValue is Key Vault's limit on a secret value (25 KB).
const maxValue = 25 * 1024

type attributes struct {
	Enabled *bool  `json:"enabled,omitempty"`
	NBF     *int64 `json:"nbf,omitempty"`
	Exp     *int64 `json:"exp,omitempty"`
}

type secretSetBody struct {
	Value       *string           `json:"value"`
	ContentType *string           `json:"contentType"`
	Tags        map[string]string `json:"tags"`
	Attributes  *attributes       `json:"attributes"`
}

func (h *handler) readBody(v any) bool {
	b, err := io.ReadAll(io.LimitReader(h.r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		writeError(h.w, http.StatusBadRequest, "BadParameter", "", "The request body is not valid JSON.") // UNCONFIRMED
		return false
	}
	return true
}

func unix(p *int64) *time.Time {
	if p == nil {
		return nil
	}
	t := time.Unix(*p, 0).UTC()
	return &t
}

// setSecret is PUT /secrets/{name}: a new version becomes the latest. A soft-deleted name
// cannot be set until it is recovered or purged (rest-error-codes, HTTP 409).
func (h *handler) setSecret(name string) {
	if h.badName(name) {
		return
	}
	var body secretSetBody
	if !h.readBody(&body) {
		return
	}
	if body.Value == nil {
		writeError(h.w, http.StatusBadRequest, "BadParameter", "", "Property value is required.") // UNCONFIRMED
		return
	}
	if len(*body.Value) > maxValue {
		writeError(h.w, http.StatusBadRequest, "BadParameter", "", "Secret value is too long.") // UNCONFIRMED
		return
	}
	if len(body.Tags) > 15 {
		writeError(h.w, http.StatusBadRequest, "BadParameter", "", "The number of tags exceeds the limit of 15.") // UNCONFIRMED
		return
	}
	ln := strings.ToLower(name)
	if _, gone := h.v.deleted[ln]; gone {
		writeError(h.w, http.StatusConflict, "Conflict", "ObjectIsDeletedButRecoverable",
			fmt.Sprintf("Secret %s is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.", name))
		return
	}
	s := h.v.secrets[ln]
	if s == nil {
		s = &secret{name: name}
		h.v.secrets[ln] = s
	}
	now := h.s.o.Now().UTC().Truncate(time.Second)
	sv := &secretVersion{id: newID(), value: *body.Value, tags: body.Tags, enabled: true, created: now, updated: now}
	if body.ContentType != nil {
		sv.contentType = *body.ContentType
	}
	if a := body.Attributes; a != nil {
		if a.Enabled != nil {
			sv.enabled = *a.Enabled
		}
		sv.nbf, sv.exp = unix(a.NBF), unix(a.Exp)
	}
	s.versions = append(s.versions, sv)
	writeJSON(h.w, http.StatusOK, h.bundle(s, sv, true))
}

// bundle is a SecretBundle (with the value) or SecretItem/properties (without).
func (h *handler) bundle(s *secret, sv *secretVersion, withValue bool) map[string]any {
	attrs := map[string]any{"enabled": sv.enabled, "created": sv.created.Unix(), "updated": sv.updated.Unix(),
		"recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90}
	if sv.nbf != nil {
		attrs["nbf"] = sv.nbf.Unix()
	}
	if sv.exp != nil {
		attrs["exp"] = sv.exp.Unix()
	}
	out := map[string]any{"id": h.base + "/secrets/" + s.name + "/" + sv.id, "attributes": attrs}
	if withValue {
		out["value"] = sv.value
	}
	if sv.contentType != "" {
		out["contentType"] = sv.contentType
	}
	if len(sv.tags) > 0 {
		out["tags"] = sv.tags
	}
	return out
}

func (h *handler) secretNotFound(name string) {
	writeError(h.w, http.StatusNotFound, "SecretNotFound", "",
		fmt.Sprintf("A secret with (name/id) %s was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", name))
}

func (h *handler) find(name, version string) (*secret, *secretVersion, bool) {
	s := h.v.secrets[strings.ToLower(name)]
	if s == nil || len(s.versions) == 0 {
		h.secretNotFound(name)
		return nil, nil, false
	}
	if version == "" {
		return s, s.versions[len(s.versions)-1], true
	}
	for _, sv := range s.versions {
		if sv.id == strings.ToLower(version) {
			return s, sv, true
		}
	}
	h.secretNotFound(name + "/" + version)
	return nil, nil, false
}

// getSecret is GET /secrets/{name}[/{version}]. A disabled version answers 403
// (rest-error-codes: "Operation get is not allowed on a disabled secret.").
func (h *handler) getSecret(name, version string) {
	s, sv, ok := h.find(name, version)
	if !ok {
		return
	}
	if !sv.enabled {
		writeError(h.w, http.StatusForbidden, "Forbidden", "SecretDisabled", "Operation get is not allowed on a disabled secret.")
		return
	}
	writeJSON(h.w, http.StatusOK, h.bundle(s, sv, true))
}

// updateSecret is PATCH /secrets/{name}/{version}: attributes, content type, tags.
func (h *handler) updateSecret(name, version string) {
	s, sv, ok := h.find(name, version)
	if !ok {
		return
	}
	var body secretSetBody
	if !h.readBody(&body) {
		return
	}
	if body.Value != nil {
		writeError(h.w, http.StatusBadRequest, "BadParameter", "", "The value of a secret cannot be updated; set a new version.") // UNCONFIRMED
		return
	}
	if body.ContentType != nil {
		sv.contentType = *body.ContentType
	}
	if body.Tags != nil {
		sv.tags = body.Tags
	}
	if a := body.Attributes; a != nil {
		if a.Enabled != nil {
			sv.enabled = *a.Enabled
		}
		if a.NBF != nil {
			sv.nbf = unix(a.NBF)
		}
		if a.Exp != nil {
			sv.exp = unix(a.Exp)
		}
	}
	sv.updated = h.s.o.Now().UTC().Truncate(time.Second)
	writeJSON(h.w, http.StatusOK, h.bundle(s, sv, false))
}

// page is one page of a list; nextLink is null on the last (the SDK pagers follow it).
func (h *handler) page(items []map[string]any) {
	writeJSON(h.w, http.StatusOK, map[string]any{"value": items, "nextLink": nil})
}

func (h *handler) listSecrets() {
	items := []map[string]any{}
	for _, n := range slices.Sorted(maps.Keys(h.v.secrets)) {
		s := h.v.secrets[n]
		it := h.bundle(s, s.versions[len(s.versions)-1], false)
		it["id"] = h.base + "/secrets/" + s.name
		items = append(items, it)
	}
	h.page(items)
}

func (h *handler) listVersions(name string) {
	s := h.v.secrets[strings.ToLower(name)]
	if s == nil {
		h.secretNotFound(name)
		return
	}
	items := []map[string]any{}
	for _, sv := range s.versions {
		items = append(items, h.bundle(s, sv, false))
	}
	h.page(items)
}

// deleteSecret is DELETE /secrets/{name}: soft delete, every version at once; the name is
// kept for 90 days unless purged.
func (h *handler) deleteSecret(name string) {
	ln := strings.ToLower(name)
	s := h.v.secrets[ln]
	if s == nil {
		h.secretNotFound(name)
		return
	}
	now := h.s.o.Now().UTC().Truncate(time.Second)
	d := &deletedSecret{s: s, deleted: now, purgeAfter: now.AddDate(0, 0, 90)}
	delete(h.v.secrets, ln)
	h.v.deleted[ln] = d
	writeJSON(h.w, http.StatusOK, h.deletedBundle(d))
}

func (h *handler) deletedBundle(d *deletedSecret) map[string]any {
	out := h.bundle(d.s, d.s.versions[len(d.s.versions)-1], false)
	out["recoveryId"] = h.base + "/deletedsecrets/" + d.s.name
	out["deletedDate"] = d.deleted.Unix()
	out["scheduledPurgeDate"] = d.purgeAfter.Unix()
	return out
}

func (h *handler) deletedNotFound(name string) {
	// UNCONFIRMED: the text; the code is the one the SDKs document.
	writeError(h.w, http.StatusNotFound, "SecretNotFound", "", fmt.Sprintf("Deleted Secret not found: %s", name))
}

func (h *handler) getDeleted(name string) {
	d := h.v.deleted[strings.ToLower(name)]
	if d == nil {
		h.deletedNotFound(name)
		return
	}
	writeJSON(h.w, http.StatusOK, h.deletedBundle(d))
}

func (h *handler) recover(name string) {
	ln := strings.ToLower(name)
	d := h.v.deleted[ln]
	if d == nil {
		h.deletedNotFound(name)
		return
	}
	delete(h.v.deleted, ln)
	h.v.secrets[ln] = d.s
	writeJSON(h.w, http.StatusOK, h.bundle(d.s, d.s.versions[len(d.s.versions)-1], false))
}

func (h *handler) purge(name string) {
	ln := strings.ToLower(name)
	if h.v.deleted[ln] == nil {
		h.deletedNotFound(name)
		return
	}
	delete(h.v.deleted, ln)
	h.w.WriteHeader(http.StatusNoContent)
}
