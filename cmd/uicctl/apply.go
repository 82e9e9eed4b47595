package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/useitcloud/uicctl/pkg/apply"
	"github.com/useitcloud/uicctl/pkg/cloud"
	"github.com/useitcloud/uicctl/pkg/entra"
	"github.com/useitcloud/uicctl/pkg/plan"
	"github.com/useitcloud/uicctl/pkg/secrets"
	"github.com/useitcloud/uicctl/pkg/spec"
)

type applyCmd struct {
	Paths       []string `arg:"" optional:"" name:"path" help:"partner.yaml files or folders searched for them (default: the tenants of --plan, or .)."`
	Plan        string   `name:"plan" placeholder:"FILE" help:"Apply a plan saved by uicctl plan --out; refused when the spec or the tenant changed since."`
	AutoApprove bool     `help:"Apply without asking (required when not run in a terminal)."`
}

// applyReport is the JSON result of apply.
type applyReport struct {
	FormatVersion string        `json:"format_version"`
	Tenants       []applyTenant `json:"tenants"`
}

type applyTenant struct {
	Name    string        `json:"name"`
	Path    string        `json:"path"`
	Applied []plan.Change `json:"applied"`
	Error   string        `json:"error,omitempty"`
	Hint    string        `json:"hint,omitempty"`
}

func (c *applyCmd) Run(app *App) error {
	var saved *plan.Plan
	if c.Plan != "" {
		p, err := readPlanFile(c.Plan)
		if err != nil {
			return err
		}
		saved = p
		if len(c.Paths) == 0 {
			for _, t := range p.Tenants {
				c.Paths = append(c.Paths, t.Path)
			}
		}
	}
	fleet, err := loadFleet(app, c.Paths)
	if err != nil {
		return err
	}
	if n := fleet.Errors(); n > 0 {
		return &specErrors{n}
	}
	cl, err := cloud.Lookup(app.Cloud)
	if err != nil {
		return err
	}
	graph, err := graphClient(app)
	if err != nil {
		return err
	}
	vault, err := vaultClient(app, fleet.Tenants)
	if err != nil {
		return err
	}
	x := apply.New(apply.Options{Cloud: cl, Graph: graph, Vault: vault, Now: clock(), Progress: app.note})

	// Plan every tenant first: this is what is shown, confirmed, and held against the
	// saved plan. Apply re-checks each tenant against it right before its writes.
	tenants := fleet.Tenants
	planned := make([]plan.Tenant, len(tenants))
	observed := make([]*plan.Observed, len(tenants))
	files := make([]*secrets.File, len(tenants))
	errs := make([]error, len(tenants))
	link := consentLinks(app)
	parallel(app, len(tenants), func(i int) {
		planned[i], observed[i], files[i], errs[i] = x.Plan(app.tenantCtx(tenantName(&tenants[i])), &tenants[i])
		if errs[i] != nil {
			errs[i] = entra.WithConsentLink(errs[i], link)
		}
		if errs[i] == nil && saved != nil {
			errs[i] = apply.CheckFresh(&planned[i], savedTenant(saved, tenants[i].Path))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("nothing was changed: %w", err)
	}
	p := plan.New(planned)
	if !p.Pending() {
		if app.Output == "json" {
			return writeApplyJSON(app, tenants, make([]apply.Result, len(tenants)))
		}
		fmt.Fprint(app.Stdout, plan.SummaryLine(p))
		return nil
	}
	if app.Output != "json" {
		if err := plan.WriteText(app.Stdout, p, plan.TextOptions{Color: app.color(app.Stdout)}); err != nil {
			return err
		}
	}
	// What a person confirmed, or a saved plan, may have gone stale by now: plan again and
	// hold it against what was shown. With --auto-approve nothing waited in between.
	recheck := saved != nil || !c.AutoApprove
	if saved == nil && !c.AutoApprove {
		if err := confirm(app, len(tenants)); err != nil {
			return err
		}
	}

	start := time.Now()
	results := make([]apply.Result, len(tenants))
	parallel(app, len(tenants), func(i int) {
		ctx := app.tenantCtx(tenantName(&tenants[i]))
		if recheck {
			results[i] = x.Apply(ctx, &tenants[i], &planned[i])
		} else {
			results[i] = x.Execute(ctx, &tenants[i], planned[i], observed[i], files[i])
		}
	})
	if app.Output == "json" {
		if err := writeApplyJSON(app, tenants, results); err != nil {
			return err
		}
	}
	var failed []error
	made := 0
	for i, r := range results {
		made += len(r.Done)
		if r.Err != nil {
			failed = append(failed, fmt.Errorf("%s: %w", tenants[i].Partner.Name, entra.WithConsentLink(r.Err, link)))
		}
	}
	if app.Output != "json" {
		fmt.Fprintf(app.Stdout, "\nApply complete: %s made in %s, %s failed (%.2fs).\n", count(made, "change", "changes"),
			count(len(tenants), "tenant", "tenants"), count(len(failed), "tenant", "tenants"), time.Since(start).Seconds())
	}
	if len(failed) > 0 {
		return errors.Join(failed...)
	}
	return nil
}

func clock() func() time.Time {
	if testOnlyNow != nil {
		return testOnlyNow
	}
	return time.Now
}

// parallel runs f for 0..n-1, app.Parallelism at a time.
func parallel(app *App, n int, f func(i int)) {
	sem := make(chan struct{}, app.Parallelism)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			f(i)
		})
	}
	wg.Wait()
}

