package verify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/useitcloud/uicctl/internal/scrub"
	"github.com/useitcloud/uicctl/pkg/cloud"
	"github.com/useitcloud/uicctl/pkg/entra"
	"github.com/useitcloud/uicctl/pkg/partnercenter"
	"github.com/useitcloud/uicctl/pkg/secrets"
	"github.com/useitcloud/uicctl/pkg/spec"
)

// Status is the outcome of one check.
type Status string

// The statuses, from best to worst (skip: the check could not run because an earlier one
// failed, or it does not apply).
const (
	Pass Status = "pass"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip"
)

// The check names, in the order they run.
const (
	CheckSpec              = "spec-and-secrets"
	CheckClientSecret      = "client-secret"
	CheckClientCredentials = "client-credentials"
	CheckRefreshToken      = "refresh-token"
	CheckCustomers         = "partner-center-customers"
	CheckUsage             = "usage"
	CheckPartnerAPI        = "partner-api-token"
	CheckAppManagement     = "app-management"
	CheckDrift             = "no-drift"
	CheckDelivery          = "delivery"
)

// Check is the result of one named check.
type Check struct {
	Name     string        `json:"name"`
	Status   Status        `json:"status"`
	Message  string        `json:"message"`
	Hint     string        `json:"hint,omitempty"`
	Duration time.Duration `json:"durationNs"`
}

// Tenant is the checks of one tenant.
type Tenant struct {
	Name string `json:"name"`
	Path string `json:"path"`
	// CorrelationID is the MS-CorrelationId of the run's Partner Center calls for this
	// tenant: what Microsoft support asks for.
	CorrelationID string  `json:"correlationId,omitempty"`
	Checks        []Check `json:"checks"`
	// Expiry is what the run learnt of the tenant's deadlines, for pkg/report's state file
	// and timeline. Not in the JSON report: the state file carries it.
	Expiry Expiry `json:"-"`
}

// Expiry holds the dates a tenant's credentials stop working, zero when unknown. None of
// them is secret.
type Expiry struct {
	// ClientSecretEnd is the stored client secret's endDateTime; RenewBefore is the spec's
	// application.clientSecret.renewBefore (verify warns from End-RenewBefore on).
	ClientSecretEnd time.Time
	RenewBefore     time.Duration
	// RefreshTokenLastUse is the later of the token's issue and last use (now when this run
	// redeemed it): the 90 idle days and the consent maxAge count from it.
	RefreshTokenLastUse time.Time
	ConsentMaxAge       time.Duration
}

// Worst is the worst status of the tenant's checks (skip counts as pass).
func (t *Tenant) Worst() Status {
	w := Pass
	for _, c := range t.Checks {
		switch {
		case c.Status == Fail:
			return Fail
		case c.Status == Warn:
			w = Warn
		}
	}
	return w
}

// Input is what Run needs for a tenant. Secrets is nil when SecretsErr says why.
type Input struct {
	Tenant     spec.Tenant
	SpecErrors int
	Secrets    *secrets.File
	SecretsErr error
	Cloud      cloud.Cloud
	HTTP       *http.Client // nil: the default client
	Now        time.Time
	// KeyIDs, when operator credentials are available, lists the keyIds of the password
	// credentials on the tenant's app (found false: no such app). Nil skips that part.
	KeyIDs func(ctx context.Context, tenantID, appID string) (keyIDs []string, found bool, err error)
	// Drift, with --with-plan, plans the tenant and returns the pending changes ("update
	// application.displayName"). Nil leaves the check out; WithPlan without Drift skips it.
	Drift    func(ctx context.Context, t *spec.Tenant) (pending []string, err error)
	WithPlan bool
	// Delivery, for a spec with delivery.keyVault, compares the vault's latest versions with
	// the secrets file and returns what differs, is disabled or expired. Nil (no operator
	// credentials) skips the check.
	Delivery func(ctx context.Context, t *spec.Tenant, f *secrets.File) (problems []string, err error)
	// CorrelationID is the MS-CorrelationId of the tenant's Partner Center calls; empty: a
	// fresh one.
	CorrelationID string
}

// Rotation is the refresh token the last redemption returned, for --write-back.
type Rotation struct {
	RefreshToken secrets.Value
	LastUsedAt   time.Time
}

type hinter interface{ Hint() string }

func hintOf(err error) string {
	var h hinter
	if errors.As(err, &h) {
		return h.Hint()
	}
	return ""
}

