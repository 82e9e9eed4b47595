package entra

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/useitcloud/uicctl/internal/retry"
	"github.com/useitcloud/uicctl/internal/scrub"
)

// secretCredential is the client-credentials grant with a client secret, for any tenant.
//
// azidentity's ClientSecretCredential does the same through MSAL, which first fetches the
// tenant's OpenID configuration: one more round trip per tenant, a third of an in-sync
// tenant's cost. The token endpoint of a tenant is documented
// ({authority}/{tenant}/oauth2/v2.0/token), so this asks it directly.
type secretCredential struct {
	authority string // https://login.microsoftonline.com/
	tenant    string // the home tenant: used when a request names none
	clientID  string
	secret    string
	hc        *http.Client

	mu    sync.Mutex
	cache map[string]*tokenEntry // tenant + " " + scopes
}

type tokenEntry struct {
	mu  sync.Mutex // one request per tenant at a time; the others wait for its token
	tok azcore.AccessToken
}

func newSecretCredential(authority, tenant, clientID, secret string, hc *http.Client) *secretCredential {
	scrub.Known(secret)
	return &secretCredential{authority: strings.TrimSuffix(authority, "/") + "/", tenant: tenant, clientID: clientID, secret: secret,
		hc: hc, cache: map[string]*tokenEntry{}}
}

func (c *secretCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if o.TenantID == "" {
		o.TenantID = c.tenant
	}
	if o.TenantID == "" || strings.ContainsAny(o.TenantID, "/?#") {
		return azcore.AccessToken{}, fmt.Errorf("invalid tenant %q", o.TenantID)
	}
	key := o.TenantID + " " + strings.Join(o.Scopes, " ")
	c.mu.Lock()
	e := c.cache[key]
	if e == nil {
		e = &tokenEntry{}
		c.cache[key] = e
	}
	c.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	// A claims challenge (CAE) asks for a new token whatever the cache holds.
	if o.Claims == "" && e.tok.Token != "" && time.Until(e.tok.ExpiresOn) > 5*time.Minute {
		return e.tok, nil
	}
	tok, err := c.request(ctx, o)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	e.tok = tok
	return tok, nil
}

func (c *secretCredential) request(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	form := url.Values{
		"client_id":     {c.clientID},
		"client_secret": {c.secret},
		"grant_type":    {"client_credentials"},
		"scope":         {strings.Join(o.Scopes, " ")},
	}
	if o.Claims != "" {
		form.Set("claims", o.Claims)
	}
	endpoint := c.authority + url.PathEscape(o.TenantID) + "/oauth2/v2.0/token"
	// A token request is safe to repeat: retry.Transport (in hc) retries it after a
	// throttled answer or a cut connection, within the operation's budget.
	req, err := http.NewRequestWithContext(retry.Idempotent(ctx), http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return azcore.AccessToken{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.hc.Do(req)
	if err != nil {
		return azcore.AccessToken{}, fmt.Errorf("token request: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	if err != nil {
		return azcore.AccessToken{}, fmt.Errorf("token request: %w", err)
	}
	if res.StatusCode == http.StatusOK {
		return parseToken(body)
	}
	return azcore.AccessToken{}, tokenError(res.StatusCode, body)
}

func parseToken(body []byte) (azcore.AccessToken, error) {
	var r struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"` // a number, or a string on some endpoints
	}
	if err := json.Unmarshal(body, &r); err != nil || r.AccessToken == "" {
		return azcore.AccessToken{}, fmt.Errorf("token response without an access token")
	}
	secs, err := strconv.ParseFloat(strings.Trim(string(r.ExpiresIn), `"`), 64)
	if err != nil || secs <= 0 {
		return azcore.AccessToken{}, fmt.Errorf("token response without a valid expires_in")
	}
	scrub.Known(r.AccessToken)
	return azcore.AccessToken{Token: r.AccessToken, ExpiresOn: time.Now().Add(time.Duration(secs) * time.Second)}, nil
}

// tokenEndpointError is Entra's error answer, without the request (which holds the secret).
type tokenEndpointError struct {
	Status      int
	Code        string // "invalid_client", ...
	Description string // begins with "AADSTS<n>: "
}

func (e *tokenEndpointError) Error() string {
	first, _, _ := strings.Cut(e.Description, "\r\n")
	return fmt.Sprintf("token endpoint answered %d %s: %s", e.Status, e.Code, first)
}

func tokenError(status int, body []byte) error {
	var r struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Codes       []int  `json:"error_codes"`
	}
	_ = json.Unmarshal(body, &r)
	// The endpoint's text may reflect the request (the secret, the assertion): scrubbed.
	e := &tokenEndpointError{Status: status, Code: scrub.Line(r.Error), Description: scrub.Text(r.Description)}
	if !strings.HasPrefix(e.Description, "AADSTS") && len(r.Codes) > 0 {
		e.Description = fmt.Sprintf("AADSTS%d: %s", r.Codes[0], e.Description)
	}
	return e
}
