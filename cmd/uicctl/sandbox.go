package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/useitcloud/uicctl/internal/reportfile"
	"github.com/useitcloud/uicctl/pkg/sandbox"
)

// sandboxCmd serves the emulated Microsoft cloud until interrupted.
type sandboxCmd struct {
	Addr       string `default:"127.0.0.1:0" help:"Listen address: 127.0.0.1 and a port (0 picks a free one)."`
	Tenants    int    `default:"3" help:"Partner tenants to generate."`
	Customers  int    `default:"5" help:"Customers per partner tenant."`
	Seed       int64  `default:"1" help:"World seed: the same seed gives the same tenants, accounts and data."`
	Dir        string `type:"path" placeholder:"DIR" help:"Directory for the CA and cloud files (default: a temporary directory removed on exit)."`
	EnvFile    string `type:"path" placeholder:"FILE" help:"Write KEY=value lines (UICCTL_CLOUD, SSL_CERT_FILE, AZURE_*) that point uicctl at the sandbox."`
	World      string `type:"path" placeholder:"FILE" help:"Write the generated world (tenants, domains, accounts) as JSON."`
	RequestLog string `type:"path" placeholder:"FILE" help:"Append one JSON line per request (method, path, status, tenant, ms)."`
	State      string `type:"path" placeholder:"FILE" help:"Load state from FILE if it exists and save it there on exit."`

	OIDCTokenLifetime string `name:"oidc-token-lifetime" placeholder:"DURATION" help:"Lifetime of the GitHub Actions OIDC issuer's tokens (default 5m, as GitHub's)."`
	PageSize          int    `placeholder:"N" help:"Items per Partner Center page at most, whatever size is asked (default 5, so that usage crosses pages)."`
	UtilizationReady  bool   `help:"Serve Azure utilization at once, without the 204 Retry-After: 1 the first request of each period gets."`
	OperatorConsent   string `name:"operator-consent" enum:"all,none" default:"all" help:"all: the operator app is consented in every partner tenant; none: only in its home tenant, until each tenant's admin opens the consent link (docs/operator.md)."`

	Latency        string   `placeholder:"DURATION" help:"Fault: delay every request (e.g. 200ms)."`
	Rate429        float64  `name:"rate-429" placeholder:"P" help:"Fault: answer this share of requests (0..1) with 429 and Retry-After."`
	RetryAfter     string   `placeholder:"DURATION" help:"Fault: Retry-After of the 429s (default 2s)."`
	Rate5xx        float64  `name:"rate-5xx" placeholder:"P" help:"Fault: answer this share of requests (0..1) with 503."`
	ResetRate      float64  `placeholder:"P" help:"Fault: reset the connection of this share of requests (0..1)."`
	ReplicationLag string   `placeholder:"DURATION" help:"Fault: Graph objects stay invisible this long after creation."`
	ClockOffset    string   `placeholder:"DURATION" help:"Fault: move the sandbox clock (e.g. 91d ages refresh tokens past 90 days)."`
	Echo           bool     `help:"Fault: answer every request with an error that reflects it (Authorization, query and body included), to test that no credential comes back to the user."`
	FaultScope     []string `placeholder:"SERVICE" help:"What the faults hit: login, graph, partnercenter, partnerapi, blob, partnercenter-usage (only Partner Center's usage calls), login-token or login-authorize (one endpoint of login) (default all)."`
}

func (c *sandboxCmd) faults() (sandbox.Faults, error) {
	f := sandbox.Faults{Rate429: c.Rate429, Rate5xx: c.Rate5xx, ResetRate: c.ResetRate, Echo: c.Echo, Scope: c.FaultScope}
	var errs []error
	for _, d := range []struct {
		flag string
		v    string
		dst  *time.Duration
	}{
		{"--latency", c.Latency, &f.Latency},
		{"--retry-after", c.RetryAfter, &f.RetryAfter},
		{"--replication-lag", c.ReplicationLag, &f.ReplicationLag},
		{"--clock-offset", c.ClockOffset, &f.ClockOffset},
	} {
		if d.v == "" {
			continue
		}
		v, err := sandbox.ParseDuration(d.v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.flag, err))
			continue
		}
		*d.dst = v
	}
	return f, errors.Join(errs...)
}

