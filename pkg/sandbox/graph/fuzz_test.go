package graph

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// fuzzService is a Graph with one tenant and a token that may do everything.
func fuzzService(tb testing.TB) *Service {
	tok := fakeTokens{}
	s := New(Options{Authenticate: tok.authenticate})
	s.AddTenant(testTenant, "contoso.onmicrosoft.com")
	if err := s.SeedOperator(testTenant, operatorApp, "op", testSecret, time.Now().AddDate(1, 0, 0), []string{testTenant}, nil); err != nil {
		tb.Fatal(err)
	}
	tok["t"] = Principal{TenantID: testTenant, AppID: operatorApp, Audience: "https://graph.microsoft.com",
		Roles: s.AppRoles(testTenant, operatorApp, GraphAppID)}
	return s
}

// FuzzFilter: any $filter gets a 200 or a 400, never a panic or a 5xx.
func FuzzFilter(f *testing.F) {
	for _, seed := range []string{"appId eq 'x'", "displayName eq 'a''b' and (uniqueName eq 'c' or appId eq null)",
		"identifierUris/any(x:x eq 'api://a')", "startswith(displayName,'M')", "((", "'", "eq eq eq", "a/any(x:"} {
		f.Add(seed)
	}
	s := fuzzService(f)
	f.Fuzz(func(t *testing.T, filter string) {
		r := httptest.NewRequest("GET", "https://127.0.0.1/v1.0/applications?$filter="+url.QueryEscape(filter), nil)
		r.Header.Set("Authorization", "Bearer t")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Fatalf("$filter=%q: %d %s", filter, w.Code, w.Body)
		}
	})
}

// FuzzBody: any application body or batch gets a 4xx or a success, never a panic or a 5xx.
func FuzzBody(f *testing.F) {
	for _, seed := range []string{`{"displayName":"x"}`, `{"displayName":"x","web":{"redirectUris":["http://localhost:1"]}}`,
		`{"displayName":1}`, `{"requiredResourceAccess":[{"resourceAccess":[{"type":"Scope"}]}]}`, `[]`, `null`,
		`{"requests":[{"id":"1","method":"GET","url":"/applications"}]}`, `{"passwordCredential":{"endDateTime":"x"}}`} {
		f.Add(seed, "applications")
		f.Add(seed, "$batch")
	}
	s := fuzzService(f)
	f.Fuzz(func(t *testing.T, body, path string) {
		if strings.ContainsAny(path, " ?#%") {
			return
		}
		if _, err := url.Parse("https://127.0.0.1/v1.0/" + path); err != nil {
			return // not a request a client could send
		}
		r := httptest.NewRequest("POST", "https://127.0.0.1/v1.0/"+path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer t")
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("POST %s %q: %d %s", path, body, w.Code, w.Body)
		}
	})
}
