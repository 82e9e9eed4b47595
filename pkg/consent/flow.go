package consent

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/useitcloud/uicctl/internal/scrub"
	"github.com/useitcloud/uicctl/pkg/cloud"
	"github.com/useitcloud/uicctl/pkg/partnercenter"
	"github.com/useitcloud/uicctl/pkg/secrets"
)

// Scopes are what the consent asks for: Partner Center as the user, a refresh token, and an
// ID token naming the account.
var Scopes = []string{cloud.PublicPartnerCenterAudience + "/user_impersonation", "offline_access", "openid", "profile"}

// RedirectURI is the loopback redirect URI for port. Entra ignores the port of
// http://localhost, so the app registers http://localhost:8400/ once for every port.
func RedirectURI(port int) string { return "http://localhost:" + strconv.Itoa(port) + "/" }

// Flow is one sign-in: its state and PKCE verifier live only in memory.
type Flow struct {
	cfg       oauth2.Config
	state     string
	verifier  string
	loginHint string
}

// New prepares the sign-in for a tenant. loginHint (the spec's consent account) may be empty.
func New(c cloud.Cloud, tenantID, clientID, redirectURI, loginHint string) (*Flow, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	login := strings.TrimSuffix(c.Login, "/") + "/" + url.PathEscape(tenantID) + "/oauth2/v2.0/"
	scopes := append([]string(nil), Scopes...)
	scopes[0] = strings.TrimSuffix(c.PartnerCenterAudience, "/") + "/user_impersonation"
	verifier := oauth2.GenerateVerifier()
	scrub.Known(verifier)
	return &Flow{
		cfg: oauth2.Config{
			ClientID:    clientID,
			Endpoint:    oauth2.Endpoint{AuthURL: login + "authorize", TokenURL: login + "token", AuthStyle: oauth2.AuthStyleInParams},
			RedirectURL: redirectURI,
			Scopes:      scopes,
		},
		state:     base64.RawURLEncoding.EncodeToString(b),
		verifier:  verifier,
		loginHint: loginHint,
	}, nil
}

// State is the value the callback must carry back.
func (f *Flow) State() string { return f.state }

// AuthURL is the authorize URL to open in the browser: it carries the state and the PKCE
// challenge, never the verifier.
func (f *Flow) AuthURL() string {
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.verifier), oauth2.SetAuthURLParam("response_mode", "query")}
	if f.loginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", f.loginHint))
	}
	return f.cfg.AuthCodeURL(f.state, opts...)
}

// Result is what a successful consent stores.
type Result struct {
	RefreshToken secrets.Value
	IssuedAt     time.Time
	// Account is the user who signed in, from the ID token.
	Account string
	// Access are the claims of the Partner Center access token issued with it.
	Access partnercenter.Claims
}

// MFAError is a sign-in without multi-factor authentication: Partner Center refuses
// app+user calls made with such a token.
type MFAError struct{ Account string }

func (e *MFAError) Error() string {
	who := "the account"
	if e.Account != "" {
		who = e.Account
	}
	return fmt.Sprintf("%s signed in without multi-factor authentication; nothing was stored", who)
}

// Hint says how to get a usable token.
func (e *MFAError) Hint() string {
	return "the partner account must sign in with MFA (Partner Center refuses app+user calls without it): enable MFA for it, then run uicctl consent again"
}

// Exchange redeems the code with the client secret and the PKCE verifier. The access token
// must carry "mfa" in its amr claim and a refresh token must come back.
func (f *Flow) Exchange(ctx context.Context, hc *http.Client, secret secrets.Value, code string, now time.Time) (*Result, error) {
	if hc != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	}
	cfg := f.cfg
	cfg.ClientSecret = secret.Reveal()
	scrub.Known(code)
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(f.verifier))
	if tok != nil {
		scrub.Known(tok.AccessToken, tok.RefreshToken)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot redeem the sign-in code: %w", partnercenter.TokenError(err))
	}
	claims, err := partnercenter.ParseClaims(tok.AccessToken)
	if err != nil {
		return nil, err
	}
	account := claims.UPN
	if raw, ok := tok.Extra("id_token").(string); ok && raw != "" {
		if a := idTokenAccount(raw); a != "" {
			account = a
		}
	}
	// The token endpoint's claim, printed and stored: no control character gets through.
	account = scrub.Line(account)
	if !claims.MFA() {
		return nil, &MFAError{Account: account}
	}
	if tok.RefreshToken == "" {
		return nil, errors.New("the token endpoint sent no refresh token (was offline_access refused?); nothing was stored")
	}
	return &Result{RefreshToken: secrets.NewValue(tok.RefreshToken), IssuedAt: now.UTC().Truncate(time.Second), Account: account, Access: claims}, nil
}

// idTokenAccount reads the signed-in account from an ID token. Its signature is not
// checked: it came from the token endpoint over TLS in answer to this client's own request.
func idTokenAccount(raw string) string {
	var m jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &m); err != nil {
		return ""
	}
	for _, k := range []string{"preferred_username", "upn", "email"} {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// CallbackError is the error a sign-in sent back to the redirect URI instead of a code.
type CallbackError struct {
	Code        string // "access_denied"
	Description string // error_description, first line
}

func (e *CallbackError) Error() string {
	d := e.Description
	if i := strings.IndexAny(d, "\r\n"); i >= 0 {
		d = d[:i]
	}
	if d == "" {
		return "sign-in failed: " + e.Code
	}
	return "sign-in failed: " + e.Code + ": " + d
}

// Hint says what the common refusals mean.
func (e *CallbackError) Hint() string {
	switch e.Code {
	case "access_denied":
		return "the consent was declined at the sign-in page; run uicctl consent again and accept"
	case "consent_required":
		return "the app has no admin consent in this tenant: run uicctl apply (adminConsent: true) first"
	}
	return ""
}

// ErrWrongState is a callback whose state is not this flow's: it is refused.
var ErrWrongState = errors.New("the callback's state does not match this sign-in")

// ParseCallback reads the query of a redirect to the loopback URI: the code, a
// CallbackError, or ErrWrongState.
func (f *Flow) ParseCallback(q url.Values) (string, error) {
	if q.Get("state") != f.state {
		return "", ErrWrongState
	}
	if e := q.Get("error"); e != "" {
		// Both are the sign-in service's text, on their way to the terminal and the page.
		return "", &CallbackError{Code: scrub.Line(e), Description: scrub.Text(q.Get("error_description"))}
	}
	code := q.Get("code")
	if code == "" {
		return "", errors.New("the callback has neither a code nor an error")
	}
	return code, nil
}

// ParsePasted reads the URL the browser ended on, pasted by a consultant on a remote shell.
func (f *Flow) ParsePasted(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.RawQuery == "" {
		return "", errors.New("the pasted text is not the URL the browser ended on (it has no query)")
	}
	return f.ParseCallback(u.Query())
}
