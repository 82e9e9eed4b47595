package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/useitcloud/uicctl/internal/reportfile"
	"github.com/useitcloud/uicctl/internal/retry"
	fleetreport "github.com/useitcloud/uicctl/pkg/report"
	"github.com/useitcloud/uicctl/pkg/verify"
)

// verifyOutputs are verify's --state, --html and --notify, checked before anything runs.
type verifyOutputs struct {
	statePath string
	state     *fleetreport.State // the last run's; empty on the first
	htmlPath  string
	targets   []fleetreport.Target
}

// The report kinds of --html and --state: a file is replaced only by a report of its kind.
var (
	htmlReportKind = reportfile.Kind{Name: "HTML report", Example: "verify.html", Is: fleetreport.IsHTML}
	stateFileKind  = reportfile.Kind{Name: "verify state file", Example: "verify-state.json", Is: fleetreport.IsState}
)

// notifyTimeout bounds all notifications of a run, retries included.
const notifyTimeout = 2 * time.Minute

// notifyClient posts to webhooks under the one retry policy: a 429 or 503 is waited out
// (Retry-After honoured up to its cap, within --retry-budget). A post is not idempotent, so
// a broken connection is not retried: the warning and the kept state make the next run
// send it again.
var notifyClient = &http.Client{Transport: &retry.Transport{Service: "webhook", AttemptTimeout: 30 * time.Second}}

func (c *verifyCmd) outputs(app *App) (*verifyOutputs, error) {
	o := &verifyOutputs{statePath: c.State, htmlPath: c.HTML}
	for _, f := range []struct {
		path string
		kind reportfile.Kind
	}{{c.HTML, htmlReportKind}, {c.State, stateFileKind}} {
		if f.path == "" {
			continue
		}
		if err := reportfile.Check(f.path, f.kind); err != nil {
			return nil, err
		}
	}
	urls := c.Notify
	if len(urls) == 0 {
		if v := app.Getenv("UICCTL_NOTIFY_URL"); v != "" {
			urls = []string{v}
		}
	}
	format := c.NotifyFormat
	if format == "auto" {
		format = ""
	}
	for _, u := range urls {
		t, err := fleetreport.ParseTarget(u, format)
		if err != nil {
			return nil, usageError{err}
		}
		o.targets = append(o.targets, t)
	}
	if len(o.targets) > 0 && c.State == "" {
		return nil, usageError{fmt.Errorf("--notify needs --state FILE: a notification lists what changed since the state of the last run")}
	}
	if c.State != "" {
		s, err := fleetreport.ReadState(c.State)
		if err != nil {
			return nil, err
		}
		o.state = s
	}
	return o, nil
}

// write writes the HTML report, sends the notification of what changed and updates the
// state file. A failed notification is a warning, not a failure of verify; the state file
// is then left as it was, so the next run reports the same changes again.
func (o *verifyOutputs) write(app *App, r *verify.Report, now time.Time) error {
	var next *fleetreport.State
	if o.state != nil {
		next = fleetreport.NextState(o.state, r, now)
	}
	if o.htmlPath != "" {
		var b bytes.Buffer
		if err := fleetreport.WriteHTML(&b, r, next, now); err != nil {
			return err
		}
		if err := reportfile.Write(o.htmlPath, htmlReportKind, b.Bytes()); err != nil {
			return err
		}
	}
	if o.state == nil {
		return nil
	}
	sent := true
	if m := fleetreport.NewMessage(r, fleetreport.Changes(o.state, next, r)); m != nil && len(o.targets) > 0 {
		ctx, cancel := context.WithTimeout(app.tenantCtx("notification"), notifyTimeout)
		defer cancel()
		for _, t := range o.targets {
			body, err := fleetreport.Payload(t.Format, m)
			if err == nil {
				err = fleetreport.Send(ctx, notifyClient, t, body)
			}
			if err != nil {
				sent = false
				fmt.Fprintf(app.Stderr, "uicctl: warning: %s\n", oneLine(err.Error()))
			}
		}
	}
	if !sent {
		fmt.Fprintf(app.Stderr, "uicctl: warning: %s left as it was, so the next run notifies these changes again\n", o.statePath)
		return nil
	}
	b, err := next.Encode()
	if err != nil {
		return err
	}
	return reportfile.Write(o.statePath, stateFileKind, b)
}
