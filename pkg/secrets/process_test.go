//go:build unix

package secrets

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// These tests run writers in separate processes: the test binary re-executes itself with
// childEnv set, and TestChildWriter does the child's work.
const childEnv = "UICCTL_SECRETS_TEST_CHILD"

// TestChildWriter is the child process; it does nothing in a normal run.
func TestChildWriter(t *testing.T) {
	mode := os.Getenv(childEnv)
	if mode == "" {
		t.Skip("helper process for TestCrashSafety and TestConcurrentUpdates")
	}
	path, name := os.Getenv(childEnv+"_PATH"), os.Getenv(childEnv+"_NAME")
	ctx := context.Background()
	switch mode {
	case "crash":
		if os.Getenv(childEnv+"_SLOW") != "" {
			// Widen the window between the temp file and the rename.
			testOnlyAfterTempWrite = func() { time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond) }
		}
		fmt.Println("ready")
		for i := 1; ; i++ {
			if _, err := Update(ctx, path, func(f *File) error { setVersion(f, i); return nil }); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
		}
	case "concurrent":
		for i := 1; i <= 50; i++ {
			key := fmt.Sprintf("%s-%02d", name, i)
			if _, err := modify(ctx, path, func(*File) ([]change, error) {
				return []change{{path: []string{"log", key}, text: "applied"}}, nil
			}); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
		}
	}
	os.Exit(0)
}

// setVersion makes the three clientSecret keys name the same version i, so a file that
// mixes two versions is detected.
func setVersion(f *File, i int) {
	f.ClientSecret.Value = NewValue("v-" + strconv.Itoa(i))
	f.ClientSecret.KeyID = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	f.ClientSecret.EndDateTime = end.Add(time.Duration(i) * time.Hour)
}

func versionOf(t *testing.T, f *File) int {
	t.Helper()
	i, err := strconv.Atoi(f.ClientSecret.Value.Reveal()[2:])
	if err != nil {
		t.Fatalf("value is not a version")
	}
	var want File
	setVersion(&want, i)
	if f.ClientSecret.KeyID != want.ClientSecret.KeyID || !f.ClientSecret.EndDateTime.Equal(want.ClientSecret.EndDateTime) {
		t.Fatalf("file mixes versions: value %d, keyId %s, endDateTime %s", i, f.ClientSecret.KeyID, f.ClientSecret.EndDateTime)
	}
	return i
}

func child(t *testing.T, mode, path, name string, extra ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestChildWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, childEnv+"_PATH="+path, childEnv+"_NAME="+name)
	cmd.Env = append(cmd.Env, extra...)
	return cmd
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns 24 writer processes")
	}
	env := newTestEnv(t)
	p := env.path("contoso")
	os.MkdirAll(filepath.Dir(p), 0o755)
	f := sampleFile()
	setVersion(f, 0)
	if err := Create(context.Background(), p, f); err != nil {
		t.Fatal(err)
	}
	const trials = 24
	advanced, midWrite := 0, 0
	for trial := range trials {
		var extra []string
		if trial%2 == 1 {
			extra = []string{childEnv + "_SLOW=1"}
		}
		cmd := child(t, "crash", p, "", extra...)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
			t.Fatalf("child did not start: %q %v", line, err)
		}
		time.Sleep(time.Duration(rand.IntN(60_000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("trial %d: child ended on its own (%v), not by SIGKILL", trial, err)
		}
		got, err := Read(context.Background(), p)
		if err != nil {
			t.Fatalf("trial %d: after SIGKILL the file does not read: %v", trial, err)
		}
		if versionOf(t, got) > 0 {
			advanced++
		}
		// A temp file left behind means the kill hit between writing it and the rename.
		if tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(p), tempPrefix(p)+"*")); len(tmps) > 0 {
			midWrite++
		}
		// The sops CLI agrees that the file is whole.
		if out, stderr, err := runSopsIfPresent(t, env.dir, "decrypt", p); err != nil {
			t.Fatalf("trial %d: sops decrypt: %v\n%s%s", trial, err, out, stderr)
		}
		setTo0(t, p) // each child counts from 1 again
	}
	t.Logf("%d trials: %d killed after at least one complete write, %d killed with a temp file written but not renamed",
		trials, advanced, midWrite)
	if advanced == 0 {
		t.Error("no trial completed a write before the kill; the test does not exercise anything")
	}
}

func setTo0(t *testing.T, p string) {
	t.Helper()
	if _, err := Update(context.Background(), p, func(f *File) error { setVersion(f, 0); return nil }); err != nil {
		t.Fatalf("reset: %v", err)
	}
}

// runSopsIfPresent cross-checks with the sops CLI when it is installed.
func runSopsIfPresent(t *testing.T, dir string, args ...string) (string, string, error) {
	if _, err := exec.LookPath("sops"); err != nil {
		return "", "", nil
	}
	return runSops(t, dir, "", args...)
}

func TestConcurrentUpdates(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns two writer processes")
	}
	env := newTestEnv(t)
	p := env.path("contoso")
	mustCreate(t, p)
	a, b := child(t, "concurrent", p, "a"), child(t, "concurrent", p, "b")
	for _, c := range []*exec.Cmd{a, b} {
		c.Stderr = os.Stderr
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*exec.Cmd{a, b} {
		if err := c.Wait(); err != nil {
			t.Fatalf("writer failed: %v", err)
		}
	}
	d, err := open(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.decrypt(); err != nil {
		t.Fatal(err)
	}
	missing := 0
	for _, name := range []string{"a", "b"} {
		for i := 1; i <= 50; i++ {
			if v, ok := lookup(d.tree.Branches[0], []string{"log", fmt.Sprintf("%s-%02d", name, i)}); !ok || v != "applied" {
				missing++
				t.Errorf("update %s-%02d lost", name, i)
			}
		}
	}
	if missing == 0 {
		t.Logf("all 100 updates present")
	}
	if _, err := Read(context.Background(), p); err != nil {
		t.Errorf("known keys no longer read after the updates: %v", err)
	}
}
