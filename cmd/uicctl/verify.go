package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/useitcloud/uicctl/internal/reportfile"
	"github.com/useitcloud/uicctl/pkg/apply"
	"github.com/useitcloud/uicctl/pkg/cloud"
	"github.com/useitcloud/uicctl/pkg/entra"
	"github.com/useitcloud/uicctl/pkg/keyvault"
	"github.com/useitcloud/uicctl/pkg/partnercenter"
	"github.com/useitcloud/uicctl/pkg/plan"
	fleetreport "github.com/useitcloud/uicctl/pkg/report"
	"github.com/useitcloud/uicctl/pkg/secrets"
	"github.com/useitcloud/uicctl/pkg/spec"
	"github.com/useitcloud/uicctl/pkg/verify"
)

type verifyCmd struct {
	Paths        []string `arg:"" optional:"" name:"path" help:"partner.yaml files or folders searched for them (default: .)."`
	JUnit        string   `name:"junit" placeholder:"FILE" help:"Also write a JUnit XML report to FILE (a testsuite per tenant, a testcase per check)."`
	Strict       bool     `help:"Exit 2 on warnings too."`
	WriteBack    bool     `help:"Store the rotated refresh token and its last-used time in each secrets file."`
	WithPlan     bool     `help:"Also plan each tenant (needs operator credentials) and fail on configuration drift."`
	State        string   `name:"state" placeholder:"FILE" help:"Read and update FILE, each tenant's last statuses and deadlines (JSON without secrets, to commit): --html shows since when, --notify what changed."`
	HTML         string   `name:"html" placeholder:"FILE" help:"Also write a self-contained HTML report to FILE: to-do list, expiry timeline, tenants worst first."`
	Notify       []string `name:"notify" placeholder:"URL" sep:"none" help:"After the run, post what changed since --state to this webhook (repeatable; default $UICCTL_NOTIFY_URL). The URL is a secret and is never shown."`
	NotifyFormat string   `name:"notify-format" enum:"teams,slack,json,auto" default:"auto" help:"Notification format: teams (Workflows, Adaptive Card), slack (Block Kit), json; auto picks it by the URL's host."`
}

// verifyFailed ends verify with exit 2 after the report was written.
type verifyFailed struct {
	n      int
	strict bool
}

func (e verifyFailed) Error() string {
	if e.strict {
		return fmt.Sprintf("%s failed or warned (--strict)", count(e.n, "tenant", "tenants"))
	}
	return fmt.Sprintf("%s failed verification", count(e.n, "tenant", "tenants"))
}
func (e verifyFailed) Hint() string  { return "each failed check is listed above with its hint" }
func (e verifyFailed) ExitCode() int { return 2 }

