package sandbox

import (
	"crypto/rsa"
	"encoding/base64"
	"math/big"
	"net/http"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/useitcloud/uicctl/pkg/sandbox/graph"
)

// jwtBearer is the client_assertion_type of a JWT client assertion (RFC 7523), the form
// both certificate credentials and federated tokens take.
const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// hasAssertion reports whether the request authenticates its client with an assertion.
func hasAssertion(r *http.Request) bool {
	return r.PostForm.Get("client_assertion_type") != "" || r.PostForm.Get("client_assertion") != ""
}

// verifyAssertion checks a client_assertion as workload identity federation does: the
// token of an external issuer that one of app's federatedIdentityCredentials trusts.
// Checks run issuer (to know whose keys to fetch), signature, lifetime, subject, audience.
// UNCONFIRMED: Entra's order of these checks when several fail at once.
func (s *Sandbox) verifyAssertion(r *http.Request, app graph.App) *aadError {
	if typ := r.PostForm.Get("client_assertion_type"); typ != jwtBearer {
		if typ == "" {
			return errMissingParam("client_assertion_type")
		}
		return errAssertionType(typ)
	}
	raw := r.PostForm.Get("client_assertion")
	if raw == "" {
		return errMissingParam("client_assertion")
	}
	claims := jwt.MapClaims{}
	tok, _, err := jwt.NewParser().ParseUnverified(raw, claims)
	if err != nil {
		return errAssertionMalformed()
	}
	iss, _ := claims["iss"].(string)
	sub, _ := claims["sub"].(string)
	auds, _ := claims.GetAudience()
	creds := s.graph.FederatedCredentials(app.AppID)
	if len(creds) == 0 {
		// Certificate credentials (iss = sub = client_id) are not emulated: an app of the
		// sandbox has federated credentials or nothing to check an assertion against.
		first := ""
		if len(auds) > 0 {
			first = auds[0]
		}
		return errNoFederatedRecord(iss, sub, first)
	}
	creds = slices.DeleteFunc(creds, func(c graph.FederatedCredential) bool { return c.Issuer != iss })
	if len(creds) == 0 {
		return errFederatedIssuer(iss)
	}

	kid, _ := tok.Header["kid"].(string)
	key := s.issuerKey(iss, kid)
	if key == nil {
		// UNCONFIRMED for an issuer the sandbox does not host: Entra would fetch its
		// metadata; the sandbox reaches only its own issuer, so the key is not found.
		return errFederatedKey(kid, iss)
	}
	if _, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation()); err != nil {
		return errAssertionSignature()
	}

	now := s.now()
	exp, _ := claims.GetExpirationTime()
	nbf, _ := claims.GetNotBefore()
	from := time.Unix(0, 0)
	if nbf != nil {
		from = nbf.Time
	}
	// UNCONFIRMED: whether Entra allows clock skew on federated tokens; none here, so a
	// test sees the expiry exactly.
	if exp == nil || !now.Before(exp.Time) || now.Before(from) {
		until := time.Unix(0, 0)
		if exp != nil {
			until = exp.Time
		}
		return errAssertionTime(now, from, until)
	}

	// Federated credentials match case-sensitively (a 2025 Entra change).
	creds = slices.DeleteFunc(creds, func(c graph.FederatedCredential) bool { return c.Subject != sub })
	if len(creds) == 0 {
		return errFederatedSubject(sub)
	}
	for _, c := range creds {
		if slices.Contains(auds, c.Audiences[0]) {
			return nil
		}
	}
	first := ""
	if len(auds) > 0 {
		first = auds[0]
	}
	return errFederatedAudience(first)
}

// issuerKey returns the RSA key of kid in the JWKS of issuer iss, or nil.
func (s *Sandbox) issuerKey(iss, kid string) *rsa.PublicKey {
	if iss != s.ActionsIssuer() {
		return nil
	}
	sg, err := s.actionsSigner()
	if err != nil {
		return nil
	}
	// Read the key from the published JWKS, as a verifier that fetched it would.
	for _, k := range sg.jwks()["keys"].([]map[string]any) {
		if k["kid"] != kid {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k["n"].(string))
		e, err2 := base64.RawURLEncoding.DecodeString(k["e"].(string))
		if err1 != nil || err2 != nil {
			return nil
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return nil
}
