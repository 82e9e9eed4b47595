package sandbox

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestUserTokensCarryWids: a user's access tokens carry the template IDs of its directory
// roles in wids (absent without roles); the tenant's admin is Global Administrator, and
// the admin API changes an account's roles.
func TestUserTokensCarryWids(t *testing.T) {
	const cloudAppAdmin = "158c047a-c907-4556-b7ef-446551a6b5f7"
	e := start(t, Options{Tenants: 1})
	ten := e.sb.World().Tenants[0]
	a := e.setupSAM(t, ten.TenantID, map[string]string{pcAppID: "user_impersonation"})
	consent, adm := ten.Accounts[0], ten.Accounts[1]
	if !adm.Admin || consent.Admin {
		t.Fatalf("world: want the second account to be the admin, got %+v", ten.Accounts)
	}
	wids := func(acct Account) any {
		t.Helper()
		loc := location(t, e.signIn(t, ten.TenantID, authQuery(a, "v"), acct.UPN, acct.Password, acct.MFACode))
		r := e.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", url.Values{"client_id": {a.appID}, "client_secret": {a.secret},
			"grant_type": {"authorization_code"}, "code": {loc.Get("code")}, "redirect_uri": {redirect}, "code_verifier": {"v"}})
		if r.status != 200 {
			t.Fatalf("sign-in of %s: %d %s", acct.UPN, r.status, r.body)
		}
		return claims(t, r.json(t)["access_token"].(string))["wids"]
	}
	cases := []struct {
		name, reason string
		acct         Account
		patch        string // admin API body for the account, first
		want         any
	}{
		{name: "admin", reason: "the tenant's admin is Global Administrator", acct: adm, want: []any{GlobalAdministratorRole}},
		{name: "no roles", reason: "Entra omits wids for an account without roles", acct: consent, want: nil},
		{name: "patched", reason: "the admin API replaces the roles", acct: adm, patch: `{"directoryRoles":["` + cloudAppAdmin + `"]}`, want: []any{cloudAppAdmin}},
		{name: "removed", reason: "an empty list removes them all", acct: adm, patch: `{"directoryRoles":[]}`, want: nil},
	}
	for _, tc := range cases {
		if tc.patch != "" {
			admin(t, e, "PATCH", "/_sandbox/accounts/"+tc.acct.UPN, tc.patch)
		}
		if diff := cmp.Diff(tc.want, wids(tc.acct)); diff != "" {
			t.Errorf("%s: %s: wids (-want +got):\n%s", tc.name, tc.reason, diff)
		}
	}
	// UserAccessToken, the Azure CLI seam, mints the same claims.
	e.sb.SetDirectoryRoles(adm.UPN, []string{cloudAppAdmin})
	tok, _, err := e.sb.UserAccessToken(adm.UPN, "https://graph.microsoft.com")
	if err != nil {
		t.Fatal(err)
	}
	c := claims(t, tok)
	if diff := cmp.Diff(map[string]any{"wids": []any{cloudAppAdmin}, "upn": adm.UPN, "tid": ten.TenantID, "aud": "https://graph.microsoft.com"},
		map[string]any{"wids": c["wids"], "upn": c["upn"], "tid": c["tid"], "aud": c["aud"]}); diff != "" {
		t.Errorf("UserAccessToken claims (-want +got):\n%s", diff)
	}
	if r := e.do(t, "PATCH", "/_sandbox/accounts/"+adm.UPN, map[string]string{"Content-Type": "application/json"},
		strings.NewReader(`{"directoryRoles":["Global Administrator"]}`)); r.status != 400 {
		t.Errorf("a role name instead of a template ID: status %d, want 400", r.status)
	}
}
