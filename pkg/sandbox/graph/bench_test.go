package graph

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkGraphHandler measures the Graph handler in process (no TLS, no sockets): the
// sandbox's loopback benchmark adds those.
func BenchmarkGraphHandler(b *testing.B) {
	tok := fakeTokens{}
	svc := New(Options{Authenticate: tok.authenticate})
	svc.AddTenant(testTenant, "contoso.onmicrosoft.com")
	if err := svc.SeedOperator(testTenant, operatorApp, "op", testSecret, time.Now().AddDate(1, 0, 0), []string{testTenant}, nil); err != nil {
		b.Fatal(err)
	}
	tok["t"] = Principal{TenantID: testTenant, AppID: operatorApp, Audience: "https://graph.microsoft.com",
		Roles: svc.AppRoles(testTenant, operatorApp, GraphAppID)}
	serve := func(method, path, body string) *httptest.ResponseRecorder {
		var r *http.Request
		if body != "" {
			r = httptest.NewRequest(method, "https://127.0.0.1"+path, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
		} else {
			r = httptest.NewRequest(method, "https://127.0.0.1"+path, nil)
		}
		r.Header.Set("Authorization", "Bearer t")
		w := httptest.NewRecorder()
		svc.ServeHTTP(w, r)
		return w
	}
	var lastAppID string
	for i := 0; i < 1000; i++ {
		w := serve("POST", "/v1.0/applications", fmt.Sprintf(`{"displayName":"app %d"}`, i))
		if w.Code != 201 {
			b.Fatalf("seed: %d %s", w.Code, w.Body)
		}
		lastAppID = strings.Split(strings.Split(w.Body.String(), `"appId":"`)[1], `"`)[0]
	}
	b.Run("get-by-appId-filter/1000-apps", func(b *testing.B) {
		path := "/v1.0/applications?$filter=appId%20eq%20'" + lastAppID + "'&$select=id,appId,displayName,web,requiredResourceAccess"
		b.ReportAllocs()
		for b.Loop() {
			if w := serve("GET", path, ""); w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	})
	b.Run("get-by-alternate-key/1000-apps", func(b *testing.B) {
		path := "/v1.0/applications(appId='" + lastAppID + "')"
		b.ReportAllocs()
		for b.Loop() {
			if w := serve("GET", path, ""); w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	})
	b.Run("create-application", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if w := serve("POST", "/v1.0/applications", `{"displayName":"bench","web":{"redirectUris":["http://localhost:8400/"]}}`); w.Code != 201 {
				b.Fatal(w.Code)
			}
		}
	})
	b.Run("batch-of-3-gets", func(b *testing.B) {
		body := `{"requests":[{"id":"1","method":"GET","url":"/applications(appId='` + lastAppID + `')"},` +
			`{"id":"2","method":"GET","url":"/servicePrincipals(appId='` + GraphAppID + `')?%24select=id"},` +
			`{"id":"3","method":"GET","url":"/oauth2PermissionGrants"}]}`
		b.ReportAllocs()
		for b.Loop() {
			if w := serve("POST", "/v1.0/$batch", body); w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	})
}

// BenchmarkAddTenant measures what one tenant's directory costs: B/op is the memory a
// generated tenant (five first-party service principals, three agent groups) allocates,
// and retained-MB/1000-tenants what stays live for a 1,000-tenant world with the operator.
func BenchmarkAddTenant(b *testing.B) {
	b.ReportAllocs()
	s := New(Options{})
	i := 0
	for b.Loop() {
		s.AddTenant(stableGUID("bench", strconv.Itoa(i)), "bench.onmicrosoft.com")
		i++
	}
	b.StopTimer()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	w := New(Options{})
	ids := make([]string, 1000)
	for j := range ids {
		ids[j] = stableGUID("world", strconv.Itoa(j))
		w.AddTenant(ids[j], "world.onmicrosoft.com")
	}
	if err := w.SeedOperator(ids[0], operatorApp, "op", testSecret, time.Now().AddDate(1, 0, 0), ids, nil); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(w)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "retained-MB/1000-tenants")
}
