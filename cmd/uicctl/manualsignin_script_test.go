package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/oauth2"

	"github.com/useitcloud/uicctl/pkg/sandbox"
)

func init() {
	// manualsignin is the partner onboarded by hand, before uicctl: the old PowerShell
	// procedure (New-PartnerAccessToken -UseAuthorization) signs in with the authorization
	// code flow on http://localhost:8400/ and prints a refresh token. Unlike uicctl consent
	// it takes whatever sign-in the account can do, with or without MFA.
	//
	//	manualsignin TENANT_ID CLIENT_ID SECRET_FILE UPN OUT_FILE
	//
	// SECRET_FILE holds the app's client secret (e.g. written by jsonvar -file). It signs in
	// as UPN through the sandbox's sign-in page (password, and the MFA code only when the
	// account has MFA on), asks for the Partner Center user_impersonation scope with
	// offline_access, redeems the code with golang.org/x/oauth2, writes the refresh token
	// (one line, mode 0600) to OUT_FILE and makes it a canary (named manualsignin:OUT_FILE):
	// feed OUT_FILE to uicctl secrets set by stdin, and pass -except OUT_FILE to canary check.
	// "! manualsignin ..." asserts that the sign-in or the redemption fails.
	scriptCmds["manualsignin"] = cmdManualSignIn
}

// manualRedirectURI is the redirect URI of the PowerShell procedure and of uicctl's spec.
const manualRedirectURI = "http://localhost:8400/"

func cmdManualSignIn(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 5 {
		ts.Fatalf("usage: manualsignin TENANT_ID CLIENT_ID SECRET_FILE UPN OUT_FILE")
	}
	tenant, clientID, upn, out := args[0], args[1], args[3], args[4]
	secret := strings.TrimSpace(ts.ReadFile(args[2]))
	if secret == "" {
		ts.Fatalf("manualsignin: %s is empty", args[2])
	}
	sb := scriptSandbox(ts)
	rt, err := manualSignIn(context.Background(), sb, tenant, clientID, secret, upn)
	if neg {
		if err == nil {
			ts.Fatalf("manualsignin: the sign-in succeeded")
		}
		fmt.Fprintf(ts.Stdout(), "manualsignin: %v\n", err)
		return
	}
	ts.Check(err)
	canarySet(ts).Add("manualsignin:"+out, rt)
	ts.Check(os.WriteFile(ts.MkAbs(out), []byte(rt+"\n"), 0o600))
	fmt.Fprintf(ts.Stdout(), "signed in as %s; refresh token written to %s\n", upn, out)
}

// manualSignIn runs the authorization code flow against the sandbox as a user at a browser
// would and returns the refresh token. Errors never contain the secret or a token.
func manualSignIn(ctx context.Context, sb *sandbox.Sandbox, tenant, clientID, secret, upn string) (string, error) {
	hc, err := sandboxHTTPClient(sb)
	if err != nil {
		return "", err
	}
	base := sb.URL() + "/" + url.PathEscape(tenant) + "/oauth2/v2.0/"
	conf := &oauth2.Config{ClientID: clientID, ClientSecret: secret,
		Endpoint:    oauth2.Endpoint{AuthURL: base + "authorize", TokenURL: base + "token", AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: manualRedirectURI,
		Scopes:      []string{"https://api.partnercenter.microsoft.com/user_impersonation", "offline_access"}}
	state := oauth2.GenerateVerifier() // any unguessable value will do
	loc, err := sb.SignIn(ctx, conf.AuthCodeURL(state, oauth2.SetAuthURLParam("login_hint", upn)), upn)
	if err != nil {
		return "", fmt.Errorf("sign-in as %s: %w", upn, err)
	}
	// The browser is sent to the loopback redirect URI; the code and state are in its
	// query, which is all the PowerShell listener reads.
	cb, err := url.Parse(loc)
	if err != nil || !strings.HasPrefix(loc, manualRedirectURI) {
		return "", fmt.Errorf("sign-in as %s ended on %q, not the redirect URI", upn, loc)
	}
	q := cb.Query()
	if e := q.Get("error"); e != "" {
		return "", fmt.Errorf("sign-in as %s: %s: %s", upn, e, q.Get("error_description"))
	}
	if q.Get("state") != state {
		return "", fmt.Errorf("sign-in as %s: the redirect's state does not match", upn)
	}
	tok, err := conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, hc), q.Get("code"))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return "", fmt.Errorf("code redemption: %d %s: %s", re.Response.StatusCode, re.ErrorCode, re.ErrorDescription)
		}
		return "", fmt.Errorf("code redemption: %w", err)
	}
	if tok.RefreshToken == "" {
		return "", fmt.Errorf("code redemption: no refresh token (offline_access not granted)")
	}
	return tok.RefreshToken, nil
}
