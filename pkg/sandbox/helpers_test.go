package sandbox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
)

// env is a running sandbox plus a client that trusts its CA and does not follow redirects.
type env struct {
	sb *Sandbox
	hc *http.Client
}

func start(t testing.TB, opts Options) *env {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	sb, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { sb.Close() })
	return &env{sb: sb, hc: trustingClient(t, sb.CAFile())}
}

func trustingClient(t testing.TB, caFile string) *http.Client {
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("no certificate in CA file")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not JSON: %v\n%s", r.status, err, r.body)
	}
	return m
}

func (e *env) do(t testing.TB, method, path string, hdr map[string]string, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequest(method, e.sb.URL()+path, body)
	if err != nil {
		t.Fatal(err)
	}
	// Partner Center and the Partner API refuse a request without MS-Contract-Version; a
	// test that wants that refusal passes the key with an empty value.
	if strings.HasPrefix(path, "/partnercenter/") || strings.HasPrefix(path, "/partnerapi/") {
		req.Header.Set("MS-Contract-Version", "v1")
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, b}
}

func (e *env) postForm(t testing.TB, path string, form url.Values) response {
	t.Helper()
	return e.do(t, http.MethodPost, path, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, strings.NewReader(form.Encode()))
}

// appToken gets a client_credentials token for the operator app in tenant.
func (e *env) appToken(t testing.TB, tenant, resource string) string {
	t.Helper()
	_, cid, secret := e.sb.Operator()
	r := e.postForm(t, "/"+tenant+"/oauth2/v2.0/token", url.Values{"client_id": {cid}, "client_secret": {secret},
		"grant_type": {"client_credentials"}, "scope": {resource + "/.default"}})
	if r.status != 200 {
		t.Fatalf("client_credentials: %d %s", r.status, r.body)
	}
	return r.json(t)["access_token"].(string)
}

func (e *env) graphCall(t testing.TB, token, method, path string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	return e.do(t, method, "/graph/v1.0"+path, map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json"}, rd)
}

// samApp is a "Partner Center Web App" set up as the SAM procedure does.
type samApp struct {
	tenant, appID, objectID, spID, secret string
}

const (
	pcAppID       = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd"
	partnerAPIApp = "4990cffe-04e8-4e8b-808a-1175604b879f"
	redirect      = "http://localhost:8400/"
)

// setupSAM creates the app with a secret and the localhost redirect URI, its service
// principal, and admin consent (AllPrincipals grants) for the given resources' scopes.
func (e *env) setupSAM(t testing.TB, tenant string, grants map[string]string) samApp {
	t.Helper()
	tok := e.appToken(t, tenant, "https://graph.microsoft.com")
	r := e.graphCall(t, tok, "POST", "/applications", map[string]any{"displayName": "Partner Center Web App",
		"signInAudience": "AzureADMultipleOrgs", "web": map[string]any{"redirectUris": []string{redirect}}})
	if r.status != 201 {
		t.Fatalf("create app: %d %s", r.status, r.body)
	}
	app := r.json(t)
	a := samApp{tenant: tenant, appID: app["appId"].(string), objectID: app["id"].(string)}
	r = e.graphCall(t, tok, "POST", "/applications/"+a.objectID+"/addPassword", map[string]any{"passwordCredential": map[string]any{"displayName": "test"}})
	if r.status != 200 {
		t.Fatalf("addPassword: %d %s", r.status, r.body)
	}
	a.secret = r.json(t)["secretText"].(string)
	r = e.graphCall(t, tok, "POST", "/servicePrincipals", map[string]any{"appId": a.appID})
	if r.status != 201 {
		t.Fatalf("create SP: %d %s", r.status, r.body)
	}
	a.spID = r.json(t)["id"].(string)
	for res, scope := range grants {
		r = e.graphCall(t, tok, "GET", "/servicePrincipals(appId='"+res+"')", nil)
		if r.status != 200 {
			t.Fatalf("resource SP %s: %d %s", res, r.status, r.body)
		}
		r = e.graphCall(t, tok, "POST", "/oauth2PermissionGrants", map[string]any{"clientId": a.spID, "consentType": "AllPrincipals",
			"resourceId": r.json(t)["id"], "scope": scope})
		if r.status != 201 {
			t.Fatalf("grant: %d %s", r.status, r.body)
		}
	}
	return a
}

// signIn drives the authorize page: GET shows the form, POST submits it. It returns the
// final response (a redirect on success).
func (e *env) signIn(t testing.TB, tenant string, q url.Values, login, password, otc string) response {
	t.Helper()
	path := "/" + tenant + "/oauth2/v2.0/authorize"
	r := e.do(t, "GET", path+"?"+q.Encode(), nil, nil)
	if r.status != 200 || !strings.Contains(string(r.body), `name="passwd"`) {
		return r
	}
	return e.postForm(t, path, url.Values{"ctx": {q.Encode()}, "login": {login}, "passwd": {password}, "otc": {otc}})
}

// claims decodes a JWT payload without verifying it.
func claims(t testing.TB, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

func location(t testing.TB, r response) url.Values {
	t.Helper()
	if r.status != http.StatusFound {
		t.Fatalf("want a redirect, got %d: %s", r.status, r.body)
	}
	u, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}
