package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/google/go-cmp/cmp"

	"github.com/useitcloud/uicctl/pkg/cloud"
)

func TestStartWritesFiles(t *testing.T) {
	dir := t.TempDir()
	e := start(t, Options{Tenants: 2, Dir: dir})
	sb := e.sb
	if !strings.HasPrefix(sb.URL(), "https://127.0.0.1:") {
		t.Errorf("URL() = %q", sb.URL())
	}
	c, err := cloud.Load(sb.CloudFile())
	if err != nil {
		t.Fatal(err)
	}
	want := cloud.Cloud{Name: "sandbox", Login: sb.URL() + "/", Graph: sb.URL() + "/graph/v1.0",
		PartnerCenter: sb.URL() + "/partnercenter/v1", PartnerAPI: sb.URL() + "/partnerapi",
		GraphAudience: cloud.PublicGraphAudience, PartnerCenterAudience: cloud.PublicPartnerCenterAudience, PartnerAPIAudience: cloud.PublicPartnerAPIAudience}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("cloud file: -want, +got:\n%s", diff)
	}

	envPath := filepath.Join(dir, "sandbox.env")
	if err := sb.WriteEnvFile(envPath); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(envPath)
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("env line %q is not KEY=value", line)
		}
		got[k] = v
	}
	tid, cid, secret := sb.Operator()
	reqURL, reqToken := sb.ActionsTokenRequest()
	wantEnv := map[string]string{"UICCTL_CLOUD": sb.CloudFile(), "SSL_CERT_FILE": sb.CAFile(), "CURL_CA_BUNDLE": sb.CAFile(),
		"UICCTL_SANDBOX_URL": sb.URL(), "AZURE_TENANT_ID": tid, "AZURE_CLIENT_ID": cid, "AZURE_CLIENT_SECRET": secret,
		"AZURE_AUTHORITY_HOST": sb.URL() + "/", "ACTIONS_ID_TOKEN_REQUEST_URL": "'" + reqURL + "'", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": reqToken,
		"HTTPS_PROXY": sb.URL(), "NO_PROXY": "127.0.0.1,localhost", "AZURE_ADDITIONALLY_ALLOWED_TENANTS": "'*'"}
	if diff := cmp.Diff(wantEnv, got); diff != "" {
		t.Errorf("env file: -want, +got:\n%s", diff)
	}
	if fi, _ := os.Stat(envPath); fi.Mode().Perm() != 0o600 {
		t.Errorf("env file mode %v, want 0600: it holds the operator secret", fi.Mode().Perm())
	}

	worldPath := filepath.Join(dir, "world.json")
	if err := sb.WriteWorldFile(worldPath); err != nil {
		t.Fatal(err)
	}
	var w World
	b, _ = os.ReadFile(worldPath)
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sb.World(), w); diff != "" {
		t.Errorf("world file: -want, +got:\n%s", diff)
	}
	if len(w.Tenants) != 2 || len(w.Tenants[0].Accounts) == 0 || !w.Tenants[0].Accounts[0].MFA {
		t.Errorf("world: %+v", w)
	}
}

func TestWorldIsDeterministic(t *testing.T) {
	cases := map[string]struct {
		reason string
		a, b   int64
		same   bool
	}{
		"SameSeed":  {reason: "the same seed gives the same world", a: 7, b: 7, same: true},
		"OtherSeed": {reason: "another seed gives other IDs", a: 7, b: 8, same: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			diff := cmp.Diff(generateWorld(tc.a, 12, 3), generateWorld(tc.b, 12, 3))
			if (diff == "") != tc.same {
				t.Errorf("%s: diff:\n%s", tc.reason, diff)
			}
		})
	}
	w := generateWorld(1, 12, 1)
	seen := map[string]bool{}
	for _, te := range w.Tenants {
		if seen[te.Domain] {
			t.Errorf("duplicate domain %s", te.Domain)
		}
		seen[te.Domain] = true
	}
}

