package atomicfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteFileAndCreateNew(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "plan.json")
	if err := WriteFile(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	created, err := CreateNew(p, []byte("three"), 0o644)
	if err != nil || created {
		t.Fatalf("CreateNew on an existing file: created %v, err %v; want false, nil", created, err)
	}
	got, _ := os.ReadFile(p)
	if diff := cmp.Diff("two", string(got)); diff != "" {
		t.Errorf("content: -want, +got:\n%s", diff)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	n := filepath.Join(dir, "new.txt")
	if created, err := CreateNew(n, []byte("x"), 0o644); err != nil || !created {
		t.Fatalf("CreateNew on a new name: created %v, err %v", created, err)
	}
}
