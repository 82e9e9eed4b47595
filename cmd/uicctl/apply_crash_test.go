package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"filippo.io/age"

	"github.com/useitcloud/uicctl/pkg/sandbox"
	"github.com/useitcloud/uicctl/pkg/secrets"
)

// cli runs the uicctl command as a separate process, the way a user (or a killed CI job)
// runs it: testscript.Main runs it when this test binary is invoked by that name.
type cli struct {
	bin string
	env []string
}

func newCLI(t testing.TB, sb *sandbox.Sandbox, id *age.X25519Identity) *cli {
	dir := t.TempDir()
	bin := filepath.Join(dir, "uicctl")
	if err := os.Symlink(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	tid, cid, secret := sb.Operator()
	return &cli{bin: bin, env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "UICCTL_CLOUD=" + sb.CloudFile(),
		"SSL_CERT_FILE=" + sb.CAFile(), "SSL_CERT_DIR=" + dir, "AZURE_TENANT_ID=" + tid, "AZURE_CLIENT_ID=" + cid,
		"AZURE_CLIENT_SECRET=" + secret, "SOPS_AGE_KEY=" + id.String()}}
}

func (c *cli) command(args ...string) *exec.Cmd {
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.env
	return cmd
}

// newFleetFor writes a one-tenant fleet (spec as uicctl init writes it, .sops.yaml for id).
func newFleetFor(t testing.TB, root string, tenant sandbox.Tenant, id *age.X25519Identity) string {
	fleet := filepath.Join(root, tenant.Name)
	tdir := filepath.Join(fleet, "tenants", tenant.Name)
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(fleet, ".sops.yaml"), []byte(sopsTemplate([]string{id.Recipient().String()})), 0o644)
	os.WriteFile(filepath.Join(tdir, "partner.yaml"), []byte(partnerTemplate(tenant.Name, tenant.TenantID)), 0o644)
	return fleet
}

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
	sb, err := sandbox.Start(context.Background(), sandbox.Options{Tenants: tenants, Customers: 1, Seed: 7, Dir: t.TempDir(), OnServed: onServed})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOPS_AGE_KEY", id.String()) // for reading the secrets files in this process
	c := newCLI(t, sb, id)
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
