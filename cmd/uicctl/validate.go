package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/useitcloud/uicctl/pkg/cloud"
	"github.com/useitcloud/uicctl/pkg/spec"
)

type validateCmd struct {
	Paths []string `arg:"" optional:"" name:"path" help:"partner.yaml files or folders searched for them (default: .)."`
}

// validateCheck is one per-tenant check of uicctl validate beyond the spec itself. It runs
// only for tenants whose partner.yaml is valid.
type validateCheck func(ctx context.Context, t *spec.Tenant) []spec.Diagnostic

// validateChecks are registered from init functions of the files that own them.
var validateChecks []validateCheck

// validateReport is the JSON form of validate's result (documented in docs/partner-yaml.md).
type validateReport struct {
	Tenants     []validateTenant  `json:"tenants"`
	Diagnostics []spec.Diagnostic `json:"diagnostics"`
	Summary     validateSummary   `json:"summary"`
}

type validateTenant struct {
	File  string `json:"file"`
	Name  string `json:"name,omitempty"`
	Valid bool   `json:"valid"`
}

type validateSummary struct {
	Tenants  int `json:"tenants"`
	Valid    int `json:"valid"`
	Invalid  int `json:"invalid"`
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
}

func (c *validateCmd) Run(app *App) error {
	if app.Output == "markdown" {
		return usageError{fmt.Errorf("validate writes text or json, not markdown")}
	}
	fleet, err := loadFleet(app, c.Paths)
	if err != nil {
		return err
	}
	cl, err := cloud.Lookup(app.Cloud)
	if err != nil {
		return err
	}
	diags := append(fleet.Diagnostics, runChecks(app, fleet.Tenants)...)
	diags = append(diags, checkUsageCloud(cl, fleet.Tenants)...)
	rep := buildReport(fleet.Tenants, diags)
	if app.Output == "json" {
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := writeValidateText(app.Stdout, rep); err != nil {
		return err
	}
	if rep.Summary.Invalid > 0 {
		return &validateFailed{rep.Summary}
	}
	return nil
}

// runChecks runs the registered checks on the valid tenants, app.Parallelism at a time, and
// returns their diagnostics in tenant order.
func runChecks(app *App, tenants []spec.Tenant) []spec.Diagnostic {
	if len(validateChecks) == 0 {
		return nil
	}
	out := make([][]spec.Diagnostic, len(tenants))
	sem := make(chan struct{}, app.Parallelism)
	var wg sync.WaitGroup
	for i := range tenants {
		if tenants[i].Partner == nil || tenants[i].Partner.IsOperator() {
			continue // the operator app has no secrets file or Partner Center side
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			for _, check := range validateChecks {
				out[i] = append(out[i], check(app.Ctx, &tenants[i])...)
			}
		})
	}
	wg.Wait()
	return slices.Concat(out...)
}

func buildReport(tenants []spec.Tenant, diags []spec.Diagnostic) validateReport {
	errs := map[string]int{}
	rep := validateReport{Diagnostics: diags}
	for _, d := range diags {
		if d.Severity == spec.SeverityError {
			errs[d.File]++
			rep.Summary.Errors++
		} else {
			rep.Summary.Warnings++
		}
	}
	for _, t := range tenants {
		vt := validateTenant{File: t.Path, Valid: t.Partner != nil && errs[t.Path] == 0}
		if t.Partner != nil {
			vt.Name = t.Partner.Name
		}
		rep.Tenants = append(rep.Tenants, vt)
		rep.Summary.Tenants++
		if vt.Valid {
			rep.Summary.Valid++
		} else {
			rep.Summary.Invalid++
		}
	}
	if rep.Diagnostics == nil {
		rep.Diagnostics = []spec.Diagnostic{}
	}
	if rep.Tenants == nil {
		rep.Tenants = []validateTenant{}
	}
	return rep
}

// writeValidateText prints one line per tenant, its diagnostics under it, then a summary.
func writeValidateText(w io.Writer, rep validateReport) error {
	byFile := map[string][]spec.Diagnostic{}
	for _, d := range rep.Diagnostics {
		byFile[d.File] = append(byFile[d.File], d)
	}
	bw := &errWriter{w: w}
	for _, t := range rep.Tenants {
		status := "ok"
		if !t.Valid {
			status = "invalid"
		}
		if t.Name != "" {
			bw.printf("%-7s %s (%s)\n", status, t.File, t.Name)
		} else {
			bw.printf("%-7s %s\n", status, t.File)
		}
		for _, d := range byFile[t.File] {
			msg := d.String()
			if d.Severity == spec.SeverityWarning {
				msg = warningString(d)
			}
			bw.printf("  %s\n", msg)
			if d.Hint != "" {
				bw.printf("    hint: %s\n", d.Hint)
			}
		}
	}
	s := rep.Summary
	bw.printf("%d %s: %d valid, %d invalid (%s, %s)\n", s.Tenants, plural(s.Tenants, "tenant", "tenants"), s.Valid, s.Invalid,
		count(s.Errors, "error", "errors"), count(s.Warnings, "warning", "warnings"))
	return bw.err
}

func warningString(d spec.Diagnostic) string {
	d.Message = "warning: " + d.Message
	return d.String()
}

// validateFailed ends validate with exit 1 after the report was written.
type validateFailed struct{ s validateSummary }

func (e *validateFailed) Error() string {
	return fmt.Sprintf("%d of %d %s invalid (%s)", e.s.Invalid, e.s.Tenants, plural(e.s.Tenants, "tenant", "tenants"), count(e.s.Errors, "error", "errors"))
}

func (e *validateFailed) Hint() string {
	return "fix the errors listed above at their file:line:column and run uicctl validate again"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func count(n int, one, many string) string { return fmt.Sprintf("%d %s", n, plural(n, one, many)) }

// errWriter keeps the first write error so report code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
