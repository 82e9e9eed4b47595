package main

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/useitcloud/uicctl/pkg/sandbox"
	"github.com/useitcloud/uicctl/pkg/secrets"
)

func isGraphWrite(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/graph/") && r.Method != http.MethodGet && !strings.HasSuffix(r.URL.Path, "/$batch")
}

// TestApplyKilledAtEveryWrite SIGKILLs a fresh-tenant apply at each of its write requests in
// turn (one trial per request index), just after the sandbox made the change and before
// uicctl heard of it. Each time, the next apply must converge: the plan is then empty, there
// is one application, and every password credential on it is the one in the secrets file.
func TestApplyKilledAtEveryWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts many uicctl processes")
	}
	var (
		mu     sync.Mutex
		killAt int64 // kill at this write; 0: never
		writes atomic.Int64
		victim *exec.Cmd
		exited chan struct{}
	)
	onServed := func(r *http.Request, status int) {
		if !isGraphWrite(r) || status >= 400 {
			return
		}
		n := writes.Add(1)
		mu.Lock()
		cmd, at, done := victim, killAt, exited
		mu.Unlock()
		if at != 0 && n == at && cmd != nil {
			cmd.Process.Kill()
			<-done // the response goes to a dead process
		}
	}
	const tenants = 14
	e := startE2E(t, sandbox.Options{Tenants: tenants, Customers: 1, Seed: 7, OnServed: onServed})
	sb, c, id := e.sb, e.cli, e.id
	t.Setenv("SOPS_AGE_KEY", id.String()) // for reading the secrets files in this process
	root := t.TempDir()
	world := sb.World().Tenants

	run := func(fleet string, kill int64) error {
		cmd := c.command("apply", "--auto-approve", fleet)
		done := make(chan struct{})
		writes.Store(0)
		mu.Lock()
		victim, killAt, exited = cmd, kill, done
		mu.Unlock()
		out, err := cmd.CombinedOutput()
		close(done)
		mu.Lock()
		victim, killAt = nil, 0
		mu.Unlock()
		if err != nil && kill == 0 {
			return fmt.Errorf("%v\n%s", err, out)
		}
		return nil
	}

	// An undisturbed apply of a fresh tenant tells how many writes there are.
	if err := run(newFleetFor(t, root, world[0], id), 0); err != nil {
		t.Fatal(err)
	}
	total := writes.Load()
	if total < 3 || int(total) >= tenants {
		t.Fatalf("a fresh-tenant apply made %d writes; the test needs 3 to %d", total, tenants-1)
	}
	t.Logf("a fresh-tenant apply makes %d write requests", total)

	for k := int64(1); k <= total; k++ {
		tenant := world[k]
		fleet := newFleetFor(t, root, tenant, id)
		if err := run(fleet, k); err != nil {
			t.Fatal(err)
		}
		if err := run(fleet, 0); err != nil {
			t.Errorf("killed at write %d: the next apply failed: %v", k, err)
			continue
		}
		out, err := c.command("plan", "--detailed-exitcode", fleet).CombinedOutput()
		if err != nil {
			t.Errorf("killed at write %d: plan after the next apply: %v\n%s", k, err, out)
		}
		checkOneAppOneSecret(t, sb, tenant, filepath.Join(fleet, "tenants", tenant.Name, "secrets.sops.yaml"), k)
	}
}

// checkOneAppOneSecret asserts that the tenant has exactly one uicctl application and that
// its only password credential is the one whose value the secrets file holds.
func checkOneAppOneSecret(t *testing.T, sb *sandbox.Sandbox, tenant sandbox.Tenant, secretsPath string, k int64) {
	t.Helper()
	g, err := newGraphCaller(sb, tenant.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	list, err := g.call("GET", "/applications?$filter=displayName%20eq%20'Partner%20Center%20Web%20App'&$select=id,appId,passwordCredentials", nil)
	if err != nil {
		t.Fatal(err)
	}
	apps := list["value"].([]any)
	if len(apps) != 1 {
		t.Errorf("killed at write %d: %d applications, want 1", k, len(apps))
		return
	}
	f, err := secrets.Read(context.Background(), secretsPath)
	if err != nil {
		t.Errorf("killed at write %d: secrets file: %v", k, err)
		return
	}
	pws := apps[0].(map[string]any)["passwordCredentials"].([]any)
	for _, pw := range pws {
		if keyID := pw.(map[string]any)["keyId"].(string); !strings.EqualFold(keyID, f.ClientSecret.KeyID) {
			t.Errorf("killed at write %d: password credential %s is on the app but not in the secrets file", k, keyID)
		}
	}
	if len(pws) != 1 {
		t.Errorf("killed at write %d: %d password credentials, want 1", k, len(pws))
	}
	if f.ClientSecret.Value.IsZero() {
		t.Errorf("killed at write %d: the secrets file holds no client secret", k)
	}
}
