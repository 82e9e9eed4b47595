package sandbox

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const pcScope = "https://api.partnercenter.microsoft.com/user_impersonation"

func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func authQuery(a samApp, verifier string) url.Values {
	return url.Values{"client_id": {a.appID}, "response_type": {"code"}, "redirect_uri": {redirect},
		"scope": {pcScope + " offline_access openid profile"}, "state": {"st-123"},
		"code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"}}
}

// consent runs the SAM consent: sign-in with MFA, PKCE exchange. It returns the token body.
func consent(t *testing.T, e *env, a samApp, acct Account) map[string]any {
	t.Helper()
	verifier := "verifier-0123456789-0123456789-0123456789-abc"
	loc := location(t, e.signIn(t, "organizations", authQuery(a, verifier), acct.UPN, acct.Password, acct.MFACode))
	if loc.Get("state") != "st-123" || loc.Get("code") == "" {
		t.Fatalf("redirect: %v", loc)
	}
	r := e.postForm(t, "/organizations/oauth2/v2.0/token", url.Values{"client_id": {a.appID}, "client_secret": {a.secret},
		"grant_type": {"authorization_code"}, "code": {loc.Get("code")}, "redirect_uri": {redirect}, "code_verifier": {verifier}})
	if r.status != 200 {
		t.Fatalf("code exchange: %d %s", r.status, r.body)
	}
	return r.json(t)
}

func TestAuthorizationCodeFlow(t *testing.T) {
	e := start(t, Options{Tenants: 1})
	ten := e.sb.World().Tenants[0]
	acct := ten.Accounts[0]
	a := e.setupSAM(t, ten.TenantID, map[string]string{pcAppID: "user_impersonation"})

	tok := consent(t, e, a, acct)
	c := claims(t, tok["access_token"].(string))
	got := map[string]any{"aud": c["aud"], "tid": c["tid"], "appid": c["appid"], "scp": c["scp"], "amr": c["amr"], "upn": c["upn"], "oid": c["oid"]}
	want := map[string]any{"aud": "https://api.partnercenter.microsoft.com", "tid": ten.TenantID, "appid": a.appID,
		"scp": "user_impersonation", "amr": []any{"pwd", "mfa"}, "upn": acct.UPN, "oid": acct.ObjectID}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("access token claims: -want, +got:\n%s", diff)
	}
	for _, k := range []string{"refresh_token", "id_token", "scope", "expires_in"} {
		if _, ok := tok[k]; !ok {
			t.Errorf("token response has no %q: %v", k, tok)
		}
	}

	// Rotation: every refresh returns a new refresh token; the old one keeps working until
	// it ages out (Entra does not revoke on use).
	rt1 := tok["refresh_token"].(string)
	refresh := func(rt, scope string) response {
		f := url.Values{"client_id": {a.appID}, "client_secret": {a.secret}, "grant_type": {"refresh_token"}, "refresh_token": {rt}}
		if scope != "" {
			f.Set("scope", scope)
		}
		return e.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", f)
	}
	r := refresh(rt1, "")
	if r.status != 200 {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	rt2 := r.json(t)["refresh_token"].(string)
	if rt2 == "" || rt2 == rt1 {
		t.Errorf("refresh did not rotate the refresh token")
	}
	if r := refresh(rt1, ""); r.status != 200 {
		t.Errorf("old refresh token after rotation: %d %s", r.status, r.body)
	}
	// A refresh for another resource needs consent for it: Graph was not consented.
	if r := refresh(rt2, "https://graph.microsoft.com/.default"); r.status != 400 || !strings.Contains(string(r.body), "AADSTS65001") {
		t.Errorf("refresh for an unconsented resource: %d %s", r.status, r.body)
	}
	// The v1 endpoint with resource= works with the same refresh token and answers strings.
	r = e.postForm(t, "/"+ten.TenantID+"/oauth2/token", url.Values{"client_id": {a.appID}, "client_secret": {a.secret},
		"grant_type": {"refresh_token"}, "refresh_token": {rt2}, "resource": {"https://api.partnercenter.microsoft.com"}, "scope": {"openid"}})
	if r.status != 200 {
		t.Fatalf("v1 refresh: %d %s", r.status, r.body)
	}
	v1 := r.json(t)
	if _, ok := v1["expires_in"].(string); !ok || v1["resource"] != "https://api.partnercenter.microsoft.com" || v1["refresh_token"] == nil {
		t.Errorf("v1 response: %v", v1)
	}

	// Plain PKCE and form_post.
	q := authQuery(a, "")
	q.Set("code_challenge", "plain-verifier-0123456789-0123456789-0123456789")
	q.Set("code_challenge_method", "plain")
	q.Set("response_mode", "form_post")
	r = e.signIn(t, "organizations", q, acct.UPN, acct.Password, acct.MFACode)
	if r.status != 200 || !strings.Contains(string(r.body), `action="http://localhost:8400/"`) || !strings.Contains(string(r.body), `name="code"`) {
		t.Fatalf("form_post: %d %s", r.status, r.body)
	}
}

