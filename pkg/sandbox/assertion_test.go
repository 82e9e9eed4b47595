package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

// actionsClaims are the claims of a token of the sandbox's GitHub Actions issuer, valid now.
func actionsClaims(e *env) jwt.MapClaims {
	now := e.sb.now()
	return jwt.MapClaims{"iss": e.sb.ActionsIssuer(), "sub": DefaultActionsSubject, "aud": ExchangeAudience,
		"iat": now.Unix(), "nbf": now.Add(-10 * time.Minute).Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": newGUID()}
}

func assertionForm(clientID, assertion string) url.Values {
	return url.Values{"client_id": {clientID}, "grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"},
		"client_assertion_type": {jwtBearer}, "client_assertion": {assertion}}
}

func TestFederatedAssertion(t *testing.T) {
	e := start(t, Options{Tenants: 1})
	home, opID, _ := e.sb.Operator()
	partner := e.sb.World().Tenants[0].TenantID
	sg, err := e.sb.actionsSigner()
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := newSigner(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	forged.kid = sg.kid // a published kid, another key: only the signature gives it away
	unknown, _ := newSigner(otherKey)
	noFIC := e.setupSAM(t, partner, nil)

	with := func(k string, v any) string {
		c := actionsClaims(e)
		c[k] = v
		return sg.sign(c)
	}
	good := sg.sign(actionsClaims(e))
	tests := []struct {
		name, reason string
		tenant       string
		form         url.Values
		status       int
		code         int // AADSTS; 0 for success
	}{
		{"home tenant", "the operator app trusts the issuer's main-branch job", home, assertionForm(opID, good), 200, 0},
		{"partner tenant", "a multi-tenant app signs in where its service principal is, as with a secret", partner, assertionForm(opID, good), 200, 0},
		{"expired", "a token past exp is out of its valid time range", home, assertionForm(opID, with("exp", e.sb.now().Add(-time.Second).Unix())), 401, 700024},
		{"not yet valid", "nbf in the future is out of range too", home, assertionForm(opID, with("nbf", e.sb.now().Add(time.Minute).Unix())), 401, 700024},
		{"forged signature", "a published kid with another key's signature", home, assertionForm(opID, forged.sign(actionsClaims(e))), 401, 700027},
		{"unknown key", "a kid the issuer's JWKS does not publish", home, assertionForm(opID, unknown.sign(actionsClaims(e))), 401, 7000272},
		{"other issuer", "no federated credential names the issuer", home, assertionForm(opID, with("iss", "https://token.actions.githubusercontent.com")), 401, 700211},
		{"other subject", "a job of another repository", home, assertionForm(opID, with("sub", "repo:mallory/fleet:ref:refs/heads/main")), 401, 700213},
		{"subject case", "subjects match case-sensitively", home, assertionForm(opID, with("sub", strings.ToUpper(DefaultActionsSubject))), 401, 700213},
		{"other audience", "GitHub's default audience is not the exchange audience", home, assertionForm(opID, with("aud", "https://github.com/useitcloud")), 401, 700212},
		{"audience list", "aud may be a list that contains the audience", home, assertionForm(opID, with("aud", []string{"x", ExchangeAudience})), 200, 0},
		{"app without federated credentials", "nothing to match the assertion against", partner, assertionForm(noFIC.appID, good), 401, 70021},
		{"malformed", "not a JWT", home, assertionForm(opID, "not-a-jwt"), 400, 50027},
		{"unknown app", "the client is looked up before its assertion", home, assertionForm("00000000-0000-4000-8000-000000000001", good), 400, 700016},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.postForm(t, "/"+tc.tenant+"/oauth2/v2.0/token", tc.form)
			code := 0
			if r.status != 200 {
				codes, _ := r.json(t)["error_codes"].([]any)
				if len(codes) == 1 {
					code = int(codes[0].(float64))
				}
			}
			if diff := cmp.Diff([]int{tc.status, tc.code}, []int{r.status, code}); diff != "" {
				t.Errorf("%s: status, AADSTS (-want +got):\n%s\n%s", tc.reason, diff, r.body)
			}
			if r.status == 200 {
				c := claims(t, r.json(t)["access_token"].(string))
				if c["appid"] != opID || c["tid"] != tc.tenant {
					t.Errorf("token of %v in %v, want the operator app in %s", c["appid"], c["tid"], tc.tenant)
				}
			}
		})
	}

	// The assertion type must be RFC 7523's.
	f := assertionForm(opID, good)
	f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
	if r := e.postForm(t, "/"+home+"/oauth2/v2.0/token", f); r.status != 400 {
		t.Errorf("another assertion type: %d %s", r.status, r.body)
	}
}

