package keyvault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/useitcloud/uicctl/internal/retry"
	"github.com/useitcloud/uicctl/internal/scrub"
	"github.com/useitcloud/uicctl/pkg/plan"
	"github.com/useitcloud/uicctl/pkg/secrets"
)

// testOnlyTransport, when set by tests, is the base transport of every vault request.
var testOnlyTransport http.RoundTripper

// Options configure a Client.
type Options struct {
	// Budget bounds the retries of one request (0: the retry policy's default).
	Budget time.Duration
	// Notify receives the retry policy's announcements of long waits.
	Notify func(msg string)
}

// Client talks to the vaults of a fleet with one credential.
type Client struct {
	cred  azcore.TokenCredential
	o     Options
	hc    *http.Client
	mu    sync.Mutex
	byURL map[string]*azsecrets.Client
}

// New returns a client that signs in with cred (the operator's credential, which must be
// able to get tokens for any tenant: the vault's challenge names its tenant).
func New(cred azcore.TokenCredential, o Options) *Client {
	var base http.RoundTripper = http.DefaultTransport // proxy from the environment, as azcore's own
	if testOnlyTransport != nil {
		base = testOnlyTransport
	}
	return &Client{cred: cred, o: o, hc: &http.Client{Transport: &retry.Transport{Base: base, Service: "Key Vault"}},
		byURL: map[string]*azsecrets.Client{}}
}

func (c *Client) secrets(vaultURL string) (*azsecrets.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sc, ok := c.byURL[vaultURL]; ok {
		return sc, nil
	}
	sc, err := azsecrets.NewClient(vaultURL, c.cred, &azsecrets.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: c.hc,
		// The one retry policy is the transport's; azcore's own would retry on top of it.
		Retry:   policy.RetryOptions{MaxRetries: -1},
		Logging: policy.LogOptions{IncludeBody: false},
	}})
	if err != nil {
		return nil, fmt.Errorf("key vault %s: %w", vaultURL, err)
	}
	c.byURL[vaultURL] = sc
	return sc, nil
}

func (c *Client) ctx(ctx context.Context) context.Context {
	if c.o.Budget > 0 {
		ctx = retry.WithBudget(ctx, c.o.Budget)
	}
	if c.o.Notify != nil {
		ctx = retry.WithNotify(ctx, c.o.Notify)
	}
	return ctx
}

// Values are the credentials of the secrets file (and spec) a vault should hold, by key
// (spec.VaultKeys); a missing key has no value yet.
type Values map[string]secrets.Value

// FileValues takes the values of a secrets file (nil: none yet) and the spec's tenant ID.
func FileValues(tenantID string, f *secrets.File) Values {
	v := Values{"tenantId": secrets.NewValue(tenantID)}
	if f == nil {
		return v
	}
	// The scrubber removes them from any text a service sends back.
	scrub.Known(f.ClientSecret.Value.Reveal(), f.RefreshToken.Value.Reveal())
	if f.ClientID != "" {
		v["clientId"] = secrets.NewValue(f.ClientID)
	}
	if !f.ClientSecret.Value.IsZero() {
		v["clientSecret"] = f.ClientSecret.Value
	}
	if !f.RefreshToken.Value.IsZero() {
		v["refreshToken"] = f.RefreshToken.Value
	}
	return v
}

// Observe reads the latest version of each wanted secret and compares it with vals in
// memory. A secret that does not exist is Found false; any other failure is an error: a
// vault that cannot be read is never skipped.
func (c *Client) Observe(ctx context.Context, vaultURL string, wants []plan.VaultWant, vals Values) (*plan.Vault, error) {
	sc, err := c.secrets(vaultURL)
	if err != nil {
		return nil, err
	}
	ctx = c.ctx(ctx)
	out := &plan.Vault{URL: vaultURL}
	for _, w := range wants {
		obs := plan.VaultSecret{Key: w.Key, Name: w.Name}
		res, err := sc.GetSecret(ctx, w.Name, "", nil)
		var re *azcore.ResponseError
		switch {
		case err == nil:
			fillObserved(&obs, res.Secret)
			want, ok := vals[w.Key]
			obs.ValueDiffers = ok && (res.Value == nil || !want.Equal(secrets.NewValue(*res.Value)))
		case errors.As(err, &re) && re.StatusCode == http.StatusNotFound && re.ErrorCode == "SecretNotFound":
		case errors.As(err, &re) && re.StatusCode == http.StatusForbidden && innerCode(re) == "SecretDisabled":
			// The latest version is disabled: its value cannot be read; its attributes can.
			if err := c.latestProperties(ctx, sc, w.Name, &obs); err != nil {
				return nil, wrap(vaultURL, "read secret "+w.Name, err)
			}
		default:
			return nil, wrap(vaultURL, "read secret "+w.Name, err)
		}
		out.Secrets = append(out.Secrets, obs)
	}
	return out, nil
}

