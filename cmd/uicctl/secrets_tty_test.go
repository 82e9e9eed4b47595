//go:build linux

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

// TestSecretsSetOnATerminal: typed at a terminal, the value ends with Enter; secrets set
// does not wait for end of input (piped input is read to its end, so that a second line is
// refused, not dropped).
func TestSecretsSetOnATerminal(t *testing.T) {
	dir := t.TempDir()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	t.Setenv("SOPS_AGE_KEY", id.String())
	rule := "creation_rules:\n  - path_regex: (^|/)secrets\\.sops\\.yaml$\n    encrypted_regex: ^value$\n    age: " + id.Recipient().String() + "\n"
	if err := os.WriteFile(filepath.Join(dir, ".sops.yaml"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "secrets.sops.yaml")
	ctrl, term := openPTY(t)
	defer ctrl.Close()
	defer term.Close()
	// Typed, and the terminal stays open: no end of input follows.
	if _, err := ctrl.Write([]byte("admin@contoso.onmicrosoft.com\n")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan int, 1)
	var stdout, stderr bytes.Buffer
	go func() {
		done <- run(ctx, []string{"secrets", "set", file, "refreshToken.account"}, term, &stdout, &stderr, os.Getenv)
	}()
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(stdout.String(), "stored refreshToken.account") {
			t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("secrets set still waits for the end of input after Enter at a terminal")
	}
}
