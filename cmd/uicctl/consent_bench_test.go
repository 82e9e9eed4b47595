package main

import (
	"path/filepath"
	"testing"

	"github.com/useitcloud/uicctl/pkg/sandbox"
)

// BenchmarkConsent is one consent as a user runs it, with the sign-in played at the
// sandbox by a plain HTTP client: the uicctl process starts and listens, the browser
// follows the redirect, the code is redeemed, the secrets file rewritten and the token
// redeemed twice. The sign-in page itself is part of the time; a person's typing is not.
func BenchmarkConsent(b *testing.B) {
	logPath := filepath.Join(b.TempDir(), "requests.jsonl")
	e := startE2E(b, sandbox.Options{Tenants: 1, Customers: 1, RequestLog: logPath})
	tenant := e.sb.World().Tenants[0]
	fleet := newFleetFor(b, b.TempDir(), tenant, e.id)
	dir := filepath.Join(fleet, "tenants", tenant.Name)
	g, err := newGraphCaller(e.sb, tenant.TenantID)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := provision(g, e.sb.URL(), tenant.Name, dir, provisionOpts{secretDays: 180, noToken: true}); err != nil {
		b.Fatal(err)
	}
	upn := tenant.Accounts[0].UPN
	e.sb.FlushRequestLog()
	before := countLines(b, logPath)
	b.ResetTimer()
	for range b.N {
		if err := consentOnce(e, dir, upn); err != nil {
			b.Fatalf("consent: %v", err)
		}
	}
	b.StopTimer()
	e.sb.FlushRequestLog()
	b.ReportMetric(float64(countLines(b, logPath)-before)/float64(b.N), "requests/op")
}
