package secrets

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"
)

// hinted is the CLI's hint protocol.
type hinted interface{ Hint() string }

func TestBadInput(t *testing.T) {
	type setup func(t *testing.T, env *testEnv, p string)
	// replaceLine rewrites the first line matching re: a hand edit of the encrypted file.
	replaceLine := func(re, with string) setup {
		return func(t *testing.T, env *testEnv, p string) {
			mustCreate(t, p)
			b := readFile(t, p)
			r := regexp.MustCompile(re)
			if !r.MatchString(b) {
				t.Fatalf("no line matches %q in\n%s", re, b)
			}
			loc := r.FindStringSubmatchIndex(b)
			writeFile(t, p, b[:loc[0]]+string(r.ExpandString(nil, with, b, loc))+b[loc[1]:])
		}
	}
	tests := map[string]struct {
		reason  string
		setup   setup
		wantErr any // pointer to the expected error type
		wantMsg string
	}{
		"tampered value": {
			reason:  "a changed ciphertext fails AES-GCM authentication",
			setup:   replaceLine(`(value: ENC\[AES256_GCM,data:)(.)`, "${1}A${2}"),
			wantErr: new(*IntegrityError), wantMsg: "does not decrypt",
		},
		"hand-edited plaintext key": {
			reason:  "keyId is in clear but covered by the MAC",
			setup:   replaceLine(`keyId: 0a1b2c3d`, "keyId: 1a1b2c3d"),
			wantErr: new(*IntegrityError), wantMsg: "MAC mismatch",
		},
		"secret pasted in clear over a ciphertext": {
			reason:  "sops's own error would echo the pasted value; ours must not",
			setup:   replaceLine(`value: ENC\[[^\n]*`, "value: "+planted),
			wantErr: new(*IntegrityError), wantMsg: "does not decrypt",
		},
		"oversized": {
			reason: "a file over 1 MiB is refused before it is read into memory or decrypted",
			setup: func(t *testing.T, env *testEnv, p string) {
				mustCreate(t, p)
				writeFile(t, p, readFile(t, p)+"#"+strings.Repeat("x", MaxFileSize)+"\n")
			},
			wantErr: new(*MalformedError), wantMsg: "larger than 1024 KiB",
		},
		"wrong key": {
			reason: "the only key available is not a recipient",
			setup: func(t *testing.T, env *testEnv, p string) {
				mustCreate(t, p)
				other, _ := age.GenerateX25519Identity()
				writeFile(t, env.keyFile, other.String()+"\n")
			},
			wantErr: new(*NoKeyError), wantMsg: "no key available here matches one of its recipients (age age1",
		},
		"no key at all": {
			reason: "no key source is configured",
			setup: func(t *testing.T, env *testEnv, p string) {
				mustCreate(t, p)
				os.Unsetenv("SOPS_AGE_KEY_FILE")
			},
			wantErr: new(*NoKeyError), wantMsg: "no key available here",
		},
		"plaintext file": {
			reason:  "uicctl refuses unencrypted secrets files",
			setup:   func(t *testing.T, env *testEnv, p string) { writeFile(t, p, "clientSecret:\n  value: "+planted+"\n") },
			wantErr: new(*NotEncryptedError), wantMsg: "not encrypted with sops",
		},
		"missing file": {
			reason:  "a path to nothing",
			setup:   func(t *testing.T, env *testEnv, p string) {},
			wantErr: new(*NotFoundError), wantMsg: "does not exist",
		},
		"non-YAML file": {
			reason:  "binary or broken text; the parser's message must not quote it",
			setup:   func(t *testing.T, env *testEnv, p string) { writeFile(t, p, "key: [unclosed "+planted+"\n\t- x: :\n") },
			wantErr: new(*MalformedError), wantMsg: "not valid YAML",
		},
		"YAML scalar": {
			reason:  "a document that is a single value",
			setup:   func(t *testing.T, env *testEnv, p string) { writeFile(t, p, planted+"\n") },
			wantErr: new(*MalformedError), wantMsg: "not a mapping",
		},
		"empty file": {
			reason:  "nothing to read",
			setup:   func(t *testing.T, env *testEnv, p string) { writeFile(t, p, "") },
			wantErr: new(*MalformedError), wantMsg: "empty",
		},
		"duplicate key": {
			reason:  "sops refuses duplicate keys; so do we, naming the line",
			setup:   func(t *testing.T, env *testEnv, p string) { writeFile(t, p, "a: 1\na: 2\nsops: {}\n") },
			wantErr: new(*MalformedError), wantMsg: "line 2",
		},
		"broken sops metadata": {
			reason:  "the sops block is there but unusable",
			setup:   func(t *testing.T, env *testEnv, p string) { writeFile(t, p, "clientId: x\nsops:\n  version: 3.13.3\n") },
			wantErr: new(*MalformedError), wantMsg: "sops",
		},
		"symlink outside the tenant folder": {
			reason: "uicctl must not read or replace a file another tenant owns",
			setup: func(t *testing.T, env *testEnv, p string) {
				other := env.path("other")
				mustCreate(t, other)
				if err := os.Symlink(other, p); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: new(*OutsideError), wantMsg: "symlink that leads outside",
		},
		"relative symlink escaping": {
			reason: "../ in a link target is outside too",
			setup: func(t *testing.T, env *testEnv, p string) {
				mustCreate(t, env.path("other"))
				if err := os.Symlink("../other/secrets.sops.yaml", p); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: new(*OutsideError), wantMsg: "symlink that leads outside",
		},
		"dangling symlink outside": {
			reason: "a link to a missing file elsewhere must not be created through",
			setup: func(t *testing.T, env *testEnv, p string) {
				if err := os.Symlink(filepath.Join(env.dir, "elsewhere.yaml"), p); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: new(*OutsideError), wantMsg: "symlink that leads outside",
		},
	}
	ops := map[string]func(p string) error{
		"Read":    func(p string) error { _, err := Read(context.Background(), p); return err },
		"Inspect": func(p string) error { _, err := Inspect(p); return err },
		"Update": func(p string) error {
			_, err := Update(context.Background(), p, func(f *File) error {
				f.RefreshToken.Value = NewValue("new-" + planted)
				return nil
			})
			return err
		},
	}
	for name, tc := range tests {
		for opName, op := range ops {
			t.Run(name+"/"+opName, func(t *testing.T) {
				env := newTestEnv(t)
				p := env.path("contoso")
				tc.setup(t, env, p)
				before, _ := os.ReadFile(p)
				err := op(p)
				keyless := opName == "Inspect" && (name == "wrong key" || name == "no key at all" ||
					strings.HasPrefix(name, "tampered") || strings.Contains(name, "hand-edited") || strings.Contains(name, "pasted"))
				switch {
				case keyless:
					// Without keys these files look fine, except a pasted clear value.
					if name == "secret pasted in clear over a ciphertext" {
						ins, ierr := Inspect(p)
						if ierr != nil || len(ins.Problems) != 1 || !strings.Contains(ins.Problems[0].Message, "plaintext") {
							t.Errorf("Inspect: %+v %v, want one plaintext problem", ins, ierr)
						}
					} else if err != nil {
						t.Errorf("Inspect (no decryption) failed: %v", err)
					}
				case name == "missing file" && opName == "Update":
					// Update creates a missing file; covered by TestUpdateCreatesMissingFile.
					if err != nil {
						t.Errorf("Update of a missing file: %v", err)
					}
					return
				default:
					if err == nil {
						t.Fatalf("%s: no error", tc.reason)
					}
					if !errors.As(err, tc.wantErr) {
						t.Errorf("%s: error %T (%v), want %T", tc.reason, err, err, tc.wantErr)
					}
					if !strings.Contains(err.Error(), tc.wantMsg) {
						t.Errorf("%s: error %q, want it to contain %q", tc.reason, err, tc.wantMsg)
					}
					var h hinted
					if !errors.As(err, &h) || h.Hint() == "" {
						t.Errorf("%s: error without a hint: %v", tc.reason, err)
					}
					var coded interface{ ExitCode() int }
					if errors.As(err, &coded) {
						t.Errorf("error carries exit code %d; sops's codes must not reach uicctl's", coded.ExitCode())
					}
					if strings.Contains(err.Error(), planted) || (h != nil && strings.Contains(h.Hint(), planted)) {
						t.Errorf("error echoes a value: %v", err)
					}
				}
				after, _ := os.ReadFile(p)
				if string(after) != string(before) {
					t.Errorf("file changed: before %d bytes, after %d bytes", len(before), len(after))
				}
				if name == "symlink outside the tenant folder" {
					if fi, err := os.Lstat(p); err != nil || fi.Mode()&os.ModeSymlink == 0 {
						t.Error("the symlink was replaced")
					}
				}
			})
		}
	}
}

func mustCreate(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Create(context.Background(), p, sampleFile()); err != nil {
		t.Fatal(err)
	}
}

func TestNoKeyErrorNamesRecipientsAndLocations(t *testing.T) {
	env := newTestEnv(t)
	p := env.path("contoso")
	mustCreate(t, p)
	os.Unsetenv("SOPS_AGE_KEY_FILE")
	_, err := Read(context.Background(), p)
	var nk *NoKeyError
	if !errors.As(err, &nk) {
		t.Fatalf("err = %v, want NoKeyError", err)
	}
	if !strings.Contains(nk.Error(), env.id.Recipient().String()) {
		t.Errorf("error does not name the recipient: %v", nk)
	}
	// Every place we say sops looked must be one sops's own report mentions: our list
	// describes sops's search, it must not drift from it.
	for _, loc := range nk.Looked {
		if !strings.Contains(nk.Detail, loc) {
			t.Errorf("we claim sops looked in %q, sops's report does not mention it:\n%s", loc, nk.Detail)
		}
		if !strings.Contains(nk.Hint(), loc) {
			t.Errorf("hint does not name %q: %s", loc, nk.Hint())
		}
	}
	if len(nk.Looked) < 5 {
		t.Errorf("Looked = %v, want the age key locations", nk.Looked)
	}
}

func TestSymlinkInsideFolderIsFollowed(t *testing.T) {
	env := newTestEnv(t)
	dir := filepath.Dir(env.path("contoso"))
	real := filepath.Join(dir, "current.sops.yaml")
	os.MkdirAll(dir, 0o755)
	// The creation rule matches secrets.sops.yaml only; use a catch-all for this file.
	writeFile(t, filepath.Join(env.dir, ".sops.yaml"), "creation_rules:\n  - encrypted_regex: ^value$\n    age: "+env.id.Recipient().String()+"\n")
	if err := Create(context.Background(), real, sampleFile()); err != nil {
		t.Fatal(err)
	}
	link := env.path("contoso")
	if err := os.Symlink("current.sops.yaml", link); err != nil {
		t.Fatal(err)
	}
	if _, err := Update(context.Background(), link, func(f *File) error { f.ClientSecret.Value = NewValue("v2"); return nil }); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the symlink was replaced by a file")
	}
	f, err := Read(context.Background(), real)
	if err != nil || f.ClientSecret.Value.Reveal() != "v2" {
		t.Fatalf("target not updated: %v", err)
	}
}
