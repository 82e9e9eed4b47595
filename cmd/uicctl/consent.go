package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/useitcloud/uicctl/pkg/cloud"
	"github.com/useitcloud/uicctl/pkg/consent"
	"github.com/useitcloud/uicctl/pkg/partnercenter"
	"github.com/useitcloud/uicctl/pkg/secrets"
	"github.com/useitcloud/uicctl/pkg/spec"
)

type consentCmd struct {
	Path      string        `arg:"" name:"path" help:"The tenant: its partner.yaml or its folder."`
	Port      int           `default:"8400" help:"Loopback port of the sign-in callback (Entra ignores the port of http://localhost)."`
	NoBrowser bool          `help:"Print the sign-in URL instead of opening the browser."`
	Paste     bool          `help:"Do not listen: paste the URL the browser ended on (for a remote shell)."`
	Timeout   time.Duration `default:"5m" help:"How long to wait for the sign-in."`
}

// testOnlyOpenBrowser, when set, replaces the platform's opener (the headless browser test).
var testOnlyOpenBrowser func(url string) error

// consentTimeout is the sign-in not completed in time: nothing was stored.
type consentTimeout struct{ d time.Duration }

func (e consentTimeout) Error() string {
	return fmt.Sprintf("no sign-in within %s; nothing was stored", e.d)
}
func (e consentTimeout) Hint() string {
	return "run uicctl consent again and finish the sign-in in the browser, or raise --timeout"
}