// Run runs the checks of one tenant. It never returns an error: every failure is a check.
// The rotation is nil when no refresh token was redeemed.
func Run(ctx context.Context, in Input) (Tenant, *Rotation) {
	t := Tenant{Path: in.Tenant.Path}
	p := in.Tenant.Partner
	if p != nil {
		t.Name = p.Name
		t.CorrelationID = in.CorrelationID
		if t.CorrelationID == "" {
			t.CorrelationID = partnercenter.NewCorrelationID()
		}
		t.Expiry.RenewBefore = time.Duration(p.Application.ClientSecret.RenewBefore)
		t.Expiry.ConsentMaxAge = time.Duration(p.PartnerCenter.Consent.MaxAge)
	}
	failed := false
	run := func(name string, f func() (Status, string, string)) {
		if failed {
			t.Checks = append(t.Checks, Check{Name: name, Status: Skip, Message: "not run: an earlier check failed"})
			return
		}
		start := time.Now()
		st, msg, hint := f()
		// Messages and hints carry services' error texts into every report format: scrubbed
		// here, once for all of them.
		t.Checks = append(t.Checks, Check{Name: name, Status: st, Message: scrub.Text(msg), Hint: scrub.Text(hint), Duration: time.Since(start)})
		failed = st == Fail
	}
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	f := in.Secrets
	if f != nil {
		t.Expiry.ClientSecretEnd = f.ClientSecret.EndDateTime
		t.Expiry.RefreshTokenLastUse = f.RefreshToken.IssuedAt
		if f.RefreshToken.LastUsedAt.After(t.Expiry.RefreshTokenLastUse) {
			t.Expiry.RefreshTokenLastUse = f.RefreshToken.LastUsedAt
		}
		if f.RefreshToken.Value.IsZero() {
			t.Expiry.RefreshTokenLastUse = time.Time{}
		}
	}

	run(CheckSpec, func() (Status, string, string) {
		switch {
		case in.SpecErrors > 0 || p == nil:
			return Fail, fmt.Sprintf("the spec has %d error(s)", max(in.SpecErrors, 1)), "run uicctl validate to see them"
		case in.SecretsErr != nil:
			return Fail, "the secrets file cannot be read: " + in.SecretsErr.Error(), hintOf(in.SecretsErr)
		}
		return Pass, "spec valid, secrets file decrypted", ""
	})
	run(CheckClientSecret, func() (Status, string, string) {
		cs := f.ClientSecret
		if f.ClientID == "" || cs.Value.IsZero() {
			return Fail, "no client secret in the secrets file", "run uicctl apply: it creates the secret and stores it"
		}
		keyNote := "keyId not checked on the app (no operator credentials)"
		if in.KeyIDs != nil {
			ids, found, err := in.KeyIDs(ctx, p.TenantID, f.ClientID)
			switch {
			case err != nil:
				return Warn, "cannot read the app to find the secret's keyId: " + err.Error(), hintOf(err)
			case !found:
				return Fail, "the app of the secrets file's clientId is not in the tenant", "run uicctl plan to see whether the app exists"
			case !slices.ContainsFunc(ids, func(id string) bool { return strings.EqualFold(id, cs.KeyID) }):
				return Fail, "the stored client secret's keyId is no longer on the app", "run uicctl apply: it creates a new secret and stores it"
			}
			keyNote = "keyId on the app"
		}
		if cs.EndDateTime.IsZero() {
			return Warn, "the client secret has no recorded expiry", "run uicctl apply to record the secret's end date"
		}
		left := cs.EndDateTime.Sub(now)
		days := int(left.Hours() / 24)
		if left <= 0 {
			return Fail, fmt.Sprintf("the client secret expired on %s", cs.EndDateTime.Format(time.DateOnly)), "run uicctl apply: it replaces an expired client secret"
		}
		if renew := time.Duration(p.Application.ClientSecret.RenewBefore); left < renew {
			return Warn, fmt.Sprintf("the client secret expires in %d days (%s), within renewBefore", days, cs.EndDateTime.Format(time.DateOnly)), "run uicctl apply: it rotates the secret within renewBefore"
		}
		return Pass, fmt.Sprintf("%s; expires in %d days (%s)", keyNote, days, cs.EndDateTime.Format(time.DateOnly)), ""
	})
	var graphToken string // the app's own app-only Graph token, kept for the billing export
	run(CheckClientCredentials, func() (Status, string, string) {
		tok, err := partnercenter.AppOnlyToken(ctx, in.HTTP, in.Cloud, p.TenantID, f.ClientID, f.ClientSecret.Value.Reveal(), in.Cloud.GraphAudience)
		if err != nil {
			return Fail, err.Error(), hintOf(err)
		}
		graphToken = tok
		return Pass, "app-only token issued for Graph", ""
	})

	var access string
	var rot *Rotation
	run(CheckRefreshToken, func() (Status, string, string) {
		rt := f.RefreshToken
		if rt.Value.IsZero() {
			return Fail, "no refresh token in the secrets file", "run uicctl consent for this tenant"
		}
		a, rotated, claims, err := partnercenter.DelegatedToken(ctx, in.HTTP, in.Cloud, p.TenantID, f.ClientID, f.ClientSecret.Value.Reveal(), rt.Value.Reveal(), in.Cloud.PartnerCenterAudience)
		if err != nil {
			hint := hintOf(err)
			if hint == "" {
				hint = "run uicctl consent for this tenant to get a new refresh token"
			}
			return Fail, "the refresh token gives no Partner Center token: " + err.Error(), hint
		}
		access = a
		rot = &Rotation{RefreshToken: secrets.NewValue(rotated), LastUsedAt: now}
		t.Expiry.RefreshTokenLastUse = now
		if !claims.MFA() {
			return Fail, "the Partner Center token has no MFA claim (the consent account signed in without MFA)", "turn MFA on for the consent account and run uicctl consent again"
		}
		last := rt.IssuedAt
		if rt.LastUsedAt.After(last) {
			last = rt.LastUsedAt
		}
		if !last.IsZero() {
			age := now.Sub(last)
			if maxAge := time.Duration(p.PartnerCenter.Consent.MaxAge); maxAge > 0 && age > maxAge {
				return Warn, fmt.Sprintf("redeemed with MFA, but last used %d days ago (maxAge %d days)", int(age.Hours()/24), spec.Duration(maxAge).Days()), "run verify with --write-back nightly, or uicctl consent"
			}
			return Pass, fmt.Sprintf("redeemed with MFA; last used %d days ago", int(age.Hours()/24)), ""
		}
		return Pass, "redeemed with MFA", ""
	})
	pc := &partnercenter.Client{HTTP: in.HTTP, Base: in.Cloud.PartnerCenter, Token: access, CorrelationID: t.CorrelationID}
	run(CheckCustomers, func() (Status, string, string) {
		n, total, err := pc.Customers(ctx, 100)
		if err != nil {
			return Fail, err.Error(), hintOf(err)
		}
		noun := "customers"
		if n == 1 {
			noun = "customer"
		}
		return Pass, fmt.Sprintf("%d %s on the first page, %d in total", n, noun, total), ""
	})
	run(CheckUsage, func() (Status, string, string) {
		// The usage calls' budget: Azure utilization's "not ready" (204) is waited for
		// within it, never beyond.
		ctx, cancel := context.WithTimeout(ctx, usageTimeout)
		defer cancel()
		// graphBilling gives the export its Graph token: the app's own app-only token unless
		// the spec grants the permission as delegated only, then a delegated one from the
		// refresh token (which rotates it once more).
		graphBilling := func() (string, error) {
			if application, delegated := p.PartnerBillingGrant(); application || !delegated || rot == nil {
				return graphToken, nil
			}
			tok, rotated, _, err := partnercenter.DelegatedToken(ctx, in.HTTP, in.Cloud, p.TenantID, f.ClientID, f.ClientSecret.Value.Reveal(), rot.RefreshToken.Reveal(), in.Cloud.GraphAudience)
			if err != nil {
				return "", err
			}
			rot.RefreshToken = secrets.NewValue(rotated)
			return tok, nil
		}
		switch p.Verify.Usage {
		case "", "auto":
			application, delegated := p.PartnerBillingGrant()
			if application || delegated {
				st, msg, hint := billingExport(ctx, in.Cloud, p, graphBilling)
				return st, "auto: " + msg, hint
			}
			n, err := pc.UnbilledLineItems(ctx, p.Verify.Currency)
			if err != nil {
				return Fail, "auto: unbilled usage: " + err.Error(), hintOf(err)
			}
			// Since 2025-04-21 Partner Center's v1 unbilled line items hold legacy-commerce
			// usage only; new-commerce usage is in the Graph billing reconciliation API v2
			// (https://learn.microsoft.com/partner-center/developer/get-invoice-unbilled-consumption-lineitems,
			// "Scenario C: Legacy Commerce data"). A count of 0 here proves nothing for a
			// new-commerce partner, so auto says so.
			msg := fmt.Sprintf("auto: unbilled usage (%s, current period): %d line items; without PartnerBilling.Read.All this is the v1 call, which covers legacy-commerce data only since 2025-04-21 (new commerce moved to the Graph billing export)", p.Verify.Currency, n)
			if why := in.Cloud.BillingExportUnavailable(); why != "" {
				return Pass, fmt.Sprintf("auto: unbilled usage (%s, current period): %d line items (no billing export here: %s)", p.Verify.Currency, n, why), ""
			}
			return Warn, msg, "grant the Graph billing export in partner.yaml: " + p.PartnerBillingLines() + ", then run uicctl apply"
		case "unbilled":
			n, err := pc.UnbilledLineItems(ctx, p.Verify.Currency)
			if err != nil {
				return Fail, "unbilled usage: " + err.Error(), hintOf(err)
			}
			return Pass, fmt.Sprintf("unbilled usage (%s, current period): %d line items", p.Verify.Currency, n), ""
		case "azure-utilization":
			sub, err := pc.LegacyAzureSubscription(ctx)
			if err != nil {
				return Fail, "azure utilization: " + err.Error(), hintOf(err)
			}
			if sub.ID == "" {
				return Warn, fmt.Sprintf("azure utilization: none of the %d subscription(s) of the first %d customer(s) is a legacy Microsoft Azure (MS-AZR-*) one, the only kind the utilization API supports (not Azure plans nor licence-based offers)", sub.Seen, sub.Customers),
					"set verify.usage: auto (the Graph billing export covers Azure plans), or unbilled"
			}
			end := now.UTC().Truncate(24 * time.Hour)
			start := end.Add(-7 * 24 * time.Hour)
			n, err := pc.AzureUtilization(ctx, sub.CustomerID, sub.ID, start.Format(time.RFC3339), end.Format(time.RFC3339))
			if err != nil {
				return Fail, "azure utilization: " + err.Error(), hintOf(err)
			}
			return Pass, fmt.Sprintf("azure utilization of one legacy Azure subscription (%s, last 7 days): %d records", sub.OfferID, n), ""
		case "billing-export":
			return billingExport(ctx, in.Cloud, p, graphBilling)
		}
		return Fail, fmt.Sprintf("verify.usage %q is not supported by this uicctl", p.Verify.Usage), "set verify.usage: auto, unbilled, azure-utilization or billing-export"
	})
	run(CheckPartnerAPI, func() (Status, string, string) {
		if rot == nil {
			return Skip, "no refresh token was redeemed", ""
		}
		_, rotated, _, err := partnercenter.DelegatedToken(ctx, in.HTTP, in.Cloud, p.TenantID, f.ClientID, f.ClientSecret.Value.Reveal(), rot.RefreshToken.Reveal(), in.Cloud.PartnerAPIAudience)
		if err != nil {
			return Fail, "no Partner API token: " + err.Error(), hintOf(err)
		}
		rot.RefreshToken = secrets.NewValue(rotated)
		return Pass, "token issued for the price sheet audience", ""
	})
	run(CheckAppManagement, func() (Status, string, string) {
		tok, err := partnercenter.AppOnlyToken(ctx, in.HTTP, in.Cloud, p.TenantID, f.ClientID, f.ClientSecret.Value.Reveal(), in.Cloud.PartnerCenterAudience)
		if err != nil {
			return Fail, "heuristic: no app-only Partner Center token: " + err.Error(), hintOf(err)
		}
		app := &partnercenter.Client{HTTP: in.HTTP, Base: in.Cloud.PartnerCenter, Token: tok, CorrelationID: t.CorrelationID}
		if _, _, err := app.Customers(ctx, 1); err != nil {
			var ae *partnercenter.APIError
			if errors.As(err, &ae) && (ae.Status == http.StatusForbidden || ae.Status == http.StatusUnauthorized) {
				return Fail, fmt.Sprintf("heuristic: an app-only Partner Center call was refused (%d): the app looks removed from App management", ae.Status),
					"register the app again in Partner Center: Account settings > App management"
			}
			return Fail, "heuristic: the app-only Partner Center call failed: " + err.Error(), hintOf(err)
		}
		return Pass, "heuristic: an app-only Partner Center call succeeds, so the app is registered in App management", ""
	})
	if in.WithPlan && in.Drift == nil {
		t.Checks = append(t.Checks, Check{Name: CheckDrift, Status: Skip, Message: "no operator credentials to plan with", Hint: "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET as for uicctl plan"})
	} else if in.WithPlan {
		run(CheckDrift, func() (Status, string, string) {
			pending, err := in.Drift(ctx, &in.Tenant)
			if err != nil {
				return Fail, "cannot plan: " + err.Error(), hintOf(err)
			}
			if len(pending) > 0 {
				return Fail, fmt.Sprintf("configuration drift: %d pending change(s): %s", len(pending), strings.Join(pending, ", ")), "run uicctl plan to see them and uicctl apply to converge"
			}
			return Pass, "no configuration drift: the plan has no pending change", ""
		})
	}
	if p != nil && p.Delivery != nil && p.Delivery.KeyVault != nil {
		// Whatever failed before, the platform reads the vault: its state is reported.
		failed = false
		run(CheckDelivery, func() (Status, string, string) {
			kv := p.Delivery.KeyVault
			switch {
			case f == nil:
				return Skip, "no secrets file to compare the vault with", ""
			case in.Delivery == nil:
				return Skip, "no operator credentials to read the vault with", "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET as for uicctl plan"
			}
			problems, err := in.Delivery(ctx, &in.Tenant, f)
			if err != nil {
				return Fail, "cannot read the vault: " + err.Error(), hintOf(err)
			}
			if len(problems) > 0 {
				return Fail, fmt.Sprintf("vault %s: %s", kv.URL, strings.Join(problems, "; ")), "run uicctl apply to deliver the secrets file's values"
			}
			return Pass, fmt.Sprintf("vault %s holds the secrets file's values, enabled and not expired", kv.URL), ""
		})
	}
	return t, rot
}

