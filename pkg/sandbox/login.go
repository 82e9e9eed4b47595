package sandbox

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/useitcloud/uicctl/pkg/sandbox/graph"
)

const (
	codeLifetime            = 10 * time.Minute
	refreshInactiveLifetime = 90 * 24 * time.Hour
)

// authCode is an issued authorization code; codes live in memory only.
type authCode struct {
	tenant, clientID, redirectURI string
	challenge, method, nonce      string
	req                           scopeRequest
	upn                           string
	mfa                           bool
	issued                        time.Time
	used                          bool
}

// refreshRecord is what a refresh token stands for. Tokens are stored by SHA-256, never in
// clear, so a state file does not hold usable refresh tokens of its own.
type refreshRecord struct {
	Tenant   string    `json:"tenant"`
	ClientID string    `json:"clientId"`
	UPN      string    `json:"upn"`
	MFA      bool      `json:"mfa"`
	Issued   time.Time `json:"issued"`
	Resource string    `json:"resource"`
	Scopes   []string  `json:"scopes,omitempty"` // nil: .default
}

// scopeRequest is a parsed scope parameter: one resource, its permission values (or
// .default), and the OpenID scopes.
type scopeRequest struct {
	res     resource
	uri     string   // the resource identifier as the client wrote it (becomes aud)
	values  []string // nil with isDefault
	isDef   bool
	offline bool
	openid  bool
}

var oidcScopes = map[string]bool{"openid": true, "profile": true, "offline_access": true, "email": true}

func parseScopes(scope, tenant string) (scopeRequest, *aadError) {
	var sr scopeRequest
	found := false
	for _, sc := range strings.Fields(scope) {
		if oidcScopes[strings.ToLower(sc)] {
			sr.offline = sr.offline || strings.EqualFold(sc, "offline_access")
			sr.openid = sr.openid || strings.EqualFold(sc, "openid")
			continue
		}
		uri, val := "https://graph.microsoft.com", sc // a bare scope is a Graph permission
		if i := strings.LastIndex(sc, "/"); i > 0 {
			uri, val = sc[:i], sc[i+1:]
		}
		res, ok := findResource(uri)
		if !ok {
			return sr, errResourceNotFound(uri, tenant)
		}
		if found && res.appID != sr.res.appID {
			return sr, &aadError{http.StatusBadRequest, "invalid_scope", 28000, "Provided value for the input parameter scope is not valid because it contains more than one resource. Scope " + scope + " is not valid."}
		}
		found, sr.res, sr.uri = true, res, uri
		if val == ".default" {
			sr.isDef = true
		} else if !slices.Contains(sr.values, val) {
			sr.values = append(sr.values, val)
		}
	}
	if !found {
		// UNCONFIRMED: OpenID scopes alone give a Graph token in Entra (for User.Read).
		sr.res, sr.uri, sr.isDef = resources[0], resources[0].uri, true
	}
	if sr.isDef {
		sr.values = nil
	}
	return sr, nil
}

// consented returns the scopes granted for sr, or a 65001 error.
func (s *Sandbox) consented(tenant string, app graph.App, u *user, sr scopeRequest) ([]string, *aadError) {
	have := s.graph.DelegatedScopes(tenant, app.AppID, sr.res.appID, u.ObjectID)
	if len(have) == 0 {
		return nil, errNoConsent(app.AppID, app.DisplayName)
	}
	if sr.isDef {
		return have, nil
	}
	for _, v := range sr.values {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, v) }) {
			return nil, errNoConsent(app.AppID, app.DisplayName)
		}
	}
	return sr.values, nil
}

func baseURL(r *http.Request) string { return "https://" + r.Host }