// options turns the flags into sandbox options.
func (c *sandboxCmd) options() (sandbox.Options, error) {
	f, err := c.faults()
	o := sandbox.Options{Tenants: c.Tenants, Customers: c.Customers, Seed: c.Seed, StateFile: c.State,
		RequestLog: c.RequestLog, Dir: c.Dir, Addr: c.Addr, Faults: f, PageSize: c.PageSize, UtilizationReady: c.UtilizationReady,
		OperatorConsent: c.OperatorConsent}
	if c.PageSize < 0 {
		err = errors.Join(err, fmt.Errorf("--page-size must not be negative"))
	}
	if c.OIDCTokenLifetime != "" {
		d, perr := sandbox.ParseDuration(c.OIDCTokenLifetime)
		if perr == nil && d <= 0 {
			perr = fmt.Errorf("want a positive duration")
		}
		if perr != nil {
			err = errors.Join(err, fmt.Errorf("--oidc-token-lifetime: %w", perr))
		}
		o.ActionsTokenLifetime = d
	}
	return o, err
}

// The files uicctl sandbox writes where the user names them: each replaces (or, the request
// log, appends to; the state file, is read from) only an earlier one of its kind.
var sandboxOutputs = []struct {
	flag string
	kind reportfile.Kind
	path func(*sandboxCmd) string
}{
	{"--env-file", reportfile.Kind{Name: "sandbox env file", Example: "sandbox.env", Is: sandbox.IsEnvFile}, func(c *sandboxCmd) string { return c.EnvFile }},
	{"--world", reportfile.Kind{Name: "sandbox world file", Example: "world.json", Is: sandbox.IsWorldFile}, func(c *sandboxCmd) string { return c.World }},
	{"--state", reportfile.Kind{Name: "sandbox state file", Example: "sandbox-state.json", Is: sandbox.IsStateFile}, func(c *sandboxCmd) string { return c.State }},
	{"--request-log", reportfile.Kind{Name: "sandbox request log", Example: "requests.jsonl", Is: sandbox.IsRequestLog}, func(c *sandboxCmd) string { return c.RequestLog }},
}

func (c *sandboxCmd) Run(app *App) error {
	opts, err := c.options()
	if err != nil {
		return usageError{err}
	}
	for _, o := range sandboxOutputs {
		if p := o.path(c); p != "" {
			if err := reportfile.Check(p, o.kind); err != nil {
				return err
			}
		}
	}
	sb, err := sandbox.Start(app.Ctx, opts)
	if err != nil {
		return fmt.Errorf("cannot start sandbox: %w", err)
	}
	defer sb.Close()
	if c.EnvFile != "" {
		if err := sb.WriteEnvFile(c.EnvFile); err != nil {
			return err
		}
	}
	if c.World != "" {
		if err := sb.WriteWorldFile(c.World); err != nil {
			return err
		}
	}
	w := sb.World()
	fmt.Fprintf(app.Stdout, "sandbox listening on %s\n", sb.URL())
	fmt.Fprintf(app.Stdout, "  cloud file: %s\n", sb.CloudFile())
	fmt.Fprintf(app.Stdout, "  CA file:    %s\n", sb.CAFile())
	if c.EnvFile != "" {
		fmt.Fprintf(app.Stdout, "  env file:   %s (set -a; . %s; set +a)\n", c.EnvFile, c.EnvFile)
	}
	var names []string
	for _, t := range w.Tenants {
		names = append(names, t.Name)
	}
	fmt.Fprintf(app.Stdout, "  tenants:    %d (%s)\n", len(w.Tenants), strings.Join(names, ", "))
	fmt.Fprintf(app.Stdout, "  admin API:  %s/_sandbox/\n", sb.URL())
	if c.State != "" {
		fmt.Fprintf(app.Stdout, "  state:      %s (written on exit; an existing file wins over --tenants and --seed)\n", c.State)
	}
	<-app.Ctx.Done()
	if err := sb.Close(); err != nil {
		return fmt.Errorf("sandbox stopped with errors: %w", err)
	}
	fmt.Fprintln(app.Stderr, "uicctl: sandbox stopped")
	return nil
}