func TestSignInPage(t *testing.T) {
	e := start(t, Options{Tenants: 2})
	w := e.sb.World()
	ten, other := w.Tenants[0], w.Tenants[1]
	acct := ten.Accounts[0]
	a := e.setupSAM(t, ten.TenantID, map[string]string{pcAppID: "user_impersonation"})
	q := authQuery(a, "v")
	q.Set("login_hint", acct.UPN)
	r := e.do(t, "GET", "/"+ten.TenantID+"/oauth2/v2.0/authorize?"+q.Encode(), nil, nil)
	if r.status != 200 || !strings.Contains(string(r.body), `value="`+acct.UPN+`"`) {
		t.Errorf("login_hint is not prefilled: %d %s", r.status, r.body)
	}
	cases := map[string]struct {
		reason             string
		tenant, login, pwd string
		otc                string
		want               string
	}{
		"WrongPassword": {reason: "a wrong password shows the page again with AADSTS50126", tenant: ten.TenantID, login: acct.UPN, pwd: "nope", otc: acct.MFACode, want: "AADSTS50126"},
		"NoMFACode":     {reason: "an MFA account must enter its code", tenant: ten.TenantID, login: acct.UPN, pwd: acct.Password, want: "authenticator app"},
		"WrongMFACode":  {reason: "a wrong code is refused", tenant: ten.TenantID, login: acct.UPN, pwd: acct.Password, otc: "000000x", want: "expected verification code"},
		"OtherTenant":   {reason: "a user of another tenant cannot sign in to a tenant-specific authority", tenant: ten.TenantID, login: other.Accounts[0].UPN, pwd: other.Accounts[0].Password, otc: other.Accounts[0].MFACode, want: "AADSTS50020"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.signIn(t, tc.tenant, q, tc.login, tc.pwd, tc.otc)
			if r.status != 200 || !strings.Contains(string(r.body), tc.want) {
				t.Errorf("%s\ngot %d, want the page with %q:\n%s", tc.reason, r.status, tc.want, r.body)
			}
		})
	}
	// prompt=none cannot succeed without a browser session.
	q.Set("prompt", "none")
	if loc := location(t, e.do(t, "GET", "/"+ten.TenantID+"/oauth2/v2.0/authorize?"+q.Encode(), nil, nil)); loc.Get("error") != "login_required" {
		t.Errorf("prompt=none: %v", loc)
	}
}

// aadResult is what an Entra error is compared on.
type aadResult struct {
	Status int
	Error  string
	Codes  []any
}

func aadOf(t *testing.T, r response) aadResult {
	m := r.json(t)
	codes, _ := m["error_codes"].([]any)
	return aadResult{r.status, m["error"].(string), codes}
}

