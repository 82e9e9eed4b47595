package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/useitcloud/uicctl/internal/canary"
	"github.com/useitcloud/uicctl/pkg/sandbox"
	"github.com/useitcloud/uicctl/pkg/secrets"
)

// TestApplyFleetUnderFaults applies 50 fresh tenants while 20% of requests get a 5xx, 20% a
// 429 with Retry-After, and new objects take 2 s to replicate. Every tenant must converge:
// the next plan is empty, each app's only password credential is the one in its secrets
// file, and no secret value appears in any output.
func TestApplyFleetUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("applies 50 tenants under injected faults")
	}
	const tenants = 50
	e := startE2E(t, sandbox.Options{Tenants: tenants, Customers: 1, Seed: 11})
	sb, c := e.sb, e.cli
	t.Setenv("SOPS_AGE_KEY", e.id.String())
	fleet := e.fleet(t)
	if err := sb.SetFaults(sandbox.Faults{Rate5xx: 0.2, Rate429: 0.2, RetryAfter: 200 * time.Millisecond, ReplicationLag: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{}
	start := time.Now()
	out, err := c.command("apply", "--auto-approve", "--parallelism", "50", fleet).CombinedOutput()
	outputs["apply"] = string(out)
	if err != nil {
		t.Fatalf("apply under faults: %v\n%s", err, out)
	}
	t.Logf("applied %d tenants under faults in %v", tenants, time.Since(start).Round(time.Millisecond))
	out, err = c.command("plan", "--detailed-exitcode", fleet).CombinedOutput()
	outputs["plan"] = string(out)
	if err != nil || !strings.Contains(string(out), "No changes: 50 tenants are in sync.") {
		t.Fatalf("plan after apply: %v\n%s", err, out)
	}
	sb.SetFaults(sandbox.Faults{})

	var planted canary.Set
	_, _, op := sb.Operator()
	planted.Add("operatorSecret", op)
	for i, tn := range sb.World().Tenants {
		path := filepath.Join(fleet, "tenants", tn.Name, "secrets.sops.yaml")
		f, err := secrets.Read(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		planted.Add(tn.Name, f.ClientSecret.Value.Reveal())
		checkOneAppOneSecret(t, sb, tn, path, int64(i))
	}
	// Outputs and every file of the fleet (the secrets files are ciphertext).
	planted.Check(t, outputs, []string{fleet})
}
