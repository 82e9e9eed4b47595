package partnercenter

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/useitcloud/uicctl/pkg/cloud"
	"github.com/useitcloud/uicctl/pkg/spec"
)

// Claims are the parts of a delegated access token uicctl looks at. They are read without
// checking the signature: the token came straight from the token endpoint over TLS, and its
// audience (not uicctl) is the one that verifies it.
type Claims struct {
	Audience string
	UPN      string
	AMR      []string // authentication methods: "pwd", "mfa", ...
	Expiry   time.Time
}

// MFA reports whether the user signed in with multi-factor authentication.
func (c Claims) MFA() bool {
	for _, m := range c.AMR {
		if m == "mfa" {
			return true
		}
	}
	return false
}

// ParseClaims reads the claims of a JWT access token without verifying it.
func ParseClaims(accessToken string) (Claims, error) {
	var m jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(accessToken, &m); err != nil {
		return Claims{}, fmt.Errorf("the access token is not a JWT: %w", err)
	}
	var c Claims
	if aud, err := m.GetAudience(); err == nil && len(aud) > 0 {
		c.Audience = aud[0]
	}
	for _, k := range []string{"upn", "unique_name", "preferred_username"} {
		if s, ok := m[k].(string); ok && s != "" {
			c.UPN = s
			break
		}
	}
	if amr, ok := m["amr"].([]any); ok {
		for _, a := range amr {
			if s, ok := a.(string); ok {
				c.AMR = append(c.AMR, s)
			}
		}
	}
	if exp, err := m.GetExpirationTime(); err == nil && exp != nil {
		c.Expiry = exp.Time
	}
	return c, nil
}

// RedeemRefreshToken exchanges a Secure Application Model refresh token for an access token
// to audience (such as the Partner Center audience) with the app's client secret. It returns
// the rotated refresh token Entra sends back (the one given when none came back) and the
// access token's claims; the access token itself is not returned. hc may be nil for the
// default client.
func RedeemRefreshToken(ctx context.Context, hc *http.Client, c cloud.Cloud, tenantID, clientID, secret, refreshToken, audience string) (string, Claims, error) {
	_, rt, claims, err := DelegatedToken(ctx, hc, c, tenantID, clientID, secret, refreshToken, audience)
	if err != nil {
		return "", Claims{}, err
	}
	if want := strings.TrimSuffix(audience, "/"); !AudienceIs(c, claims.Audience, want) {
		return "", Claims{}, fmt.Errorf("the token endpoint answered with a token for %q instead of %q", claims.Audience, want)
	}
	return rt, claims, nil
}

// AudienceIs reports whether a token's aud names the resource audience (a resource URI
// such as https://api.partnercenter.microsoft.com): the URI itself, or, for the resources
// uicctl asks tokens for, the resource's appId. "In v1.0 tokens, it can be the client ID
// or the resource URI used in the request"
// (https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference).
func AudienceIs(c cloud.Cloud, aud, audience string) bool {
	norm := func(s string) string { return strings.ToLower(strings.TrimSuffix(s, "/")) }
	if norm(aud) == norm(audience) {
		return true
	}
	appIDs := map[string]string{
		norm(c.PartnerCenterAudience): spec.PartnerCenterAppID,
		norm(c.PartnerAPIAudience):    spec.MicrosoftPartnerAppID,
		norm(c.GraphAudience):         spec.MicrosoftGraphAppID,
	}
	id, ok := appIDs[norm(audience)]
	return ok && norm(aud) == id
}