// TestAADSTSErrors reproduces every error the issue lists, each in its scenario.
func TestAADSTSErrors(t *testing.T) {
	cases := map[string]struct {
		reason string
		run    func(t *testing.T, e *env, ten Tenant, a samApp) aadResult
		want   aadResult
	}{
		"50011": {
			reason: "an unregistered redirect URI is refused on the authorize page itself, never redirected",
			run: func(t *testing.T, e *env, ten Tenant, a samApp) aadResult {
				q := authQuery(a, "v")
				q.Set("redirect_uri", "https://evil.example/cb")
				r := e.do(t, "GET", "/"+ten.TenantID+"/oauth2/v2.0/authorize?"+q.Encode(), nil, nil)
				if !strings.Contains(string(r.body), "AADSTS50011") {
					t.Errorf("page does not show AADSTS50011: %s", r.body)
				}
				return aadResult{Status: r.status, Error: "page", Codes: []any{float64(50011)}}
			},
			want: aadResult{400, "page", []any{50011.0}},
		},
		"700016": {
			reason: "an unknown client ID",
			run: func(t *testing.T, e *env, ten Tenant, a samApp) aadResult {
				return aadOf(t, e.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", url.Values{"client_id": {"11111111-2222-3333-4444-555555555555"},
					"client_secret": {"x"}, "grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}}))
			},
			want: aadResult{400, "unauthorized_client", []any{700016.0}},
		},
		"7000215": {
			reason: "a wrong client secret",
			run: func(t *testing.T, e *env, ten Tenant, a samApp) aadResult {
				return aadOf(t, e.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", url.Values{"client_id": {a.appID},
					"client_secret": {"not-the-secret"}, "grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}}))
			},
			want: aadResult{401, "invalid_client", []any{7000215.0}},
		},
		"7000222": {
			reason: "a secret past its end date (default two years: the clock moves three)",
			run: func(t *testing.T, e *env, ten Tenant, a samApp) aadResult {
				e.sb.SetFaults(Faults{ClockOffset: 3 * 365 * 24 * time.Hour})
				return aadOf(t, e.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", url.Values{"client_id": {a.appID},
					"client_secret": {a.secret}, "grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}}))
			},
			want: aadResult{401, "invalid_client", []any{7000222.0}},
		},
		"70000": {
			reason: "a refresh token the service never issued",
			run: func(t *testing.T, e *env, ten Tenant, a samApp) aadResult {
				return aadOf(t, e.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", url.Values{"client_id": {a.appID},
					"client_secret": {a.secret}, "grant_type": {"refresh_token"}, "refresh_token": {"1.Abogus"}}))
			},
			want: aadResult{400, "invalid_grant", []any{70000.0}},
		},
		"700082": {
			reason: "a refresh token unused for more than 90 days",
			run: func(t *testing.T, e *env, ten Tenant, a samApp) aadResult {
				rt := consent(t, e, a, ten.Accounts[0])["refresh_token"].(string)
				e.sb.SetFaults(Faults{ClockOffset: 91 * 24 * time.Hour})
				return aadOf(t, e.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", url.Values{"client_id": {a.appID},
					"client_secret": {a.secret}, "grant_type": {"refresh_token"}, "refresh_token": {rt}}))
			},
			want: aadResult{400, "invalid_grant", []any{700082.0}},
		},
		"50173": {
			reason: "refresh tokens revoked by an admin",
			run: func(t *testing.T, e *env, ten Tenant, a samApp) aadResult {
				rt := consent(t, e, a, ten.Accounts[0])["refresh_token"].(string)
				e.sb.SetFaults(Faults{ClockOffset: time.Second}) // revocation is strictly after issue
				e.sb.RevokeRefreshTokens(ten.Accounts[0].UPN)
				return aadOf(t, e.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", url.Values{"client_id": {a.appID},
					"client_secret": {a.secret}, "grant_type": {"refresh_token"}, "refresh_token": {rt}}))
			},
			want: aadResult{400, "invalid_grant", []any{50173.0}},
		},
		"54005": {
			reason: "codes are single-use",
			run: func(t *testing.T, e *env, ten Tenant, a samApp) aadResult {
				acct := ten.Accounts[0]
				loc := location(t, e.signIn(t, ten.TenantID, authQuery(a, "v"), acct.UPN, acct.Password, acct.MFACode))
				form := url.Values{"client_id": {a.appID}, "client_secret": {a.secret}, "grant_type": {"authorization_code"},
					"code": {loc.Get("code")}, "redirect_uri": {redirect}, "code_verifier": {"v"}}
				if r := e.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", form); r.status != 200 {
					t.Fatalf("first redemption: %d %s", r.status, r.body)
				}
				return aadOf(t, e.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", form))
			},
			want: aadResult{400, "invalid_grant", []any{54005.0}},
		},
		"501481": {
			reason: "a code_verifier that does not match the S256 challenge",
			run: func(t *testing.T, e *env, ten Tenant, a samApp) aadResult {
				acct := ten.Accounts[0]
				loc := location(t, e.signIn(t, ten.TenantID, authQuery(a, "right"), acct.UPN, acct.Password, acct.MFACode))
				return aadOf(t, e.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", url.Values{"client_id": {a.appID}, "client_secret": {a.secret},
					"grant_type": {"authorization_code"}, "code": {loc.Get("code")}, "redirect_uri": {redirect}, "code_verifier": {"wrong"}}))
			},
			want: aadResult{400, "invalid_grant", []any{501481.0}},
		},
		"65001": {
			reason: "a refresh for a resource nobody consented to",
			run: func(t *testing.T, e *env, ten Tenant, a samApp) aadResult {
				rt := consent(t, e, a, ten.Accounts[0])["refresh_token"].(string)
				return aadOf(t, e.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", url.Values{"client_id": {a.appID}, "client_secret": {a.secret},
					"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {"https://api.partner.microsoft.com/user_impersonation"}}))
			},
			want: aadResult{400, "invalid_grant", []any{65001.0}},
		},
		"70008": {
			reason: "a code older than its 10-minute life",
			run: func(t *testing.T, e *env, ten Tenant, a samApp) aadResult {
				acct := ten.Accounts[0]
				loc := location(t, e.signIn(t, ten.TenantID, authQuery(a, "v"), acct.UPN, acct.Password, acct.MFACode))
				e.sb.SetFaults(Faults{ClockOffset: 11 * time.Minute})
				return aadOf(t, e.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", url.Values{"client_id": {a.appID}, "client_secret": {a.secret},
					"grant_type": {"authorization_code"}, "code": {loc.Get("code")}, "redirect_uri": {redirect}, "code_verifier": {"v"}}))
			},
			want: aadResult{400, "invalid_grant", []any{70008.0}},
		},
		"90002": {
			reason: "a tenant that does not exist",
			run: func(t *testing.T, e *env, ten Tenant, a samApp) aadResult {
				return aadOf(t, e.postForm(t, "/nowhere.onmicrosoft.com/oauth2/v2.0/token", url.Values{"client_id": {a.appID},
					"client_secret": {a.secret}, "grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}}))
			},
			want: aadResult{400, "invalid_request", []any{90002.0}},
		},
		"1002012": {
			reason: "client_credentials needs a /.default scope",
			run: func(t *testing.T, e *env, ten Tenant, a samApp) aadResult {
				return aadOf(t, e.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", url.Values{"client_id": {a.appID},
					"client_secret": {a.secret}, "grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/Application.Read.All"}}))
			},
			want: aadResult{400, "invalid_scope", []any{1002012.0}},
		},
		"7000218": {
			reason: "a confidential client must send its secret",
			run: func(t *testing.T, e *env, ten Tenant, a samApp) aadResult {
				return aadOf(t, e.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", url.Values{"client_id": {a.appID},
					"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}}))
			},
			want: aadResult{401, "invalid_client", []any{7000218.0}},
		},
		"50076": {
			reason: "a grant obtained while MFA was off, used after MFA was required",
			run: func(t *testing.T, e *env, ten Tenant, a samApp) aadResult {
				acct := ten.Accounts[0]
				e.sb.SetMFA(acct.UPN, false)
				loc := location(t, e.signIn(t, ten.TenantID, authQuery(a, "v"), acct.UPN, acct.Password, ""))
				r := e.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", url.Values{"client_id": {a.appID}, "client_secret": {a.secret},
					"grant_type": {"authorization_code"}, "code": {loc.Get("code")}, "redirect_uri": {redirect}, "code_verifier": {"v"}})
				if r.status != 200 {
					t.Fatalf("sign-in without MFA: %d %s", r.status, r.body)
				}
				tok := r.json(t)
				if amr := claims(t, tok["access_token"].(string))["amr"]; cmp.Diff([]any{"pwd"}, amr) != "" {
					t.Errorf("amr without MFA = %v, want [pwd]", amr)
				}
				e.sb.SetMFA(acct.UPN, true)
				return aadOf(t, e.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", url.Values{"client_id": {a.appID}, "client_secret": {a.secret},
					"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}))
			},
			want: aadResult{400, "interaction_required", []any{50076.0}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := start(t, Options{Tenants: 1})
			ten := e.sb.World().Tenants[0]
			a := e.setupSAM(t, ten.TenantID, map[string]string{pcAppID: "user_impersonation"})
			got := tc.run(t, e, ten, a)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n-want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// TestConsentRequired: signing in to an app without admin consent goes back to the redirect
// URI with consent_required and AADSTS65001.
func TestConsentRequired(t *testing.T) {
	e := start(t, Options{Tenants: 1})
	ten := e.sb.World().Tenants[0]
	a := e.setupSAM(t, ten.TenantID, nil)
	acct := ten.Accounts[0]
	loc := location(t, e.signIn(t, ten.TenantID, authQuery(a, "v"), acct.UPN, acct.Password, acct.MFACode))
	if loc.Get("error") != "consent_required" || !strings.HasPrefix(loc.Get("error_description"), "AADSTS65001:") || loc.Get("state") != "st-123" {
		t.Errorf("redirect = %v", loc)
	}
}

// TestErrorBody compares the keys of Entra's documented error body.
func TestErrorBody(t *testing.T) {
	e := start(t, Options{Tenants: 1})
	r := e.postForm(t, "/"+e.sb.World().Tenants[0].TenantID+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}})
	m := r.json(t)
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	want := []string{"correlation_id", "error", "error_codes", "error_description", "error_uri", "timestamp", "trace_id"}
	if diff := cmp.Diff(want, keys, cmpSorted); diff != "" {
		t.Errorf("error body keys: -want, +got:\n%s", diff)
	}
	if d := m["error_description"].(string); !strings.Contains(d, "\r\nTrace ID: ") || !strings.Contains(d, "\r\nCorrelation ID: ") {
		t.Errorf("error_description lacks the trace lines: %q", d)
	}
	if r.status != http.StatusBadRequest {
		t.Errorf("status %d", r.status)
	}
}

