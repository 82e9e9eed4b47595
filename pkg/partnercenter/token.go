package partnercenter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/useitcloud/uicctl/internal/retry"
	"github.com/useitcloud/uicctl/internal/scrub"
	"github.com/useitcloud/uicctl/pkg/cloud"
)

// TokenURL is the v2 token endpoint of a tenant in a cloud.
func TokenURL(c cloud.Cloud, tenantID string) string {
	return strings.TrimSuffix(c.Login, "/") + "/" + tenantID + "/oauth2/v2.0/token"
}

// ClientCredentials asks for an app-only token for audience (such as the Graph audience)
// with the app's client secret, the way Use IT Cloud does. hc may be nil for the default
// client. The token itself is not returned: callers only need to know the secret works.
func ClientCredentials(ctx context.Context, hc *http.Client, c cloud.Cloud, tenantID, clientID, secret, audience string) error {
	_, err := requestToken(ctx, hc, c, tenantID, clientID, secret, audience, "")
	return err
}

// requestToken is every token request uicctl makes with the app's client secret: the
// client-credentials grant, or with refreshToken set the refresh-token grant. Both go
// through x/oauth2's client-credentials source: its refresh (Config.TokenSource) sends no
// scope, so Entra would answer for the resource of the original sign-in whatever audience
// is asked for, while the client-credentials source sends the scope and allows its
// grant_type to be overridden. Entra documents the parameters in the body; auto-detection
// would first try Basic.
func requestToken(ctx context.Context, hc *http.Client, c cloud.Cloud, tenantID, clientID, secret, audience, refreshToken string) (*oauth2.Token, error) {
	cfg := clientcredentials.Config{
		ClientID: clientID, ClientSecret: secret, TokenURL: TokenURL(c, tenantID),
		Scopes:    []string{strings.TrimSuffix(audience, "/") + "/.default"},
		AuthStyle: oauth2.AuthStyleInParams,
	}
	if refreshToken != "" {
		cfg.Scopes = append(cfg.Scopes, "offline_access")
		cfg.EndpointParams = url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	}
	// A token request is safe to repeat: the one retry policy (internal/retry) retries it
	// after a throttled answer or a cut connection, within the operation's budget.
	ctx = context.WithValue(retry.Idempotent(ctx), oauth2.HTTPClient, RetryingClient(hc, "sign-in"))
	scrub.Known(secret, refreshToken)
	tok, err := cfg.Token(ctx)
	if err != nil {
		return nil, TokenError(err)
	}
	scrub.Known(tok.AccessToken, tok.RefreshToken)
	return tok, nil
}

// RetryingClient is hc (nil: the default client) with the one retry policy in its
// transport, for service; hc's Timeout bounds each try rather than all of them.
func RetryingClient(hc *http.Client, service string) *http.Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	if _, ok := hc.Transport.(*retry.Transport); ok {
		return hc
	}
	out := *hc
	out.Transport = &retry.Transport{Base: hc.Transport, Service: service, AttemptTimeout: hc.Timeout}
	out.Timeout = 0
	return &out
}

// SignInError is an Entra token endpoint refusal with its AADSTS code, explained.
type SignInError struct {
	Code        string // "invalid_client"
	AADSTS      string // "7000215"
	Description string // first line of error_description, without trace and correlation ids
	Status      int
}

func (e *SignInError) Error() string {
	if e.AADSTS != "" {
		return fmt.Sprintf("sign-in refused: AADSTS%s: %s", e.AADSTS, meaning(e.AADSTS, e.Description))
	}
	return fmt.Sprintf("sign-in refused: %s: %s", e.Code, e.Description)
}

// Hint says what to do about the refusal.
func (e *SignInError) Hint() string { return hints[e.AADSTS] }

var meanings = map[string]string{
	"7000215": "invalid client secret (wrong value, or one that does not belong to this app)",
	"7000222": "the client secret has expired",
	"700016":  "the application is not known in this tenant",
	"700082":  "the refresh token has expired after 90 days without use",
	// A confidential client's refresh token survives the user's own password change (and
	// SSPR); an admin's password reset in the Entra or Microsoft 365 admin center, or a
	// revocation of the user's sessions, revokes it
	// (https://learn.microsoft.com/entra/identity-platform/refresh-tokens#token-revocation).
	"50173": "the refresh token was revoked: an admin revoked the consent account's sessions or reset its password in the Entra or Microsoft 365 admin center (the account's own password change does not revoke it)",
	"70000": "the grant is invalid or malformed (the refresh token is not for this app or was already replaced)",
	"90002": "the tenant does not exist",
	"65001": "the app has no consent for this API in the tenant",
	"50076": "the sign-in needs multi-factor authentication",
}

var hints = map[string]string{
	"7000215": "check the client secret in the secrets file; uicctl apply makes a new one when the plan says so",
	"7000222": "run uicctl apply: it replaces an expired client secret",
	"700016":  "check tenantId and the app's clientId; run uicctl plan to see whether the app exists",
	"700082":  "run uicctl consent for this tenant to get a new refresh token",
	"50173":   "run uicctl consent for this tenant to get a new refresh token",
	"70000":   "run uicctl consent for this tenant to get a new refresh token",
	"90002":   "check tenantId in partner.yaml and --cloud",
	"65001":   "run uicctl apply with adminConsent: true, or grant admin consent in the portal",
	"50076":   "sign in with the partner account's MFA",
}

func meaning(code, desc string) string {
	if m, ok := meanings[code]; ok {
		return m
	}
	return desc
}

var aadstsRE = regexp.MustCompile(`^AADSTS(\d+): ([^\r\n]*)`)

// TokenError turns an x/oauth2 error into a SignInError when the token endpoint answered
// with Entra's error body; other errors pass through.
func TokenError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return err
	}
	e := &SignInError{Code: re.ErrorCode, Description: re.ErrorDescription}
	if re.Response != nil {
		e.Status = re.Response.StatusCode
	}
	var body struct {
		ErrorCodes []int `json:"error_codes"`
	}
	if json.Unmarshal(re.Body, &body) == nil && len(body.ErrorCodes) > 0 {
		e.AADSTS = fmt.Sprint(body.ErrorCodes[0])
	}
	if m := aadstsRE.FindStringSubmatch(re.ErrorDescription); m != nil {
		e.AADSTS, e.Description = m[1], m[2]
	}
	if i := strings.Index(e.Description, " Trace ID:"); i > 0 {
		e.Description = e.Description[:i]
	}
	// The endpoint's text may reflect the request: the secret, the refresh token, the code.
	e.Code, e.Description = scrub.Line(e.Code), scrub.Line(e.Description)
	return e
}