// usageTimeout bounds the usage check's Partner Center calls, retries and 204 waits
// included.
const usageTimeout = 10 * time.Minute

// billingExportTimeout bounds the billing-export usage check, polls included: an export
// still running then fails the check (Graph exports take seconds to minutes).
const billingExportTimeout = 10 * time.Minute

// billingExport is the usage check of verify.usage billing-export (and auto's choice of
// it). It uses the app's own app-only token when the spec grants the application
// permission: it depends neither on the consent account's roles nor on its refresh token;
// otherwise the consent account's delegated token (token gives either).
func billingExport(ctx context.Context, c cloud.Cloud, p *spec.Partner, token func() (string, error)) (Status, string, string) {
	if why := c.BillingExportUnavailable(); why != "" {
		return Fail, "billing export: " + why, "set verify.usage: unbilled"
	}
	graphToken, err := token()
	if err != nil {
		return Fail, "billing export: no Graph token: " + err.Error(), hintOf(err)
	}
	g, err := entra.NewWithToken(c, graphToken, entra.Options{})
	if err != nil {
		return Fail, "billing export: " + err.Error(), ""
	}
	ctx, cancel := context.WithTimeout(ctx, billingExportTimeout)
	defer cancel()
	res, err := g.ExportUnbilledUsage(ctx, p.TenantID, p.Verify.Currency, false)
	period := "current period"
	var fe *entra.ExportFailedError
	if errors.As(err, &fe) && fe.NoData() {
		// The first day of a period has no usage yet; the previous period is still unbilled
		// then and proves the same chain, so a nightly run does not go red once a month.
		res, err = g.ExportUnbilledUsage(ctx, p.TenantID, p.Verify.Currency, true)
		period = "last period: the current one has no data yet"
	}
	var pe *entra.PermissionError
	switch {
	case errors.As(err, &pe):
		return Fail, "billing export: Graph refused the app (403): it lacks the Microsoft Graph application permission PartnerBilling.Read.All",
			"add PartnerBilling.Read.All under application for api: microsoft-graph in partner.yaml (application.permissions, with adminConsent: true) and run uicctl apply"
	case errors.Is(err, context.DeadlineExceeded):
		return Fail, fmt.Sprintf("billing export: not finished within %s", billingExportTimeout), "Graph is slow to export this partner's usage: run verify again later"
	case err != nil:
		return Fail, "billing export: " + err.Error(), hintOf(err)
	}
	return Pass, fmt.Sprintf("billing export of unbilled usage (%s, %s): %d rows in the first of %d blob(s), %d poll(s)",
		p.Verify.Currency, period, res.Rows, res.Blobs, res.Polls), ""
}
