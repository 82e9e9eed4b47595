package sandbox

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func lastLogEntry(t *testing.T, e *env, path string) LogEntry {
	t.Helper()
	if r := e.do(t, "POST", "/_sandbox/requests/flush", nil, nil); r.status != 204 {
		t.Fatalf("flush: %d %s", r.status, r.body)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var last LogEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var le LogEntry
		if err := json.Unmarshal(sc.Bytes(), &le); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if !strings.HasPrefix(le.Path, "/_sandbox/") {
			last = le
		}
	}
	return last
}

// TestFaultsShowInRequestLog is acceptance point 5: each fault is switched on through the
// admin API and the request it hits shows in the request log.
func TestFaultsShowInRequestLog(t *testing.T) {
	type seen struct {
		Path   string
		Status int
		Slow   bool
	}
	cases := map[string]struct {
		reason string
		admin  func(t *testing.T, e *env, ten Tenant, a samApp) // switches the fault on
		call   func(t *testing.T, e *env, ten Tenant, a samApp) response
		want   seen
	}{
		"Latency": {
			reason: "latency delays the answer",
			admin:  patchFaults(`{"latency":"120ms","scope":["graph"]}`),
			call:   graphGet("/applications"),
			want:   seen{"/graph/v1.0/applications", 200, true},
		},
		"429": {
			reason: "throttling answers 429 with Retry-After",
			admin:  patchFaults(`{"rate429":1,"retryAfter":"1.5s","scope":["graph"]}`),
			call: func(t *testing.T, e *env, ten Tenant, a samApp) response {
				r := graphGet("/applications")(t, e, ten, a)
				if r.header.Get("Retry-After") != "1.5" || !strings.Contains(string(r.body), `"TooManyRequests"`) {
					t.Errorf("429: Retry-After %q body %s", r.header.Get("Retry-After"), r.body)
				}
				return r
			},
			want: seen{"/graph/v1.0/applications", 429, false},
		},
		"5xx": {
			reason: "server errors answer 503",
			admin:  patchFaults(`{"rate5xx":1,"scope":["partnercenter"]}`),
			call: func(t *testing.T, e *env, ten Tenant, a samApp) response {
				return e.do(t, "GET", "/partnercenter/v1/customers", nil, nil)
			},
			want: seen{"/partnercenter/v1/customers", 503, false},
		},
		"Reset": {
			reason: "resets close the connection with no answer (status 0 in the log)",
			admin:  patchFaults(`{"resetRate":1,"scope":["graph"]}`),
			call: func(t *testing.T, e *env, ten Tenant, a samApp) response {
				tok := e.appToken(t, ten.TenantID, "https://graph.microsoft.com")
				req := e.sb.URL() + "/graph/v1.0/applications"
				_, err := e.hc.Get(req + "?t=" + tok[:4])
				if err == nil {
					t.Errorf("request survived a reset")
				}
				return response{}
			},
			want: seen{"/graph/v1.0/applications", 0, false},
		},
		"ReplicationLag": {
			reason: "a new app is not readable yet",
			admin:  patchFaults(`{"replicationLag":"1h"}`),
			call: func(t *testing.T, e *env, ten Tenant, a samApp) response {
				tok := e.appToken(t, ten.TenantID, "https://graph.microsoft.com")
				r := e.graphCall(t, tok, "POST", "/applications", map[string]any{"displayName": "lagging"})
				if r.status != 201 {
					t.Fatalf("create: %d %s", r.status, r.body)
				}
				return e.graphCall(t, tok, "GET", "/applications/"+r.json(t)["id"].(string), nil)
			},
			want: seen{"", 404, false},
		},
		"ClockOffset": {
			reason: "moving the clock expires access tokens",
			call: func(t *testing.T, e *env, ten Tenant, a samApp) response {
				tok := e.appToken(t, ten.TenantID, "https://graph.microsoft.com")
				patchFaults(`{"clockOffset":"2h"}`)(t, e, ten, a)
				return e.graphCall(t, tok, "GET", "/applications", nil)
			},
			want: seen{"/graph/v1.0/applications", 401, false},
		},
		"RefreshRevoked": {
			reason: "revoked refresh tokens are refused (AADSTS50173)",
			call: func(t *testing.T, e *env, ten Tenant, a samApp) response {
				rt := consent(t, e, a, ten.Accounts[0])["refresh_token"].(string)
				patchFaults(`{"clockOffset":"1s"}`)(t, e, ten, a)
				admin(t, e, "POST", "/_sandbox/accounts/"+ten.Accounts[0].UPN+"/revoke", "")
				return e.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", url.Values{"client_id": {a.appID}, "client_secret": {a.secret},
					"grant_type": {"refresh_token"}, "refresh_token": {rt}})
			},
			want: seen{"/TENANT/oauth2/v2.0/token", 400, false},
		},
		"MFAOff": {
			reason: "an account with MFA off yields tokens Partner Center refuses (900421)",
			call: func(t *testing.T, e *env, ten Tenant, a samApp) response {
				acct := ten.Accounts[0]
				admin(t, e, "PATCH", "/_sandbox/accounts/"+acct.UPN, `{"mfa":false}`)
				loc := location(t, e.signIn(t, ten.TenantID, authQuery(a, "v"), acct.UPN, acct.Password, ""))
				r := e.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", url.Values{"client_id": {a.appID}, "client_secret": {a.secret},
					"grant_type": {"authorization_code"}, "code": {loc.Get("code")}, "redirect_uri": {redirect}, "code_verifier": {"v"}})
				return e.do(t, "GET", "/partnercenter/v1/customers", map[string]string{"Authorization": "Bearer " + r.json(t)["access_token"].(string)}, nil)
			},
			want: seen{"/partnercenter/v1/customers", 401, false},
		},
		"AppManagementRemoved": {
			reason: "an app removed from App management gets no app-only access",
			call: func(t *testing.T, e *env, ten Tenant, a samApp) response {
				admin(t, e, "DELETE", "/_sandbox/tenants/"+ten.TenantID+"/appManagement/"+a.appID, "")
				r := e.postForm(t, "/"+ten.TenantID+"/oauth2/token", url.Values{"resource": {"https://api.partnercenter.microsoft.com"},
					"client_id": {a.appID}, "client_secret": {a.secret}, "grant_type": {"client_credentials"}})
				return e.do(t, "GET", "/partnercenter/v1/customers", map[string]string{"Authorization": "Bearer " + r.json(t)["access_token"].(string)}, nil)
			},
			want: seen{"/partnercenter/v1/customers", 403, false},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			logPath := filepath.Join(t.TempDir(), "requests.jsonl")
			e := start(t, Options{Tenants: 1, RequestLog: logPath})
			ten := e.sb.World().Tenants[0]
			a := e.setupSAM(t, ten.TenantID, map[string]string{pcAppID: "user_impersonation"})
			if tc.admin != nil {
				tc.admin(t, e, ten, a)
			}
			tc.call(t, e, ten, a)
			le := lastLogEntry(t, e, logPath)
			want := tc.want
			want.Path = strings.Replace(want.Path, "TENANT", ten.TenantID, 1)
			got := seen{Path: le.Path, Status: le.Status, Slow: le.MS >= 100}
			if want.Path == "" {
				got.Path = ""
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s\nlog entry %+v: -want, +got:\n%s", tc.reason, le, diff)
			}
			if le.Tenant == "" && want.Status != 0 && !strings.HasPrefix(want.Path, "/partnercenter") {
				t.Errorf("log entry has no tenant: %+v", le)
			}
		})
	}
}

