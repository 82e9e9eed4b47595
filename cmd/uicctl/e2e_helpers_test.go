package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/useitcloud/uicctl/pkg/sandbox"
)

// e2e is a sandbox, an age key and the uicctl command as a separate process: what the
// process-level tests and benchmarks share.
type e2e struct {
	sb *sandbox.Sandbox
	id *age.X25519Identity
	*cli
}

// startE2E starts a sandbox with opts (Dir defaults to a temporary directory) and makes
// the key and the command for it. Everything stops with the test.
func startE2E(tb testing.TB, opts sandbox.Options) *e2e {
	tb.Helper()
	if opts.Dir == "" {
		opts.Dir = tb.TempDir()
	}
	sb, err := sandbox.Start(context.Background(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sb.Close() })
	id, err := age.GenerateX25519Identity()
	if err != nil {
		tb.Fatal(err)
	}
	return &e2e{sb: sb, id: id, cli: newCLI(tb, sb, id)}
}

// fleet writes one fleet holding every sandbox tenant (specs as uicctl init writes them).
func (e *e2e) fleet(tb testing.TB) string {
	fleet := filepath.Join(tb.TempDir(), "fleet")
	os.MkdirAll(fleet, 0o755)
	os.WriteFile(filepath.Join(fleet, ".sops.yaml"), []byte(sopsTemplate([]string{e.id.Recipient().String()}, "")), 0o644)
	for _, tn := range e.sb.World().Tenants {
		tdir := filepath.Join(fleet, "tenants", tn.Name)
		os.MkdirAll(tdir, 0o755)
		os.WriteFile(filepath.Join(tdir, "partner.yaml"), []byte(partnerTemplate(tn.Name, tn.TenantID, "", true)), 0o644)
	}
	return fleet
}

// cli runs the uicctl command as a separate process, the way a user (or a killed CI job)
// runs it: testscript.Main runs it when this test binary is invoked by that name.
type cli struct {
	bin string
	env []string
}

func newCLI(t testing.TB, sb *sandbox.Sandbox, id *age.X25519Identity) *cli {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin", "uicctl")
	noCerts := filepath.Join(dir, "no-certs") // only the sandbox CA is trusted
	for _, d := range []string{filepath.Dir(bin), noCerts} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	tid, cid, secret := sb.Operator()
	// SSL_CERT_DIR must be a folder of certificates: Go reads every file in it (a folder
	// holding this test binary once cost every uicctl process 75 MB).
	return &cli{bin: bin, env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "UICCTL_CLOUD=" + sb.CloudFile(),
		"SSL_CERT_FILE=" + sb.CAFile(), "SSL_CERT_DIR=" + noCerts, "AZURE_TENANT_ID=" + tid, "AZURE_CLIENT_ID=" + cid,
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
	os.WriteFile(filepath.Join(fleet, ".sops.yaml"), []byte(sopsTemplate([]string{id.Recipient().String()}, "")), 0o644)
	os.WriteFile(filepath.Join(tdir, "partner.yaml"), []byte(partnerTemplate(tenant.Name, tenant.TenantID, "", true)), 0o644)
	return fleet
}

// sandboxHTTPClient trusts the sandbox CA and nothing else.
func sandboxHTTPClient(sb *sandbox.Sandbox) (*http.Client, error) {
	pem, err := os.ReadFile(sb.CAFile())
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}, nil
}