func (c *verifyCmd) Run(app *App) error {
	if c.JUnit != "" {
		if err := reportfile.Check(c.JUnit, reportfile.JUnit); err != nil {
			return err
		}
	}
	out, err := c.outputs(app)
	if err != nil {
		return err
	}
	fleet, err := loadFleet(app, c.Paths)
	if err != nil {
		return err
	}
	fleet = withoutOperator(fleet)
	if len(fleet.Tenants) == 0 {
		return usageError{fmt.Errorf("no partner.yaml found in %v", c.Paths)}
	}
	cl, err := cloud.Lookup(app.Cloud)
	if err != nil {
		return err
	}
	specErrs := map[string]int{}
	for _, d := range fleet.Diagnostics {
		if d.Severity == spec.SeverityError {
			specErrs[d.File]++
		}
	}
	now := time.Now()
	if testOnlyNow != nil {
		now = testOnlyNow()
	}
	keyIDs, err := operatorKeyIDs(app)
	if err != nil {
		return err
	}
	// The vaults of tenants with delivery.keyVault are read with the operator's credential.
	var vault *keyvault.Client
	var delivery func(ctx context.Context, t *spec.Tenant, f *secrets.File) ([]string, error)
	if keyIDs != nil {
		if vault, err = vaultClient(app, fleet.Tenants); err != nil {
			return err
		}
	}
	if vault != nil {
		delivery = func(ctx context.Context, t *spec.Tenant, f *secrets.File) ([]string, error) {
			kv := t.Partner.Delivery.KeyVault
			return vault.Check(ctx, kv.URL, plan.VaultWants(t.Partner, apply.Meta(f)), keyvault.FileValues(t.Partner.TenantID, f), now)
		}
	}
	var drift func(ctx context.Context, t *spec.Tenant) ([]string, error)
	if c.WithPlan && keyIDs != nil {
		graph, err := graphClient(app)
		if err != nil {
			return err
		}
		x := apply.New(apply.Options{Cloud: cl, Graph: graph, Vault: vault, Now: func() time.Time { return now }})
		drift = func(ctx context.Context, t *spec.Tenant) ([]string, error) {
			pt, _, _, err := x.Plan(ctx, t)
			if err != nil {
				return nil, entra.WithConsentLink(err, consentLinks(app))
			}
			if pt.Error != "" {
				return nil, errors.New(pt.Error)
			}
			var pending []string
			for _, ch := range pt.Changes {
				if ch.Action.Pending() {
					pending = append(pending, fmt.Sprintf("%s %s", ch.Action, ch.Address))
				}
			}
			return pending, nil
		}
	}
	results := make([]verify.Tenant, len(fleet.Tenants))
	writeErrs := make([]error, len(fleet.Tenants))
	parallel(app, len(fleet.Tenants), func(i int) {
		t := fleet.Tenants[i]
		in := verify.Input{Tenant: t, SpecErrors: specErrs[t.Path], Cloud: cl, Now: now, KeyIDs: keyIDs, WithPlan: c.WithPlan, Drift: drift, Delivery: delivery,
			CorrelationID: partnercenter.NewCorrelationID()}
		app.Log.Debug("partner center calls of this tenant carry one correlation id", "path", t.Path, "MS-CorrelationId", in.CorrelationID)
		if t.Partner != nil {
			in.Secrets, in.SecretsErr = secrets.Read(app.Ctx, t.SecretsPath)
		}
		res, rot := verify.Run(app.tenantCtx(tenantName(&t)), in)
		if c.WriteBack && rot != nil {
			// Compare and swap: a consent or secrets set may have stored a newer token since
			// this run read the file; it wins over the rotation of the older one.
			redeemed := in.Secrets.RefreshToken.Value
			_, err := secrets.UpdateIf(app.Ctx, t.SecretsPath, "the refresh token",
				func(cur *secrets.File) bool { return cur.RefreshToken.Value.Equal(redeemed) },
				func(f *secrets.File) error {
					f.RefreshToken.Value = rot.RefreshToken
					f.RefreshToken.LastUsedAt = rot.LastUsedAt.UTC()
					return nil
				})
			var ce *secrets.ConflictError
			switch {
			case errors.As(err, &ce):
				app.note(tenantName(&t), "warning: the secrets file got a newer refresh token during verify (consent or secrets set); it was kept and the rotated one not written back")
				keptNewer(&res)
				// The newer token goes to the vault too (secrets set does not deliver), unless the
				// vault moved on as well: the same rule, against the token this run redeemed.
				if cur, err := secrets.Read(app.Ctx, t.SecretsPath); err != nil {
					writeErrs[i] = err
				} else if line, err := deliverRefreshToken(app.Ctx, app, t, cur.RefreshToken.Value, redeemed); err != nil {
					writeErrs[i] = fmt.Errorf("the newer refresh token of %s is in its secrets file but not in the vault: %w", t.Path, err)
				} else if line != "" {
					fmt.Fprintf(app.Stderr, "uicctl: %s\n", line)
				}
			case err != nil:
				writeErrs[i] = fmt.Errorf("cannot write back the refresh token of %s: %w", t.Path, err)
			default:
				if line, err := deliverRefreshToken(app.Ctx, app, t, rot.RefreshToken, in.Secrets.RefreshToken.Value); err != nil {
					writeErrs[i] = fmt.Errorf("the rotated refresh token of %s is in its secrets file but not in the vault: %w", t.Path, err)
				} else if line != "" {
					fmt.Fprintf(app.Stderr, "uicctl: %s\n", line)
				}
			}
		}
		results[i] = res
	})
	r := verify.NewReport(results)
	switch app.Output {
	case "json":
		err = verify.WriteJSON(app.Stdout, r)
	default:
		if err = verify.WriteText(app.Stdout, r); err == nil {
			err = fleetreport.WriteTodoText(app.Stdout, fleetreport.NewTodo(r))
		}
	}
	if err != nil {
		return err
	}
	if app.Getenv("GITHUB_ACTIONS") == "true" {
		// Workflow commands are documented on stdout; with --output json, stdout is a
		// document a job parses, so they go to stderr, which the runner also reads for
		// workflow commands (UNCONFIRMED by its documentation).
		w := app.Stdout
		if app.Output == "json" {
			w = app.Stderr
		}
		if err := verify.WriteAnnotations(w, r); err != nil {
			return err
		}
	}
	if c.JUnit != "" {
		var b bytes.Buffer
		if err := verify.WriteJUnit(&b, r); err != nil {
			return err
		}
		if err := reportfile.Write(c.JUnit, reportfile.JUnit, b.Bytes()); err != nil {
			return err
		}
	}
	if err := out.write(app, r, now); err != nil {
		return err
	}
	for _, err := range writeErrs {
		if err != nil {
			return err
		}
	}
	bad := r.Summary.TenantsFailed
	if c.Strict {
		bad += r.Summary.TenantsWarned
	}
	if bad > 0 {
		return verifyFailed{bad, c.Strict}
	}
	return nil
}

// operatorKeyIDs reads the keyIds of the app's password credentials through Graph with the
// operator credentials (AZURE_CLIENT_ID and the rest, as plan uses them); without them the
// keyId check is left out (nil).
func operatorKeyIDs(app *App) (func(ctx context.Context, tenantID, appID string) ([]string, bool, error), error) {
	if app.Getenv("AZURE_CLIENT_ID") == "" || app.Getenv("AZURE_TENANT_ID") == "" {
		return nil, nil
	}
	client, err := graphClient(app)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, tenantID, appID string) ([]string, bool, error) {
		o, err := client.Observe(ctx, tenantID, entra.Query{AppID: appID, KnownAppID: appID})
		if err != nil {
			return nil, false, entra.WithConsentLink(err, consentLinks(app))
		}
		if o.App == nil {
			return nil, false, nil
		}
		var ids []string
		for _, pw := range o.App.Passwords {
			ids = append(ids, pw.KeyID)
		}
		return ids, true, nil
	}, nil
}

// keptNewer notes in the report (text, JSON, JUnit) that --write-back kept a newer refresh
// token: the refresh-token check warns, saying which token it verified.
func keptNewer(res *verify.Tenant) {
	for i := range res.Checks {
		c := &res.Checks[i]
		if c.Name != verify.CheckRefreshToken {
			continue
		}
		c.Message += "; not written back: the secrets file got a newer refresh token during this run (kept; verified was the older one)"
		if c.Status == verify.Pass {
			c.Status = verify.Warn
		}
		if c.Hint == "" {
			c.Hint = "run verify again to check the newer refresh token"
		}
	}
}