// TestAzidentity is acceptance point 1's sign-in half: azidentity's client-secret credential,
// configured with the sandbox cloud, gets a Graph token for the home tenant and, with
// AdditionallyAllowedTenants, for a partner tenant.
func TestAzidentity(t *testing.T) {
	t.Setenv("AZURE_REGIONAL_AUTHORITY_NAME", "")
	e := start(t, Options{Tenants: 1})
	tid, cid, secret := e.sb.Operator()
	c, err := cloud.Load(e.sb.CloudFile())
	if err != nil {
		t.Fatal(err)
	}
	opts := &azidentity.ClientSecretCredentialOptions{DisableInstanceDiscovery: true, AdditionallyAllowedTenants: []string{"*"}}
	opts.Cloud = azcloud.Configuration{ActiveDirectoryAuthorityHost: c.Login}
	opts.Transport = e.hc
	opts.Retry.MaxRetries = -1
	cred, err := azidentity.NewClientSecretCredential(tid, cid, secret, opts)
	if err != nil {
		t.Fatal(err)
	}
	partner := e.sb.World().Tenants[0].TenantID
	for _, tenant := range []string{"", partner} {
		tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{cloud.Scope(c.GraphAudience)}, TenantID: tenant})
		if err != nil {
			t.Fatalf("GetToken(tenant %q): %v", tenant, err)
		}
		cl := claims(t, tok.Token)
		want := tenant
		if want == "" {
			want = tid
		}
		if cl["tid"] != want || cl["aud"] != "https://graph.microsoft.com" || cl["appid"] != cid {
			t.Errorf("claims: %v", cl)
		}
		if roles, _ := cl["roles"].([]any); len(roles) == 0 {
			t.Errorf("app-only Graph token has no roles: %v", cl)
		}
		if time.Until(tok.ExpiresOn) < 50*time.Minute {
			t.Errorf("ExpiresOn %v", tok.ExpiresOn)
		}
	}
	// A wrong secret is an AuthenticationFailedError carrying AADSTS7000215.
	bad, _ := azidentity.NewClientSecretCredential(tid, cid, "wrong", opts)
	_, err = bad.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{cloud.Scope(c.GraphAudience)}})
	var afe *azidentity.AuthenticationFailedError
	if !errors.As(err, &afe) || afe.RawResponse.StatusCode != 401 || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Errorf("wrong secret: %v", err)
	}
	var _ azcore.TokenCredential = cred
}

