package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/useitcloud/uicctl/pkg/sandbox"
)

// BenchmarkApplyUnderLag applies one fresh tenant while every new Graph object takes 3 s to
// replicate, as a user runs it (uicctl apply --auto-approve), and reports the time and the
// requests it took. The service principal waits for the app to replicate, the grants for
// the service principal, and the final observe (the result must match the plan) for the
// grants: three replications in a row are the floor (x-floor = time / 3 lags), not a fixed
// sleep.
func BenchmarkApplyUnderLag(b *testing.B) {
	const lag = 3 * time.Second
	logPath := filepath.Join(b.TempDir(), "requests.jsonl")
	e := startE2E(b, sandbox.Options{Tenants: 1 + b.N, Customers: 1, Seed: 5, RequestLog: logPath})
	sb, c := e.sb, e.cli
	root := b.TempDir()
	var fleets []string
	for _, tn := range sb.World().Tenants {
		fleets = append(fleets, newFleetFor(b, root, tn, e.id))
	}
	if err := sb.SetFaults(sandbox.Faults{ReplicationLag: lag}); err != nil {
		b.Fatal(err)
	}
	sb.FlushRequestLog()
	before := countLines(b, logPath)
	b.ResetTimer()
	for i := range b.N {
		out, err := c.command("apply", "--auto-approve", fleets[i]).CombinedOutput()
		if err != nil {
			b.Fatalf("apply: %v\n%s", err, out)
		}
	}
	b.StopTimer()
	sb.FlushRequestLog()
	b.ReportMetric(float64(countLines(b, logPath)-before)/float64(b.N), "requests/op")
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(time.Second), "s/op")
	b.ReportMetric(lag.Seconds(), "lag-s")
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(3*lag), "x-floor")
}
