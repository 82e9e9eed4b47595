package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/useitcloud/uicctl/pkg/verify"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var day0 = time.Date(2026, 12, 4, 3, 17, 0, 0, time.UTC)

const days = 24 * time.Hour

// fleet is a run at now of three tenants: alpha passes, beta's refresh token was revoked,
// gamma's client secret is within renewBefore. Secrets end relative to day0; the refresh
// tokens redeemed were used at now.
func fleet(now time.Time) *verify.Report {
	exp := func(secretDays int, lastUse time.Time) verify.Expiry {
		return verify.Expiry{ClientSecretEnd: day0.Add(time.Duration(secretDays) * days), RenewBefore: 30 * days, RefreshTokenLastUse: lastUse, ConsentMaxAge: 60 * days}
	}
	ok := func(name string) verify.Check { return verify.Check{Name: name, Status: verify.Pass, Message: "ok"} }
	return verify.NewReport([]verify.Tenant{
		{Name: "alpha", Path: "tenants/alpha/partner.yaml", Expiry: exp(120, now),
			Checks: []verify.Check{ok(verify.CheckSpec), ok(verify.CheckClientSecret), ok(verify.CheckRefreshToken)}},
		{Name: "beta", Path: "tenants/beta/partner.yaml", Expiry: exp(150, now.Add(-20*days)),
			Checks: []verify.Check{ok(verify.CheckSpec), ok(verify.CheckClientSecret),
				{Name: verify.CheckRefreshToken, Status: verify.Fail, Message: "the refresh token gives no Partner Center token: AADSTS50173: the refresh token was revoked", Hint: "run uicctl consent for this tenant to get a new refresh token"},
				{Name: verify.CheckCustomers, Status: verify.Skip, Message: "not run: an earlier check failed"}}},
		{Name: "gamma", Path: "tenants/gamma/partner.yaml", Expiry: exp(10, now),
			Checks: []verify.Check{ok(verify.CheckSpec),
				{Name: verify.CheckClientSecret, Status: verify.Warn, Message: "the client secret expires in 10 days (2026-12-14), within renewBefore", Hint: "run uicctl apply: it rotates the secret within renewBefore"},
				ok(verify.CheckRefreshToken)}},
	})
}

func empty() *State { return &State{Version: StateVersion, Tenants: map[string]TenantState{}} }

