package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/useitcloud/uicctl/pkg/sandbox"
)

// BenchmarkPlanFleet plans a fleet of 200 in-sync sandbox tenants with 50 ms of latency
// injected on every request, at parallelism 16, running the uicctl binary as a user would.
// The floor is ceil(200/16) rounds x 2 round trips x 50 ms = 1.3 s. It reports wall time per
// plan, requests per tenant and the peak RSS of the uicctl process.
func BenchmarkPlanFleet(b *testing.B) {
	const tenants, parallelism, latency = 200, 16, 50 * time.Millisecond
	logPath := filepath.Join(b.TempDir(), "requests.jsonl")
	e := startE2E(b, sandbox.Options{Tenants: tenants, Customers: 1, Seed: 1, RequestLog: logPath})
	sb := e.sb
	fleet := e.fleet(b)
	for _, t := range sb.World().Tenants {
		g, err := newGraphCaller(sb, t.TenantID)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := provision(g, sb.URL(), t.Name, filepath.Join(fleet, "tenants", t.Name), provisionOpts{secretDays: 180, tokenAge: 1}); err != nil {
			b.Fatal(err)
		}
	}
	for _, lat := range []time.Duration{0, latency} {
		b.Run("latency="+lat.String(), func(b *testing.B) {
			if err := sb.SetFaults(sandbox.Faults{Latency: lat}); err != nil {
				b.Fatal(err)
			}
			benchPlan(b, e, fleet, logPath, tenants, parallelism, lat)
		})
	}
}

func benchPlan(b *testing.B, e *e2e, fleet, logPath string, tenants, parallelism int, latency time.Duration) {
	sb := e.sb
	var maxRSS int64
	sb.FlushRequestLog()
	before := countLines(b, logPath)
	b.ResetTimer()
	for b.Loop() {
		cmd := e.command("plan", "--detailed-exitcode", "--parallelism", fmt.Sprint(parallelism), fleet)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "No changes: 200 tenants are in sync.") {
			b.Fatalf("plan: %v\n%s", err, out)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			maxRSS = max(maxRSS, ru.Maxrss)
		}
	}
	b.StopTimer()
	sb.FlushRequestLog()
	requests := countLines(b, logPath) - before
	b.ReportMetric(float64(requests)/float64(b.N)/float64(tenants), "requests/tenant")
	b.ReportMetric(float64(maxRSS)/1024, "peak-RSS-MB")
	if latency > 0 {
		floor := time.Duration((tenants+parallelism-1)/parallelism) * 2 * latency
		b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(floor), "x-floor")
	}
}

func countLines(b *testing.B, path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return strings.Count(string(data), "\n")
}