// TestTokenResponses replays the documented token requests (facts C1, C2) and compares
// status and JSON keys.
func TestTokenResponses(t *testing.T) {
	e := start(t, Options{Tenants: 1})
	tid, cid, secret := e.sb.Operator()
	ten := e.sb.World().Tenants[0].TenantID
	cases := map[string]struct {
		reason   string
		path     string
		form     url.Values
		wantKeys []string
		strings  bool // v1 answers numbers as strings
	}{
		"V2ClientCredentials": {
			reason: "v2: numbers are numbers, no resource",
			path:   "/" + tid + "/oauth2/v2.0/token",
			form: url.Values{"client_id": {cid}, "client_secret": {secret}, "grant_type": {"client_credentials"},
				"scope": {"https://graph.microsoft.com/.default openid offline_access profile"}, "claims": {`{"access_token":{"xms_cc":{"values":["CP1"]}}}`}},
			wantKeys: []string{"access_token", "expires_in", "ext_expires_in", "token_type"},
		},
		"V1ClientCredentials": {
			reason: "v1 (the Partner Center docs' request): resource=, strings, expires_on and not_before",
			path:   "/" + ten + "/oauth2/token",
			form: url.Values{"resource": {"https://api.partnercenter.microsoft.com"}, "client_id": {cid}, "client_secret": {secret},
				"grant_type": {"client_credentials"}},
			wantKeys: []string{"access_token", "expires_in", "expires_on", "ext_expires_in", "not_before", "resource", "token_type"},
			strings:  true,
		},
		"BasicAuth": {
			reason:   "the client secret may come in HTTP Basic",
			path:     "/" + tid + "/oauth2/v2.0/token",
			form:     url.Values{"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}},
			wantKeys: []string{"access_token", "expires_in", "ext_expires_in", "token_type"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.sb.URL()+tc.path, strings.NewReader(tc.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			if name == "BasicAuth" {
				req.SetBasicAuth(url.QueryEscape(cid), url.QueryEscape(secret))
			}
			resp, err := e.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var m map[string]any
			json.NewDecoder(resp.Body).Decode(&m)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: status %d: %v", tc.reason, resp.StatusCode, m)
			}
			var keys []string
			for k := range m {
				keys = append(keys, k)
			}
			if diff := cmp.Diff(tc.wantKeys, keys, cmpSorted); diff != "" {
				t.Errorf("%s\nkeys: -want, +got:\n%s", tc.reason, diff)
			}
			if _, isString := m["expires_in"].(string); isString != tc.strings {
				t.Errorf("%s\nexpires_in = %#v", tc.reason, m["expires_in"])
			}
			if resp.Header.Get("Cache-Control") == "" {
				t.Errorf("no Cache-Control on a token response")
			}
		})
	}
}

// TestMetadata: the discovery document azidentity needs, with {tenantid} on /common, and
// keys that verify the tokens.
func TestMetadata(t *testing.T) {
	e := start(t, Options{Tenants: 1})
	tid, _, _ := e.sb.Operator()
	m := e.do(t, "GET", "/"+tid+"/v2.0/.well-known/openid-configuration?", nil, nil).json(t)
	if m["issuer"] != e.sb.URL()+"/"+tid+"/v2.0" || m["token_endpoint"] != e.sb.URL()+"/"+tid+"/oauth2/v2.0/token" {
		t.Errorf("metadata: %v", m)
	}
	if c := e.do(t, "GET", "/common/v2.0/.well-known/openid-configuration", nil, nil).json(t); c["issuer"] != e.sb.URL()+"/{tenantid}/v2.0" {
		t.Errorf("common issuer: %v", c["issuer"])
	}
	r := e.do(t, "GET", "/no-such-tenant.example/v2.0/.well-known/openid-configuration", nil, nil)
	if r.status != 400 || !strings.Contains(string(r.body), "AADSTS90002") {
		t.Errorf("unknown tenant: %d %s", r.status, r.body)
	}
	keys := e.do(t, "GET", "/"+tid+"/discovery/v2.0/keys", nil, nil).json(t)["keys"].([]any)
	k := keys[0].(map[string]any)
	if k["kty"] != "RSA" || k["kid"] == "" || k["n"] == "" || len(k["x5c"].([]any)) != 1 {
		t.Errorf("jwks: %v", k)
	}
}

// TestGraphTokenChecks: Graph gets the 401 messages of a missing, tampered, expired or
// foreign-audience token.
func TestGraphTokenChecks(t *testing.T) {
	e := start(t, Options{Tenants: 1})
	ten := e.sb.World().Tenants[0].TenantID
	good := e.appToken(t, ten, "https://graph.microsoft.com")
	pc := e.appToken(t, ten, "https://api.partnercenter.microsoft.com")
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + parts[1] + "x." + parts[2]
	cases := map[string]struct {
		reason string
		token  string
		offset time.Duration
		want   int
		msg    string
	}{
		"Good":      {reason: "a fresh Graph token works", token: good, want: 200},
		"Missing":   {reason: "no token", token: "", want: 401, msg: "Access token is empty."},
		"Tampered":  {reason: "a changed payload breaks the signature", token: tampered, want: 401, msg: "Access token validation failure."},
		"Audience":  {reason: "a Partner Center token is not for Graph", token: pc, want: 401, msg: "Invalid audience"},
		"Expired":   {reason: "tokens live 3599 s on the sandbox clock", token: good, offset: 61 * time.Minute, want: 401, msg: "token is expired"},
		"GoodAgain": {reason: "moving the clock back revives it (the cache keeps no verdict on lifetime)", token: good, want: 200},
	}
	for _, name := range []string{"Good", "Missing", "Tampered", "Audience", "Expired", "GoodAgain"} {
		tc := cases[name]
		t.Run(name, func(t *testing.T) {
			e.sb.SetFaults(Faults{ClockOffset: tc.offset})
			r := e.graphCall(t, tc.token, "GET", "/applications", nil)
			if r.status != tc.want || !strings.Contains(string(r.body), tc.msg) {
				t.Errorf("%s: %d %s", tc.reason, r.status, r.body)
			}
		})
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "example.com:443", "nope"} {
		if sb, err := Start(context.Background(), Options{Addr: addr, Dir: t.TempDir()}); err == nil {
			sb.Close()
			t.Errorf("Start(Addr %q) listened; the admin API must stay on loopback", addr)
		}
	}
}
