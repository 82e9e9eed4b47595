package entra_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/useitcloud/uicctl/pkg/entra"
	"github.com/useitcloud/uicctl/pkg/sandbox"
)

// githubEnv is what a GitHub Actions job with `id-token: write` has, plus the operator
// app's tenant and client ID (vars of the repository): no secret.
func (e *env) githubEnv(name string) string {
	tid, cid, _ := e.sb.Operator()
	reqURL, reqToken := e.sb.ActionsTokenRequest()
	return map[string]string{"AZURE_TENANT_ID": tid, "AZURE_CLIENT_ID": cid,
		"ACTIONS_ID_TOKEN_REQUEST_URL": reqURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": reqToken}[name]
}

// advance moves the sandbox clock by d, as time passing in a long run.
func (e *env) advance(d time.Duration) {
	e.t.Helper()
	f := e.sb.Faults()
	f.ClockOffset += d
	if err := e.sb.SetFaults(f); err != nil {
		e.t.Fatal(err)
	}
}

func countPath(entries []sandbox.LogEntry, prefix string) int {
	n := 0
	for _, le := range entries {
		if strings.HasPrefix(le.Path, prefix) {
			n++
		}
	}
	return n
}

func newClient(t *testing.T, e *env, getenv func(string) string, opts entra.Options) *entra.Client {
	t.Helper()
	cred, err := entra.NewCredentialFrom(e.sb.Cloud(), getenv)
	if err != nil {
		t.Fatal(err)
	}
	c, err := entra.New(e.sb.Cloud(), cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestGitHubOIDCLongRun: GitHub's tokens live minutes, here 2 s; tenants signed in to
// further apart than that all succeed, because each sign-in fetches a fresh token when the
// cached one is within a minute of expiry. No token reaches the debug log.
func TestGitHubOIDCLongRun(t *testing.T) {
	e := startWith(t, sandbox.Options{Tenants: 3, Customers: 1, ActionsTokenLifetime: 2 * time.Second})
	var log bytes.Buffer
	c := newClient(t, e, e.githubEnv, entra.Options{Log: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	since := 0
	e.requests(&since)
	for i, ten := range e.sb.World().Tenants {
		if i > 0 {
			e.advance(3 * time.Second) // past the previous token's exp on the sandbox clock
		}
		if _, err := c.Observe(context.Background(), ten.TenantID, entra.Query{UniqueName: testUniqueName}); err != nil {
			t.Fatalf("tenant %d, %v after the first sign-in: %v (hints %q)", i, time.Duration(i)*3*time.Second, err, hints(err))
		}
	}
	if n := countPath(e.requests(&since), "/githubactions/idtoken"); n != 3 {
		t.Errorf("%d GitHub token requests, want 3: one per sign-in, as each cached token was about to expire", n)
	}
	if strings.Contains(log.String(), "eyJ") {
		t.Errorf("the debug log holds a JWT:\n%s", log.String())
	}
}

// TestFederatedTokenFileGoesStale shows why the workflows no longer write a token file: a
// file written once at the start of a job serves the first tenant and is expired (AADSTS700024)
// by the time a later tenant signs in, since nothing rewrites it.
func TestFederatedTokenFileGoesStale(t *testing.T) {
	e := startWith(t, sandbox.Options{Tenants: 2, Customers: 1, ActionsTokenLifetime: 2 * time.Second})
	tok, err := e.sb.IssueActionsToken(sandbox.ExchangeAudience)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "azure-federated-token")
	if err := os.WriteFile(file, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	tid, cid, _ := e.sb.Operator()
	getenv := func(k string) string {
		return map[string]string{"AZURE_TENANT_ID": tid, "AZURE_CLIENT_ID": cid, "AZURE_FEDERATED_TOKEN_FILE": file}[k]
	}
	c := newClient(t, e, getenv, entra.Options{})
	tenants := e.sb.World().Tenants
	if _, err := c.Observe(context.Background(), tenants[0].TenantID, entra.Query{UniqueName: testUniqueName}); err != nil {
		t.Fatalf("first tenant, token fresh: %v", err)
	}
	e.advance(3 * time.Second)
	_, err = c.Observe(context.Background(), tenants[1].TenantID, entra.Query{UniqueName: testUniqueName})
	var se *entra.SignInError
	if !errors.As(err, &se) || se.Code != 700024 {
		t.Fatalf("second tenant, token stale: want a SignInError AADSTS700024, got %T %v", err, err)
	}
	want := "tenant " + tenants[1].TenantID + ": sign-in failed: AADSTS700024: the federated token has expired"
	if d := cmp.Diff(want, err.Error()); d != "" {
		t.Errorf("message: -want +got\n%s", d)
	}
	if h := hints(err); len(h) != 1 || !strings.Contains(h[0], "ACTIONS_ID_TOKEN_REQUEST_URL") {
		t.Errorf("hints %q", h)
	}
	if strings.Contains(err.Error(), tok) {
		t.Errorf("the error holds the token")
	}
}

// TestGitHubOIDCErrors: what the job or the federated credential get wrong becomes a typed
// error with a hint, never the request token.
func TestGitHubOIDCErrors(t *testing.T) {
	for _, tc := range []struct {
		name, reason string
		subject      string            // the job's subject, "" for the trusted one
		env          map[string]string // overrides of githubEnv
		code         int
		want, hint   string
	}{
		{name: "other repository", reason: "the credential trusts repo:useitcloud/fleet on main only",
			subject: "repo:mallory/fleet:ref:refs/heads/main", code: 700213,
			want: "sign-in failed: AADSTS700213: the token's subject matches no federated identity credential of the operator app",
			hint: "repo:OWNER/REPO:ref:refs/heads/BRANCH"},
		{name: "pull request", reason: "a pull_request job has another subject than the branch",
			subject: "repo:useitcloud/fleet:pull_request", code: 700213,
			want: "sign-in failed: AADSTS700213: the token's subject matches no federated identity credential of the operator app",
			hint: "repo:OWNER/REPO:pull_request"},
		{name: "other audience", reason: "UICCTL_OIDC_AUDIENCE must match the credential's audience",
			env: map[string]string{"UICCTL_OIDC_AUDIENCE": "api://AzureADTokenExchangeChina"}, code: 700212,
			want: "sign-in failed: AADSTS700212: the token's audience matches no federated identity credential of the operator app",
			hint: "UICCTL_OIDC_AUDIENCE"},
		{name: "request token refused", reason: "the job's request token is checked by GitHub",
			env:  map[string]string{"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "not-the-job-token"},
			want: "sign-in failed: cannot get the GitHub Actions OIDC token: the request endpoint answered 401",
			hint: "id-token: write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, 1)
			if tc.subject != "" {
				if err := e.sb.SetActionsJob(tc.subject, 0); err != nil {
					t.Fatal(err)
				}
			}
			getenv := func(k string) string {
				if v, ok := tc.env[k]; ok {
					return v
				}
				return e.githubEnv(k)
			}
			c := newClient(t, e, getenv, entra.Options{})
			_, err := c.Observe(context.Background(), e.tenant, entra.Query{UniqueName: testUniqueName})
			var se *entra.SignInError
			if !errors.As(err, &se) || se.Code != tc.code {
				t.Fatalf("%s: want a SignInError with code %d, got %T %v", tc.reason, tc.code, err, err)
			}
			if d := cmp.Diff("tenant "+e.tenant+": "+tc.want, err.Error()); d != "" {
				t.Errorf("%s: -want +got\n%s", tc.reason, d)
			}
			// cmd/uicctl prints each distinct hint of the error tree once.
			if h := slices.Compact(hints(err)); len(h) != 1 || !strings.Contains(h[0], tc.hint) {
				t.Errorf("%s: hints %q, want one naming %q", tc.reason, h, tc.hint)
			}
			_, reqToken := e.sb.ActionsTokenRequest()
			for _, s := range append(hints(err), err.Error()) {
				if strings.Contains(s, reqToken) || strings.Contains(s, "eyJ") {
					t.Errorf("%s: a token leaks into %q", tc.reason, s)
				}
			}
		})
	}
}

// TestGitHubOIDCSecretWins: with a secret and the job's OIDC request both set, the secret
// signs in (the sandbox env file sets both) and no GitHub token is asked for.
func TestGitHubOIDCSecretWins(t *testing.T) {
	e := start(t, 1)
	_, _, secret := e.sb.Operator()
	getenv := func(k string) string {
		if k == "AZURE_CLIENT_SECRET" {
			return secret
		}
		return e.githubEnv(k)
	}
	since := 0
	e.requests(&since)
	c := newClient(t, e, getenv, entra.Options{})
	if _, err := c.Observe(context.Background(), e.tenant, entra.Query{UniqueName: testUniqueName}); err != nil {
		t.Fatal(err)
	}
	if n := countPath(e.requests(&since), "/githubactions/"); n != 0 {
		t.Errorf("%d GitHub token requests with a secret set, want 0", n)
	}
}
