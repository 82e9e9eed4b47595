package entra_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/go-cmp/cmp"

	"github.com/useitcloud/uicctl/pkg/entra"
	"github.com/useitcloud/uicctl/pkg/plan"
	"github.com/useitcloud/uicctl/pkg/sandbox"
	"github.com/useitcloud/uicctl/pkg/sandbox/graph"
)

const testUniqueName = "uicctl-observe-test"

// env is a running sandbox with the entra client pointed at it.
type env struct {
	t      testing.TB
	sb     *sandbox.Sandbox
	log    string
	tenant string // the first partner tenant
	hc     *http.Client
}

// start runs a sandbox whose CA the entra package trusts through its test seam, with a
// request log.
func start(t testing.TB, tenants int) *env {
	t.Helper()
	return startWith(t, sandbox.Options{Tenants: tenants, Customers: 1})
}

// startWith is start with more sandbox options (Dir and RequestLog are set here).
func startWith(t testing.TB, opts sandbox.Options) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	e := &env{t: t, log: filepath.Join(dir, "requests.jsonl")}
	opts.Dir, opts.RequestLog = dir, e.log
	sb, err := sandbox.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	e.sb = sb
	e.tenant = sb.World().Tenants[0].TenantID
	pem, err := os.ReadFile(sb.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, MaxIdleConnsPerHost: 64}
	entra.SetTestOnlyTransport(tr)
	entra.SetTestOnlyLookPath(func(string) (string, error) { return "", errors.New("no az in tests") })
	// Runs before the sandbox's Close (cleanups run last first): idle client connections
	// would hold its graceful shutdown for seconds.
	t.Cleanup(func() { entra.SetTestOnlyTransport(nil); entra.SetTestOnlyLookPath(nil); tr.CloseIdleConnections() })
	e.hc = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	return e
}

// operatorEnv is what the sandbox's env file sets for the operator app.
func (e *env) operatorEnv(name string) string {
	tid, cid, secret := e.sb.Operator()
	return map[string]string{"AZURE_TENANT_ID": tid, "AZURE_CLIENT_ID": cid, "AZURE_CLIENT_SECRET": secret}[name]
}

