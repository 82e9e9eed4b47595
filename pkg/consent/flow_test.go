package consent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/useitcloud/uicctl/pkg/cloud"
	"github.com/useitcloud/uicctl/pkg/partnercenter"
	"github.com/useitcloud/uicctl/pkg/secrets"
)

// TestAuthURL checks the authorize request: v2 endpoint of the tenant, the four scopes,
// the loopback redirect, state, PKCE S256 and login_hint, and no verifier.
func TestAuthURL(t *testing.T) {
	f, err := New(cloud.Public, "tenant-1", "client-1", RedirectURI(8400), "svc@contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(f.AuthURL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	got := map[string]string{"url": u.Scheme + "://" + u.Host + u.Path}
	for _, k := range []string{"client_id", "response_type", "redirect_uri", "scope", "code_challenge_method", "login_hint", "response_mode"} {
		got[k] = q.Get(k)
	}
	want := map[string]string{
		"url": "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/authorize", "client_id": "client-1", "response_type": "code",
		"redirect_uri": "http://localhost:8400/", "scope": "https://api.partnercenter.microsoft.com/user_impersonation offline_access openid profile",
		"code_challenge_method": "S256", "login_hint": "svc@contoso.example", "response_mode": "query",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("authorize URL -want +got:\n%s", diff)
	}
	if q.Get("state") != f.State() || len(f.State()) < 32 {
		t.Errorf("state %q, flow state %q", q.Get("state"), f.State())
	}
	if c := q.Get("code_challenge"); len(c) != 43 || strings.Contains(f.AuthURL(), f.verifier) {
		t.Errorf("code_challenge %q: want a 43-character S256 challenge and no verifier in the URL", c)
	}
	g, _ := New(cloud.Public, "tenant-1", "client-1", RedirectURI(8400), "")
	if g.State() == f.State() || g.verifier == f.verifier {
		t.Errorf("two flows share a state or verifier")
	}
	if strings.Contains(g.AuthURL(), "login_hint") {
		t.Errorf("login_hint without an account: %s", g.AuthURL())
	}
}

func jwtOf(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte("test-key"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestExchange runs the code exchange against a fake token endpoint.
func TestExchange(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	access := func(amr ...string) jwt.MapClaims {
		return jwt.MapClaims{"aud": "https://api.partnercenter.microsoft.com", "upn": "svc@contoso.example", "amr": amr, "exp": now.Add(time.Hour).Unix()}
	}
	id := jwt.MapClaims{"preferred_username": "svc-uic@contoso.example"}
	cases := map[string]struct {
		reason  string
		status  int
		body    func(t *testing.T) map[string]any
		want    *Result
		wantErr string
		mfa     bool
	}{
		"MFA": {
			reason: "an MFA sign-in gives the refresh token, the account from the ID token and the issue time",
			status: 200,
			body: func(t *testing.T) map[string]any {
				return map[string]any{"access_token": jwtOf(t, access("pwd", "mfa")), "token_type": "Bearer", "expires_in": 3599, "refresh_token": "rt-canary", "id_token": jwtOf(t, id)}
			},
			want: &Result{RefreshToken: secrets.NewValue("rt-canary"), IssuedAt: now, Account: "svc-uic@contoso.example",
				Access: partnercenter.Claims{Audience: "https://api.partnercenter.microsoft.com", UPN: "svc@contoso.example", AMR: []string{"pwd", "mfa"}, Expiry: now.Add(time.Hour)}},
		},
		"NoMFA": {
			reason: "a password-only sign-in is refused with the MFA hint",
			status: 200,
			body: func(t *testing.T) map[string]any {
				return map[string]any{"access_token": jwtOf(t, access("pwd")), "token_type": "Bearer", "expires_in": 3599, "refresh_token": "rt-canary", "id_token": jwtOf(t, id)}
			},
			wantErr: "svc-uic@contoso.example signed in without multi-factor authentication; nothing was stored",
			mfa:     true,
		},
		"NoRefreshToken": {
			reason: "without offline_access there is nothing to store",
			status: 200,
			body: func(t *testing.T) map[string]any {
				return map[string]any{"access_token": jwtOf(t, access("pwd", "mfa")), "token_type": "Bearer", "expires_in": 3599}
			},
			wantErr: "the token endpoint sent no refresh token (was offline_access refused?); nothing was stored",
		},
		"CodeRedeemed": {
			reason: "an Entra refusal is explained by its AADSTS code",
			status: 400,
			body: func(t *testing.T) map[string]any {
				return map[string]any{"error": "invalid_grant", "error_description": "AADSTS54005: OAuth2 Authorization code was already redeemed.\r\nTrace ID: 1", "error_codes": []int{54005}}
			},
			wantErr: "cannot redeem the sign-in code: sign-in refused: AADSTS54005: OAuth2 Authorization code was already redeemed.",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var form url.Values
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.ParseForm()
				form = r.PostForm
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				json.NewEncoder(w).Encode(tc.body(t))
			}))
			defer srv.Close()
			c := cloud.Public
			c.Login = srv.URL + "/"
			f, err := New(c, "tenant-1", "client-1", RedirectURI(8400), "")
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.Exchange(context.Background(), srv.Client(), secrets.NewValue("hunter2-secret"), "code-1", now)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
				if strings.Contains(gotErr, "hunter2") || strings.Contains(gotErr, "rt-canary") {
					t.Errorf("a secret is in the error: %s", gotErr)
				}
			}
			if diff := cmp.Diff(tc.wantErr, gotErr); diff != "" {
				t.Errorf("%s\nerror -want +got:\n%s", tc.reason, diff)
			}
			var me *MFAError
			if errors.As(err, &me) != tc.mfa || (tc.mfa && !strings.Contains(me.Hint(), "must sign in with MFA")) {
				t.Errorf("%s\nerror %v: MFA error %v, want %v", tc.reason, err, errors.As(err, &me), tc.mfa)
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b secrets.Value) bool { return a.Equal(b) })); diff != "" {
				t.Errorf("%s\nresult -want +got:\n%s", tc.reason, diff)
			}
			wantForm := map[string]string{"grant_type": "authorization_code", "code": "code-1", "client_id": "client-1", "client_secret": "hunter2-secret", "redirect_uri": "http://localhost:8400/", "code_verifier": f.verifier}
			gotForm := map[string]string{}
			for k := range wantForm {
				gotForm[k] = form.Get(k)
			}
			if diff := cmp.Diff(wantForm, gotForm); diff != "" {
				t.Errorf("%s\ntoken request -want +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// TestParsePasted checks the --paste path: the address the browser ended on.
func TestParsePasted(t *testing.T) {
	f, _ := New(cloud.Public, "tenant-1", "client-1", RedirectURI(8400), "")
	cases := map[string]struct {
		reason, in, code string
		err              error
		errText          string
	}{
		"Code":       {reason: "the code of this flow", in: "  http://localhost:8400/?code=abc&state=" + f.State() + "&session_state=x\n", code: "abc"},
		"WrongState": {reason: "another flow's address", in: "http://localhost:8400/?code=abc&state=other", err: ErrWrongState},
		"NotURL":     {reason: "text that is no redirect", in: "hello", errText: "the pasted text is not the URL the browser ended on (it has no query)"},
		"Error":      {reason: "an error redirect", in: "http://localhost:8400/?error=access_denied&error_description=AADSTS65004%3A+User+declined&state=" + f.State(), errText: "sign-in failed: access_denied: AADSTS65004: User declined"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			code, err := f.ParsePasted(tc.in)
			if code != tc.code {
				t.Errorf("%s\ncode %q, want %q", tc.reason, code, tc.code)
			}
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Errorf("%s\nerror %v, want %v", tc.reason, err, tc.err)
			}
			if tc.errText != "" && (err == nil || err.Error() != tc.errText) {
				t.Errorf("%s\nerror %v, want %q", tc.reason, err, tc.errText)
			}
		})
	}
}
