package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/rogpeppe/go-internal/testscript"
)

func init() { scriptCmds["pcheaders"] = cmdPCHeaders }

// cmdPCHeaders checks the sandbox request log: every Partner Center and Partner API request
// carries MS-RequestId and MS-CorrelationId (GUIDs) and MS-Contract-Version, and no
// MS-RequestId repeats (a retry would keep its id: run it without faults). It prints how
// many distinct correlation ids there were and one "METHOD PATH STATUS xN" line per kind of
// request. Usage: pcheaders FILE
func cmdPCHeaders(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: pcheaders FILE")
	}
	ts.Check(scriptSandbox(ts).FlushRequestLog())
	seen, corr, kinds := map[string]bool{}, map[string]bool{}, map[string]int{}
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(ts.ReadFile(args[0])), "\n") {
		var e struct {
			Method, Path             string
			Status                   int
			RequestID, CorrelationID string
			ContractVersion          bool
		}
		ts.Check(json.Unmarshal([]byte(l), &e))
		if !strings.HasPrefix(e.Path, "/partnercenter/") && !strings.HasPrefix(e.Path, "/partnerapi/") {
			continue
		}
		n++
		if _, err := uuid.Parse(e.RequestID); err != nil || !e.ContractVersion {
			ts.Fatalf("%s %s: MS-RequestId %q, MS-Contract-Version sent: %v", e.Method, e.Path, e.RequestID, e.ContractVersion)
		}
		if _, err := uuid.Parse(e.CorrelationID); err != nil {
			ts.Fatalf("%s %s: MS-CorrelationId %q", e.Method, e.Path, e.CorrelationID)
		}
		if seen[e.RequestID] {
			ts.Fatalf("%s %s: MS-RequestId %s was sent before", e.Method, e.Path, e.RequestID)
		}
		seen[e.RequestID], corr[e.CorrelationID] = true, true
		kinds[fmt.Sprintf("%s %s %d", e.Method, e.Path, e.Status)]++
	}
	fmt.Fprintf(ts.Stdout(), "%d requests with the three headers, %d correlation ids\n", n, len(corr))
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		fmt.Fprintf(ts.Stdout(), "%s x%d\n", k, kinds[k])
	}
}