func TestNextState(t *testing.T) {
	first := NextState(empty(), fleet(day0), day0)
	later := day0.Add(days)
	r := fleet(later)
	r.Tenants[1].Checks[2] = verify.Check{Name: verify.CheckRefreshToken, Status: verify.Pass, Message: "ok"}
	second := NextState(first, verify.NewReport(r.Tenants), later)

	tests := map[string]struct {
		reason string
		got    any
		want   any
	}{
		"a status that stays keeps its since": {
			reason: "gamma warned on both runs",
			got:    second.Tenants["gamma"].Since, want: day0,
		},
		"a check that stays keeps its since": {
			reason: "gamma's client secret warned on both runs",
			got:    second.Tenants["gamma"].Checks[verify.CheckClientSecret], want: CheckState{Status: verify.Warn, Since: day0},
		},
		"a status that changes starts again": {
			reason: "beta recovered on the second run",
			got:    second.Tenants["beta"].Since, want: later,
		},
		"deadlines of the run": {
			reason: "gamma's secret is within renewBefore; its refresh token was used now (idle in 90 days, maxAge in 60)",
			got:    second.Tenants["gamma"].Deadlines,
			want: map[string]Deadline{
				DeadlineClientSecret:  {Kind: DeadlineClientSecret, At: day0.Add(10 * days), WarnFrom: day0.Add(-20 * days), Horizon: HorizonWarn},
				DeadlineRefreshToken:  {Kind: DeadlineRefreshToken, At: later.Add(90 * days), WarnFrom: later.Add(60 * days), Horizon: HorizonOK},
				DeadlineConsentMaxAge: {Kind: DeadlineConsentMaxAge, At: later.Add(60 * days), WarnFrom: later.Add(60 * days), Horizon: HorizonOK},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}

	// The file: the same run gives the same bytes, it reads back, and it holds no message
	// (messages carry service text and change daily; the state holds statuses and dates).
	a, err := second.Encode()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NextState(first, verify.NewReport(r.Tenants), later).Encode()
	if !bytes.Equal(a, b) {
		t.Errorf("the same run encodes differently:\n%s\n%s", a, b)
	}
	if !IsState(a) || IsState([]byte(`{"format_version": 1, "tenants": []}`)) {
		t.Errorf("IsState tells a state file from a plan file wrongly")
	}
	p := filepath.Join(t.TempDir(), "state.json")
	os.WriteFile(p, a, 0o644)
	back, err := ReadState(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(second, back); diff != "" {
		t.Errorf("read back (-written +read):\n%s", diff)
	}
	if strings.Contains(string(a), "AADSTS") || strings.Contains(string(a), "hint") {
		t.Errorf("the state holds messages:\n%s", a)
	}
	goldenFile(t, "state.json", a)
}

func TestReadStateRefuses(t *testing.T) {
	dir := t.TempDir()
	tests := map[string]struct {
		reason, content, want string
	}{
		"other version": {reason: "a newer format is not misread", content: `{"version": 2, "tenants": {}}`, want: "version 2"},
		"not a state":   {reason: "a JUnit file, say, is refused", content: `<testsuites/>`, want: "is not a verify state file"},
		"unknown key":   {reason: "a partner.yaml-like JSON is refused", content: `{"version": 1, "name": "x"}`, want: "is not a verify state file"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			os.WriteFile(p, []byte(tc.content), 0o644)
			_, err := ReadState(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: got %v, want an error with %q", tc.reason, err, tc.want)
			}
		})
	}
	s, err := ReadState(filepath.Join(dir, "none.json"))
	if err != nil || len(s.Tenants) != 0 {
		t.Errorf("a missing state file is the first run's empty state: %v %v", s, err)
	}
}

func TestChanges(t *testing.T) {
	first := fleet(day0)
	firstState := NextState(empty(), first, day0)

	type summary struct {
		Tenant, Kind string
		From, To     verify.Status
		Crossed      []string
		Problems     []string
	}
	sum := func(cs []Change) []summary {
		var out []summary
		for _, c := range cs {
			s := summary{Tenant: c.Tenant, Kind: c.Kind(), From: c.From, To: c.To}
			for _, d := range c.Crossed {
				s.Crossed = append(s.Crossed, d.Kind+" "+string(d.Horizon))
			}
			for _, p := range c.Problems {
				s.Problems = append(s.Problems, p.Name+": "+p.Hint)
			}
			out = append(out, s)
		}
		return out
	}
	revokedAlpha := func(now time.Time) *verify.Report {
		r := fleet(now)
		r.Tenants[0].Checks[2] = verify.Check{Name: verify.CheckRefreshToken, Status: verify.Fail, Message: "revoked", Hint: "run uicctl consent for this tenant"}
		return verify.NewReport(r.Tenants)
	}
	tests := map[string]struct {
		reason string
		prev   *State
		run    *verify.Report
		now    time.Time
		want   []summary
	}{
		"first run": {
			reason: "without a state, the tenants that do not pass are new changes, worst first; alpha passes and is left out",
			prev:   empty(), run: first, now: day0,
			want: []summary{
				{Tenant: "beta", Kind: "failing", To: verify.Fail, Problems: []string{"refresh-token: run uicctl consent for this tenant to get a new refresh token"}},
				{Tenant: "gamma", Kind: "warning", To: verify.Warn, Crossed: []string{"client-secret warn"}, Problems: []string{"client-secret: run uicctl apply: it rotates the secret within renewBefore"}},
			},
		},
		"same again": {
			reason: "nothing changed: no change at all",
			prev:   firstState, run: fleet(day0.Add(days)), now: day0.Add(days),
		},
		"one more failing": {
			reason: "only the tenant that changed is listed, with its hint",
			prev:   firstState, run: revokedAlpha(day0.Add(days)), now: day0.Add(days),
			want: []summary{{Tenant: "alpha", Kind: "failing", From: verify.Pass, To: verify.Fail, Problems: []string{"refresh-token: run uicctl consent for this tenant"}}},
		},
		"recovered": {
			reason: "a tenant back to pass is a change",
			prev:   NextState(firstState, revokedAlpha(day0), day0), run: fleet(day0.Add(days)), now: day0.Add(days),
			want: []summary{{Tenant: "alpha", Kind: "recovered", From: verify.Fail, To: verify.Pass}},
		},
		"deadline crossed while the status stays": {
			reason: "91 days on, alpha's secret (120 days) reaches its renewBefore horizon and gamma's (10 days) has expired, while their statuses stay",
			prev:   firstState,
			run: func() *verify.Report {
				r := fleet(day0)
				for i := range r.Tenants {
					r.Tenants[i].Expiry.RefreshTokenLastUse = day0.Add(91 * days)
				}
				return r
			}(),
			now: day0.Add(91 * days),
			want: []summary{
				{Tenant: "gamma", Kind: "deadline", From: verify.Warn, To: verify.Warn, Crossed: []string{"client-secret expired"}, Problems: []string{"client-secret: run uicctl apply: it rotates the secret within renewBefore"}},
				{Tenant: "alpha", Kind: "deadline", From: verify.Pass, To: verify.Pass, Crossed: []string{"client-secret warn"}},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			next := NextState(tc.prev, tc.run, tc.now)
			got := sum(Changes(tc.prev, next, tc.run))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestTodo(t *testing.T) {
	r := fleet(day0)
	r.Tenants = append(r.Tenants, verify.Tenant{Name: "delta", Path: "tenants/delta/partner.yaml", Checks: []verify.Check{
		{Name: verify.CheckAppManagement, Status: verify.Fail, Message: "heuristic: refused", Hint: "register the app again in Partner Center: Account settings > App management"}}},
		verify.Tenant{Path: "tenants/broken/partner.yaml", Checks: []verify.Check{
			{Name: verify.CheckSpec, Status: verify.Fail, Message: "the spec has 1 error(s)", Hint: "run uicctl validate to see them"}}},
		verify.Tenant{Name: "epsilon", Path: "tenants/epsilon/partner.yaml", Checks: []verify.Check{
			{Name: verify.CheckRefreshToken, Status: verify.Warn, Message: "last used 70 days ago", Hint: "run verify with --write-back nightly, or uicctl consent"}}})
	var b bytes.Buffer
	if err := WriteTodoText(&b, NewTodo(verify.NewReport(r.Tenants))); err != nil {
		t.Fatal(err)
	}
	want := `
to do:
  fix the spec or secrets file (1): tenants/broken/partner.yaml
    uicctl validate tenants/broken
  consent again (2): beta, epsilon
    uicctl consent tenants/beta
    uicctl consent tenants/epsilon
  apply (1): gamma
    uicctl apply tenants/gamma
  register in App management (1): delta
    Partner Center: Account settings > App management, add each tenant's app (its client ID is in the secrets file)
  nothing to do: 1
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("to-do list (-want +got):\n%s", diff)
	}
}

// goldenFile compares got with testdata/NAME (rewritten with -update).
func goldenFile(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-golden +got):\n%s", p, diff)
	}
}
