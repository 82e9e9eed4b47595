package entra

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/useitcloud/uicctl/internal/scrub"
)

// exchangeAudience is the audience Entra's federated credentials expect by default, and the
// one azure/login requests (its `audience` input; it reads no environment variable).
const exchangeAudience = "api://AzureADTokenExchange"

// assertionMargin: a cached GitHub token this close to its expiry is fetched anew, so a
// token request never carries one that expires on the way (GitHub's live 5 minutes).
const assertionMargin = time.Minute

// githubAssertion fetches GitHub Actions OIDC tokens for client assertions. A job with
// `id-token: write` gets ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN; a GET of the URL with
// &audience= and the bearer token answers {"value": JWT}. Asking at each sign-in, rather
// than once per job into a file, lets a run sign in to its last tenant long after the first
// token expired (azidentity re-reads a token file at most every 10 minutes).
type githubAssertion struct {
	url, bearer, audience string
	hc                    *http.Client

	mu       sync.Mutex
	token    string
	exp      time.Time
	failures int   // fetches that failed, for githubCredential
	lastErr  error // the last of them
}

func newGitHubAssertion(requestURL, bearer, audience string, hc *http.Client) *githubAssertion {
	if audience == "" {
		audience = exchangeAudience
	}
	return &githubAssertion{url: requestURL, bearer: bearer, audience: audience, hc: hc}
}

// get is the getAssertion callback of azidentity's ClientAssertionCredential. It is called
// for each token request (one per tenant and resource while MSAL's cache is cold).
func (g *githubAssertion) get(ctx context.Context) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.token != "" && time.Until(g.exp) > assertionMargin {
		return g.token, nil
	}
	tok, exp, err := g.fetch(ctx)
	if err != nil {
		g.failures++
		g.lastErr = err
		return "", err
	}
	g.token, g.exp = tok, exp
	return tok, nil
}

// failed returns how many fetches failed so far and the last one's error.
func (g *githubAssertion) failed() (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.failures, g.lastErr
}

func (g *githubAssertion) fetch(ctx context.Context) (string, time.Time, error) {
	sep := "?"
	if strings.Contains(g.url, "?") {
		sep = "&" // GitHub's URL already has ?api-version=...
	}
	endpoint := g.url + sep + "audience=" + url.QueryEscape(g.audience)
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
		if err != nil {
			return "", time.Time{}, &GitHubTokenError{err: err}
		}
		req.Header.Set("Authorization", "Bearer "+g.bearer)
		req.Header.Set("Accept", "application/json")
		res, err := g.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return "", time.Time{}, ctx.Err()
			}
			return "", time.Time{}, &GitHubTokenError{err: err}
		}
		body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
		switch {
		case err != nil:
			return "", time.Time{}, &GitHubTokenError{err: err}
		case (res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500) && attempt < 3:
			if err := sleep(ctx, backoff(attempt+3)); err != nil {
				return "", time.Time{}, err
			}
			continue
		case res.StatusCode != http.StatusOK:
			return "", time.Time{}, &GitHubTokenError{Status: res.StatusCode}
		}
		var v struct {
			Value string `json:"value"`
		}
		if err := json.Unmarshal(body, &v); err != nil || v.Value == "" {
			return "", time.Time{}, &GitHubTokenError{Status: res.StatusCode, err: errors.New("the answer holds no token")}
		}
		scrub.Known(v.Value, g.bearer)
		exp, err := jwtExpiry(v.Value)
		if err != nil {
			return "", time.Time{}, &GitHubTokenError{Status: res.StatusCode, err: err}
		}
		return v.Value, exp, nil
	}
}

// jwtExpiry reads exp from a JWT without verifying it (Entra verifies; the exp only decides
// when to ask again).
func jwtExpiry(jwt string) (time.Time, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return time.Time{}, errors.New("the token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, errors.New("the token is not a JWT")
	}
	var c struct {
		Exp float64 `json:"exp"`
	}
	if err := json.Unmarshal(b, &c); err != nil || c.Exp <= 0 {
		return time.Time{}, errors.New("the token has no exp claim")
	}
	return time.Unix(int64(c.Exp), 0), nil
}

// githubCredential is azidentity's ClientAssertionCredential fed by githubAssertion. It
// returns the fetch's own typed error when fetching the token failed: azidentity flattens
// a callback's error into its message.
type githubCredential struct {
	cred azcore.TokenCredential
	src  *githubAssertion
}

func (c *githubCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	n, _ := c.src.failed()
	tok, err := c.cred.GetToken(ctx, o)
	if err != nil && !aadstsRE.MatchString(err.Error()) {
		if m, ferr := c.src.failed(); m > n {
			return tok, ferr
		}
	}
	return tok, err
}

// GitHubTokenError is a failed request for the GitHub Actions OIDC token. It never holds
// the request token.
type GitHubTokenError struct {
	Status int // the request endpoint's answer; 0 when none came
	err    error
}

func (e *GitHubTokenError) Error() string {
	s := "cannot get the GitHub Actions OIDC token"
	if e.Status != 0 && e.Status != http.StatusOK {
		s += fmt.Sprintf(": the request endpoint answered %d", e.Status)
	}
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

// Hint says what a job needs for the token.
func (e *GitHubTokenError) Hint() string {
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		return "give the job `permissions: id-token: write` and run uicctl inside that job: ACTIONS_ID_TOKEN_REQUEST_TOKEN is valid only while the job runs"
	}
	return "check ACTIONS_ID_TOKEN_REQUEST_URL (GitHub sets it for jobs with `permissions: id-token: write`); if GitHub's token service is failing, run the job again"
}

func (e *GitHubTokenError) Unwrap() error { return e.err }