// TestV1Flow: the Partner Center docs' older consent flow: v1 authorize with resource=,
// response_type "code id_token", form_post; then the v1 token endpoint with the code.
func TestV1Flow(t *testing.T) {
	e := start(t, Options{Tenants: 1})
	ten := e.sb.World().Tenants[0]
	acct := ten.Accounts[0]
	a := e.setupSAM(t, ten.TenantID, map[string]string{pcAppID: "user_impersonation"})
	q := url.Values{"client_id": {a.appID}, "response_type": {"code id_token"}, "response_mode": {"form_post"},
		"redirect_uri": {redirect}, "resource": {"https://api.partnercenter.microsoft.com"}, "scope": {"openid profile"}, "nonce": {"n-1"}}
	path := "/common/oauth2/authorize"
	if r := e.do(t, "GET", path+"?"+q.Encode(), nil, nil); r.status != 200 {
		t.Fatalf("v1 authorize page: %d %s", r.status, r.body)
	}
	r := e.postForm(t, path, url.Values{"ctx": {q.Encode()}, "login": {acct.UPN}, "passwd": {acct.Password}, "otc": {acct.MFACode}})
	body := string(r.body)
	code := between(body, `name="code" value="`, `"`)
	idt := between(body, `name="id_token" value="`, `"`)
	if code == "" || idt == "" {
		t.Fatalf("form_post page lacks code or id_token: %s", body)
	}
	if c := claims(t, idt); c["nonce"] != "n-1" || c["aud"] != a.appID {
		t.Errorf("id_token claims %v", c)
	}
	r = e.postForm(t, "/"+ten.TenantID+"/oauth2/token", url.Values{"resource": {"https://api.partnercenter.microsoft.com"},
		"client_id": {a.appID}, "client_secret": {a.secret}, "grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}})
	if r.status != 200 {
		t.Fatalf("v1 code redemption: %d %s", r.status, r.body)
	}
	m := r.json(t)
	if m["scope"] != "user_impersonation" {
		t.Errorf("v1 scope = %v, want user_impersonation (facts C1)", m["scope"])
	}
	if _, ok := m["expires_on"].(string); !ok || m["resource"] != "https://api.partnercenter.microsoft.com" || m["refresh_token"] == nil {
		t.Errorf("v1 token: %v", m)
	}
}

func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}

// TestRefreshAcrossResources: one refresh token serves every consented resource; a refresh
// without scope targets the sign-in's resource even after a refresh for another one.
func TestRefreshAcrossResources(t *testing.T) {
	e := start(t, Options{Tenants: 1})
	ten := e.sb.World().Tenants[0]
	a := e.setupSAM(t, ten.TenantID, map[string]string{pcAppID: "user_impersonation", partnerAPIApp: "user_impersonation"})
	rt := consent(t, e, a, ten.Accounts[0])["refresh_token"].(string)
	refresh := func(rt, scope string) map[string]any {
		t.Helper()
		f := url.Values{"client_id": {a.appID}, "client_secret": {a.secret}, "grant_type": {"refresh_token"}, "refresh_token": {rt}}
		if scope != "" {
			f.Set("scope", scope)
		}
		r := e.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", f)
		if r.status != 200 {
			t.Fatalf("refresh (scope %q): %d %s", scope, r.status, r.body)
		}
		return r.json(t)
	}
	m := refresh(rt, "https://api.partner.microsoft.com/.default")
	if aud := claims(t, m["access_token"].(string))["aud"]; aud != "https://api.partner.microsoft.com" {
		t.Errorf("aud = %v", aud)
	}
	m = refresh(m["refresh_token"].(string), "")
	if aud := claims(t, m["access_token"].(string))["aud"]; aud != "https://api.partnercenter.microsoft.com" {
		t.Errorf("refresh without scope after another resource: aud = %v, want Partner Center", aud)
	}
}
