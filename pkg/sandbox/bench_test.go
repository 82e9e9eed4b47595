package sandbox

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
)

// benchRequests runs newReq in parallel over keep-alive TLS connections on loopback and
// reports requests per second.
func benchRequests(b *testing.B, e *env, newReq func() *http.Request, want int) {
	b.Helper()
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := e.hc.Do(newReq())
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkSandboxGraphList: a Graph list call with a cached app-only token, the common
// request of a plan.
func BenchmarkSandboxGraphList(b *testing.B) {
	e := start(b, Options{Tenants: 1})
	ten := e.sb.World().Tenants[0].TenantID
	tok := e.appToken(b, ten, "https://graph.microsoft.com")
	u := e.sb.URL() + "/graph/v1.0/applications?$top=10"
	benchRequests(b, e, func() *http.Request {
		r, _ := http.NewRequest("GET", u, nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		r.Header.Set("MS-Contract-Version", "v1")
		return r
	}, 200)
}

// BenchmarkSandboxPartnerCenterCustomers: a Partner Center list with an app-only token.
func BenchmarkSandboxPartnerCenterCustomers(b *testing.B) {
	e := start(b, Options{Tenants: 1})
	ten := e.sb.World().Tenants[0].TenantID
	tok := e.appToken(b, ten, "https://api.partnercenter.microsoft.com")
	u := e.sb.URL() + "/partnercenter/v1/customers?size=100"
	benchRequests(b, e, func() *http.Request {
		r, _ := http.NewRequest("GET", u, nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		return r
	}, 200)
}

// BenchmarkSandboxToken: client_credentials token issuance (one RS256 signature each).
func BenchmarkSandboxToken(b *testing.B) {
	e := start(b, Options{Tenants: 1})
	tid, cid, secret := e.sb.Operator()
	body := url.Values{"client_id": {cid}, "client_secret": {secret}, "grant_type": {"client_credentials"},
		"scope": {"https://graph.microsoft.com/.default"}}.Encode()
	u := e.sb.URL() + "/" + tid + "/oauth2/v2.0/token"
	benchRequests(b, e, func() *http.Request {
		r, _ := http.NewRequest("POST", u, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}, 200)
}

// BenchmarkSandbox1000Tenants: start a sandbox with 1,000 partner tenants (5 customers each,
// the well-known service principals and the operator's grants in every tenant) and report
// the live heap it holds.
func BenchmarkSandbox1000Tenants(b *testing.B) {
	var heap uint64
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		sb, err := Start(context.Background(), Options{Tenants: 1000, Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = after.HeapAlloc - before.HeapAlloc
		if len(sb.World().Tenants) != 1000 {
			b.Fatal("not 1000 tenants")
		}
		sb.Close()
	}
	b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
}
