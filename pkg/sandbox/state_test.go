package sandbox

import (
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestStatePersists: with a state file, a restart keeps the world, the operator secret,
// Graph's objects, refresh tokens and the signing key (tokens issued before still verify).
func TestStatePersists(t *testing.T) {
	stateFile := filepath.Join(t.TempDir(), "state.json")
	e := start(t, Options{Tenants: 2, Seed: 42, StateFile: stateFile})
	ten := e.sb.World().Tenants[1]
	a := e.setupSAM(t, ten.TenantID, map[string]string{pcAppID: "user_impersonation"})
	rt := consent(t, e, a, ten.Accounts[0])["refresh_token"].(string)
	e.sb.SetMFA(ten.Accounts[1].UPN, false)
	tok := e.appToken(t, ten.TenantID, "https://graph.microsoft.com")
	world := e.sb.World()
	tid, cid, secret := e.sb.Operator()
	if err := e.sb.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(stateFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", fi, err)
	}

	e2 := start(t, Options{Tenants: 5, Seed: 1, StateFile: stateFile})
	if diff := cmp.Diff(world, e2.sb.World()); diff != "" {
		t.Errorf("world after restart (the state wins over --tenants/--seed): -want, +got:\n%s", diff)
	}
	tid2, cid2, secret2 := e2.sb.Operator()
	if tid2 != tid || cid2 != cid || secret2 != secret {
		t.Errorf("operator changed across restart")
	}
	if r := e2.graphCall(t, tok, "GET", "/applications(appId='"+a.appID+"')", nil); r.status != 200 {
		t.Errorf("app after restart, with a token from before: %d %s", r.status, r.body)
	}
	r := e2.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", url.Values{"client_id": {a.appID}, "client_secret": {a.secret},
		"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	if r.status != 200 {
		t.Errorf("refresh after restart: %d %s", r.status, r.body)
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("{"), 0o600)
	if _, err := Start(t.Context(), Options{StateFile: bad, Dir: t.TempDir()}); err == nil {
		t.Errorf("a corrupt state file was accepted")
	}
}