// serveLogin routes the Entra endpoints by their first path segment, the tenant.
func (s *Sandbox) serveLogin(w http.ResponseWriter, r *http.Request) {
	seg, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch rest {
	case "v2.0/.well-known/openid-configuration":
		s.serveMetadata(w, r, seg, true)
	case ".well-known/openid-configuration":
		s.serveMetadata(w, r, seg, false)
	case "discovery/v2.0/keys", "discovery/keys":
		writeJSON(w, http.StatusOK, s.signer.jwks())
	case "oauth2/v2.0/token":
		s.serveToken(w, r, seg, false)
	case "oauth2/token":
		s.serveToken(w, r, seg, true)
	case "oauth2/v2.0/authorize":
		s.serveAuthorize(w, r, seg, false)
	case "oauth2/authorize":
		s.serveAuthorize(w, r, seg, true)
	case "v2.0/adminconsent":
		s.serveAdminConsent(w, r, seg)
	default:
		http.NotFound(w, r)
	}
}

// tenantOf resolves a path tenant. Multi-tenant aliases resolve to nil.
func (s *Sandbox) tenantOf(seg string) (*tenantInfo, bool) {
	switch strings.ToLower(seg) {
	case "common", "organizations":
		return nil, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tenant(seg)
}

func (s *Sandbox) serveMetadata(w http.ResponseWriter, r *http.Request, seg string, v2 bool) {
	t, ok := s.tenantOf(seg)
	if !ok {
		s.writeAADError(w, r, errTenantNotFound(seg))
		return
	}
	base := baseURL(r)
	tid := "{tenantid}"
	if t != nil {
		tid = t.ID
	}
	path := base + "/" + seg
	doc := map[string]any{
		"token_endpoint":                        path + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              path + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                base + "/" + tid + "/v2.0",
		"request_uri_parameter_supported":       false,
		"authorization_endpoint":                path + "/oauth2/v2.0/authorize",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "nonce", "preferred_username", "name", "tid", "ver", "oid"},
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "sandbox",
		"msgraph_host":                          r.Host + "/graph",
	}
	if !v2 {
		doc["token_endpoint"] = path + "/oauth2/token"
		doc["jwks_uri"] = path + "/discovery/keys"
		doc["issuer"] = base + "/" + tid + "/"
		doc["authorization_endpoint"] = path + "/oauth2/authorize"
	}
	writeJSON(w, http.StatusOK, doc)
}

// clientCreds reads client_id and client_secret from the body or HTTP Basic.
func clientCreds(r *http.Request) (id, secret string) {
	id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		if id == "" {
			id, _ = url.QueryUnescape(u)
		}
		if secret == "" {
			secret, _ = url.QueryUnescape(p)
		}
	}
	return id, secret
}

// authClient checks the client and its secret (or its client assertion) for tenant, in the
// order Entra reports them.
func (s *Sandbox) authClient(r *http.Request, tenant *tenantInfo, clientID, secret string) (graph.App, *aadError) {
	if clientID == "" {
		return graph.App{}, errMissingParam("client_id")
	}
	app, ok := s.graph.FindApp(clientID)
	if !ok {
		return app, errAppNotFound(clientID, tenant.ID)
	}
	if tenant.ID != app.TenantID {
		if app.SignInAudience == "AzureADMyOrg" {
			return app, errAppNotFound(clientID, tenant.ID)
		}
		if _, ok := s.graph.ServicePrincipal(tenant.ID, clientID); !ok {
			return app, errAppNotFound(clientID, tenant.ID)
		}
	}
	if hasAssertion(r) {
		return app, s.verifyAssertion(r, app)
	}
	if secret == "" {
		return app, errMissingSecret()
	}
	pw, ok := s.graph.VerifySecret(clientID, secret)
	if !ok {
		return app, errInvalidSecret(clientID)
	}
	now := s.now()
	if now.After(pw.EndDateTime) {
		return app, errSecretExpired(clientID)
	}
	if now.Before(pw.StartDateTime) {
		// UNCONFIRMED: Entra's answer for a secret that is not valid yet.
		return app, errInvalidSecret(clientID)
	}
	return app, nil
}

type tokenResult struct {
	access  string
	exp     time.Time
	scope   string
	refresh string
	idToken string
	res     scopeRequest
	granted []string // delegated scope values, unqualified
}