func admin(t *testing.T, e *env, method, path, body string) response {
	t.Helper()
	r := e.do(t, method, path, map[string]string{"Content-Type": "application/json"}, strings.NewReader(body))
	if r.status >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
	}
	return r
}

func patchFaults(body string) func(t *testing.T, e *env, ten Tenant, a samApp) {
	return func(t *testing.T, e *env, ten Tenant, a samApp) {
		admin(t, e, "PATCH", "/_sandbox/faults", body)
	}
}

func graphGet(path string) func(t *testing.T, e *env, ten Tenant, a samApp) response {
	return func(t *testing.T, e *env, ten Tenant, a samApp) response {
		return e.graphCall(t, e.appToken(t, ten.TenantID, "https://graph.microsoft.com"), "GET", path, nil)
	}
}

func TestAdminFaults(t *testing.T) {
	e := start(t, Options{Tenants: 1})
	r := admin(t, e, "PUT", "/_sandbox/faults", `{"latency":"1s","rate429":0.5,"clockOffset":"91d","scope":["graph","login"]}`)
	var got Faults
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(e.sb.Faults(), got); diff != "" {
		t.Errorf("PUT answer vs Faults(): -want, +got:\n%s", diff)
	}
	if got.ClockOffset.Hours() != 91*24 || got.Rate429 != 0.5 {
		t.Errorf("faults %+v", got)
	}
	for _, body := range []string{`{"rate429":2}`, `{"latency":"soon"}`, `{"nope":1}`, `{"scope":["moon"]}`} {
		if r := e.do(t, "PATCH", "/_sandbox/faults", nil, strings.NewReader(body)); r.status != 400 {
			t.Errorf("PATCH %s: %d %s", body, r.status, r.body)
		}
	}
	if r := e.do(t, "POST", "/_sandbox/accounts/nobody@example.com/revoke", nil, nil); r.status != 404 {
		t.Errorf("revoke unknown: %d", r.status)
	}
}

