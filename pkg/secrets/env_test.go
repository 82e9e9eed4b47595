package secrets

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/getsops/sops/v3"
)

// testEnv is a hermetic sops environment: HOME and XDG_CONFIG_HOME in a temp dir, every
// SOPS_* variable of the developer's shell removed, and one age key the test controls.
type testEnv struct {
	dir     string // fleet root holding .sops.yaml
	id      *age.X25519Identity
	keyFile string
}

func newTestEnv(t *testing.T) *testEnv { return newEnv(t) }

func newBenchEnv(b *testing.B) *testEnv { return newEnv(b) }

func newEnv(t testing.TB) *testEnv {
	t.Helper()
	root := t.TempDir()
	home := filepath.Join(root, "home")
	if err := os.MkdirAll(filepath.Join(home, ".config"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "SOPS_") {
			t.Setenv(k, "") // restores the variable after the test
			os.Unsetenv(k)
		}
	}
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("SOPS_DISABLE_VERSION_CHECK", "1")
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(root, "keys.txt")
	writeFile(t, keyFile, id.String()+"\n")
	t.Setenv("SOPS_AGE_KEY_FILE", keyFile)
	fleet := filepath.Join(root, "fleet")
	writeFile(t, filepath.Join(fleet, ".sops.yaml"), sopsConfig(id.Recipient().String()))
	if err := os.MkdirAll(filepath.Join(fleet, "tenants", "contoso"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &testEnv{dir: fleet, id: id, keyFile: keyFile}
}

// sopsConfig is the creation rule docs/secrets.md recommends and uicctl init writes.
func sopsConfig(recipient string) string {
	return "creation_rules:\n  - path_regex: (^|/)secrets\\.sops\\.yaml$\n    encrypted_regex: ^value$\n    age: " + recipient + "\n"
}

func (e *testEnv) path(tenant string) string {
	return filepath.Join(e.dir, "tenants", tenant, "secrets.sops.yaml")
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sopsCLI returns the real sops binary, skipping the test when it is not installed
// (`make test` installs the pinned version into .tools/bin).
func sopsCLI(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sops")
	if err != nil {
		t.Skip("sops CLI not on PATH; `make test` installs it")
	}
	return p
}

// runSops runs the sops CLI in dir with the test's environment.
func runSops(t *testing.T, dir string, stdin string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(sopsCLI(t), args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

type sopsTreeItem = sops.TreeItem

func commentItem(text string) sops.TreeItem { return sops.TreeItem{Key: sops.Comment{Value: text}} }