func (s *Sandbox) serveToken(w http.ResponseWriter, r *http.Request, seg string, v1 bool) {
	if r.Method != http.MethodPost {
		// UNCONFIRMED: Entra's exact answer to GET on the token endpoint.
		s.writeAADError(w, r, &aadError{http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests. Received a GET request."})
		return
	}
	if err := r.ParseForm(); err != nil {
		s.writeAADError(w, r, errInvalidRequest("The request body must contain the following parameter: 'grant_type'."))
		return
	}
	t, ok := s.tenantOf(seg)
	if !ok {
		s.writeAADError(w, r, errTenantNotFound(seg))
		return
	}
	grant := r.PostForm.Get("grant_type")
	scope := r.PostForm.Get("scope")
	if v1 {
		// v1 names one resource; the scope parameter carries only OpenID scopes.
		if res := r.PostForm.Get("resource"); res != "" {
			scope = strings.TrimSuffix(res, "/") + "/.default " + scope
		}
	}
	var res tokenResult
	var aerr *aadError
	switch grant {
	case "client_credentials":
		if t == nil {
			aerr = errSpecificTenant(seg)
			break
		}
		res, aerr = s.clientCredentials(r, t, scope, v1)
	case "authorization_code":
		res, aerr = s.redeemCode(r, t, scope)
	case "refresh_token":
		res, aerr = s.redeemRefresh(r, t, scope, v1)
	case "":
		aerr = errMissingParam("grant_type")
	default:
		aerr = errUnsupportedGrant(grant)
	}
	if aerr != nil {
		s.writeAADError(w, r, aerr)
		return
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
	exp := int64(time.Until(res.exp.Add(-s.faults.get().ClockOffset)).Round(time.Second).Seconds())
	out := map[string]any{"token_type": "Bearer", "expires_in": exp, "ext_expires_in": exp, "access_token": res.access}
	if v1 {
		// v1 returns its numbers as strings, and names the resource.
		out["expires_in"], out["ext_expires_in"] = strconv.FormatInt(exp, 10), strconv.FormatInt(exp, 10)
		out["expires_on"] = strconv.FormatInt(res.exp.Unix(), 10)
		out["not_before"] = strconv.FormatInt(s.now().Add(-5*time.Minute).Unix(), 10)
		out["resource"] = res.res.uri
		// v1 names the granted scopes without the resource ("user_impersonation").
		res.scope = strings.Join(res.granted, " ")
	}
	for k, v := range map[string]string{"scope": res.scope, "refresh_token": res.refresh, "id_token": res.idToken} {
		if v != "" {
			out[k] = v
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sandbox) clientCredentials(r *http.Request, t *tenantInfo, scope string, v1 bool) (tokenResult, *aadError) {
	clientID, secret := clientCreds(r)
	app, aerr := s.authClient(r, t, clientID, secret)
	if aerr != nil {
		return tokenResult{}, aerr
	}
	if strings.TrimSpace(scope) == "" {
		if v1 {
			return tokenResult{}, errMissingParam("resource")
		}
		return tokenResult{}, errMissingParam("scope")
	}
	sr, aerr := parseScopes(scope, t.ID)
	if aerr != nil {
		return tokenResult{}, aerr
	}
	if !sr.isDef || len(sr.values) > 0 {
		return tokenResult{}, errDefaultScopeRequired(scope)
	}
	spID, ok := s.graph.ServicePrincipal(t.ID, clientID)
	if !ok {
		// 401 invalid_client, as Microsoft's Teams SDK troubleshooting page shows the answer
		// (https://learn.microsoft.com/en-gb/microsoftteams/platform/teams-sdk/teams/app-authentication/troubleshooting).
		return tokenResult{}, &aadError{http.StatusUnauthorized, "invalid_client", 7000229, fmt.Sprintf("The client application %s is missing service principal in the tenant %s. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119", clientID, t.ID)}
	}
	roles := s.graph.AppRoles(t.ID, app.AppID, sr.res.appID)
	at, exp := s.accessToken(tokenClaims{base: baseURL(r), tenant: t.ID, res: sr.res, audience: sr.uri, appID: app.AppID, oid: spID, roles: roles})
	return tokenResult{access: at, exp: exp, res: sr}, nil
}

func (s *Sandbox) redeemCode(r *http.Request, t *tenantInfo, scope string) (tokenResult, *aadError) {
	code := r.PostForm.Get("code")
	if code == "" {
		return tokenResult{}, errMissingParam("code")
	}
	s.mu.Lock()
	c, ok := s.st.codes[code]
	s.mu.Unlock()
	if !ok || (t != nil && t.ID != c.tenant) {
		return tokenResult{}, errInvalidGrant()
	}
	tenant, _ := s.tenantOf(c.tenant)
	clientID, secret := clientCreds(r)
	app, aerr := s.authClient(r, tenant, clientID, secret)
	if aerr != nil {
		return tokenResult{}, aerr
	}
	if clientID != c.clientID {
		// UNCONFIRMED: Entra's number for a code issued to another client.
		return tokenResult{}, errInvalidGrant()
	}
	if r.PostForm.Get("redirect_uri") != c.redirectURI {
		// UNCONFIRMED: Entra's number for a redirect_uri that differs from the authorize one.
		return tokenResult{}, &aadError{http.StatusBadRequest, "invalid_grant", 70000, "Provided grant is invalid or malformed. The redirect_uri does not match the one used in the authorization request."}
	}
	s.mu.Lock()
	used, issued := c.used, c.issued
	s.mu.Unlock()
	if used {
		return tokenResult{}, errCodeRedeemed()
	}
	if s.now().Sub(issued) > codeLifetime {
		return tokenResult{}, errCodeExpired()
	}
	if c.challenge != "" {
		v := r.PostForm.Get("code_verifier")
		want := v
		if c.method == "S256" {
			sum := sha256.Sum256([]byte(v))
			want = base64.RawURLEncoding.EncodeToString(sum[:])
		}
		if v == "" || subtle.ConstantTimeCompare([]byte(want), []byte(c.challenge)) != 1 {
			return tokenResult{}, errPKCE()
		}
	}
	s.mu.Lock()
	if c.used { // lost a race with a concurrent redemption
		s.mu.Unlock()
		return tokenResult{}, errCodeRedeemed()
	}
	c.used = true
	u := s.st.Users[c.upn]
	s.mu.Unlock()
	return s.issueUser(r, tenant, app, u, c.req, c.mfa, c.nonce, nil)
}

// issueUser issues a delegated access token (and refresh and ID tokens when asked for).
// A refresh passes the record it redeemed: the new refresh token keeps its resource, so a
// later refresh without scope still targets what was consented at sign-in, whichever
// resource this refresh asked for.
func (s *Sandbox) issueUser(r *http.Request, t *tenantInfo, app graph.App, u *user, sr scopeRequest, mfa bool, nonce string, from *refreshRecord) (tokenResult, *aadError) {
	granted, aerr := s.consented(t.ID, app, u, sr)
	if aerr != nil {
		return tokenResult{}, aerr
	}
	base := baseURL(r)
	at, exp := s.accessToken(tokenClaims{base: base, tenant: t.ID, res: sr.res, audience: sr.uri, appID: app.AppID,
		oid: u.ObjectID, scopes: granted, user: u, mfa: mfa})
	out := tokenResult{access: at, exp: exp, res: sr, granted: granted}
	var qualified []string
	for _, g := range granted {
		qualified = append(qualified, sr.uri+"/"+g)
	}
	out.scope = strings.Join(qualified, " ")
	if sr.offline {
		rt := "1.A" + randomToken(48)
		s.mu.Lock()
		rec := &refreshRecord{Tenant: t.ID, ClientID: app.AppID, UPN: strings.ToLower(u.UPN), MFA: mfa,
			Issued: s.now(), Resource: sr.uri, Scopes: sr.values}
		if from != nil {
			rec.Resource, rec.Scopes = from.Resource, from.Scopes
		}
		s.st.Refresh[hashToken(rt)] = rec
		s.mu.Unlock()
		out.refresh = rt
		out.scope += " offline_access"
	}
	if sr.openid {
		out.idToken = s.idToken(base, t.ID, app.AppID, u, nonce)
		out.scope += " openid profile"
	}
	out.scope = strings.TrimSpace(out.scope)
	return out, nil
}

func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

func (s *Sandbox) redeemRefresh(r *http.Request, t *tenantInfo, scope string, v1 bool) (tokenResult, *aadError) {
	rt := r.PostForm.Get("refresh_token")
	if rt == "" {
		return tokenResult{}, errMissingParam("refresh_token")
	}
	s.mu.Lock()
	rec, ok := s.st.Refresh[hashToken(rt)]
	var u *user
	var recCopy refreshRecord
	if ok {
		recCopy = *rec
		u = s.st.Users[rec.UPN]
	}
	s.mu.Unlock()
	if !ok || u == nil || (t != nil && t.ID != recCopy.Tenant) {
		return tokenResult{}, errInvalidGrant()
	}
	tenant, _ := s.tenantOf(recCopy.Tenant)
	clientID, secret := clientCreds(r)
	app, aerr := s.authClient(r, tenant, clientID, secret)
	if aerr != nil {
		return tokenResult{}, aerr
	}
	if clientID != recCopy.ClientID {
		// UNCONFIRMED: Entra's number for a refresh token of another client.
		return tokenResult{}, errInvalidGrant()
	}
	now := s.now()
	if now.Sub(recCopy.Issued) > refreshInactiveLifetime {
		return tokenResult{}, errRefreshInactive(recCopy.Issued)
	}
	s.mu.Lock()
	validFrom, mfaRequired := u.TokensValidFrom, !u.MFAOff
	s.mu.Unlock()
	if recCopy.Issued.Before(validFrom) {
		return tokenResult{}, errRevoked(recCopy.Issued, validFrom)
	}
	var sr scopeRequest
	if strings.TrimSpace(strings.Join(slices.DeleteFunc(strings.Fields(scope), func(s string) bool { return oidcScopes[strings.ToLower(s)] }), "")) == "" {
		// No resource named: the resource of the original grant (x/oauth2 never sends scope).
		orig := recCopy.Resource + "/.default"
		if len(recCopy.Scopes) > 0 {
			orig = ""
			for _, v := range recCopy.Scopes {
				orig += recCopy.Resource + "/" + v + " "
			}
		}
		scope = orig + " " + scope
	}
	sr, aerr = parseScopes(scope, tenant.ID)
	if aerr != nil {
		return tokenResult{}, aerr
	}
	if mfaRequired && !recCopy.MFA {
		// The account requires MFA now and this grant was obtained without it.
		return tokenResult{}, errMFARequired(sr.res.appID)
	}
	sr.offline = true // refresh tokens rotate: a new one on every use
	if v1 {
		sr.openid = strings.Contains(scope, "openid")
	}
	return s.issueUser(r, tenant, app, u, sr, recCopy.MFA, "", &recCopy)
}

// writeAADError writes Entra's error body.
func (s *Sandbox) writeAADError(w http.ResponseWriter, r *http.Request, e *aadError) {
	now := s.now().UTC()
	trace, corr := newGUID(), r.Header.Get("client-request-id")
	if corr == "" {
		corr = newGUID()
	}
	desc := fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", e.code, e.msg, trace, corr, now.Format("2006-01-02 15:04:05Z"))
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, e.status, map[string]any{
		"error": e.err, "error_description": desc, "error_codes": []int{e.code},
		"timestamp": now.Format("2006-01-02 15:04:05Z"), "trace_id": trace, "correlation_id": corr,
		"error_uri": baseURL(r) + "/error?code=" + strconv.Itoa(e.code),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func newGUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
