package secrets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

var (
	end    = time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC)
	issued = time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC)
)

func sampleFile() *File {
	return &File{
		ClientID: "6f0e3c3a-1b2c-4d5e-8f90-123456789abc",
		ClientSecret: ClientSecret{
			Value: NewValue("cs-" + planted), KeyID: "0a1b2c3d-0000-4000-8000-000000000001", EndDateTime: end,
		},
		RefreshToken: RefreshToken{
			Value: NewValue("rt-" + planted), IssuedAt: issued, Account: "svc-uic@contoso.onmicrosoft.com",
		},
	}
}

// sopsMeta returns the sops metadata block of an encrypted file, to compare recipients and
// wrapped data keys before and after an update.
func sopsMeta(t *testing.T, path string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(readFile(t, path)), &m); err != nil {
		t.Fatal(err)
	}
	meta, _ := m["sops"].(map[string]any)
	delete(meta, "mac")
	delete(meta, "lastmodified")
	return meta
}

func TestCreateReadUpdate(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	p := env.path("contoso")

	want := sampleFile()
	if err := Create(ctx, p, want); err != nil {
		t.Fatalf("Create: %v", err)
	}
	raw := readFile(t, p)
	if strings.Contains(raw, planted) {
		t.Fatalf("a secret is in clear in the file:\n%s", raw)
	}
	for _, visible := range []string{"keyId: 0a1b2c3d-0000-4000-8000-000000000001", "svc-uic@contoso.onmicrosoft.com", "clientId: 6f0e3c3a"} {
		if !strings.Contains(raw, visible) {
			t.Errorf("with encrypted_regex ^value$, %q should stay readable in:\n%s", visible, raw)
		}
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	got, err := Read(ctx, p)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Read after Create (-want +got):\n%s", diff)
	}
	if err := Create(ctx, p, want); !errors.Is(err, os.ErrExist) {
		t.Errorf("second Create: %v, want ErrExist", err)
	}

	// A hand-added comment and an unknown key, added the supported way (through sops's
	// tree), must survive our updates.
	addForeign(t, p)
	metaBefore := sopsMeta(t, p)
	csLine := regexp.MustCompile(`(?m)^\s+value: ENC.*$`).FindString(readFile(t, p)) // clientSecret's, first

	changed, err := Update(ctx, p, func(f *File) error {
		f.RefreshToken.Value = NewValue("rt2-" + planted)
		f.RefreshToken.LastUsedAt = issued.Add(time.Hour)
		return nil
	})
	if err != nil || !changed {
		t.Fatalf("Update: changed=%v err=%v", changed, err)
	}
	want.RefreshToken.Value = NewValue("rt2-" + planted)
	want.RefreshToken.LastUsedAt = issued.Add(time.Hour)
	got, err = Read(ctx, p)
	if err != nil {
		t.Fatalf("Read after Update: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Read after Update (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(metaBefore, sopsMeta(t, p)); diff != "" {
		t.Errorf("recipients or data key changed by Update (-before +after):\n%s", diff)
	}
	after := readFile(t, p)
	if !strings.Contains(after, csLine) {
		t.Error("the unchanged clientSecret.value got a new ciphertext: git diffs would show it as changed")
	}
	for _, s := range []string{"# rotated by hand", "ticket: OPS-42"} {
		if !strings.Contains(after, s) {
			t.Errorf("%q lost by Update:\n%s", s, after)
		}
	}

	// Setting what is already there writes nothing: not even lastmodified moves.
	fi1, _ := os.Stat(p)
	changed, err = Update(ctx, p, func(f *File) error {
		f.RefreshToken.Value = NewValue("rt2-" + planted)
		f.ClientID = strings.ToUpper(f.ClientID) // same GUID
		return nil
	})
	if err != nil || changed {
		t.Fatalf("no-op Update: changed=%v err=%v", changed, err)
	}
	if readFile(t, p) != after {
		t.Error("no-op Update rewrote the file")
	}
	if fi2, _ := os.Stat(p); !fi2.ModTime().Equal(fi1.ModTime()) {
		t.Error("no-op Update touched the file")
	}

	// Removing a key: the zero value removes it from the file.
	if _, err := Update(ctx, p, func(f *File) error { f.RefreshToken.LastUsedAt = time.Time{}; return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(readFile(t, p), "lastUsedAt") {
		t.Error("lastUsedAt still in the file after setting it to zero")
	}
	if ents, _ := os.ReadDir(filepath.Dir(p)); len(ents) != 2 { // the file and its lock
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("folder holds %v, want the file and its lock only", names)
	}
}

// addForeign adds a comment and an unknown key through sops's own tree, as `sops edit` would.
func addForeign(t *testing.T, p string) {
	t.Helper()
	if _, err := modify(context.Background(), p, func(*File) ([]change, error) {
		return []change{{path: []string{"ticket"}, text: "OPS-42"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	real, _ := resolve(p)
	d, err := load(p, real)
	if err != nil {
		t.Fatal(err)
	}
	key, cipher, err := d.decrypt()
	if err != nil {
		t.Fatal(err)
	}
	b := d.tree.Branches[0]
	d.tree.Branches[0] = append(b[:1:1], append([]sopsTreeItem{commentItem(" rotated by hand")}, b[1:]...)...)
	out, err := d.encrypt(key, cipher)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeAtomic(real, out); err != nil {
		t.Fatal(err)
	}
}

func TestUpdateCreatesMissingFile(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	p := env.path("fabrikam")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	changed, err := Update(ctx, p, func(f *File) error { return nil })
	if err != nil || changed {
		t.Fatalf("empty Update of a missing file: changed=%v err=%v", changed, err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an Update that sets nothing created the file")
	}
	changed, err = Update(ctx, p, func(f *File) error {
		f.ClientSecret.Value = NewValue(planted)
		return nil
	})
	if err != nil || !changed {
		t.Fatalf("Update of a missing file: changed=%v err=%v", changed, err)
	}
	got, err := Read(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if got.ClientSecret.Value.Reveal() != planted {
		t.Error("value not stored")
	}
}

func TestUpdateRejectsBadValues(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	p := env.path("contoso")
	if err := Create(ctx, p, sampleFile()); err != nil {
		t.Fatal(err)
	}
	before := readFile(t, p)
	_, err := Update(ctx, p, func(f *File) error { f.ClientSecret.KeyID = "not-a-guid"; return nil })
	if err == nil || !strings.Contains(err.Error(), "clientSecret.keyId") || strings.Contains(err.Error(), "not-a-guid") {
		t.Errorf("err = %v, want a keyId error that does not echo the value", err)
	}
	wantErr := errors.New("stop")
	if _, err := Update(ctx, p, func(f *File) error { f.ClientID = ""; return wantErr }); !errors.Is(err, wantErr) {
		t.Errorf("err = %v, want fn's error", err)
	}
	if readFile(t, p) != before {
		t.Error("a failed Update changed the file")
	}
}

func TestCreationRules(t *testing.T) {
	tests := map[string]struct {
		reason  string
		config  string // "" = no .sops.yaml anywhere
		file    string // relative to the fleet root
		wantErr string
	}{
		"no config": {
			reason: "without .sops.yaml there is nobody to encrypt for",
			file:   "tenants/a/secrets.sops.yaml", wantErr: "no .sops.yaml found",
		},
		"no matching rule": {
			reason: "rules that match other paths do not apply",
			config: "creation_rules:\n  - path_regex: other\\.yaml$\n    age: RECIPIENT\n",
			file:   "tenants/a/secrets.sops.yaml", wantErr: "no creation rule in",
		},
		"matching rule relative to the config folder": {
			reason: "path_regex sees the path relative to .sops.yaml's folder, like the CLI",
			config: "creation_rules:\n  - path_regex: ^tenants/[^/]+/secrets\\.sops\\.yaml$\n    encrypted_regex: ^value$\n    age: RECIPIENT\n",
			file:   "tenants/a/secrets.sops.yaml",
		},
		"first match wins, catch-all rule": {
			reason: "a rule without path_regex matches every file",
			config: "creation_rules:\n  - age: RECIPIENT\n",
			file:   "tenants/a/secrets.sops.yaml",
		},
		"nearest config wins": {
			reason: "the search starts at the file's folder and goes up",
			config: "creation_rules:\n  - path_regex: nomatch\n    age: RECIPIENT\n",
			file:   "tenants/nested/secrets.sops.yaml",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			env := newTestEnv(t)
			os.Remove(filepath.Join(env.dir, ".sops.yaml"))
			rcp := env.id.Recipient().String()
			if tc.config != "" {
				writeFile(t, filepath.Join(env.dir, ".sops.yaml"), strings.ReplaceAll(tc.config, "RECIPIENT", rcp))
			}
			if name == "nearest config wins" {
				writeFile(t, filepath.Join(env.dir, "tenants", "nested", ".sops.yaml"), "creation_rules:\n  - age: "+rcp+"\n")
			}
			p := filepath.Join(env.dir, tc.file)
			os.MkdirAll(filepath.Dir(p), 0o755)
			err := Create(context.Background(), p, sampleFile())
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("%s: %v", tc.reason, err)
				}
				if _, err := Read(context.Background(), p); err != nil {
					t.Fatalf("%s: Read: %v", tc.reason, err)
				}
				return
			}
			var nr *NoCreationRuleError
			if !errors.As(err, &nr) || !strings.Contains(err.Error(), tc.wantErr) || nr.Hint() == "" {
				t.Fatalf("%s: err = %v, want NoCreationRuleError containing %q", tc.reason, err, tc.wantErr)
			}
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: file created anyway", tc.reason)
			}
		})
	}
}

func TestUpdateWaitsForTheLock(t *testing.T) {
	env := newTestEnv(t)
	p := env.path("contoso")
	mustCreate(t, p)
	real, _ := resolve(p)
	unlock, err := lock(context.Background(), p, real)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = Update(ctx, p, func(f *File) error { f.ClientID = ""; return nil })
	var le *LockError
	if !errors.As(err, &le) || !le.Timeout || !strings.Contains(le.Hint(), "another uicctl process") {
		t.Fatalf("err = %v, want a LockError timeout", err)
	}
	unlock()
	if changed, err := Update(context.Background(), p, func(f *File) error { f.ClientID = ""; return nil }); err != nil || !changed {
		t.Fatalf("after unlock: changed=%v err=%v", changed, err)
	}
}

// Goroutines of one process serialise on the lock too: each takes it through its own open
// file description.
func TestConcurrentUpdatesInProcess(t *testing.T) {
	env := newTestEnv(t)
	p := env.path("contoso")
	mustCreate(t, p)
	const writers, each = 6, 8
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			for i := range each {
				key := fmt.Sprintf("w%d-%d", w, i)
				if _, err := modify(context.Background(), p, func(*File) ([]change, error) {
					return []change{{path: []string{"log", key}, text: "applied"}}, nil
				}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	d, err := open(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.decrypt(); err != nil {
		t.Fatal(err)
	}
	for w := range writers {
		for i := range each {
			if _, ok := lookup(d.tree.Branches[0], []string{"log", fmt.Sprintf("w%d-%d", w, i)}); !ok {
				t.Errorf("update w%d-%d lost", w, i)
			}
		}
	}
}

func TestCheck(t *testing.T) {
	env := newTestEnv(t)
	p := env.path("contoso")
	mustCreate(t, p)
	ins, f, err := Check(context.Background(), p)
	if err != nil || len(ins.Problems) != 0 || f == nil || f.ClientSecret.Value.Reveal() != "cs-"+planted {
		t.Fatalf("Check of a good file: %+v %v %v", ins, f, err)
	}
	if want := []string{"age " + env.id.Recipient().String()}; !cmp.Equal(want, ins.Recipients) {
		t.Errorf("Recipients = %v, want %v", ins.Recipients, want)
	}
	os.Unsetenv("SOPS_AGE_KEY_FILE")
	ins, f, err = Check(context.Background(), p)
	var nk *NoKeyError
	if !errors.As(err, &nk) || ins == nil || f != nil {
		t.Fatalf("Check without a key: %+v %v %v, want the inspection and a NoKeyError", ins, f, err)
	}
}

// UpdateIf writes only when the value the change was computed from is still there: a newer
// refresh token stored in between survives, and the caller learns of it.
func TestUpdateIf(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	p := env.path("contoso")
	set := func(v, account string) {
		t.Helper()
		if _, err := Update(ctx, p, func(f *File) error {
			f.RefreshToken.Value, f.RefreshToken.Account = NewValue(v), account
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	set("redeemed", "old@contoso.example")
	redeemed := NewValue("redeemed")
	writeBack := func() (bool, error) {
		return UpdateIf(ctx, p, "the refresh token", func(cur *File) bool { return cur.RefreshToken.Value.Equal(redeemed) },
			func(f *File) error { f.RefreshToken.Value = NewValue("rotated"); return nil })
	}
	for name, tc := range map[string]struct {
		reason                    string
		between                   func()
		wantValue, wantAccount    string
		wantChanged, wantConflict bool
	}{
		"Unchanged": {reason: "nobody wrote in between: the rotated token is stored",
			between: func() {}, wantValue: "rotated", wantAccount: "old@contoso.example", wantChanged: true},
		"NewerToken": {reason: "a consent stored a newer token and account: both are kept",
			between: func() { set("newer", "new@contoso.example") }, wantValue: "newer", wantAccount: "new@contoso.example", wantConflict: true},
	} {
		t.Run(name, func(t *testing.T) {
			set("redeemed", "old@contoso.example")
			tc.between()
			changed, err := writeBack()
			var ce *ConflictError
			if errors.As(err, &ce) != tc.wantConflict || (err != nil && !tc.wantConflict) {
				t.Fatalf("%s: err = %v", tc.reason, err)
			}
			got, err := Read(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff([]any{tc.wantValue, tc.wantAccount, tc.wantChanged}, []any{got.RefreshToken.Value.Reveal(), got.RefreshToken.Account, changed}); d != "" {
				t.Errorf("%s: -want +got\n%s", tc.reason, d)
			}
		})
	}
}
