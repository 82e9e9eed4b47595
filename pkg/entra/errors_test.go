package entra_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/useitcloud/uicctl/pkg/cloud"
	"github.com/useitcloud/uicctl/pkg/entra"
	"github.com/useitcloud/uicctl/pkg/sandbox"
	"github.com/useitcloud/uicctl/pkg/sandbox/graph"
)

// hinter is what cmd/uicctl prints a "hint:" line for.
type hinter interface{ Hint() string }

func hints(err error) []string {
	var out []string
	for e := err; e != nil; e = errors.Unwrap(e) {
		if h, ok := e.(hinter); ok {
			out = append(out, h.Hint())
		}
	}
	return out
}

// TestObservePermissionDenied: without any permission that lists groups, the 403 of the
// AdminAgents lookup names the operator permission that allows it.
func TestObservePermissionDenied(t *testing.T) {
	e := start(t, 1)
	_, operatorApp, _ := e.sb.Operator()
	graphSP := str(e.graph(e.tenant, "GET", "/servicePrincipals(appId='"+graph.GraphAppID+"')?$select=id,appRoles", nil), "id")
	roles := map[string]string{}
	for _, r := range e.graph(e.tenant, "GET", "/servicePrincipals/"+graphSP+"?$select=appRoles", nil)["appRoles"].([]any) {
		r := r.(map[string]any)
		roles[str(r, "id")] = str(r, "value")
	}
	opSP := str(e.graph(e.tenant, "GET", "/servicePrincipals(appId='"+operatorApp+"')?$select=id", nil), "id")
	for _, a := range e.graph(e.tenant, "GET", "/servicePrincipals/"+opSP+"/appRoleAssignments", nil)["value"].([]any) {
		a := a.(map[string]any)
		if v := roles[str(a, "appRoleId")]; v == "GroupMember.ReadWrite.All" || v == "Directory.Read.All" {
			e.graph(e.tenant, "DELETE", "/servicePrincipals/"+graphSP+"/appRoleAssignedTo/"+str(a, "id"), nil)
		}
	}

	_, err := e.client(entra.Options{}).Observe(context.Background(), e.tenant, entra.Query{UniqueName: testUniqueName, ResourceAppIDs: resources})
	var pe *entra.PermissionError
	if !errors.As(err, &pe) {
		t.Fatalf("want a PermissionError, got %T %v", err, err)
	}
	want := "tenant " + e.tenant + ": cannot find the AdminAgents group: the operator lacks the Microsoft Graph permission GroupMember.ReadWrite.All"
	if d := cmp.Diff(want, err.Error()); d != "" {
		t.Errorf("message: -want +got\n%s", d)
	}
	if h := hints(err); len(h) != 1 || !strings.Contains(h[0], "GroupMember.ReadWrite.All") || !strings.Contains(h[0], e.tenant) {
		t.Errorf("hints %q", h)
	}
}

// TestObserveThrottled is acceptance point 4's client side: 30% of Graph and sign-in
// requests answered 429 with Retry-After (or 503), and every observe still returns what
// an undisturbed one does.
func TestObserveThrottled(t *testing.T) {
	e := start(t, 1)
	c := e.configure(e.tenant)
	q := entra.Query{UniqueName: testUniqueName, KnownAppID: c.appID, ResourceAppIDs: resources}
	want, err := e.client(entra.Options{}).Observe(context.Background(), e.tenant, q)
	if err != nil {
		t.Fatal(err)
	}
	var since int
	e.requests(&since)
	for _, tc := range []struct {
		name   string
		faults sandbox.Faults
		status int
		runs   int
	}{
		{"429", sandbox.Faults{Rate429: 0.3, RetryAfter: 10 * time.Millisecond, Scope: []string{"login", "graph"}}, 429, 20},
		// 503s carry no Retry-After: each retry waits a second or more.
		{"503", sandbox.Faults{Rate5xx: 0.4, Scope: []string{"login", "graph"}}, 503, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.sb.SetFaults(tc.faults); err != nil {
				t.Fatal(err)
			}
			defer e.sb.SetFaults(sandbox.Faults{})
			for i := range tc.runs {
				got, err := e.client(entra.Options{}).Observe(context.Background(), e.tenant, q)
				if err != nil {
					t.Fatalf("observe %d: %v", i, err)
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Fatalf("observe %d differs: -want +got\n%s", i, d)
				}
			}
			failed := 0
			for _, le := range e.requests(&since) {
				if le.Status == tc.status {
					failed++
				}
			}
			if failed == 0 {
				t.Errorf("the sandbox answered no %d: the test proves nothing", tc.status)
			}
			t.Logf("%d requests answered %d and absorbed", failed, tc.status)
		})
	}
}