func savedTenant(p *plan.Plan, path string) *plan.Tenant {
	for i := range p.Tenants {
		if p.Tenants[i].Path == path {
			return &p.Tenants[i]
		}
	}
	// A tenant the saved plan does not cover cannot be applied from it.
	return &plan.Tenant{Path: path, SpecDigest: "(not in the plan file)"}
}

// confirm asks on a terminal; anywhere else apply needs --auto-approve.
func confirm(app *App, n int) error {
	if !isTerminal(app.Stdin) {
		return &usageHint{msg: "apply needs --auto-approve when it cannot ask (stdin is not a terminal)",
			hint: "review the plan above, then run uicctl apply --auto-approve, or save it with uicctl plan --out FILE and run uicctl apply --plan FILE"}
	}
	fmt.Fprintf(app.Stdout, "\nApply these changes to %s? Only 'yes' will be accepted: ", count(n, "tenant", "tenants"))
	line, _ := bufio.NewReader(app.Stdin).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return &usageHint{msg: "apply cancelled: nothing was changed"}
	}
	return nil
}

type usageHint struct{ msg, hint string }

func (e *usageHint) Error() string { return e.msg }
func (e *usageHint) Hint() string  { return e.hint }

type specErrors struct{ n int }

func (e *specErrors) Error() string {
	return fmt.Sprintf("the specs have %s; nothing was changed", count(e.n, "error", "errors"))
}
func (e *specErrors) Hint() string { return "run uicctl validate to list them with their positions" }

func readPlanFile(path string) (*plan.Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read plan file %q: %w", path, err)
	}
	var p plan.Plan
	if err := json.Unmarshal(b, &p); err != nil || p.FormatVersion == "" {
		return nil, &usageHint{msg: fmt.Sprintf("%q is not a uicctl plan file", path), hint: "make one with uicctl plan --out FILE"}
	}
	if p.FormatVersion != plan.FormatVersion {
		return nil, &usageHint{msg: fmt.Sprintf("plan file %q has format_version %s; this uicctl reads %s", path, p.FormatVersion, plan.FormatVersion),
			hint: "make the plan again with this uicctl"}
	}
	return &p, nil
}

func writeApplyJSON(app *App, tenants []spec.Tenant, results []apply.Result) error {
	rep := applyReport{FormatVersion: plan.FormatVersion, Tenants: []applyTenant{}}
	for i, r := range results {
		at := applyTenant{Name: tenants[i].Partner.Name, Path: tenants[i].Path, Applied: r.Done}
		if at.Applied == nil {
			at.Applied = []plan.Change{}
		}
		if r.Err != nil {
			at.Error = oneLine(r.Err.Error())
			if h := hints(r.Err); len(h) > 0 {
				at.Hint = h[0]
			}
		}
		rep.Tenants = append(rep.Tenants, at)
	}
	enc := json.NewEncoder(app.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(rep)
}
