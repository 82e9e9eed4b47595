package secrets

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// The real sops CLI (pinned by the Makefile) cross-checks the file format both ways.

func TestSopsCLIDecryptsOurFiles(t *testing.T) {
	sopsCLI(t)
	env := newTestEnv(t)
	ctx := context.Background()
	p := env.path("contoso")
	if err := Create(ctx, p, sampleFile()); err != nil {
		t.Fatal(err)
	}
	if _, err := Update(ctx, p, func(f *File) error {
		f.RefreshToken.Value = NewValue("rt-updated")
		f.RefreshToken.LastUsedAt = issued
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runSops(t, env.dir, "", "decrypt", p)
	if err != nil {
		t.Fatalf("sops decrypt: %v\n%s", err, stderr)
	}
	var got map[string]any
	if err := yaml.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"clientId": "6f0e3c3a-1b2c-4d5e-8f90-123456789abc",
		"clientSecret": map[string]any{
			"value": "cs-" + planted, "keyId": "0a1b2c3d-0000-4000-8000-000000000001", "endDateTime": "2027-05-01T00:00:00Z",
		},
		"refreshToken": map[string]any{
			"value": "rt-updated", "issuedAt": "2026-11-01T09:30:00Z", "lastUsedAt": "2026-11-01T09:30:00Z",
			"account": "svc-uic@contoso.onmicrosoft.com",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sops decrypt of our file (-want +got):\n%s", diff)
	}
}

func TestWeReadAndUpdateSopsFiles(t *testing.T) {
	sopsCLI(t)
	env := newTestEnv(t)
	ctx := context.Background()
	p := env.path("contoso")
	plain := `# Contoso's credentials.
clientId: 6f0e3c3a-1b2c-4d5e-8f90-123456789abc
clientSecret:
    value: from-sops-encrypt # inline note
    keyId: 0a1b2c3d-0000-4000-8000-000000000001
    endDateTime: "2027-05-01T00:00:00Z"
refreshToken:
    value: rt-from-sops
    issuedAt: 2026-11-01T09:30:00Z
    account: svc-uic@contoso.onmicrosoft.com
notes:
    owner: team-billing
`
	writeFile(t, p, plain)
	// sops encrypt -i, run from the fleet root like a consultant would.
	if _, stderr, err := runSops(t, env.dir, "", "encrypt", "-i", p); err != nil {
		t.Fatalf("sops encrypt: %v\n%s", err, stderr)
	}
	// sops set edits a value: our reader sees it.
	if _, stderr, err := runSops(t, env.dir, "", "set", p, `["refreshToken"]["value"]`, `"rt-from-sops-set"`); err != nil {
		t.Fatalf("sops set: %v\n%s", err, stderr)
	}
	got, err := Read(ctx, p)
	if err != nil {
		t.Fatalf("Read of a sops-made file: %v", err)
	}
	if got.ClientSecret.Value.Reveal() != "from-sops-encrypt" || got.RefreshToken.Value.Reveal() != "rt-from-sops-set" ||
		!got.ClientSecret.EndDateTime.Equal(end) || !got.RefreshToken.IssuedAt.Equal(issued) {
		t.Errorf("Read got %+v", got)
	}
	if _, err := Update(ctx, p, func(f *File) error {
		f.ClientSecret.Value = NewValue("rotated")
		return nil
	}); err != nil {
		t.Fatalf("Update of a sops-made file: %v", err)
	}
	out, stderr, err := runSops(t, env.dir, "", "decrypt", p)
	if err != nil {
		t.Fatalf("sops decrypt after our update: %v\n%s", err, stderr)
	}
	want := strings.Replace(strings.Replace(plain, "from-sops-encrypt", "rotated", 1), "rt-from-sops", "rt-from-sops-set", 1)
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("sops decrypt after our update (-want +got):\n%s", diff)
	}
	// `sops decrypt` on the file via the decrypt-only path agrees with our reader on every
	// sops-created file in this test.
	if _, err := os.Stat(filepath.Join(filepath.Dir(p), ".secrets.sops.yaml.lock")); err != nil {
		t.Errorf("lock file: %v", err)
	}
}