// TestObserveThrottledBeyondBudget: when every Graph request is throttled, the error says
// so after the retry budget, with a hint.
func TestObserveThrottledBeyondBudget(t *testing.T) {
	e := start(t, 1)
	if err := e.sb.SetFaults(sandbox.Faults{Rate429: 1, RetryAfter: 10 * time.Millisecond, Scope: []string{"graph"}}); err != nil {
		t.Fatal(err)
	}
	var since int
	e.requests(&since)
	_, err := e.client(entra.Options{MaxRetries: 2}).Observe(context.Background(), e.tenant, entra.Query{UniqueName: testUniqueName})
	var te *entra.ThrottledError
	if !errors.As(err, &te) {
		t.Fatalf("want a ThrottledError, got %T %v", err, err)
	}
	want := "tenant " + e.tenant + ": Microsoft Graph is throttling (429) beyond the retry budget (Retry-After: 0.01)"
	if d := cmp.Diff(want, err.Error()); d != "" {
		t.Errorf("message: -want +got\n%s", d)
	}
	if n := countGraph(e.requests(&since)); n != 3 {
		t.Errorf("%d Graph requests, want 3 (one and two retries)", n)
	}
	if len(hints(err)) != 1 {
		t.Errorf("hints %q", hints(err))
	}
}

// TestObserveSignInErrors: what the token endpoint refuses becomes a typed error with the
// AADSTS meaning, never the secret.
func TestObserveSignInErrors(t *testing.T) {
	e := start(t, 1)
	tid, cid, secret := e.sb.Operator()
	const wrong = "wr0ng~secret-value-that-must-not-leak"
	for _, tc := range []struct {
		name, reason string
		env          map[string]string
		tenant       string
		want         string
		code         int
	}{
		{name: "wrong secret", reason: "AADSTS7000215", tenant: e.tenant,
			env:  map[string]string{"AZURE_TENANT_ID": tid, "AZURE_CLIENT_ID": cid, "AZURE_CLIENT_SECRET": wrong},
			want: "tenant " + e.tenant + ": sign-in failed: AADSTS7000215: invalid client secret", code: 7000215},
		{name: "unknown app", reason: "AADSTS700016", tenant: e.tenant,
			env:  map[string]string{"AZURE_TENANT_ID": tid, "AZURE_CLIENT_ID": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", "AZURE_CLIENT_SECRET": secret},
			want: "tenant " + e.tenant + ": sign-in failed: AADSTS700016: the application is not found in the tenant", code: 700016},
		{name: "tenant not found", reason: "AADSTS90002 is its own error", tenant: "6f0e3c3a-1b2c-4d5e-8f90-123456789abc",
			env:  map[string]string{"AZURE_TENANT_ID": tid, "AZURE_CLIENT_ID": cid, "AZURE_CLIENT_SECRET": secret},
			want: "tenant 6f0e3c3a-1b2c-4d5e-8f90-123456789abc not found (AADSTS90002)", code: 90002},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := entra.NewCredentialFrom(e.sb.Cloud(), func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			c, err := entra.New(e.sb.Cloud(), cred, entra.Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Observe(context.Background(), tc.tenant, entra.Query{UniqueName: testUniqueName})
			if err == nil {
				t.Fatal("observe succeeded")
			}
			if d := cmp.Diff(tc.want, err.Error()); d != "" {
				t.Errorf("%s: -want +got\n%s", tc.reason, d)
			}
			var se *entra.SignInError
			if !errors.As(err, &se) || se.Code != tc.code {
				t.Errorf("%s: want a SignInError with code %d, got %T %v", tc.reason, tc.code, err, err)
			}
			if len(hints(err)) == 0 {
				t.Errorf("%s: no hint", tc.reason)
			}
			for _, h := range append(hints(err), err.Error()) {
				if strings.Contains(h, wrong) || strings.Contains(h, secret) {
					t.Errorf("%s: a secret leaks into %q", tc.reason, h)
				}
			}
		})
	}
}

// TestNoCredential: nothing configured and no Azure CLI is an error at construction, with
// the sources to configure in its hint.
func TestNoCredential(t *testing.T) {
	start(t, 1) // for the test seams
	_, err := entra.NewCredentialFrom(cloud.Public, func(string) string { return "" })
	var ne *entra.NoCredentialError
	if !errors.As(err, &ne) {
		t.Fatalf("want a NoCredentialError, got %T %v", err, err)
	}
	if h := hints(err); len(h) != 1 || !strings.Contains(h[0], "AZURE_CLIENT_SECRET") || !strings.Contains(h[0], "az login") {
		t.Errorf("hints %q", h)
	}
}
