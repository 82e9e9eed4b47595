package keyvault

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/useitcloud/uicctl/internal/vaultrest"
	"github.com/useitcloud/uicctl/pkg/plan"
	"github.com/useitcloud/uicctl/pkg/sandbox"
	"github.com/useitcloud/uicctl/pkg/secrets"
	"github.com/useitcloud/uicctl/pkg/spec"
)

type fixture struct {
	sb    *sandbox.Sandbox
	c     *Client
	raw   *vaultrest.Client
	vault string
	ten   sandbox.Tenant
	p     *spec.Partner
}

// setUp starts a sandbox with one tenant and a client that reaches its vault through the
// sandbox's proxy, as the env file's HTTPS_PROXY makes it.
func setUp(t *testing.T, o Options) *fixture {
	t.Helper()
	sb, err := sandbox.Start(context.Background(), sandbox.Options{Tenants: 1, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	pem, _ := os.ReadFile(sb.CAFile())
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	proxy, _ := url.Parse(sb.URL())
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, Proxy: func(r *http.Request) (*url.URL, error) {
		if r.URL.Hostname() == "127.0.0.1" {
			return nil, nil
		}
		return proxy, nil
	}}
	testOnlyTransport = tr
	t.Cleanup(func() { testOnlyTransport = nil })
	opTenant, clientID, secret := sb.Operator()
	cred, err := azidentity.NewClientSecretCredential(opTenant, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:              azcore.ClientOptions{Transport: &http.Client{Transport: tr}, Cloud: azcloud.Configuration{ActiveDirectoryAuthorityHost: sb.URL() + "/"}},
		AdditionallyAllowedTenants: []string{"*"}, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	ten := sb.World().Tenants[0]
	p := &spec.Partner{Name: ten.Name, TenantID: ten.TenantID, Delivery: &spec.Delivery{KeyVault: &spec.KeyVault{URL: ten.KeyVault.URL, Names: spec.DefaultVaultNames(ten.Name)}}}
	raw := &vaultrest.Client{HTTP: &http.Client{Transport: tr}, Token: func(ctx context.Context, tenant, scope string) (string, error) {
		tok, err := cred.GetToken(ctx, policyOpts(tenant, scope))
		return tok.Token, err
	}}
	return &fixture{sb: sb, c: New(cred, o), raw: raw, vault: ten.KeyVault.URL, ten: ten, p: p}
}

func fileFor(secret, token string) *secrets.File {
	return &secrets.File{ClientID: "11111111-2222-3333-4444-555555555555",
		ClientSecret: secrets.ClientSecret{Value: secrets.NewValue(secret), KeyID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", EndDateTime: time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)},
		RefreshToken: secrets.RefreshToken{Value: secrets.NewValue(token), IssuedAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Account: "svc-uic@contoso.onmicrosoft.com"}}
}

func metaOf(f *secrets.File) plan.Secrets {
	return plan.Secrets{Found: true, ClientID: f.ClientID, SecretKeyID: f.ClientSecret.KeyID, SecretEnd: f.ClientSecret.EndDateTime,
		HasRefreshToken: true, TokenIssued: f.RefreshToken.IssuedAt}
}

// TestDeliverConverges: a first Deliver writes the four secrets (read back over raw REST,
// challenge flow by hand), a second writes nothing, a value changed out of band is seen as
// different (without the value) and written again, and attribute drift is fixed in place.
func TestDeliverConverges(t *testing.T) {
	f := setUp(t, Options{})
	ctx := context.Background()
	file := fileFor("first-secret-value-0123456789", "first-refresh-token-0123456789")
	wants := plan.VaultWants(f.p, metaOf(file))
	vals := FileValues(f.p.TenantID, file)

	w, err := f.c.Deliver(ctx, f.vault, wants, vals)
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 4 {
		t.Fatalf("first delivery wrote %d secrets, want 4", len(w))
	}
	for _, want := range wants {
		res, err := f.raw.Do(ctx, "GET", f.vault, "/secrets/"+want.Name, nil)
		if err != nil || res.Status != 200 {
			t.Fatalf("raw read %s: %v %d", want.Name, err, res.Status)
		}
		var got struct {
			Value string `json:"value"`
		}
		res.JSON(&got)
		if got.Value != vals[want.Key].Reveal() {
			t.Errorf("vault %s does not hold the secrets file's value", want.Name)
		}
	}
	if w, err = f.c.Deliver(ctx, f.vault, wants, vals); err != nil || len(w) != 0 {
		t.Fatalf("second delivery wrote %v (%v), want nothing", w, err)
	}

	// Out of band: a new value and a changed tag.
	name := f.p.Delivery.KeyVault.Names.ClientSecret
	if res, err := f.raw.Do(ctx, "PUT", f.vault, "/secrets/"+name, map[string]any{"value": "changed-out-of-band", "contentType": "text/plain"}); err != nil || res.Status != 200 {
		t.Fatalf("out-of-band write: %v", err)
	}
	obs, err := f.c.Observe(ctx, f.vault, wants, vals)
	if err != nil {
		t.Fatal(err)
	}
	cs := obs.Secrets[2]
	if !cs.ValueDiffers || cs.Key != "clientSecret" {
		t.Errorf("observed %+v, want the client secret to differ", cs)
	}
	if w, err = f.c.Deliver(ctx, f.vault, wants, vals); err != nil || len(w) != 1 || !w[0].NewVersion {
		t.Fatalf("delivery after the change: %v %v", w, err)
	}
	file.RefreshToken.IssuedAt = file.RefreshToken.IssuedAt.Add(time.Hour)
	wants = plan.VaultWants(f.p, metaOf(file))
	if w, err = f.c.Deliver(ctx, f.vault, wants, vals); err != nil || len(w) != 1 || w[0].NewVersion {
		t.Fatalf("tag drift: %v %v, want one attribute update", w, err)
	}
}

func policyOpts(tenant, scope string) (o policy.TokenRequestOptions) {
	o.TenantID, o.Scopes = tenant, []string{scope}
	return o
}

// TestErrorHints: each usual failure gives its hint.
func TestErrorHints(t *testing.T) {
	ctx := context.Background()
	file := fileFor("hint-secret-value-0123456789", "hint-refresh-token-0123456789")
	for name, tc := range map[string]struct {
		reason string
		setup  func(f *fixture)
		op     func(f *fixture) error
		status int
		hint   string
	}{
		"403 ForbiddenByRbac": {reason: "the operator lost its secrets role",
			setup: func(f *fixture) { f.sb.SetOperatorVaultRoles(f.ten.Name, nil) },
			op: func(f *fixture) error {
				_, err := f.c.Observe(ctx, f.vault, plan.VaultWants(f.p, metaOf(file)), FileValues(f.p.TenantID, file))
				return err
			},
			status: 403, hint: "Key Vault Secrets Officer role on vault " + "contoso-uic"},
		"404": {reason: "a secret that is not there",
			op: func(f *fixture) error {
				_, _, err := f.c.Get(ctx, f.vault, "no-such-secret")
				return err
			},
			status: 404, hint: "has no such secret or version"},
		"409 soft-deleted": {reason: "the name is kept by a soft-deleted secret",
			setup: func(f *fixture) {
				name := f.p.Delivery.KeyVault.Names.TenantID
				f.raw.Do(ctx, "PUT", f.vault, "/secrets/"+name, map[string]any{"value": "x"})
				f.raw.Do(ctx, "DELETE", f.vault, "/secrets/"+name, nil)
			},
			op: func(f *fixture) error {
				_, err := f.c.Deliver(ctx, f.vault, plan.VaultWants(f.p, metaOf(file)), FileValues(f.p.TenantID, file))
				return err
			},
			status: 409, hint: "recover it (az keyvault secret recover"},
		"network": {reason: "a vault that cannot be reached (no such name: the proxy refuses it)",
			op: func(f *fixture) error {
				_, _, err := f.c.Get(ctx, "https://no-such-vault.vault.azure.net/", "any")
				return err
			},
			hint: "could not be reached (not a credential problem)"},
		"429": {reason: "throttled beyond the retry budget",
			setup: func(f *fixture) {
				f.sb.SetFaults(sandbox.Faults{Rate429: 1, RetryAfter: 50 * time.Millisecond, Scope: []string{"keyvault"}})
			},
			op: func(f *fixture) error {
				_, _, err := f.c.Get(ctx, f.vault, "any")
				return err
			},
			hint: "Key Vault is limiting requests"},
	} {
		t.Run(name, func(t *testing.T) {
			f := setUp(t, Options{Budget: 300 * time.Millisecond})
			if tc.setup != nil {
				tc.setup(f)
			}
			err := tc.op(f)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%s: error %v, want *keyvault.Error", tc.reason, err)
			}
			if e.Status != tc.status {
				t.Errorf("%s: status %d, want %d (%v)", tc.reason, e.Status, tc.status, err)
			}
			if !strings.Contains(e.Hint(), tc.hint) {
				t.Errorf("%s: hint %q, want it to contain %q", tc.reason, e.Hint(), tc.hint)
			}
			for _, v := range []string{file.ClientSecret.Value.Reveal(), file.RefreshToken.Value.Reveal()} {
				if strings.Contains(err.Error()+e.Hint(), v) {
					t.Errorf("%s: a value in %q", tc.reason, err)
				}
			}
		})
	}
}

// echoPuts answers every PUT with Key Vault's error body whose message is the request body:
// a service (or proxy) that reflects what it was sent.
type echoPuts struct{ base http.RoundTripper }

func (e echoPuts) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPut || r.Header.Get("Authorization") == "" {
		return e.base.RoundTrip(r)
	}
	b, _ := io.ReadAll(r.Body)
	body, _ := json.Marshal(map[string]any{"error": map[string]any{"code": "BadParameter", "message": "echo " + string(b) + " " + r.Header.Get("Authorization")}})
	return &http.Response{StatusCode: http.StatusBadRequest, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
}

// TestErrorsScrubbed: a write whose answer reflects the request (the secret's value, the
// bearer token) fails with an error that shows neither.
func TestErrorsScrubbed(t *testing.T) {
	f := setUp(t, Options{Budget: 300 * time.Millisecond})
	testOnlyTransport = echoPuts{base: testOnlyTransport}
	c := New(f.c.cred, Options{Budget: 300 * time.Millisecond})
	file := fileFor("Abc8Q~echoed-client-secret-0123456789abcd", "echoed-refresh-token-0123456789")
	_, err := c.Deliver(context.Background(), f.vault, plan.VaultWants(f.p, metaOf(file)), FileValues(f.p.TenantID, file))
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
		t.Fatalf("error %v, want a 400 *keyvault.Error", err)
	}
	text := err.Error() + " " + e.Hint()
	for _, v := range []string{file.ClientSecret.Value.Reveal(), file.RefreshToken.Value.Reveal(), "eyJ"} {
		if strings.Contains(text, v) {
			t.Errorf("error shows %q: %s", v, text)
		}
	}
	// Nor any piece of the access token (its signature is a long Base64 run).
	if m := regexp.MustCompile(`[A-Za-z0-9_-]{40,}`).FindString(text); m != "" {
		t.Errorf("error shows a token fragment %q", m)
	}
}