// TestFaultScopeUsage: the partnercenter-usage scope fails Partner Center's usage calls
// (every page of them) and leaves its other calls, and the other services, alone.
func TestFaultScopeUsage(t *testing.T) {
	e := start(t, Options{Tenants: 1})
	ten := e.sb.World().Tenants[0]
	a := e.setupSAM(t, ten.TenantID, map[string]string{pcAppID: "user_impersonation"})
	auth := map[string]string{"Authorization": "Bearer " + consent(t, e, a, ten.Accounts[0])["access_token"].(string)}
	admin(t, e, "PUT", "/_sandbox/faults", `{"rate5xx":1,"scope":["partnercenter-usage"]}`)
	c := ten.Customers[0]
	cases := map[string]struct {
		reason string
		path   string
		want   int
	}{
		"Customers":   {reason: "the customer list is not a usage call", path: "/partnercenter/v1/customers", want: 200},
		"Customer":    {reason: "one customer is not a usage call", path: "/partnercenter/v1/customers/" + c.ID, want: 200},
		"Subs":        {reason: "subscriptions are not usage", path: "/partnercenter/v1/customers/" + c.ID + "/subscriptions", want: 200},
		"Unbilled":    {reason: "unbilled invoice line items are usage", path: "/partnercenter/v1/invoices/unbilled/lineitems?provider=onetime&invoicelineitemtype=billinglineitems&currencycode=USD&period=current", want: 503},
		"NextPage":    {reason: "a continuation page of line items is usage too", path: "/partnercenter/v1/invoices/unbilled/lineitems?provider=onetime&seekOperation=Next", want: 503},
		"Utilization": {reason: "Azure utilization records are usage", path: "/partnercenter/v1/customers/" + c.ID + "/subscriptions/" + c.Subscriptions[0].ID + "/utilizations/azure?start_time=2026-01-01T00:00:00Z", want: 503},
		"Login":       {reason: "other services are out of scope", path: "/" + ten.TenantID + "/v2.0/.well-known/openid-configuration", want: 200},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := e.do(t, "GET", tc.path, auth, nil).status; got != tc.want {
				t.Errorf("%s: GET %s = %d, want %d", tc.reason, tc.path, got, tc.want)
			}
		})
	}
	if r := e.do(t, "PATCH", "/_sandbox/faults", nil, strings.NewReader(`{"scope":["usage"]}`)); r.status != 400 || !strings.Contains(string(r.body), "partnercenter-usage") {
		t.Errorf("unknown scope: %d %s, want 400 naming partnercenter-usage", r.status, r.body)
	}
}

// TestBlobFaultsAnswerAsStorage: Azure Storage, not Graph, serves the export blobs, and it
// throttles and fails with 503 Server Busy and an XML error, never 429 or a JSON body.
func TestBlobFaultsAnswerAsStorage(t *testing.T) {
	e := start(t, Options{Tenants: 1})
	cases := map[string]struct {
		reason string
		faults string
	}{
		"Throttled":   {reason: "storage throttles with 503 ServerBusy and no Retry-After", faults: `{"rate429":1,"retryAfter":"1s","scope":["blob"]}`},
		"Unavailable": {reason: "a storage outage is 503 ServerBusy too", faults: `{"rate5xx":1,"scope":["blob"]}`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			admin(t, e, "PUT", "/_sandbox/faults", tc.faults)
			r := e.do(t, "GET", "/blob/export/manifest/part-00000.json.gz?sig=x", nil, nil)
			got := []string{strconv.Itoa(r.status), r.header.Get("x-ms-error-code"), r.header.Get("Content-Type"), r.header.Get("Retry-After")}
			if d := cmp.Diff([]string{"503", "ServerBusy", "application/xml", ""}, got); d != "" {
				t.Errorf("%s: status, x-ms-error-code, Content-Type, Retry-After: -want +got\n%s", tc.reason, d)
			}
			if !strings.Contains(string(r.body), "<Error><Code>ServerBusy</Code>") {
				t.Errorf("%s: body %q is not a storage XML error", tc.reason, r.body)
			}
		})
	}
}

