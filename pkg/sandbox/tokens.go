package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/useitcloud/uicctl/pkg/sandbox/keyvault"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/useitcloud/uicctl/pkg/sandbox/graph"
)

// Resources the sandbox issues tokens for: audience URI, the resource's appId.
type resource struct {
	uri, appID, name string
}

var resources = []resource{
	{"https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000", "Microsoft Graph"},
	{"https://api.partnercenter.microsoft.com", "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd", "Microsoft Partner Center"},
	{"https://api.partner.microsoft.com", "4990cffe-04e8-4e8b-808a-1175604b879f", "Microsoft Partner"},
	{"https://management.core.windows.net", "797f4846-ba00-4fd7-ba43-dac1f8f63013", "Windows Azure Service Management API"},
	{keyvault.Resource, keyvault.AppID, "Azure Key Vault"},
}

// findResource maps a resource identifier (URI with or without a trailing slash, or appId)
// to a resource.
func findResource(id string) (resource, bool) {
	id = strings.TrimSuffix(strings.ToLower(id), "/")
	for _, r := range resources {
		if id == r.uri || id == r.appID {
			return r, true
		}
	}
	return resource{}, false
}

// signer signs access and ID tokens with the sandbox's RSA key (RS256, like Entra) and
// publishes the key in the JWKS with a self-signed certificate, as Entra does.
type signer struct {
	key  *rsa.PrivateKey
	kid  string
	cert []byte
}

func newSigner(key *rsa.PrivateKey) (*signer, error) {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "accounts.sandbox.local"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("cannot create signing certificate: %w", err)
	}
	// Entra's kid is the base64url SHA-1 thumbprint of the certificate (equal to x5t).
	sum := sha1.Sum(der)
	return &signer{key: key, kid: base64.RawURLEncoding.EncodeToString(sum[:]), cert: der}, nil
}

func (sg *signer) sign(claims jwt.MapClaims) string {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = sg.kid
	t.Header["x5t"] = sg.kid
	s, err := t.SignedString(sg.key)
	if err != nil {
		panic(err) // only fails for a broken key, which newSigner rules out
	}
	return s
}

func (sg *signer) jwks() map[string]any {
	pub := sg.key.PublicKey
	return map[string]any{"keys": []map[string]any{{
		"kty": "RSA", "use": "sig", "kid": sg.kid, "x5t": sg.kid,
		"n":   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		"x5c": []string{base64.StdEncoding.EncodeToString(sg.cert)},
	}}}
}

// accessTokenLifetime is what Entra gives by default (expires_in 3599).
const accessTokenLifetime = 3599 * time.Second

// tokenClaims are the facts an access token carries.
type tokenClaims struct {
	base     string // https://127.0.0.1:PORT
	tenant   string
	res      resource
	audience string // as requested (URI or appId)
	appID    string
	oid      string // user, or client service principal
	scopes   []string
	roles    []string
	user     *user
	mfa      bool
}

// accessToken returns a v1.0-format access token (Graph and Partner Center accept v1 tokens:
// appid, not azp) and its expiry.
func (s *Sandbox) accessToken(c tokenClaims) (string, time.Time) {
	now := s.now()
	exp := now.Add(accessTokenLifetime)
	m := jwt.MapClaims{
		"aud":      c.audience,
		"iss":      c.base + "/" + c.tenant + "/",
		"iat":      now.Unix(),
		"nbf":      now.Add(-5 * time.Minute).Unix(),
		"exp":      exp.Unix(),
		"appid":    c.appID,
		"appidacr": "1",
		"idp":      c.base + "/" + c.tenant + "/",
		"oid":      c.oid,
		"sub":      c.oid,
		"tid":      c.tenant,
		"uti":      randomToken(16),
		"ver":      "1.0",
	}
	if c.user != nil {
		m["idtyp"] = "user"
		m["upn"] = c.user.UPN
		m["unique_name"] = c.user.UPN
		m["scp"] = strings.Join(c.scopes, " ")
		amr := []string{"pwd"}
		if c.mfa {
			amr = append(amr, "mfa")
		}
		m["amr"] = amr
		// wids: the tenant-wide directory role template IDs of the user; absent when none,
		// as Entra omits claims without a value
		// (https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference).
		// UNCONFIRMED: that Microsoft Graph's tokens always carry it (the page says the
		// resource's groupMembershipClaims decides); real Graph tokens of az login do.
		if len(c.user.DirectoryRoles) > 0 {
			m["wids"] = slices.Clone(c.user.DirectoryRoles)
		}
	} else {
		m["idtyp"] = "app"
		if len(c.roles) > 0 {
			m["roles"] = c.roles
		}
	}
	return s.signer.sign(m), exp
}

