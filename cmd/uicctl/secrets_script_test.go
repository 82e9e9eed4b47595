package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/useitcloud/uicctl/internal/canary"
	"github.com/useitcloud/uicctl/pkg/secrets"
)

func init() {
	scriptCmds["canary"] = cmdCanary
	scriptCmds["secretsfile"] = cmdSecretsFile
	scriptSetups = append(scriptSetups, setupSecrets)
}

// setupSecrets gives every script an age key of its own, outside the places sops searches
// by default, so a script opts in with `env SOPS_AGE_KEY_FILE=$AGE_KEY_FILE`. AGE_RECIPIENT is
// its public key (for .sops.yaml); OTHER_AGE_KEY_FILE is a key that is nobody's recipient.
func setupSecrets(e *testscript.Env) error {
	dir := filepath.Join(e.WorkDir, ".keys")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, k := range []struct{ env, file string }{{"AGE_KEY_FILE", "age.txt"}, {"OTHER_AGE_KEY_FILE", "other.txt"}} {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return err
		}
		p := filepath.Join(dir, k.file)
		if err := os.WriteFile(p, []byte(id.String()+"\n"), 0o600); err != nil {
			return err
		}
		e.Setenv(k.env, p)
		if k.env == "AGE_KEY_FILE" {
			e.Setenv("AGE_RECIPIENT", id.Recipient().String())
		}
	}
	return nil
}

var hermeticSopsEnv sync.Once

// canaries holds each running script's planted values.
var canaries sync.Map // *testscript.TestScript -> *canary.Set

func canarySet(ts *testscript.TestScript) *canary.Set {
	s, loaded := canaries.LoadOrStore(ts, &canary.Set{})
	if !loaded {
		ts.Defer(func() { canaries.Delete(ts) })
	}
	return s.(*canary.Set)
}

// cmdCanary plants fake secrets and fails the script when one shows up where secrets must
// never go.
//
//	canary plant NAME...          plant a canary per NAME; secretsfile's canary:NAME uses it
//	canary check [-except FILE]...  fail if any canary is in the last command's stdout or
//	                              stderr, or in any file under $WORK (except the FILEs, for
//	                              files the script itself wrote in clear)
//	! canary check ...            fail unless a canary is found (to test the check itself)
func cmdCanary(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 || (neg && args[0] != "check") {
		ts.Fatalf("usage: canary plant NAME... | canary check [-except FILE]...")
	}
	set := canarySet(ts)
	switch args[0] {
	case "plant":
		if len(args) < 2 {
			ts.Fatalf("usage: canary plant NAME...")
		}
		for _, n := range args[1:] {
			set.Plant(n)
		}
	case "check":
		if len(set.Names()) == 0 {
			ts.Fatalf("canary check: nothing planted")
		}
		except := map[string]bool{}
		rest := args[1:]
		for len(rest) > 0 {
			if rest[0] != "-except" || len(rest) < 2 {
				ts.Fatalf("usage: canary check [-except FILE]...")
			}
			rel, err := filepath.Rel(ts.Getenv("WORK"), ts.MkAbs(rest[1]))
			if err != nil {
				ts.Fatalf("%v", err)
			}
			except[filepath.ToSlash(rel)] = true
			rest = rest[2:]
		}
		leaks := append(set.Scan("stdout", []byte(ts.ReadFile("stdout"))), set.Scan("stderr", []byte(ts.ReadFile("stderr")))...)
		fileLeaks, err := set.ScanDir(ts.Getenv("WORK"), func(rel string) bool { return except[rel] })
		ts.Check(err)
		leaks = append(leaks, fileLeaks...)
		switch {
		case neg && len(leaks) == 0:
			ts.Fatalf("no canary found")
		case neg:
			ts.Logf("%s", canary.Report(leaks))
		case len(leaks) > 0:
			ts.Fatalf("%s", canary.Report(leaks))
		}
	default:
		ts.Fatalf("usage: canary plant NAME... | canary check [-except FILE]...")
	}
}

// cmdSecretsFile writes a secrets file the way uicctl would, so scripts get one without the
// sops CLI. Values are literal or canary:NAME (a planted canary); -plain writes the same
// content as unencrypted YAML instead (to test that it is refused).
//
//	secretsfile [-plain] FILE key=value...
//
// keys: clientId, clientSecret.value, clientSecret.keyId, clientSecret.endDateTime,
// refreshToken.value, refreshToken.issuedAt, refreshToken.lastUsedAt, refreshToken.account
func cmdSecretsFile(ts *testscript.TestScript, neg bool, args []string) {
	plain := len(args) > 0 && args[0] == "-plain"
	if plain {
		args = args[1:]
	}
	if neg || len(args) < 2 {
		ts.Fatalf("usage: secretsfile [-plain] FILE key=value...")
	}
	hermeticSopsEnv.Do(func() {
		// This runs in the test process, whose environment (unlike a script's) is the
		// developer's shell; pkg/secrets reads these when it creates a file. The uicctl
		// processes a script runs get the script's environment and are not affected.
		for _, k := range []string{"SOPS_CONFIG", "SOPS_KEYSERVICE", "SOPS_ENABLE_LOCAL_KEYSERVICE"} {
			os.Unsetenv(k)
		}
	})
	set := canarySet(ts)
	var f secrets.File
	var yaml strings.Builder
	sections := map[string][]string{}
	var order []string
	for _, kv := range args[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			ts.Fatalf("secretsfile: %q is not key=value", kv)
		}
		if name, isCanary := strings.CutPrefix(v, "canary:"); isCanary {
			v = set.Plant(name)
		}
		if err := setField(&f, k, v); err != nil {
			ts.Fatalf("secretsfile: %v", err)
		}
		sec, leaf, nested := strings.Cut(k, ".")
		if !nested {
			yaml.WriteString(k + ": " + v + "\n")
			continue
		}
		if _, seen := sections[sec]; !seen {
			order = append(order, sec)
		}
		sections[sec] = append(sections[sec], "  "+leaf+": "+v+"\n")
	}
	for _, sec := range order {
		yaml.WriteString(sec + ":\n" + strings.Join(sections[sec], ""))
	}
	path := ts.MkAbs(args[0])
	if plain {
		ts.Check(os.WriteFile(path, []byte(yaml.String()), 0o600))
		return
	}
	ts.Check(secrets.Create(context.Background(), path, &f))
}

func setField(f *secrets.File, key, v string) error {
	var t time.Time
	if strings.HasSuffix(key, "At") || strings.HasSuffix(key, "DateTime") {
		var err error
		if t, err = time.Parse(time.RFC3339, v); err != nil {
			return err
		}
	}
	switch key {
	case "clientId":
		f.ClientID = v
	case "clientSecret.value":
		f.ClientSecret.Value = secrets.NewValue(v)
	case "clientSecret.keyId":
		f.ClientSecret.KeyID = v
	case "clientSecret.endDateTime":
		f.ClientSecret.EndDateTime = t
	case "refreshToken.value":
		f.RefreshToken.Value = secrets.NewValue(v)
	case "refreshToken.issuedAt":
		f.RefreshToken.IssuedAt = t
	case "refreshToken.lastUsedAt":
		f.RefreshToken.LastUsedAt = t
	case "refreshToken.account":
		f.RefreshToken.Account = v
	default:
		return &unknownKeyError{key}
	}
	return nil
}

type unknownKeyError struct{ key string }

func (e *unknownKeyError) Error() string { return "unknown key " + e.key }