// TestEchoFault: each service answers with its own error shape whose message reflects the
// request, Authorization header, query and form body included, behind a terminal escape.
func TestEchoFault(t *testing.T) {
	e := start(t, Options{Tenants: 1})
	ten := e.sb.World().Tenants[0]
	const secret = "echo-me-client-secret~Q"
	const bearer = "Bearer echo-me-access-token"
	cases := map[string]struct {
		reason      string
		scope       string
		method      string
		path        string
		body        string
		status      int
		messagePath []string // where the echo is in the JSON answer; nil for XML
	}{
		"login": {reason: "the token endpoint echoes in error_description", scope: "login", method: "POST",
			path: "/" + ten.TenantID + "/oauth2/v2.0/token", body: "grant_type=client_credentials&client_secret=" + url.QueryEscape(secret),
			status: 400, messagePath: []string{"error_description"}},
		"login-token": {reason: "login-token narrows the echo to the token endpoint", scope: "login-token", method: "POST",
			path: "/" + ten.TenantID + "/oauth2/v2.0/token", body: "client_secret=" + url.QueryEscape(secret),
			status: 400, messagePath: []string{"error_description"}},
		"graph": {reason: "Graph echoes in error.message", scope: "graph", method: "GET", path: "/graph/v1.0/applications?$filter=x",
			status: 400, messagePath: []string{"error", "message"}},
		"partnercenter": {reason: "Partner Center echoes in description", scope: "partnercenter", method: "GET", path: "/partnercenter/v1/customers",
			status: 400, messagePath: []string{"description"}},
		"blob": {reason: "storage echoes in an XML Message", scope: "blob", method: "GET", path: "/blob/export/x.json.gz?sig=abc", status: 400},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			admin(t, e, "PUT", "/_sandbox/faults", `{"echo":true,"scope":["`+tc.scope+`"]}`)
			hdr := map[string]string{"Authorization": bearer}
			if tc.body != "" {
				hdr["Content-Type"] = "application/x-www-form-urlencoded"
			}
			r := e.do(t, tc.method, tc.path, hdr, strings.NewReader(tc.body))
			if r.status != tc.status {
				t.Fatalf("%s: status %d, want %d: %s", tc.reason, r.status, tc.status, r.body)
			}
			msg := string(r.body)
			if tc.messagePath != nil {
				var v any = r.json(t)
				for _, k := range tc.messagePath {
					v = v.(map[string]any)[k]
				}
				msg = v.(string)
			}
			for _, want := range []string{bearer, tc.method + " " + tc.path, url.QueryEscape(secret)} {
				if (want == url.QueryEscape(secret)) != (tc.body != "") {
					continue
				}
				if tc.messagePath == nil {
					var b strings.Builder
					xml.EscapeText(&b, []byte(want))
					want = b.String()
				}
				if !strings.Contains(msg, want) {
					t.Errorf("%s: %q lacks %q", tc.reason, msg, want)
				}
			}
			if tc.messagePath != nil && !strings.Contains(msg, "\x1b]0;") {
				t.Errorf("%s: no escape sequence in %q", tc.reason, msg)
			}
		})
	}
	// Out of scope, nothing is echoed: login-token leaves Graph alone.
	admin(t, e, "PUT", "/_sandbox/faults", `{"echo":true,"scope":["login-token"]}`)
	if r := e.do(t, "GET", "/"+ten.TenantID+"/v2.0/.well-known/openid-configuration", nil, nil); r.status != 200 {
		t.Errorf("openid-configuration under login-token echo: %d", r.status)
	}
	admin(t, e, "PUT", "/_sandbox/faults", `{}`)
}

// TestAdminLimits: the admin API refuses a body over 1 MiB without reading it into memory,
// and durations in days are bounded instead of wrapping around.
func TestAdminLimits(t *testing.T) {
	e := start(t, Options{Tenants: 1})
	huge := `{"scope":["` + strings.Repeat("x", 2<<20) + `"]}`
	cases := map[string]struct {
		reason, body string
		want         int
		wantErr      string
	}{
		"HugeBody":    {reason: "a 2 MiB body is refused as too large", body: huge, want: 413, wantErr: "larger than 1048576 bytes"},
		"Overflow":    {reason: "106752 days would overflow time.Duration", body: `{"clockOffset":"106752d"}`, want: 400, wantErr: "at most 36500d"},
		"NegativeDay": {reason: "a negative count inside the sign is not a number of days", body: `{"clockOffset":"--3d"}`, want: 400, wantErr: "invalid duration"},
		"CenturyOK":   {reason: "a century is allowed", body: `{"clockOffset":"36500d"}`, want: 200},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.do(t, "PUT", "/_sandbox/faults", nil, strings.NewReader(tc.body))
			if r.status != tc.want || !strings.Contains(string(r.body), tc.wantErr) {
				t.Errorf("%s: %d %.200s, want %d with %q", tc.reason, r.status, r.body, tc.want, tc.wantErr)
			}
		})
	}
	for _, s := range []string{"9223372036854775807d", "106752d", "-106752d"} {
		if d, err := ParseDuration(s); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", s, d)
		}
	}
}
