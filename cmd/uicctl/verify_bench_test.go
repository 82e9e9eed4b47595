package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/useitcloud/uicctl/pkg/sandbox"
)

// BenchmarkVerifyFleet verifies 200 consented sandbox tenants with 50 ms of latency on
// every request, at parallelism 16, running the uicctl binary as CI does. The checks of a
// tenant run one after another, so the floor is ceil(200/16) rounds x the requests of one
// tenant (counted from the sandbox's request log) x 50 ms. It reports x-floor.
func BenchmarkVerifyFleet(b *testing.B) {
	const tenants, parallelism, latency = 200, 16, 50 * time.Millisecond
	logPath := filepath.Join(b.TempDir(), "requests.jsonl")
	e := startE2E(b, sandbox.Options{Tenants: tenants, Customers: 1, Seed: 1, RequestLog: logPath})
	fleet := e.fleet(b)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	errs := make([]error, tenants)
	for i, t := range e.sb.World().Tenants {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = consentTenant(e, fleet, t)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := e.sb.SetFaults(sandbox.Faults{Latency: latency}); err != nil {
		b.Fatal(err)
	}
	e.sb.FlushRequestLog()
	before := countLines(b, logPath)
	b.ResetTimer()
	for b.Loop() {
		out, err := e.command("verify", "--parallelism", fmt.Sprint(parallelism), fleet).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "200 tenants: 200 passed") {
			b.Fatalf("verify: %v\n%s", err, out)
		}
	}
	b.StopTimer()
	e.sb.FlushRequestLog()
	perTenant := float64(countLines(b, logPath)-before) / float64(b.N) / tenants
	b.ReportMetric(perTenant, "requests/tenant")
	floor := float64((tenants+parallelism-1)/parallelism) * perTenant * float64(latency)
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/floor, "x-floor")
}

// consentTenant provisions a tenant's app and runs uicctl consent for it, the sign-in played
// at the sandbox, so verify has a redeemable refresh token.
func consentTenant(e *e2e, fleet string, t sandbox.Tenant) error {
	dir := filepath.Join(fleet, "tenants", t.Name)
	g, err := newGraphCaller(e.sb, t.TenantID)
	if err != nil {
		return err
	}
	if _, err := provision(g, e.sb.URL(), t.Name, dir, provisionOpts{secretDays: 180, noToken: true}); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		err := consentOnce(e, dir, t.Accounts[0].UPN)
		if err == nil || attempt == 3 {
			return err
		}
	}
}

func consentOnce(e *e2e, dir, upn string) error {
	cmd := e.command("consent", "--no-browser", "--port", strconv.Itoa(freePortErr()), dir)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	var authURL string
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "https://") {
			authURL = sc.Text()
		}
		if strings.Contains(sc.Text(), "waiting for the sign-in") {
			break
		}
	}
	if authURL == "" {
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("uicctl consent printed no URL")
	}
	if err := e.sb.Browse(context.Background(), authURL, upn); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return err
	}
	for sc.Scan() {
	}
	return cmd.Wait()
}

// freePortErr is freePort for goroutines (which must not call Fatal): 0 when none was
// found, which makes the consent fail and be retried.
func freePortErr() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
