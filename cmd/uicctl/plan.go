package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/useitcloud/uicctl/internal/reportfile"
	"github.com/useitcloud/uicctl/pkg/apply"
	"github.com/useitcloud/uicctl/pkg/cloud"
	"github.com/useitcloud/uicctl/pkg/entra"
	"github.com/useitcloud/uicctl/pkg/keyvault"
	"github.com/useitcloud/uicctl/pkg/plan"
	"github.com/useitcloud/uicctl/pkg/spec"
)

type planCmd struct {
	Paths            []string `arg:"" optional:"" name:"path" help:"partner.yaml files or folders searched for them (default: .)."`
	Out              string   `placeholder:"FILE" help:"Also write the plan to FILE (JSON with digests of the spec and the observed state; never a secret value) for apply --plan."`
	DetailedExitcode bool     `help:"Exit 2 when changes are pending (0 when none; manual steps do not count)."`
}

// testOnlyNow, when set, is the clock plan computes with.
var testOnlyNow func() time.Time

func (c *planCmd) Run(app *App) error {
	if c.Out != "" {
		if err := reportfile.Check(c.Out, reportfile.Plan); err != nil {
			return err
		}
	}
	fleet, err := loadFleet(app, c.Paths)
	if err != nil {
		return err
	}
	p, err := makePlan(app, fleet)
	if err != nil {
		return err
	}
	if err := writePlan(app, p); err != nil {
		return err
	}
	if c.Out != "" {
		var b bytesBuffer
		if err := plan.WriteJSON(&b, p); err != nil {
			return err
		}
		if err := reportfile.Write(c.Out, reportfile.Plan, b); err != nil {
			return err
		}
	}
	if p.Summary.Errors > 0 {
		return &planFailed{p.Summary.Errors, len(p.Tenants)}
	}
	if c.DetailedExitcode && p.Pending() {
		return exitStatus(2)
	}
	return nil
}

type bytesBuffer []byte

func (b *bytesBuffer) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }

// planFailed ends plan with exit 1 after the plan of the other tenants was written.
type planFailed struct{ failed, total int }

func (e *planFailed) Error() string {
	return fmt.Sprintf("%d of %d %s could not be planned", e.failed, e.total, plural(e.total, "tenant", "tenants"))
}

func (e *planFailed) Hint() string {
	return "the errors are listed with each tenant above; the other tenants were planned"
}

func writePlan(app *App, p *plan.Plan) error {
	switch app.Output {
	case "json":
		return plan.WriteJSON(app.Stdout, p)
	case "markdown":
		return plan.WriteMarkdown(app.Stdout, p)
	default:
		return plan.WriteText(app.Stdout, p, plan.TextOptions{Color: app.color(app.Stdout)})
	}
}

// color reports whether w is a terminal and colour is wanted (no --no-color, no NO_COLOR).
func (a *App) color(w io.Writer) bool {
	return !a.NoColor && a.Getenv("NO_COLOR") == "" && isTerminal(w)
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// graphClient connects to Graph with the operator's credential for the selected cloud.
func graphClient(app *App) (*entra.Client, error) {
	cl, err := cloud.Lookup(app.Cloud)
	if err != nil {
		return nil, err
	}
	cred, err := entra.NewCredential(cl)
	if err != nil {
		return nil, err
	}
	return entra.New(cl, cred, entra.Options{Log: app.Log})
}

// makePlan observes and plans every tenant, app.Parallelism at a time. A tenant that fails
// (invalid spec, unreadable secrets, Graph error) is reported in its place; the others are
// planned all the same.
func makePlan(app *App, fleet *spec.Fleet) (*plan.Plan, error) {
	now := time.Now
	if testOnlyNow != nil {
		now = testOnlyNow
	}
	var client *entra.Client
	var vault *keyvault.Client
	needGraph := false
	for _, t := range fleet.Tenants {
		needGraph = needGraph || t.Partner != nil
	}
	if needGraph {
		var err error
		if client, err = graphClient(app); err != nil {
			return nil, err
		}
		if vault, err = vaultClient(app, fleet.Tenants); err != nil {
			return nil, err
		}
	}
	x := apply.New(apply.Options{Graph: client, Vault: vault, Now: now})
	link := consentLinks(app)
	progress := newProgress(app, len(fleet.Tenants))
	out := make([]plan.Tenant, len(fleet.Tenants))
	sem := make(chan struct{}, app.Parallelism)
	var wg sync.WaitGroup
	for i := range fleet.Tenants {
		t := &fleet.Tenants[i]
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = planTenant(app.tenantCtx(tenantName(t)), x, t, fleet, link)
			progress.done()
		})
	}
	wg.Wait()
	progress.finish()
	if err := app.Ctx.Err(); err != nil {
		return nil, err
	}
	return plan.New(out), nil
}

