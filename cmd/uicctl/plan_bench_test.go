package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/useitcloud/uicctl/pkg/sandbox"
)

// BenchmarkPlanFleet plans a fleet of 200 in-sync sandbox tenants with 50 ms of latency
// injected on every request, at parallelism 16, running the uicctl binary as a user would.
// The floor is ceil(200/16) rounds x 2 round trips x 50 ms = 1.3 s. It reports wall time per
// plan, requests per tenant and the peak RSS of the uicctl process.
func BenchmarkPlanFleet(b *testing.B) {
	const tenants, parallelism, latency = 200, 16, 50 * time.Millisecond
	dir := b.TempDir()
	logPath := filepath.Join(dir, "requests.jsonl")
	sb, err := sandbox.Start(context.Background(), sandbox.Options{Tenants: tenants, Customers: 1, Seed: 1, Dir: filepath.Join(dir, "sandbox"), RequestLog: logPath})
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Close()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	fleet := filepath.Join(dir, "fleet")
	os.MkdirAll(fleet, 0o755)
	os.WriteFile(filepath.Join(fleet, ".sops.yaml"), []byte(sopsTemplate([]string{id.Recipient().String()})), 0o644)
	for _, t := range sb.World().Tenants {
		tdir := filepath.Join(fleet, "tenants", t.Name)
		os.MkdirAll(tdir, 0o755)
		os.WriteFile(filepath.Join(tdir, "partner.yaml"), []byte(partnerTemplate(t.Name, t.TenantID)), 0o644)
		g, err := newGraphCaller(sb, t.TenantID)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := provision(g, sb.URL(), t.Name, tdir, provisionOpts{secretDays: 180, tokenAge: 1}); err != nil {
			b.Fatal(err)
		}
	}

	// testscript.Main runs the uicctl command when this binary is invoked by that name.
	bin := filepath.Join(dir, "bin", "uicctl")
	os.MkdirAll(filepath.Dir(bin), 0o755)
	if err := os.Symlink(os.Args[0], bin); err != nil {
		b.Fatal(err)
	}
	_, cid, secret := sb.Operator()
	tid, _, _ := sb.Operator()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "UICCTL_CLOUD=" + sb.CloudFile(), "SSL_CERT_FILE=" + sb.CAFile(),
		"SSL_CERT_DIR=" + dir, "AZURE_TENANT_ID=" + tid, "AZURE_CLIENT_ID=" + cid, "AZURE_CLIENT_SECRET=" + secret,
		"SOPS_AGE_KEY=" + id.String()}
	for _, lat := range []time.Duration{0, latency} {
		b.Run("latency="+lat.String(), func(b *testing.B) {
			if err := sb.SetFaults(sandbox.Faults{Latency: lat}); err != nil {
				b.Fatal(err)
			}
			benchPlan(b, sb, bin, env, fleet, logPath, tenants, parallelism, lat)
		})
	}
}

func benchPlan(b *testing.B, sb *sandbox.Sandbox, bin string, env []string, fleet, logPath string, tenants, parallelism int, latency time.Duration) {
	var maxRSS int64
	sb.FlushRequestLog()
	before := countLines(b, logPath)
	b.ResetTimer()
	for b.Loop() {
		cmd := exec.Command(bin, "plan", "--detailed-exitcode", "--parallelism", fmt.Sprint(parallelism), fleet)
		cmd.Env = env
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