func fillObserved(obs *plan.VaultSecret, s azsecrets.Secret) {
	obs.Found = true
	if s.ID != nil {
		obs.Version = s.ID.Version()
	}
	fillAttrs(obs, s.Attributes, s.ContentType, s.Tags)
}

func fillAttrs(obs *plan.VaultSecret, a *azsecrets.SecretAttributes, ct *string, tags map[string]*string) {
	obs.Enabled = a == nil || a.Enabled == nil || *a.Enabled
	if a != nil && a.Expires != nil {
		obs.Expires = a.Expires.UTC()
	}
	if ct != nil {
		obs.ContentType = *ct
	}
	if len(tags) > 0 {
		obs.Tags = map[string]string{}
		for k, v := range tags {
			if v != nil {
				obs.Tags[k] = *v
			}
		}
	}
}

// latestProperties finds the newest version in the version list (no value needed).
func (c *Client) latestProperties(ctx context.Context, sc *azsecrets.Client, name string, obs *plan.VaultSecret) error {
	var newest *azsecrets.SecretProperties
	pager := sc.NewListSecretPropertiesVersionsPager(name, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, p := range page.Value {
			if p.Attributes != nil && p.Attributes.Created != nil &&
				(newest == nil || !p.Attributes.Created.Before(*newest.Attributes.Created)) {
				newest = p
			}
		}
	}
	if newest == nil {
		return nil
	}
	obs.Found = true
	if newest.ID != nil {
		obs.Version = newest.ID.Version()
	}
	obs.ValueDiffers = true // a disabled latest version is not what the file holds
	fillAttrs(obs, newest.Attributes, newest.ContentType, newest.Tags)
	return nil
}

// Written is one secret Deliver wrote.
type Written struct {
	Key, Name, Version string
	NewVersion         bool // false: only attributes were updated
}

// Deliver brings the vault to the wanted state: a new version where the value differs or
// the secret is missing (or its latest version is disabled), attributes where only they
// drifted. It observes first, so a second run writes nothing.
func (c *Client) Deliver(ctx context.Context, vaultURL string, wants []plan.VaultWant, vals Values) ([]Written, error) {
	obs, err := c.Observe(ctx, vaultURL, wants, vals)
	if err != nil {
		return nil, err
	}
	sc, err := c.secrets(vaultURL)
	if err != nil {
		return nil, err
	}
	ctx = c.ctx(ctx)
	var out []Written
	for i, w := range wants {
		val, ok := vals[w.Key]
		if !ok {
			continue
		}
		o := obs.Secrets[i]
		switch {
		case !o.Found || o.ValueDiffers || !o.Enabled:
			ver, err := c.set(ctx, sc, w, val)
			if err != nil {
				return out, wrap(vaultURL, "write secret "+w.Name, err)
			}
			out = append(out, Written{Key: w.Key, Name: w.Name, Version: ver, NewVersion: true})
		case len(plan.AttributeDrift(w, o)) > 0:
			_, err := sc.UpdateSecretProperties(ctx, w.Name, o.Version, azsecrets.UpdateSecretPropertiesParameters{
				ContentType: to.Ptr(w.ContentType), Tags: tagPtrs(w.Tags), SecretAttributes: attrs(w)}, nil)
			if err != nil {
				return out, wrap(vaultURL, "update secret "+w.Name, err)
			}
			out = append(out, Written{Key: w.Key, Name: w.Name, Version: o.Version})
		}
	}
	return out, nil
}

func (c *Client) set(ctx context.Context, sc *azsecrets.Client, w plan.VaultWant, val secrets.Value) (string, error) {
	res, err := sc.SetSecret(ctx, w.Name, azsecrets.SetSecretParameters{Value: to.Ptr(val.Reveal()), ContentType: to.Ptr(w.ContentType),
		Tags: tagPtrs(w.Tags), SecretAttributes: attrs(w)}, nil)
	if err != nil {
		return "", err
	}
	if res.ID == nil {
		return "", nil
	}
	return res.ID.Version(), nil
}

func attrs(w plan.VaultWant) *azsecrets.SecretAttributes {
	a := &azsecrets.SecretAttributes{Enabled: to.Ptr(true)}
	if !w.Expires.IsZero() {
		a.Expires = to.Ptr(w.Expires.UTC())
	}
	return a
}

func tagPtrs(m map[string]string) map[string]*string {
	out := make(map[string]*string, len(m))
	for k, v := range m {
		out[k] = to.Ptr(v)
	}
	return out
}

