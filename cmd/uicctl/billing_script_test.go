package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["sbclock"] = cmdSBClock
	scriptCmds["worldusage"] = cmdWorldUsage
	scriptCmds["exportlog"] = cmdExportLog
}

// cmdSBClock moves the running sandbox's clock forward to noon UTC of the next DAY of a
// month, so that usage of the current billing period does not depend on today's date.
// Only forward: what was issued before stays valid. Usage: sbclock DAY
func cmdSBClock(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sbclock DAY")
	}
	day, err := strconv.Atoi(args[0])
	ts.Check(err)
	at, err := scriptSandbox(ts).AdvanceClockTo(day)
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "sandbox clock at %s\n", at.Format(time.RFC3339))
}

// cmdWorldUsage sets VAR to the number of unbilled usage rows of the current period (with
// -last, the previous one) the sandbox world holds for a partner tenant (what both usage
// APIs serve).
// Usage: worldusage [-last] TENANT CURRENCY VAR
func cmdWorldUsage(ts *testscript.TestScript, neg bool, args []string) {
	last := len(args) > 0 && args[0] == "-last"
	if last {
		args = args[1:]
	}
	if neg || len(args) != 3 {
		ts.Fatalf("usage: worldusage [-last] TENANT CURRENCY VAR")
	}
	n := len(scriptSandbox(ts).UnbilledUsage(args[0], last, args[1]))
	if n == 0 {
		ts.Fatalf("the world holds no unbilled usage for %s (is the sandbox clock on the 1st?)", args[0])
	}
	ts.Setenv(args[2], strconv.Itoa(n))
}

// cmdExportLog prints the partner billing export's requests since "requests mark FILE", one
// per line: "export STATUS", "poll N STATUS after Ks" (whole seconds since the poll before:
// the wait the client chose), "manifest STATUS", "blob STATUS". Usage: exportlog FILE
func cmdExportLog(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: exportlog FILE")
	}
	ts.Check(scriptSandbox(ts).FlushRequestLog())
	lines := strings.Split(strings.TrimSpace(ts.ReadFile(args[0])), "\n")
	from, _ := strconv.Atoi(ts.Getenv("REQUESTS_MARK"))
	var prev time.Time
	polls := 0
	for _, l := range lines[min(from, len(lines)):] {
		var e struct {
			Time         time.Time
			Method, Path string
			Status       int
		}
		ts.Check(json.Unmarshal([]byte(l), &e))
		switch {
		case strings.Contains(e.Path, "/reports/partners/billing/usage/") && e.Method == "POST":
			fmt.Fprintf(ts.Stdout(), "export %d\n", e.Status)
		case strings.Contains(e.Path, "/reports/partners/billing/operations/"):
			polls++
			fmt.Fprintf(ts.Stdout(), "poll %d %d", polls, e.Status)
			if polls > 1 {
				fmt.Fprintf(ts.Stdout(), " after %ds", int(e.Time.Sub(prev)/time.Second))
			}
			fmt.Fprintln(ts.Stdout())
			prev = e.Time
		case strings.Contains(e.Path, "/reports/partners/billing/manifests/"):
			fmt.Fprintf(ts.Stdout(), "manifest %d\n", e.Status)
		case strings.HasPrefix(e.Path, "/blob/"):
			fmt.Fprintf(ts.Stdout(), "blob %d\n", e.Status)
		}
	}
}