func (c *consentCmd) Run(app *App) error {
	switch {
	case c.Timeout <= 0:
		return usageError{errors.New("--timeout must be more than 0")}
	case c.Port < 0 || c.Port > 65535:
		return usageError{fmt.Errorf("--port %d is not a TCP port (0 picks a free one)", c.Port)}
	case c.Paste && c.Port == 0:
		// Nothing listens with --paste, so no port is picked: the redirect needs a real one.
		return usageError{errors.New("--paste needs the --port of the redirect URI; --port 0 (a free port) is for the listener")}
	}
	fleet, err := loadFleet(app, []string{c.Path})
	if err != nil {
		return err
	}
	if n := fleet.Errors(); n > 0 {
		return &specErrors{n}
	}
	fleet = withoutOperator(fleet)
	if len(fleet.Tenants) != 1 {
		return usageError{fmt.Errorf("consent takes one tenant; %s holds %s", c.Path, count(len(fleet.Tenants), "tenant", "tenants"))}
	}
	t := fleet.Tenants[0]
	p := t.Partner
	cl, err := cloud.Lookup(app.Cloud)
	if err != nil {
		return err
	}
	f, err := secrets.Read(app.Ctx, t.SecretsPath)
	if err != nil {
		return err
	}
	if f.ClientID == "" || f.ClientSecret.Value.IsZero() {
		return &noClientSecret{t.SecretsPath}
	}
	// Listen first: with --port 0 the redirect URI must name the port the kernel picked.
	var ln *consent.Listener
	port := c.Port
	if !c.Paste {
		if ln, err = consent.Listen(c.Port); err != nil {
			return err
		}
		defer ln.Close()
		port = ln.Port()
	}
	flow, err := consent.New(cl, p.TenantID, f.ClientID, consent.RedirectURI(port), p.PartnerCenter.Consent.Account)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(app.Ctx, c.Timeout)
	defer cancel()

	var res *consent.Result
	exchange := func(ctx context.Context, code string) error {
		r, err := flow.Exchange(ctx, nil, f.ClientSecret.Value, code, time.Now())
		if err != nil {
			return err
		}
		if _, err := secrets.Update(ctx, t.SecretsPath, func(sf *secrets.File) error {
			sf.RefreshToken = secrets.RefreshToken{Value: r.RefreshToken, IssuedAt: r.IssuedAt, Account: r.Account}
			return nil
		}); err != nil {
			return fmt.Errorf("cannot store the refresh token: %w", err)
		}
		res = r
		return nil
	}
	if c.Paste {
		err = c.paste(ctx, app, flow, exchange)
	} else {
		err = c.listen(ctx, app, ln, flow, exchange)
	}
	if errors.Is(err, context.DeadlineExceeded) && app.Ctx.Err() == nil {
		return consentTimeout{c.Timeout}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(app.Stdout, "%s: refresh token for %s stored in %s (issued %s)\n", p.Name, res.Account, t.SecretsPath, res.IssuedAt.Format(time.RFC3339))
	// A new consent's token is the newest there is: the vault gets it whatever it held.
	if line, err := deliverRefreshToken(app.Ctx, app, t, res.RefreshToken, secrets.Value{}); err != nil {
		return fmt.Errorf("the refresh token is stored in %s but not in the vault: %w", t.SecretsPath, err)
	} else if line != "" {
		fmt.Fprintln(app.Stdout, line)
	}
	if res.Account != "" && p.PartnerCenter.Consent.Account != "" && !strings.EqualFold(res.Account, p.PartnerCenter.Consent.Account) {
		fmt.Fprintf(app.Stderr, "uicctl: warning: %s signed in, but partnerCenter.consent.account is %s\n", res.Account, p.PartnerCenter.Consent.Account)
	}
	return prove(app, cl, p, f, res)
}

// prove redeems the new refresh token at once for both audiences the nightly run needs, so
// a token that does not work is found now and not at night.
func prove(app *App, cl cloud.Cloud, p *spec.Partner, f *secrets.File, res *consent.Result) error {
	var failed []error
	for _, a := range []struct{ name, audience string }{
		{"Partner Center", cl.PartnerCenterAudience},
		{"Partner API (price sheet)", cl.PartnerAPIAudience},
	} {
		_, claims, err := partnercenter.RedeemRefreshToken(app.Ctx, nil, cl, p.TenantID, f.ClientID, f.ClientSecret.Value.Reveal(), res.RefreshToken.Reveal(), a.audience)
		if err != nil {
			fmt.Fprintf(app.Stdout, "  %s token: failed\n", a.name)
			failed = append(failed, fmt.Errorf("the new refresh token gives no %s token: %w", a.name, err))
			continue
		}
		mfa := "without MFA"
		if claims.MFA() {
			mfa = "with MFA"
		}
		fmt.Fprintf(app.Stdout, "  %s token: ok (%s, %s)\n", a.name, claims.UPN, mfa)
	}
	return errors.Join(failed...)
}

// listen waits for the redirect on the loopback listener.
func (c *consentCmd) listen(ctx context.Context, app *App, ln *consent.Listener, flow *consent.Flow, exchange func(context.Context, string) error) error {
	u := flow.AuthURL()
	opened := false
	if !c.NoBrowser {
		if err := openBrowser(u); err != nil {
			app.Log.Debug("cannot open the browser", "err", err)
		} else {
			opened = true
		}
	}
	if opened {
		fmt.Fprintf(app.Stderr, "uicctl: sign in with the partner account in the browser; if it did not open, visit:\n%s\n", u)
	} else {
		fmt.Fprintf(app.Stderr, "uicctl: open this URL in a browser on this machine and sign in with the partner account:\n%s\n", u)
	}
	fmt.Fprintf(app.Stderr, "uicctl: waiting for the sign-in on http://localhost:%d/ (up to %s)\n", ln.Port(), c.Timeout)
	return ln.Wait(ctx, flow, exchange)
}

// paste reads the URL the browser ended on from stdin: on a remote shell the browser's
// localhost is not this machine, so its redirect fails, but its address bar has the code.
func (c *consentCmd) paste(ctx context.Context, app *App, flow *consent.Flow, exchange func(context.Context, string) error) error {
	fmt.Fprintf(app.Stderr, "uicctl: open this URL in a browser and sign in with the partner account:\n%s\n", flow.AuthURL())
	fmt.Fprintf(app.Stderr, "uicctl: the browser then fails to load http://localhost:%d/...; paste that whole address here:\n", c.Port)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(app.Stdin)
		sc.Buffer(make([]byte, 64*1024), 64*1024)
		for sc.Scan() {
			if s := strings.TrimSpace(sc.Text()); s != "" {
				lines <- s
			}
		}
		close(lines)
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case s, ok := <-lines:
			if !ok {
				return errors.New("no address was pasted; nothing was stored")
			}
			code, err := flow.ParsePasted(s)
			if errors.Is(err, consent.ErrWrongState) {
				fmt.Fprintln(app.Stderr, "uicctl: that address is not from this sign-in (its state does not match); paste the one the browser ended on:")
				continue
			}
			if err != nil {
				var ce *consent.CallbackError
				if errors.As(err, &ce) {
					return err
				}
				fmt.Fprintf(app.Stderr, "uicctl: %s; try again:\n", oneLine(err.Error()))
				continue
			}
			return exchange(ctx, code)
		}
	}
}

// noClientSecret is a tenant whose secrets file has no app credential yet.
type noClientSecret struct{ path string }

func (e *noClientSecret) Error() string {
	return fmt.Sprintf("%s has no clientId or client secret to redeem the sign-in with", e.path)
}
func (e *noClientSecret) Hint() string {
	return "run uicctl apply for this tenant first: it creates the app and stores its client secret"
}

// openBrowser opens u with the platform's opener.
func openBrowser(u string) error {
	if testOnlyOpenBrowser != nil {
		return testOnlyOpenBrowser(u)
	}
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", u)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		cmd = exec.Command("xdg-open", u)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() // the opener may outlive the sign-in; reap it whenever it ends
	return nil
}
