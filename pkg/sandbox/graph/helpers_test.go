package graph

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const (
	testTenant  = "11111111-1111-4111-8111-111111111111"
	otherTenant = "22222222-2222-4222-8222-222222222222"
	operatorApp = "33333333-3333-4333-8333-333333333333"
	testSecret  = "opr8Q~0123456789abcdefghijklmnopqrstuvwx"
)

// fakeTokens stands in for the sandbox's JWT verifier: the bearer token is a key into it.
type fakeTokens map[string]Principal

func (f fakeTokens) authenticate(r *http.Request) (Principal, error) {
	p, ok := f[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if !ok {
		return Principal{}, errors.New("Access token validation failure. Invalid signature.")
	}
	return p, nil
}

type fixture struct {
	t   *testing.T
	svc *Service
	srv *httptest.Server
	now time.Time
	lag time.Duration
	tok fakeTokens
	// throttle makes every $batch item answer 429.
	throttle bool
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, now: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC), tok: fakeTokens{}}
	f.svc = New(Options{
		Authenticate:   f.tok.authenticate,
		Now:            func() time.Time { return f.now },
		ReplicationLag: func() time.Duration { return f.lag },
		BatchItemThrottle: func() (string, bool) {
			return "2", f.throttle
		},
	})
	f.svc.AddTenant(testTenant, "contoso.onmicrosoft.com")
	f.svc.AddTenant(otherTenant, "fabrikam.onmicrosoft.com")
	if err := f.svc.SeedOperator(testTenant, operatorApp, "uicctl operator", testSecret, f.now.AddDate(1, 0, 0), []string{testTenant, otherTenant}, testOperatorRoles); err != nil {
		t.Fatal(err)
	}
	// The operator of these tests also holds what the billing export and organization
	// tests call with, beyond the roles uicctl's operator needs.
	f.tok["operator"] = Principal{TenantID: testTenant, AppID: operatorApp, Audience: "https://graph.microsoft.com",
		Roles: f.svc.AppRoles(testTenant, operatorApp, GraphAppID)}
	f.tok["other"] = Principal{TenantID: otherTenant, AppID: operatorApp, Audience: "https://graph.microsoft.com",
		Roles: f.svc.AppRoles(otherTenant, operatorApp, GraphAppID)}
	f.tok["readonly"] = Principal{TenantID: testTenant, AppID: operatorApp, Audience: "https://graph.microsoft.com",
		Roles: []string{"Application.Read.All"}}
	f.tok["assign-only"] = Principal{TenantID: testTenant, AppID: operatorApp, Audience: "https://graph.microsoft.com",
		Roles: []string{"AppRoleAssignment.ReadWrite.All"}}
	f.tok["pc"] = Principal{TenantID: testTenant, AppID: operatorApp, Audience: "https://api.partnercenter.microsoft.com",
		Roles: []string{"Application.ReadWrite.All"}}
	mux := http.NewServeMux()
	mux.Handle("/graph/", http.StripPrefix("/graph", f.svc))
	mux.Handle("/blob/", f.svc.BlobHandler())
	f.srv = httptest.NewTLSServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

type resp struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

// do sends a Graph request; path is relative to /graph/v1.0. body may be nil, a string
// (sent as is) or a value (sent as JSON).
func (f *fixture) do(token, method, path string, body any, headers ...string) resp {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	u := path
	if !strings.HasPrefix(path, "https://") {
		u = f.srv.URL + "/graph/v1.0" + strings.ReplaceAll(path, " ", "%20")
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	r := resp{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			f.t.Fatalf("%s %s: body is not a JSON object: %v\n%s", method, path, err, raw)
		}
	}
	return r
}

func gz(t *testing.T, v any) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(v); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func errCode(r resp) string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// testOperatorRoles are OperatorRoles plus the permissions of the billing export and the
// organization read, which these tests call as the operator.
var testOperatorRoles = append(append([]string{}, OperatorRoles...), "PartnerBilling.Read.All", "Organization.Read.All")
