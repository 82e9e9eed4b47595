// Command uicctl onboards Microsoft CSP partners to Use IT Cloud declaratively: partner.yaml
// files in a fleet repository describe each partner's Entra app and Partner Center set-up,
// and uicctl validates, plans, applies, consents and verifies them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/useitcloud/uicctl/internal/retry"
	"github.com/useitcloud/uicctl/internal/scrub"
)

// Globals are the flags every command accepts, before or after its name.
type Globals struct {
	Output      string `short:"o" enum:"text,json,markdown" default:"text" help:"Output format: text, json or markdown (plan only)."`
	NoColor     bool   `help:"Never colour output (also when NO_COLOR is set)."`
	Parallelism int    `default:"8" help:"Tenants processed at once."`
	Shard       string `placeholder:"K/N" help:"Process only shard K of N, chosen by a hash of the tenant name."`
	Cloud       string `default:"public" env:"UICCTL_CLOUD" placeholder:"NAME|FILE" help:"Microsoft cloud: public, usgov, china, or a cloud file (as the sandbox writes)."`
	Verbose     bool   `short:"v" help:"Debug logs on stderr (secrets redacted)."`
	// RetryBudget: see internal/retry; tests shorten it to keep a throttled run quick.
	RetryBudget time.Duration `default:"2m" placeholder:"DURATION" help:"How long one operation may wait out throttling and broken connections before it fails (Retry-After is honoured up to 30s)."`
}

// CLI is the command tree.
type CLI struct {
	Globals

	Init     initCmd     `cmd:"" help:"Scaffold a fleet repository or add a tenant to one."`
	Validate validateCmd `cmd:"" help:"Check partner.yaml and secrets files offline."`
	Plan     planCmd     `cmd:"" help:"Show the changes that bring each tenant to its spec (read-only)."`
	Apply    applyCmd    `cmd:"" help:"Make the changes: converge each tenant on its spec."`
	Schema   schemaCmd   `cmd:"" help:"Print the JSON Schema of partner.yaml."`
	Version  versionCmd  `cmd:"" help:"Print the uicctl version."`
	Consent  consentCmd  `cmd:"" help:"Sign in as the partner (Secure Application Model) and store the refresh token in the secrets file."`
	Import   importCmd   `cmd:"" help:"Write partner.yaml for an app that was onboarded by hand (adopted by appId)."`
	Secrets  secretsCmd  `cmd:"" help:"Set or show the keys of a secrets file (values from stdin, never shown)."`
	Verify   verifyCmd   `cmd:"" help:"Check each tenant end to end with the calls the platform makes (nightly in CI)."`
	Operator operatorCmd `cmd:"" help:"The operator app uicctl signs in as in every partner tenant: consent links and checks (docs/operator.md)."`
	Sandbox  sandboxCmd  `cmd:"" help:"Serve a local emulation of Entra sign-in, Graph and Partner Center for tests and demos."`
}

// App is what a command runs with.
type App struct {
	Globals
	Ctx    context.Context
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	Log    *slog.Logger

	stderrMu sync.Mutex // one line at a time from the tenants running at once
}

// note prints one "uicctl: TENANT: MSG" line on stderr (scrubbed: a wait's cause may
// quote a service).
func (app *App) note(tenant, msg string) {
	app.stderrMu.Lock()
	defer app.stderrMu.Unlock()
	fmt.Fprintf(app.Stderr, "uicctl: %s: %s\n", tenant, oneLine(msg))
}

// tenantCtx is app.Ctx for the work of one tenant: the retry budget, and long waits
// announced with the tenant's name ("contoso: Graph throttled, retrying in 30s").
func (app *App) tenantCtx(tenant string) context.Context {
	return retry.WithNotify(retry.WithBudget(app.Ctx, app.RetryBudget), func(msg string) { app.note(tenant, msg) })
}

// exitStatus ends a command with a code and no further message: the command has already
// reported why (for example, validate's diagnostics).
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
func (e exitStatus) ExitCode() int { return int(e) }

// usageError is a command line that cannot be run.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }
func (e usageError) Hint() string  { return "run uicctl --help (or uicctl COMMAND --help) for usage" }

// ExitCode is 1: scripts see one code for every error, not kong's 80 for usage.
func (e usageError) ExitCode() int { return 1 }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// kongExit carries kong's request to exit (after --help) out of the parser.
type kongExit int

// run parses args, runs the command and returns the exit code. Errors are printed here and
// only here.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) (code int) {
	var cli CLI
	parser, err := kong.New(&cli,
		kong.Name("uicctl"),
		kong.Description("Onboard Microsoft CSP partners to Use IT Cloud: declarative, reviewed, verified.\n\nExit codes: 0 success, 1 error, 2 changes pending (plan --detailed-exitcode) or a failed verify check."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(c int) { panic(kongExit(c)) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
	if err != nil {
		panic(err) // a bug in the CLI struct itself
	}
	defer func() {
		if r := recover(); r != nil {
			c, ok := r.(kongExit)
			if !ok {
				panic(r)
			}
			code = int(c)
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		return report(stderr, usageError{err})
	}
	if cli.RetryBudget <= 0 {
		return report(stderr, usageError{errors.New("--retry-budget must be more than 0")})
	}
	app := &App{Globals: cli.Globals, Ctx: ctx, Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: getenv}
	level := slog.LevelWarn
	if cli.Verbose {
		level = slog.LevelDebug
	}
	app.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level, ReplaceAttr: scrubAttr}))
	if err := kctx.Run(app); err != nil {
		return report(stderr, err)
	}
	return 0
}

// report prints err as "uicctl: error:" plus one "uicctl: hint:" line per distinct hint in
// its chain, and returns the exit code it asks for (1 by default).
func report(w io.Writer, err error) int {
	code := 1
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		code = ec.ExitCode()
	}
	if st := exitStatus(0); errors.As(err, &st) && err.Error() == st.Error() {
		return code // the command already reported why
	}
	fmt.Fprintf(w, "uicctl: error: %s\n", oneLine(err.Error()))
	for _, h := range hints(err) {
		fmt.Fprintf(w, "uicctl: hint: %s\n", oneLine(h))
	}
	return code
}

// scrubAttr scrubs the -v log's text: its errors and values may carry services' text.
func scrubAttr(_ []string, a slog.Attr) slog.Attr {
	switch v := a.Value.Resolve(); {
	case v.Kind() == slog.KindString:
		a.Value = slog.StringValue(scrub.Line(v.String()))
	case v.Kind() == slog.KindAny:
		if err, ok := v.Any().(error); ok {
			a.Value = slog.StringValue(scrub.Line(err.Error()))
		}
	}
	return a
}

// oneLine makes an error or hint text one scrubbed line: errors carry services' text, and
// every error uicctl prints or reports goes through here.
func oneLine(s string) string {
	return strings.Join(strings.Fields(scrub.Text(s)), " ")
}

// hints collects Hint() texts from the whole error tree, outermost first, without repeats.
func hints(err error) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if h, ok := e.(interface{ Hint() string }); ok {
			if s := h.Hint(); s != "" && !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		}
	}
	walk(err)
	return out
}
