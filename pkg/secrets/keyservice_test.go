package secrets

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A remote key service (`sops keyservice`, e.g. forwarded from a workstation) holds the key;
// this process has none and its local key service is off. Reading and updating still work:
// the data key goes through SOPS_KEYSERVICE, as with the CLI.
func TestRemoteKeyService(t *testing.T) {
	sops := sopsCLI(t)
	env := newTestEnv(t)
	p := env.path("contoso")
	mustCreate(t, p)

	sock := filepath.Join(t.TempDir(), "ks.sock")
	srv := exec.Command(sops, "keyservice", "--network", "unix", "--address", sock)
	srv.Env = os.Environ() // has SOPS_AGE_KEY_FILE: the key lives with the server
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sops keyservice did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}

	os.Unsetenv("SOPS_AGE_KEY_FILE")
	t.Setenv("SOPS_ENABLE_LOCAL_KEYSERVICE", "false")
	t.Setenv("SOPS_KEYSERVICE", "unix://"+sock)
	f, err := Read(context.Background(), p)
	if err != nil {
		t.Fatalf("Read through the remote key service: %v", err)
	}
	if f.ClientSecret.Value.Reveal() != "cs-"+planted {
		t.Error("wrong value")
	}
	if _, err := Update(context.Background(), p, func(f *File) error { f.RefreshToken.Account = "other@contoso.com"; return nil }); err != nil {
		t.Fatalf("Update through the remote key service: %v", err)
	}

	// Without the server, nothing can decrypt: a NoKeyError, not a hang or a crash.
	srv.Process.Kill()
	srv.Wait()
	_, err = Read(context.Background(), p)
	var nk *NoKeyError
	if !errors.As(err, &nk) {
		t.Fatalf("err = %v, want NoKeyError", err)
	}
}

func TestKeyServiceSettings(t *testing.T) {
	tests := map[string]struct {
		reason  string
		env     map[string]string
		wantErr string
	}{
		"defaults": {reason: "the local key service, sops's decryption order"},
		"local off, none remote": {
			reason: "no key service at all cannot decrypt anything", env: map[string]string{"SOPS_ENABLE_LOCAL_KEYSERVICE": "false"},
			wantErr: "no key service",
		},
		"not a boolean": {
			reason: "the CLI would refuse it too", env: map[string]string{"SOPS_ENABLE_LOCAL_KEYSERVICE": "maybe"},
			wantErr: "must be true or false",
		},
		"bad address": {
			reason: "an unparsable URL", env: map[string]string{"SOPS_KEYSERVICE": "tcp://[::1"},
			wantErr: "SOPS_KEYSERVICE: cannot parse",
		},
		"order": {reason: "SOPS_DECRYPTION_ORDER is passed on", env: map[string]string{"SOPS_DECRYPTION_ORDER": "pgp, age"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			newTestEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			svcs, order, closeAll, err := keyServices()
			defer closeAll()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("%s: err = %v, want %q", tc.reason, err, tc.wantErr)
				}
				return
			}
			if err != nil || len(svcs) != 1 {
				t.Fatalf("%s: %d services, err %v", tc.reason, len(svcs), err)
			}
			if name == "order" && strings.Join(order, ",") != "pgp,age" {
				t.Errorf("order = %v", order)
			}
		})
	}
}
