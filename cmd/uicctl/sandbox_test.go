package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSandboxCommand: uicctl sandbox is ready in under a second, prints where it listens,
// and stops cleanly (exit 0, files removed, state written) on SIGINT and SIGTERM. The
// signal wiring is main's: signal.NotifyContext cancels the context run gets.
func TestSandboxCommand(t *testing.T) {
	for name, sig := range map[string]syscall.Signal{"SIGINT": syscall.SIGINT, "SIGTERM": syscall.SIGTERM} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			pr, pw := io.Pipe()
			var stderr strings.Builder
			envFile, state := filepath.Join(dir, "sandbox.env"), filepath.Join(dir, "state.json")
			began := time.Now()
			done := make(chan int, 1)
			go func() {
				done <- run(ctx, []string{"sandbox", "--tenants", "2", "--env-file", envFile, "--state", state}, nil, pw, &stderr, os.Getenv)
				pw.Close()
			}()
			sc := bufio.NewScanner(pr)
			if !sc.Scan() {
				t.Fatalf("no output; stderr: %s", stderr.String())
			}
			ready := time.Since(began)
			if !strings.HasPrefix(sc.Text(), "sandbox listening on https://127.0.0.1:") {
				t.Errorf("first line %q", sc.Text())
			}
			if ready > time.Second {
				t.Errorf("ready after %v, want under 1s", ready)
			}
			go io.Copy(io.Discard, pr) // the remaining lines: files and tenants
			if _, err := os.Stat(envFile); err != nil {
				t.Errorf("env file: %v", err)
			}
			syscall.Kill(os.Getpid(), sig)
			select {
			case code := <-done:
				if code != 0 {
					t.Errorf("exit code %d, stderr %s", code, stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("did not stop after the signal")
			}
			if !strings.Contains(stderr.String(), "uicctl: sandbox stopped") {
				t.Errorf("stderr %q", stderr.String())
			}
			if _, err := os.Stat(state); err != nil {
				t.Errorf("state file not written on stop: %v", err)
			}
		})
	}
}