// client returns a fresh credential and client: no token cached yet.
func (e *env) client(opts entra.Options) *entra.Client {
	e.t.Helper()
	cred, err := entra.NewCredentialFrom(e.sb.Cloud(), e.operatorEnv)
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := entra.New(e.sb.Cloud(), cred, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// graph sends a raw Graph request as the operator in tenant and returns the JSON answer.
func (e *env) graph(tenant, method, path string, body any, headers ...string) map[string]any {
	e.t.Helper()
	cred, err := entra.NewCredentialFrom(e.sb.Cloud(), e.operatorEnv)
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{
		Scopes: []string{"https://graph.microsoft.com/.default"}, TenantID: tenant})
	if err != nil {
		e.t.Fatal(err)
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.sb.Cloud().Graph+strings.ReplaceAll(path, " ", "%20"), rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		e.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			e.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return out
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func first(m map[string]any) map[string]any { return m["value"].([]any)[0].(map[string]any) }

// configured is a tenant set up the way apply would: the app with a redirect URI, two
// delegated permissions and a password, its service principal, admin consent for Partner
// Center, a Graph app role, and AdminAgents membership.
type configured struct {
	appObjectID, appID, keyID, spID string
	start, end                      time.Time
	pcSP, graphSP, grantID, assign  string
	group                           string
}

func (e *env) configure(tenant string) configured {
	e.t.Helper()
	var c configured
	app := e.graph(tenant, "PATCH", "/applications(uniqueName='"+testUniqueName+"')", map[string]any{
		"displayName": "Partner Center Web App", "signInAudience": "AzureADMultipleOrgs",
		"web": map[string]any{"redirectUris": []string{"http://localhost:8400/"}},
		"requiredResourceAccess": []any{
			map[string]any{"resourceAppId": graph.PartnerCenterAppID, "resourceAccess": []any{
				map[string]any{"id": "1cebfa2a-fb4d-419e-b5f9-839b4383e05a", "type": "Scope"}}},
			map[string]any{"resourceAppId": graph.GraphAppID, "resourceAccess": []any{
				map[string]any{"id": "7ab1d382-f21e-4acd-a863-ba3e13f7da61", "type": "Role"}}},
		},
	}, "Prefer", "create-if-missing")
	c.appObjectID, c.appID = str(app, "id"), str(app, "appId")
	pw := e.graph(tenant, "POST", "/applications/"+c.appObjectID+"/addPassword", map[string]any{
		"passwordCredential": map[string]any{"displayName": "uicctl"}})
	c.keyID = str(pw, "keyId")
	c.start, _ = time.Parse(time.RFC3339, str(pw, "startDateTime"))
	c.end, _ = time.Parse(time.RFC3339, str(pw, "endDateTime"))
	c.spID = str(e.graph(tenant, "POST", "/servicePrincipals", map[string]any{"appId": c.appID}), "id")
	c.pcSP = str(e.graph(tenant, "GET", "/servicePrincipals(appId='"+graph.PartnerCenterAppID+"')?$select=id", nil), "id")
	c.graphSP = str(e.graph(tenant, "GET", "/servicePrincipals(appId='"+graph.GraphAppID+"')?$select=id", nil), "id")
	c.grantID = str(e.graph(tenant, "POST", "/oauth2PermissionGrants", map[string]any{
		"clientId": c.spID, "consentType": "AllPrincipals", "resourceId": c.pcSP, "scope": "user_impersonation"}), "id")
	c.assign = str(e.graph(tenant, "POST", "/servicePrincipals/"+c.graphSP+"/appRoleAssignedTo", map[string]any{
		"principalId": c.spID, "resourceId": c.graphSP, "appRoleId": "7ab1d382-f21e-4acd-a863-ba3e13f7da61"}), "id")
	c.group = str(first(e.graph(tenant, "GET", "/groups?$filter=displayName eq 'AdminAgents'&$select=id", nil)), "id")
	e.graph(tenant, "POST", "/groups/"+c.group+"/members/$ref", map[string]any{
		"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + c.spID})
	return c
}

// requests returns the request log entries written since the last call.
func (e *env) requests(since *int) []sandbox.LogEntry {
	e.t.Helper()
	if err := e.sb.FlushRequestLog(); err != nil {
		e.t.Fatal(err)
	}
	f, err := os.Open(e.log)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	var all []sandbox.LogEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var le sandbox.LogEntry
		if err := json.Unmarshal(sc.Bytes(), &le); err != nil {
			e.t.Fatal(err)
		}
		all = append(all, le)
	}
	out := all[*since:]
	*since = len(all)
	return out
}

var resources = []string{graph.PartnerCenterAppID, graph.GraphAppID, graph.MicrosoftPartnerAppID}

// resourceSPs is what a sandbox tenant holds for the resources above: their ids and the
// permissions they publish, read here with raw Graph calls.
func (e *env) resourceSPs(tenant string) map[string]plan.ResourceSP {
	e.t.Helper()
	out := map[string]plan.ResourceSP{}
	for _, r := range resources {
		sp := e.graph(tenant, "GET", "/servicePrincipals(appId='"+r+"')?$select=id,appId,appRoles,oauth2PermissionScopes", nil)
		rs := plan.ResourceSP{ObjectID: str(sp, "id"), AppID: str(sp, "appId")}
		for _, s := range sp["oauth2PermissionScopes"].([]any) {
			if rs.Scopes == nil {
				rs.Scopes = map[string]string{}
			}
			rs.Scopes[str(s.(map[string]any), "id")] = str(s.(map[string]any), "value")
		}
		for _, s := range sp["appRoles"].([]any) {
			if rs.Roles == nil {
				rs.Roles = map[string]string{}
			}
			rs.Roles[str(s.(map[string]any), "id")] = str(s.(map[string]any), "value")
		}
		out[r] = rs
	}
	return out
}

func TestObserveEmptyTenant(t *testing.T) {
	e := start(t, 1)
	want := &plan.Observed{TenantID: e.tenant, ResourceSPs: e.resourceSPs(e.tenant)}
	want.AdminAgents.GroupID = str(first(e.graph(e.tenant, "GET", "/groups?$filter=displayName eq 'AdminAgents'&$select=id", nil)), "id")
	var since int
	e.requests(&since)
	c := e.client(entra.Options{})
	for _, tc := range []struct {
		name, reason string
		q            entra.Query
		graphCalls   int
	}{
		{"by uniqueName", "the app is absent: the first batch answers everything", entra.Query{UniqueName: testUniqueName, ResourceAppIDs: resources}, 1},
		{"by uniqueName with a stale clientId", "the secrets file names an app that is gone", entra.Query{UniqueName: testUniqueName, KnownAppID: "5f8d3c1e-6a7b-4c2d-9e0f-1a2b3c4d5e6f", ResourceAppIDs: resources}, 1},
		{"adopted appId", "an adopted app that does not exist", entra.Query{AppID: "5f8d3c1e-6a7b-4c2d-9e0f-1a2b3c4d5e6f", ResourceAppIDs: resources}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Observe(context.Background(), e.tenant, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("%s: -want +got\n%s", tc.reason, d)
			}
			if n := countGraph(e.requests(&since)); n != tc.graphCalls {
				t.Errorf("%s: %d Graph requests, want %d", tc.reason, n, tc.graphCalls)
			}
		})
	}
}

func countGraph(entries []sandbox.LogEntry) int {
	n := 0
	for _, le := range entries {
		if strings.HasPrefix(le.Path, "/graph/") {
			n++
		}
	}
	return n
}

func TestObserveConfiguredTenant(t *testing.T) {
	e := start(t, 1)
	c := e.configure(e.tenant)
	want := &plan.Observed{
		TenantID: e.tenant,
		App: &plan.App{
			ObjectID: c.appObjectID, AppID: c.appID, DisplayName: "Partner Center Web App", UniqueName: testUniqueName,
			SignInAudience: "AzureADMultipleOrgs", RedirectURIs: []string{"http://localhost:8400/"},
			RequiredResourceAccess: []plan.ResourceAccess{
				{ResourceAppID: graph.GraphAppID, Roles: []string{"7ab1d382-f21e-4acd-a863-ba3e13f7da61"}},
				{ResourceAppID: graph.PartnerCenterAppID, Scopes: []string{"1cebfa2a-fb4d-419e-b5f9-839b4383e05a"}},
			},
			Passwords: []plan.Password{{KeyID: c.keyID, DisplayName: "uicctl", Hint: "", StartDateTime: c.start, EndDateTime: c.end}},
		},
		ServicePrincipal:   &plan.ServicePrincipal{ObjectID: c.spID, AppID: c.appID},
		Grants:             []plan.Grant{{ID: c.grantID, ClientID: c.spID, ResourceID: c.pcSP, ConsentType: "AllPrincipals", Scopes: []string{"user_impersonation"}}},
		AppRoleAssignments: []plan.AppRoleAssignment{{ID: c.assign, PrincipalID: c.spID, ResourceID: c.graphSP, AppRoleID: "7ab1d382-f21e-4acd-a863-ba3e13f7da61"}},
		AdminAgents:        plan.AdminAgents{GroupID: c.group, Member: true},
		ResourceSPs:        e.resourceSPs(e.tenant),
	}
	var since int
	e.requests(&since)
	for _, tc := range []struct {
		name, reason string
		q            entra.Query
		graphCalls   int
	}{
		{"known appId", "in sync: the token and one batch", entra.Query{UniqueName: testUniqueName, KnownAppID: c.appID, ResourceAppIDs: resources}, 1},
		{"adopted appId", "the appId is the key: one batch", entra.Query{AppID: c.appID, ResourceAppIDs: resources}, 1},
		{"unknown appId", "a first batch finds the app, a second reads the rest", entra.Query{UniqueName: testUniqueName, ResourceAppIDs: resources}, 2},
		{"stale clientId", "the secrets file names another app: the principal is read again", entra.Query{UniqueName: testUniqueName, KnownAppID: "5f8d3c1e-6a7b-4c2d-9e0f-1a2b3c4d5e6f", ResourceAppIDs: resources}, 2},
		{"resource not named", "the grant's and the assignment's resources are read by id in one more batch", entra.Query{UniqueName: testUniqueName, KnownAppID: c.appID}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := e.client(entra.Options{})
			got, err := cl.Observe(context.Background(), e.tenant, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			w := *want
			if tc.q.ResourceAppIDs == nil {
				w.ResourceSPs = map[string]plan.ResourceSP{graph.PartnerCenterAppID: want.ResourceSPs[graph.PartnerCenterAppID],
					graph.GraphAppID: want.ResourceSPs[graph.GraphAppID]}
			}
			// The hint is the secret's first characters; only its length is the sandbox's.
			if got.App != nil && len(got.App.Passwords) == 1 {
				w.App = ptr(*want.App)
				w.App.Passwords = []plan.Password{want.App.Passwords[0]}
				w.App.Passwords[0].Hint = got.App.Passwords[0].Hint
				if len(w.App.Passwords[0].Hint) != 3 {
					t.Errorf("password hint %q", w.App.Passwords[0].Hint)
				}
			}
			// The creation time is the sandbox's; it must be read.
			if got.App != nil {
				if got.App.CreatedDateTime.IsZero() {
					t.Errorf("%s: createdDateTime not read", tc.reason)
				}
				w.App = ptr(*w.App)
				w.App.CreatedDateTime = got.App.CreatedDateTime
			}
			if d := cmp.Diff(&w, got); d != "" {
				t.Errorf("%s: -want +got\n%s", tc.reason, d)
			}
			reqs := e.requests(&since)
			if n := countGraph(reqs); n != tc.graphCalls {
				t.Errorf("%s: %d Graph requests, want %d: %v", tc.reason, n, tc.graphCalls, reqs)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestObserveRoundTrips is acceptance point 2 of issue #5: an in-sync tenant costs the
// token request and one $batch, counted from the sandbox's request log.
func TestObserveRoundTrips(t *testing.T) {
	e := start(t, 1)
	c := e.configure(e.tenant)
	var since int
	e.requests(&since)
	cl := e.client(entra.Options{})
	if _, err := cl.Observe(context.Background(), e.tenant, entra.Query{UniqueName: testUniqueName, KnownAppID: c.appID, ResourceAppIDs: resources}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, le := range e.requests(&since) {
		got = append(got, le.Method+" "+le.Path)
	}
	want := []string{
		"POST /" + e.tenant + "/oauth2/v2.0/token",
		"POST /graph/v1.0/$batch",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("requests of an in-sync observe: -want +got\n%s", d)
	}
	// A second observe with the same client: the token is cached, one request.
	if _, err := cl.Observe(context.Background(), e.tenant, entra.Query{UniqueName: testUniqueName, KnownAppID: c.appID, ResourceAppIDs: resources}); err != nil {
		t.Fatal(err)
	}
	if reqs := e.requests(&since); len(reqs) != 1 {
		t.Errorf("second observe: %d requests, want 1 (%v)", len(reqs), reqs)
	}
}

// TestObserveAppWithoutPrincipal: an app whose service principal is missing reads as such
// (the principal's navigations answer 404 in the same batch), not as an error.
func TestObserveAppWithoutPrincipal(t *testing.T) {
	e := start(t, 1)
	app := e.graph(e.tenant, "PATCH", "/applications(uniqueName='"+testUniqueName+"')",
		map[string]any{"displayName": "Partner Center Web App"}, "Prefer", "create-if-missing")
	var since int
	e.requests(&since)
	got, err := e.client(entra.Options{}).Observe(context.Background(), e.tenant, entra.Query{UniqueName: testUniqueName, KnownAppID: str(app, "appId")})
	if err != nil {
		t.Fatal(err)
	}
	if got.App == nil || got.App.AppID != str(app, "appId") || got.ServicePrincipal != nil || got.Grants != nil ||
		got.AppRoleAssignments != nil || got.AdminAgents.Member || got.AdminAgents.GroupID == "" {
		t.Errorf("observed %+v", got)
	}
	if n := countGraph(e.requests(&since)); n != 1 {
		t.Errorf("%d Graph requests, want 1", n)
	}
}

// TestDebugLog: with a logger, each token and HTTP attempt is a debug record, and neither
// the operator secret nor the access token appears in them.
func TestDebugLog(t *testing.T) {
	e := start(t, 1)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cred, err := entra.NewCredentialFrom(e.sb.Cloud(), e.operatorEnv)
	if err != nil {
		t.Fatal(err)
	}
	c, err := entra.New(e.sb.Cloud(), cred, entra.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Observe(context.Background(), e.tenant, entra.Query{UniqueName: testUniqueName}); err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}, TenantID: e.tenant})
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	_, _, secret := e.sb.Operator()
	for _, leak := range []string{secret, tok.Token} {
		if strings.Contains(out, leak) {
			t.Fatalf("the debug log holds a secret or token:\n%s", out)
		}
	}
	if !strings.Contains(out, `msg=token tenant=`+e.tenant) || !strings.Contains(out, `msg="graph request" method=POST path=/graph/v1.0/$batch`) {
		t.Errorf("debug log:\n%s", out)
	}
}

// TestOneTokenPerTenant: concurrent observes of one tenant share one token request.
func TestOneTokenPerTenant(t *testing.T) {
	e := start(t, 1)
	var since int
	e.requests(&since)
	c := e.client(entra.Options{})
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := c.Observe(context.Background(), e.tenant, entra.Query{UniqueName: testUniqueName})
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	tokens := 0
	for _, le := range e.requests(&since) {
		if strings.HasSuffix(le.Path, "/oauth2/v2.0/token") {
			tokens++
		}
	}
	if tokens != 1 {
		t.Errorf("%d token requests for 8 concurrent observes of one tenant, want 1", tokens)
	}
}
