package partnercenter

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/useitcloud/uicctl/pkg/cloud"
)

// TestRedeemRefreshToken checks the refresh-token request (secret in the body, audience's
// .default scope) and what comes back: the rotated token, the claims, or an explained error.
func TestRedeemRefreshToken(t *testing.T) {
	exp := time.Date(2026, 11, 26, 13, 0, 0, 0, time.UTC)
	access, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"aud": "https://api.partner.microsoft.com", "upn": "svc@contoso.example", "amr": []string{"pwd", "mfa"}, "exp": exp.Unix(),
	}).SignedString([]byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	pcAccess, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"aud": "https://api.partnercenter.microsoft.com"}).SignedString([]byte("k"))
	// A v1.0 token may name its resource by appId: the Microsoft Partner API's.
	byAppID, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"aud": "4990cffe-04e8-4e8b-808a-1175604b879f", "exp": exp.Unix()}).SignedString([]byte("k"))
	// The Partner Center API's appId names another resource.
	otherAppID, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"aud": "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd"}).SignedString([]byte("k"))
	cases := map[string]struct {
		reason     string
		status     int
		body       map[string]any
		wantToken  string
		wantClaims Claims
		wantErr    string
		wantHint   string
	}{
		"Rotated": {
			reason:     "a new refresh token and the access token's claims",
			status:     200,
			body:       map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3599, "refresh_token": "rt-new"},
			wantToken:  "rt-new",
			wantClaims: Claims{Audience: "https://api.partner.microsoft.com", UPN: "svc@contoso.example", AMR: []string{"pwd", "mfa"}, Expiry: exp},
		},
		"WrongAudience": {
			reason:  "a token for another resource (a refresh without scope) is no proof",
			status:  200,
			body:    map[string]any{"access_token": pcAccess, "token_type": "Bearer", "expires_in": 3599, "refresh_token": "rt-new"},
			wantErr: `the token endpoint answered with a token for "https://api.partnercenter.microsoft.com" instead of "https://api.partner.microsoft.com"`,
		},
		"AppIDAudience": {
			reason:     "a v1.0 token's aud may be the resource's appId instead of its URI (access-token-claims-reference)",
			status:     200,
			body:       map[string]any{"access_token": byAppID, "token_type": "Bearer", "expires_in": 3599, "refresh_token": "rt-new"},
			wantToken:  "rt-new",
			wantClaims: Claims{Audience: "4990cffe-04e8-4e8b-808a-1175604b879f", Expiry: exp},
		},
		"OtherAppIDAudience": {
			reason:  "another resource's appId is still another resource",
			status:  200,
			body:    map[string]any{"access_token": otherAppID, "token_type": "Bearer", "expires_in": 3599, "refresh_token": "rt-new"},
			wantErr: `the token endpoint answered with a token for "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd" instead of "https://api.partner.microsoft.com"`,
		},
		"Revoked": {
			reason:   "AADSTS50173: an admin revoked sessions or reset the password; the account's own password change does not revoke a confidential client's token",
			status:   400,
			body:     map[string]any{"error": "invalid_grant", "error_description": "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.\r\nTrace ID: 1", "error_codes": []int{50173}},
			wantErr:  "sign-in refused: AADSTS50173: the refresh token was revoked: an admin revoked the consent account's sessions or reset its password in the Entra or Microsoft 365 admin center (the account's own password change does not revoke it)",
			wantHint: "run uicctl consent for this tenant to get a new refresh token",
		},
		"Expired": {
			reason:   "AADSTS700082 says to consent again",
			status:   400,
			body:     map[string]any{"error": "invalid_grant", "error_description": "AADSTS700082: The refresh token has expired due to inactivity.\r\nTrace ID: 1", "error_codes": []int{700082}},
			wantErr:  "sign-in refused: AADSTS700082: the refresh token has expired after 90 days without use",
			wantHint: "run uicctl consent for this tenant to get a new refresh token",
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
				json.NewEncoder(w).Encode(tc.body)
			}))
			defer srv.Close()
			c := cloud.Public // its audiences, at the test server
			c.Login = srv.URL + "/"
			tok, claims, err := RedeemRefreshToken(context.Background(), srv.Client(), c, "tenant-1", "client-1", "hunter2-secret", "rt-old-canary", "https://api.partner.microsoft.com/")
			if tok != tc.wantToken {
				t.Errorf("%s\nrefresh token %q, want %q", tc.reason, tok, tc.wantToken)
			}
			if diff := cmp.Diff(tc.wantClaims, claims); diff != "" {
				t.Errorf("%s\nclaims -want +got:\n%s", tc.reason, diff)
			}
			gotErr, gotHint := "", ""
			if err != nil {
				gotErr = err.Error()
				if h, ok := err.(interface{ Hint() string }); ok {
					gotHint = h.Hint()
				}
			}
			if gotErr != tc.wantErr || gotHint != tc.wantHint {
				t.Errorf("%s\nerror %q hint %q, want %q %q", tc.reason, gotErr, gotHint, tc.wantErr, tc.wantHint)
			}
			if strings.Contains(gotErr, "hunter2") || strings.Contains(gotErr, "rt-old") {
				t.Errorf("a secret is in the error: %s", gotErr)
			}
			want := map[string]string{"grant_type": "refresh_token", "refresh_token": "rt-old-canary", "client_id": "client-1", "client_secret": "hunter2-secret",
				"scope": "https://api.partner.microsoft.com/.default offline_access"}
			got := map[string]string{}
			for k := range want {
				got[k] = form.Get(k)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s\ntoken request -want +got:\n%s", tc.reason, diff)
			}
		})
	}
}
