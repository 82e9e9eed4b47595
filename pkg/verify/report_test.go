package verify

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	junit "github.com/joshdk/go-junit"
)

// TestJUnitReadByLibrary reads WriteJUnit's output with go-junit, a JUnit XML reader written
// for CI report tooling (not ours), so a tag, an attribute or an escape that a CI system
// would misread shows here.
func TestJUnitReadByLibrary(t *testing.T) {
	const markup = `revoked <&> "quoted" 'single'`
	tests := map[string]struct {
		reason string
		check  Check
		want   junit.Test // Name, Classname and Properties are filled in below
	}{
		"pass": {
			reason: "a pass is a passed case with its message in system-out and its time in seconds",
			check:  Check{Status: Pass, Message: "3 customers (first page)", Duration: 1500 * time.Millisecond},
			want:   junit.Test{Status: junit.StatusPassed, Duration: 1500 * time.Millisecond, SystemOut: "3 customers (first page)"},
		},
		"pass, sub-millisecond time": {
			reason: "times are written to the millisecond",
			check:  Check{Status: Pass, Message: "ok", Duration: 1234567 * time.Nanosecond},
			want:   junit.Test{Status: junit.StatusPassed, Duration: time.Millisecond, SystemOut: "ok"},
		},
		"fail <markup> & hint": {
			reason: "a failure keeps its message in the attribute and message plus hint in the body, markup and quotes escaped",
			check:  Check{Status: Fail, Message: markup, Hint: `run uicctl consent "tenants/a&b"`, Duration: 250 * time.Millisecond},
			want: junit.Test{Status: junit.StatusFailed, Duration: 250 * time.Millisecond, Message: markup,
				Error: junit.Error{Message: markup, Body: markup + "\nhint: run uicctl consent \"tenants/a&b\""}},
		},
		"fail, CDATA and entity look-alikes": {
			reason: "text that looks like CDATA or an entity is escaped, not interpreted (go-junit decodes CDATA and entities itself)",
			check:  Check{Status: Fail, Message: "got ]]> and <![CDATA[x]]> and &amp; and &#65;"},
			want: junit.Test{Status: junit.StatusFailed, Message: "got ]]> and <![CDATA[x]]> and &amp; and &#65;",
				Error: junit.Error{Message: "got ]]> and <![CDATA[x]]> and &amp; and &#65;", Body: "got ]]> and <![CDATA[x]]> and &amp; and &#65;"}},
		},
		"fail, line breaks and tabs": {
			reason: "line breaks and tabs survive in the message attribute (as character references) and in the body",
			check:  Check{Status: Fail, Message: "Partner Center said:\n\tstatus 503\r\nretry later", Hint: "run verify again later"},
			want: junit.Test{Status: junit.StatusFailed, Message: "Partner Center said:\n\tstatus 503\r\nretry later",
				Error: junit.Error{Message: "Partner Center said:\n\tstatus 503\r\nretry later", Body: "Partner Center said:\n\tstatus 503\r\nretry later\nhint: run verify again later"}},
		},
		"skip": {
			reason: "a skip is a skipped case with its message",
			check:  Check{Status: Skip, Message: "not run: an earlier check failed"},
			want:   junit.Test{Status: junit.StatusSkipped, Message: "not run: an earlier check failed", SystemOut: "not run: an earlier check failed"},
		},
		"skip with hint": {
			reason: "a skip's hint (no-drift without operator credentials) reaches the reader through system-out",
			check:  Check{Status: Skip, Message: "no operator credentials to plan with", Hint: "set AZURE_TENANT_ID & AZURE_CLIENT_ID"},
			want: junit.Test{Status: junit.StatusSkipped, Message: "no operator credentials to plan with",
				SystemOut: "no operator credentials to plan with\nhint: set AZURE_TENANT_ID & AZURE_CLIENT_ID"},
		},
		"warning": {
			reason: "a warning passes with warning:, its message and hint in system-out",
			check:  Check{Status: Warn, Message: "the client secret expires in 10 days (2026-12-06) <soon>", Hint: "run uicctl apply", Duration: 2 * time.Second},
			want: junit.Test{Status: junit.StatusPassed, Duration: 2 * time.Second,
				SystemOut: "warning: the client secret expires in 10 days (2026-12-06) <soon>\nhint: run uicctl apply"},
		},
		"non-ASCII": {
			reason: "UTF-8 text is kept as it is",
			check:  Check{Status: Fail, Message: "Überprüfung — 検証 ✗"},
			want: junit.Test{Status: junit.StatusFailed, Message: "Überprüfung — 検証 ✗",
				Error: junit.Error{Message: "Überprüfung — 検証 ✗", Body: "Überprüfung — 検証 ✗"}},
		},
		"control characters": {
			reason: "XML 1.0 cannot carry ESC (a coloured error body): it becomes U+FFFD and the file stays well-formed",
			check:  Check{Status: Fail, Message: "\x1b[31mred\x1b[0m"},
			want: junit.Test{Status: junit.StatusFailed, Message: "\uFFFD[31mred\uFFFD[0m",
				Error: junit.Error{Message: "\uFFFD[31mred\uFFFD[0m", Body: "\uFFFD[31mred\uFFFD[0m"}},
		},
	}
	names := slices.Sorted(maps.Keys(tests))
	contoso := Tenant{Name: "contoso", Path: "tenants/contoso/partner.yaml"}
	for _, n := range names {
		c := tests[n].check
		c.Name = n
		contoso.Checks = append(contoso.Checks, c)
	}
	fabrikam := Tenant{Name: "fabrikam", Path: "tenants/fabrikam/partner.yaml", Checks: []Check{
		{Name: CheckSpec, Status: Pass, Message: "ok", Duration: 10 * time.Millisecond},
		{Name: CheckClientSecret, Status: Fail, Message: "no client secret in the secrets file", Hint: "run uicctl apply"},
		{Name: CheckClientCredentials, Status: Skip, Message: "not run: an earlier check failed"},
	}}

	var b bytes.Buffer
	if err := WriteJUnit(&b, NewReport([]Tenant{contoso, fabrikam})); err != nil {
		t.Fatal(err)
	}
	suites, err := junit.Ingest(b.Bytes())
	if err != nil {
		t.Fatalf("go-junit cannot read the report: %v\n%s", err, b.String())
	}

	// A suite per tenant, in report order, whose counting attributes agree with its cases.
	type suiteSummary struct {
		Name   string
		Attrs  map[string]string
		Totals junit.Totals
	}
	var got []suiteSummary
	for _, s := range suites {
		got = append(got, suiteSummary{s.Name, s.Properties, s.Totals})
	}
	want := []suiteSummary{
		{"contoso",
			map[string]string{"name": "contoso", "tests": "10", "failures": "5", "skipped": "2", "errors": "0", "time": "3.751"},
			junit.Totals{Tests: 10, Passed: 3, Skipped: 2, Failed: 5, Duration: 3751 * time.Millisecond}},
		{"fabrikam",
			map[string]string{"name": "fabrikam", "tests": "3", "failures": "1", "skipped": "1", "errors": "0", "time": "0.010"},
			junit.Totals{Tests: 3, Passed: 1, Skipped: 1, Failed: 1, Duration: 10 * time.Millisecond}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("suites (-want +got):\n%s\n%s", diff, b.String())
	}

	cases := suites[0].Tests
	for i, n := range names {
		t.Run(n, func(t *testing.T) {
			tc := tests[n]
			w := tc.want
			w.Name, w.Classname = n, "contoso"
			w.Properties = map[string]string{"name": n, "classname": "contoso", "time": seconds(tc.check.Duration)}
			if diff := cmp.Diff(w, cases[i]); diff != "" {
				t.Errorf("%s\n(-want +got):\n%s", tc.reason, diff)
			}
		})
	}
	if strings.Contains(b.String(), "\x1b") {
		t.Errorf("the report carries a raw ESC")
	}
}