// Get reads the value of the latest version of a secret (verify's delivery check and
// apply's proof of a new client secret read it back).
func (c *Client) Get(ctx context.Context, vaultURL, name string) (secrets.Value, plan.VaultSecret, error) {
	sc, err := c.secrets(vaultURL)
	if err != nil {
		return secrets.Value{}, plan.VaultSecret{}, err
	}
	res, err := sc.GetSecret(c.ctx(ctx), name, "", nil)
	if err != nil {
		return secrets.Value{}, plan.VaultSecret{}, wrap(vaultURL, "read secret "+name, err)
	}
	var obs plan.VaultSecret
	fillObserved(&obs, res.Secret)
	obs.Name = name
	if res.Value == nil {
		return secrets.Value{}, obs, nil
	}
	return secrets.NewValue(*res.Value), obs, nil
}

// DisableOlder disables every enabled version of a secret but keep (the version proven
// to work): prune: true's tidy-up after a rotation. It returns how many it disabled.
func (c *Client) DisableOlder(ctx context.Context, vaultURL, name, keep string) (int, error) {
	sc, err := c.secrets(vaultURL)
	if err != nil {
		return 0, err
	}
	ctx = c.ctx(ctx)
	n := 0
	pager := sc.NewListSecretPropertiesVersionsPager(name, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return n, wrap(vaultURL, "list versions of "+name, err)
		}
		for _, p := range page.Value {
			if p.ID == nil || p.ID.Version() == keep || (p.Attributes != nil && p.Attributes.Enabled != nil && !*p.Attributes.Enabled) {
				continue
			}
			if _, err := sc.UpdateSecretProperties(ctx, name, p.ID.Version(), azsecrets.UpdateSecretPropertiesParameters{
				SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(false)}}, nil); err != nil {
				return n, wrap(vaultURL, "disable an older version of "+name, err)
			}
			n++
		}
	}
	return n, nil
}

// ShortVersion is how messages name a version.
func ShortVersion(v string) string {
	if len(v) > 4 {
		return v[:4] + "…"
	}
	return v
}

// Swap is what DeliverIf did.
type Swap int

const (
	Swapped   Swap = iota // the new value is the latest version now
	Unchanged             // the vault already held the new value
	KeptNewer             // the vault held neither: a newer value, kept
)

// DeliverIf writes val as a new version of the secret only if the vault's latest version
// is still old (the value the caller replaced, such as the refresh token it redeemed), or
// there is none: the compare-and-swap rule of the secrets file, so a token stored meanwhile
// by another run (consent, another write-back) is never overwritten by an older one. A zero
// old writes whatever the vault holds: a new consent's token is the newest there is.
func (c *Client) DeliverIf(ctx context.Context, vaultURL string, w plan.VaultWant, val, old secrets.Value) (Swap, error) {
	sc, err := c.secrets(vaultURL)
	if err != nil {
		return 0, err
	}
	ctx = c.ctx(ctx)
	res, err := sc.GetSecret(ctx, w.Name, "", nil)
	var re *azcore.ResponseError
	switch {
	case err == nil && res.Value != nil:
		cur := secrets.NewValue(*res.Value)
		if cur.Equal(val) {
			return Unchanged, nil
		}
		if !old.IsZero() && !cur.Equal(old) {
			return KeptNewer, nil
		}
	case err != nil && !(errors.As(err, &re) && re.StatusCode == http.StatusNotFound):
		return 0, wrap(vaultURL, "read secret "+w.Name, err)
	}
	if _, err := c.set(ctx, sc, w, val); err != nil {
		return 0, wrap(vaultURL, "write secret "+w.Name, err)
	}
	return Swapped, nil
}

// Check is verify's delivery check: the latest version of each secret the file has a value
// for equals it, is enabled and has not expired. It returns the problems found, none when
// the vault holds what the platform should read.
func (c *Client) Check(ctx context.Context, vaultURL string, wants []plan.VaultWant, vals Values, now time.Time) ([]string, error) {
	var problems []string
	for _, w := range wants {
		want, ok := vals[w.Key]
		if !ok {
			continue
		}
		got, obs, err := c.Get(ctx, vaultURL, w.Name)
		var e *Error
		switch {
		case errors.As(err, &e) && e.Status == http.StatusNotFound:
			problems = append(problems, w.Name+" is not in the vault")
			continue
		case errors.As(err, &e) && e.Status == http.StatusForbidden && e.Inner == "SecretDisabled":
			problems = append(problems, w.Name+": its latest version is disabled")
			continue
		case err != nil:
			return nil, err
		}
		switch {
		case !want.Equal(got):
			problems = append(problems, fmt.Sprintf("%s: the latest version (%s) differs from the secrets file", w.Name, ShortVersion(obs.Version)))
		case !obs.Enabled:
			problems = append(problems, w.Name+": its latest version is disabled")
		case !obs.Expires.IsZero() && !now.Before(obs.Expires):
			problems = append(problems, fmt.Sprintf("%s: expired on %s", w.Name, obs.Expires.Format(time.RFC3339)))
		}
	}
	return problems, nil
}