// tenantName names a tenant in progress lines: its spec's name, else its shard key.
func tenantName(t *spec.Tenant) string {
	if t.Partner != nil && t.Partner.Name != "" {
		return t.Partner.Name
	}
	return spec.ShardKey(*t)
}

// planTenant plans one tenant; link gives the operator's admin consent link of a tenant,
// for the errors of one where it is not (fully) consented.
func planTenant(ctx context.Context, x *apply.Executor, t *spec.Tenant, fleet *spec.Fleet, link func(string) string) plan.Tenant {
	res := plan.Tenant{Name: spec.ShardKey(*t), Path: t.Path}
	if t.Partner == nil {
		n := 0
		for _, d := range fleet.Diagnostics {
			if d.File == t.Path && d.Severity == spec.SeverityError {
				n++
			}
		}
		res.Error = fmt.Sprintf("partner.yaml is invalid (%s)", count(n, "error", "errors"))
		res.Hint = "uicctl validate " + t.Path + " lists them with their positions"
		return res
	}
	p := t.Partner
	res.Name, res.TenantID = p.Name, p.TenantID
	fail := func(err error) plan.Tenant {
		err = entra.WithConsentLink(err, link)
		res.Error = oneLine(err.Error())
		if h := hints(err); len(h) > 0 {
			res.Hint = oneLine(h[0])
		}
		return res
	}
	// The same observation and computation as apply's, so what plan shows is what apply does.
	tp, _, _, err := x.Plan(ctx, t)
	if err != nil {
		return fail(err)
	}
	return tp
}

// vaultClient is the Key Vault client when a tenant delivers to a vault (nil otherwise),
// signed in as the operator like Graph.
func vaultClient(app *App, tenants []spec.Tenant) (*keyvault.Client, error) {
	need := false
	for _, t := range tenants {
		need = need || (t.Partner != nil && t.Partner.Delivery != nil && t.Partner.Delivery.KeyVault != nil)
	}
	if !need {
		return nil, nil
	}
	cl, err := cloud.Lookup(app.Cloud)
	if err != nil {
		return nil, err
	}
	cred, err := entra.NewCredential(cl)
	if err != nil {
		return nil, err
	}
	return keyvault.New(cred, keyvault.Options{Notify: func(msg string) { fmt.Fprintf(app.Stderr, "uicctl: %s\n", oneLine(msg)) }}), nil
}

// progress shows "planned N/M tenants" on stderr when it is a terminal; nothing otherwise,
// so CI logs and pipes stay clean.
type progress struct {
	w     io.Writer
	total int
	n     atomic.Int64
	mu    sync.Mutex
}

func newProgress(app *App, total int) *progress {
	if !isTerminal(app.Stderr) || total < 2 {
		return &progress{}
	}
	return &progress{w: app.Stderr, total: total}
}

func (p *progress) done() {
	n := p.n.Add(1)
	if p.w == nil {
		return
	}
	p.mu.Lock()
	fmt.Fprintf(p.w, "\ruicctl: %d/%d tenants", n, p.total)
	p.mu.Unlock()
}

func (p *progress) finish() {
	if p.w != nil {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
