package sandbox

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// TestBrowseWithOAuth2: the consent flow as uicctl runs it (golang.org/x/oauth2, PKCE S256,
// a loopback listener on a random port: Entra ignores the port of http://localhost), with
// Browse standing in for the user at the browser.
func TestBrowseWithOAuth2(t *testing.T) {
	e := start(t, Options{Tenants: 1})
	ten := e.sb.World().Tenants[0]
	a := e.setupSAM(t, ten.TenantID, map[string]string{pcAppID: "user_impersonation"})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan url.Values, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.URL.Query()
		w.Write([]byte("signed in"))
	})}
	go srv.Serve(ln)
	defer srv.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	conf := &oauth2.Config{ClientID: a.appID, ClientSecret: a.secret,
		Endpoint: oauth2.Endpoint{AuthURL: e.sb.URL() + "/organizations/oauth2/v2.0/authorize",
			TokenURL: e.sb.URL() + "/organizations/oauth2/v2.0/token", AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: "http://localhost:" + port + "/",
		Scopes:      []string{pcScope, "offline_access"}}
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("login_hint", ten.Accounts[0].UPN))
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, e.hc)
	if err := e.sb.Browse(ctx, authURL, ten.Accounts[0].UPN); err != nil {
		t.Fatal(err)
	}
	q := <-got
	if q.Get("state") != "state-1" {
		t.Fatalf("callback: %v", q)
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || claims(t, tok.AccessToken)["aud"] != "https://api.partnercenter.microsoft.com" {
		t.Errorf("token: %+v", tok)
	}
	// x/oauth2's refresh sends no scope: the original resource is kept, and the token rotates.
	tok.Expiry = tok.Expiry.Add(-2 * accessTokenLifetime)
	tok2, err := conf.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok2.RefreshToken == tok.RefreshToken || claims(t, tok2.AccessToken)["aud"] != "https://api.partnercenter.microsoft.com" {
		t.Errorf("refresh: rotated=%v aud=%v", tok2.RefreshToken != tok.RefreshToken, claims(t, tok2.AccessToken)["aud"])
	}

	// The admin API does the same for shell demos.
	authURL = conf.AuthCodeURL("state-2", oauth2.S256ChallengeOption(verifier))
	body := `{"url":"` + authURL + `","upn":"` + ten.Accounts[0].UPN + `"}`
	if r := e.do(t, "POST", "/_sandbox/signin", nil, strings.NewReader(body)); r.status != 204 {
		t.Fatalf("admin signin: %d %s", r.status, r.body)
	}
	if q := <-got; q.Get("state") != "state-2" || q.Get("code") == "" {
		t.Errorf("admin signin callback: %v", q)
	}

	// An unknown account is refused; an error redirect comes back as it is.
	if _, err := e.sb.SignIn(ctx, authURL, "nobody@example.com"); err == nil {
		t.Errorf("unknown account signed in")
	}
	bad := conf.AuthCodeURL("s", oauth2.SetAuthURLParam("prompt", "none"))
	loc, err := e.sb.SignIn(ctx, bad, ten.Accounts[0].UPN)
	if u, _ := url.Parse(loc); err != nil || u.Query().Get("error") != "login_required" {
		t.Errorf("prompt=none: %q %v", loc, err)
	}
}