func TestActionsIssuer(t *testing.T) {
	e := start(t, Options{Tenants: 1, ActionsTokenLifetime: 2 * time.Second})
	reqURL, reqToken := e.sb.ActionsTokenRequest()
	path := strings.TrimPrefix(reqURL, e.sb.URL())
	if !strings.Contains(path, "?") {
		t.Fatalf("request URL %q has no query: clients append &audience=", reqURL)
	}

	r := e.do(t, "GET", path+"&audience="+url.QueryEscape(ExchangeAudience), map[string]string{"Authorization": "Bearer wrong"}, nil)
	if r.status != http.StatusUnauthorized {
		t.Errorf("wrong request token: %d %s", r.status, r.body)
	}
	r = e.do(t, "GET", path+"&audience="+url.QueryEscape(ExchangeAudience), map[string]string{"Authorization": "Bearer " + reqToken}, nil)
	if r.status != http.StatusOK {
		t.Fatalf("token request: %d %s", r.status, r.body)
	}
	c := claims(t, r.json(t)["value"].(string))
	got := map[string]any{"iss": c["iss"], "sub": c["sub"], "aud": c["aud"], "repository": c["repository"], "ref": c["ref"],
		"lifetime": c["exp"].(float64) - c["iat"].(float64), "nbf before iat": c["iat"].(float64) - c["nbf"].(float64)}
	want := map[string]any{"iss": e.sb.ActionsIssuer(), "sub": DefaultActionsSubject, "aud": ExchangeAudience,
		"repository": "useitcloud/fleet", "ref": "refs/heads/main", "lifetime": 2.0, "nbf before iat": 600.0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("token claims (-want +got):\n%s", diff)
	}
	r = e.do(t, "GET", path, map[string]string{"Authorization": "Bearer " + reqToken}, nil)
	if aud := claims(t, r.json(t)["value"].(string))["aud"]; aud != "https://github.com/useitcloud" {
		t.Errorf("default audience %v, want the repository owner's URL", aud)
	}

	// Discovery: the configuration names the issuer and a JWKS with the signing key.
	r = e.do(t, "GET", actionsPath+"/.well-known/openid-configuration", nil, nil)
	conf := r.json(t)
	if conf["issuer"] != e.sb.ActionsIssuer() || conf["jwks_uri"] != e.sb.ActionsIssuer()+"/.well-known/jwks" {
		t.Errorf("openid-configuration: %v", conf)
	}
	r = e.do(t, "GET", actionsPath+"/.well-known/jwks", nil, nil)
	keys, _ := r.json(t)["keys"].([]any)
	if len(keys) != 1 || keys[0].(map[string]any)["kty"] != "RSA" {
		t.Errorf("jwks: %s", r.body)
	}

	// The admin API changes the job: its tokens then name another subject.
	r = e.do(t, "PATCH", "/_sandbox/actions", nil, strings.NewReader(`{"subject":"repo:mallory/fleet:ref:refs/heads/main","tokenLifetime":"1m"}`))
	if r.status != 200 || r.json(t)["subject"] != "repo:mallory/fleet:ref:refs/heads/main" || r.json(t)["tokenLifetime"] != "1m0s" {
		t.Errorf("PATCH /_sandbox/actions: %d %s", r.status, r.body)
	}
	tok, err := e.sb.IssueActionsToken(ExchangeAudience)
	if err != nil {
		t.Fatal(err)
	}
	if sub := claims(t, tok)["sub"]; sub != "repo:mallory/fleet:ref:refs/heads/main" {
		t.Errorf("subject after PATCH: %v", sub)
	}
}

// TestActionsIssuerSurvivesRestart: over a state file the operator's federated credential
// follows the new port and tokens of the old key still verify.
func TestActionsIssuerSurvivesRestart(t *testing.T) {
	state := t.TempDir() + "/state.json"
	e := start(t, Options{Tenants: 1, StateFile: state})
	old, err := e.sb.IssueActionsToken(ExchangeAudience)
	if err != nil {
		t.Fatal(err)
	}
	_, oldReqToken := e.sb.ActionsTokenRequest()
	if err := e.sb.Close(); err != nil {
		t.Fatal(err)
	}
	e = start(t, Options{StateFile: state})
	home, opID, _ := e.sb.Operator()
	if _, tok := e.sb.ActionsTokenRequest(); tok != oldReqToken {
		t.Errorf("request token changed over a restart")
	}
	fresh, _ := e.sb.IssueActionsToken(ExchangeAudience)
	if r := e.postForm(t, "/"+home+"/oauth2/v2.0/token", assertionForm(opID, fresh)); r.status != 200 {
		t.Errorf("fresh token after restart: %d %s", r.status, r.body)
	}
	// The old token names the old port's issuer, which the credential no longer trusts.
	if r := e.postForm(t, "/"+home+"/oauth2/v2.0/token", assertionForm(opID, old)); r.status != 401 || !strings.Contains(string(r.body), "AADSTS700211") {
		t.Errorf("token of the old issuer URL: %d %s", r.status, r.body)
	}
}
