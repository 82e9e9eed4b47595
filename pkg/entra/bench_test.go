package entra_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/useitcloud/uicctl/pkg/entra"
	"github.com/useitcloud/uicctl/pkg/sandbox"
)

// BenchmarkObserve observes one in-sync tenant with a warm client (token cached): the
// cost of the one $batch, and the requests it takes.
func BenchmarkObserve(b *testing.B) {
	e := start(b, 1)
	c := e.configure(e.tenant)
	q := entra.Query{UniqueName: testUniqueName, KnownAppID: c.appID, ResourceAppIDs: resources}
	cl := e.client(entra.Options{})
	if _, err := cl.Observe(context.Background(), e.tenant, q); err != nil {
		b.Fatal(err)
	}
	var since int
	e.requests(&since)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cl.Observe(context.Background(), e.tenant, q); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(e.requests(&since)))/float64(b.N), "requests/op")
}

// BenchmarkObserveFleet observes 200 in-sync tenants behind 50 ms of injected latency, 16
// at a time, with a fresh client per run (so every tenant costs its token request too):
// the fleet shape of issue #5's `make bench`. The round-trip floor is
// ceil(200/16) x 2 x 50 ms = 1.3 s.
var fleetLatency = 50 * time.Millisecond

func BenchmarkObserveFleet(b *testing.B) {
	const tenants, parallelism = 200, 16
	e := start(b, tenants)
	world := e.sb.World()
	queries := make([]entra.Query, tenants)
	for i, t := range world.Tenants {
		c := e.configure(t.TenantID)
		queries[i] = entra.Query{UniqueName: testUniqueName, KnownAppID: c.appID, ResourceAppIDs: resources}
	}
	if err := e.sb.SetFaults(sandbox.Faults{Latency: fleetLatency}); err != nil {
		b.Fatal(err)
	}
	var since int
	e.requests(&since)
	for b.Loop() {
		cl := e.client(entra.Options{})
		sem := make(chan struct{}, parallelism)
		var wg sync.WaitGroup
		errs := make([]error, tenants)
		for i, t := range world.Tenants {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				_, errs[i] = cl.Observe(context.Background(), t.TenantID, queries[i])
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				b.Fatal(fmt.Errorf("tenant %d: %w", i, err))
			}
		}
	}
	b.ReportMetric(float64(len(e.requests(&since)))/float64(b.N*tenants), "requests/tenant")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/fleet")
}

// BenchmarkConvergeUnderLag runs the writes of a new tenant (as converge does: upsert,
// addPassword, service principal, grant, assignment, AdminAgents) with 3 s of replication
// lag, and reports the wall time and the requests sent. The app must replicate before its
// principal can be created and the principal before its grant: two lags in a row.
func BenchmarkConvergeUnderLag(b *testing.B) {
	const lag = 3 * time.Second
	e := start(b, b.N)
	cl := e.client(entra.Options{})
	tenants := e.sb.World().Tenants
	for _, tn := range tenants {
		if _, err := cl.Observe(context.Background(), tn.TenantID, entra.Query{UniqueName: writeTestAppID}); err != nil {
			b.Fatal(err) // tokens first
		}
	}
	if err := e.sb.SetFaults(sandbox.Faults{ReplicationLag: lag}); err != nil {
		b.Fatal(err)
	}
	var since int
	e.requests(&since)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		converge(b, cl, tenants[i].TenantID)
	}
	b.StopTimer()
	b.ReportMetric(float64(len(e.requests(&since)))/float64(b.N), "requests/op")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/op")
}
