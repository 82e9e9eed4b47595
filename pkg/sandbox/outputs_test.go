package sandbox

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOutputsRecognised: each file the sandbox writes is recognised as its own kind and as
// no other, so uicctl sandbox replaces only its own earlier output.
func TestOutputsRecognised(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"env": filepath.Join(dir, "sandbox.env"), "world": filepath.Join(dir, "world.json"),
		"state": filepath.Join(dir, "state.json"), "log": filepath.Join(dir, "requests.jsonl")}
	e := start(t, Options{Tenants: 1, StateFile: files["state"], RequestLog: files["log"]})
	sb := e.sb
	if err := sb.WriteEnvFile(files["env"]); err != nil {
		t.Fatal(err)
	}
	if err := sb.WriteWorldFile(files["world"]); err != nil {
		t.Fatal(err)
	}
	e.do(t, "GET", "/"+sb.World().Tenants[0].TenantID+"/v2.0/.well-known/openid-configuration", nil, nil)
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	is := map[string]func([]byte) bool{"env": IsEnvFile, "world": IsWorldFile, "state": IsStateFile, "log": IsRequestLog}
	for name, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for kind, f := range is {
			got[kind] = f(b)
		}
		want := map[string]bool{"env": false, "world": false, "state": false, "log": false}
		want[name] = true
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s recognised as (-want +got):\n%s", name, diff)
		}
	}
	for kind, f := range is {
		if f([]byte("clientSecret:\n  value: ENC[x]\nsops:\n  mac: x\n")) || f([]byte("apiVersion: uicctl/v1\n")) {
			t.Errorf("%s recognises a secrets file or a spec", kind)
		}
	}
}