// idToken returns a v2.0 ID token for the user and client.
func (s *Sandbox) idToken(base, tenant, clientID string, u *user, nonce string) string {
	now := s.now()
	m := jwt.MapClaims{
		"aud": clientID, "iss": base + "/" + tenant + "/v2.0", "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(), "oid": u.ObjectID, "sub": u.ObjectID, "tid": tenant,
		"preferred_username": u.UPN, "name": u.UPN, "ver": "2.0",
	}
	if nonce != "" {
		m["nonce"] = nonce
	}
	return s.signer.sign(m)
}

// errTokenExpired marks a token whose lifetime is over (Graph has its own message for it).
var errTokenExpired = errors.New("token expired")

// verifiedToken is a token whose signature checked out; lifetime and audience are checked
// on every use because the sandbox clock can move.
type verifiedToken struct {
	p        graph.Principal
	nbf, exp time.Time
}

// maxVerifiedTokens bounds the cache of verified tokens; it is emptied when full.
const maxVerifiedTokens = 10000

// verify checks the bearer token of r: signature, lifetime on the sandbox clock, and that its
// audience is res. It returns the token's principal. Signature checks are cached per token:
// they are most of the cost of an API call.
func (s *Sandbox) verify(r *http.Request, res resource) (graph.Principal, error) {
	h := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(h, "Bearer ")
	raw = strings.TrimSpace(raw)
	if !ok || raw == "" {
		return graph.Principal{}, errNoToken
	}
	vt, err := s.verifySignature(raw)
	if err != nil {
		return graph.Principal{}, err
	}
	now := s.now()
	if !now.Before(vt.exp) || now.Before(vt.nbf) {
		return graph.Principal{}, errTokenExpired
	}
	aud := vt.p.Audience
	if !strings.EqualFold(strings.TrimSuffix(aud, "/"), res.uri) && !strings.EqualFold(aud, res.appID) {
		return graph.Principal{}, errBadAudience
	}
	return vt.p, nil
}

func (s *Sandbox) verifySignature(raw string) (verifiedToken, error) {
	if v, ok := s.verified.Load(raw); ok {
		return v.(verifiedToken), nil
	}
	claims := jwt.MapClaims{}
	// Lifetime is checked by the caller on the sandbox clock; here only the signature.
	_, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return &s.signer.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	if err != nil {
		return verifiedToken{}, errBadToken
	}
	str := func(k string) string { v, _ := claims[k].(string); return v }
	num := func(k string) (time.Time, bool) {
		f, ok := claims[k].(float64)
		return time.Unix(int64(f), 0), ok
	}
	exp, ok := num("exp")
	if !ok {
		return verifiedToken{}, errBadToken
	}
	nbf, _ := num("nbf")
	p := graph.Principal{TenantID: str("tid"), AppID: str("appid"), ObjectID: str("oid"), Audience: str("aud")}
	if p.AppID == "" {
		p.AppID = str("azp")
	}
	if scp := str("scp"); scp != "" {
		p.Scopes = strings.Fields(scp)
	}
	if roles, ok := claims["roles"].([]any); ok {
		for _, v := range roles {
			if s, ok := v.(string); ok {
				p.Roles = append(p.Roles, s)
			}
		}
	}
	if amr, ok := claims["amr"].([]any); ok {
		p.MFA = slices.Contains(amr, any("mfa"))
	}
	vt := verifiedToken{p: p, nbf: nbf, exp: exp}
	if s.verifiedN.Add(1) > maxVerifiedTokens {
		s.verified.Clear()
		s.verifiedN.Store(0)
	}
	s.verified.Store(raw, vt)
	return vt, nil
}

var (
	errNoToken     = errors.New("no token")
	errBadToken    = errors.New("bad token")
	errBadAudience = errors.New("bad audience")
)

// authenticateGraph is graph.Options.Authenticate: the error texts are Graph's 401
// messages (code InvalidAuthenticationToken).
func (s *Sandbox) authenticateGraph(r *http.Request) (graph.Principal, error) {
	p, err := s.verify(r, resources[0])
	switch {
	case err == nil:
		return p, nil
	case errors.Is(err, errNoToken):
		return p, errors.New("Access token is empty.")
	case errors.Is(err, errTokenExpired):
		return p, errors.New("Lifetime validation failed, the token is expired.")
	case errors.Is(err, errBadAudience):
		return p, errors.New("Access token validation failure. Invalid audience.")
	default:
		// UNCONFIRMED: Graph's text for a token with a bad signature.
		return p, errors.New("Access token validation failure.")
	}
}
