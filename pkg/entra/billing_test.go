package entra_test

import (
	stdcmp "cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/useitcloud/uicctl/pkg/entra"
	"github.com/useitcloud/uicctl/pkg/sandbox"
	"github.com/useitcloud/uicctl/pkg/sandbox/graph"
)

const partnerBillingRole = "7c3e1994-38ff-4412-a99b-9369f6bb7706" // Graph PartnerBilling.Read.All (application)

// partnerApp is a partner's own app with a secret and a service principal, as apply leaves
// it, optionally granted Graph's PartnerBilling.Read.All application permission.
type partnerApp struct{ appID, secret string }

func (e *env) partnerApp(uniqueName string, billingRole bool) partnerApp {
	e.t.Helper()
	app := e.graph(e.tenant, "PATCH", "/applications(uniqueName='"+uniqueName+"')", map[string]any{
		"displayName": "Partner Center Web App", "signInAudience": "AzureADMultipleOrgs"}, "Prefer", "create-if-missing")
	pw := e.graph(e.tenant, "POST", "/applications/"+str(app, "id")+"/addPassword", map[string]any{
		"passwordCredential": map[string]any{"displayName": "uicctl"}})
	sp := str(e.graph(e.tenant, "POST", "/servicePrincipals", map[string]any{"appId": str(app, "appId")}), "id")
	if billingRole {
		graphSP := str(e.graph(e.tenant, "GET", "/servicePrincipals(appId='"+graph.GraphAppID+"')?$select=id", nil), "id")
		e.graph(e.tenant, "POST", "/servicePrincipals/"+graphSP+"/appRoleAssignedTo", map[string]any{
			"principalId": sp, "resourceId": graphSP, "appRoleId": partnerBillingRole})
	}
	return partnerApp{appID: str(app, "appId"), secret: str(pw, "secretText")}
}

// appToken is the app's client-credentials Graph token, the one verify uses.
func (e *env) appToken(a partnerApp) string {
	e.t.Helper()
	form := url.Values{"client_id": {a.appID}, "client_secret": {a.secret}, "grant_type": {"client_credentials"},
		"scope": {"https://graph.microsoft.com/.default"}}
	res, err := e.hc.PostForm(e.sb.URL()+"/"+e.tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		e.t.Fatalf("client credentials of %s: %d %v", a.appID, res.StatusCode, err)
	}
	return tok.AccessToken
}

// exportResult is what a test compares: the counts, and for an error its type, what it
// says in short, and its hint.
type exportResult struct {
	Rows, Blobs, Polls int
	Err, Detail, Hint  string
}

func resultOf(u entra.UsageExport, err error) exportResult {
	r := exportResult{Rows: u.Rows, Blobs: u.Blobs, Polls: u.Polls}
	if err == nil {
		return r
	}
	r.Err = fmt.Sprintf("%T", err)
	var (
		pe *entra.PermissionError
		fe *entra.ExportFailedError
		we *entra.ExportPendingError
		be *entra.BlobError
		te *entra.ThrottledError
	)
	switch {
	case errors.As(err, &pe):
		r.Detail = pe.Permission
	case errors.As(err, &fe):
		r.Detail = fe.Code + " " + fe.Message
	case errors.As(err, &we):
		r.Detail = fmt.Sprintf("%d poll(s), next in %s", we.Polls, we.Wait)
	case errors.As(err, &be):
		r.Detail = strings.TrimSpace(fmt.Sprintf("%d %s", be.Status, be.Code))
	case errors.As(err, &te):
		r.Detail = fmt.Sprint(te.Status)
	default:
		r.Detail = err.Error()
	}
	if h, ok := err.(interface{ Hint() string }); ok {
		r.Hint = h.Hint()
	}
	return r
}

// TestExportUnbilledUsage runs the partner billing export against the sandbox with the
// partner app's own app-only token, as verify does: the rows of the world, the polls with
// their Retry-After, and each failure with its type and hint.
func TestExportUnbilledUsage(t *testing.T) {
	var afterManifest atomic.Pointer[func()]
	e := startWith(t, sandbox.Options{Tenants: 1, Customers: 2, OnServed: func(r *http.Request, _ int) {
		if f := afterManifest.Load(); f != nil && strings.Contains(r.URL.Path, "/reports/partners/billing/manifests/") {
			(*f)()
		}
	}})
	billingApp, plainApp := e.partnerApp("uicctl-billing", true), e.partnerApp("uicctl-plain", false)
	tests := map[string]struct {
		reason     string
		day        int // the sandbox's day of the month
		app        partnerApp
		faults     sandbox.Faults
		maxRetries int
		timeout    time.Duration
		expireSAS  bool // move the clock past the SAS token's end once the manifest is served
		want       exportResult
		wantGets   map[string]int // GETs of the export's paths (operations, blob) in the log
	}{
		"rows of the world": {
			reason: "14 days (the 15th) x 3 Azure subscriptions (the 2 customers' Azure plans, the second's legacy one) x 2 meters, in one blob; the first poll finds it running",
			day:    15, app: billingApp,
			want:     exportResult{Rows: 84, Blobs: 1, Polls: 2},
			wantGets: map[string]int{"operations": 2, "blob": 1},
		},
		"no permission": {
			reason: "an app without PartnerBilling.Read.All gets Graph's 403, typed with the permission",
			day:    15, app: plainApp,
			want: exportResult{Err: "*entra.PermissionError", Detail: "PartnerBilling.Read.All",
				Hint: "grant the operator app the Microsoft Graph application permission PartnerBilling.Read.All (or a broader one) with admin consent in tenant " + e.tenant + "; a signed-in user also needs a directory role that allows it"},
			wantGets: map[string]int{},
		},
		"no data on the 1st": {
			reason: "the current period has no usage on its first day: the operation fails with Graph's documented error",
			day:    1, app: billingApp,
			want: exportResult{Polls: 2, Err: "*entra.ExportFailedError", Detail: "5000 No data available",
				Hint: "Graph has no usage to export for the current billing period yet (daily-rated usage takes about 24 hours to appear, and none exists on the first day of a period): run verify again later"},
			wantGets: map[string]int{"operations": 2},
		},
		"deadline before the next poll": {
			reason: "Graph asks to come back in 1 s and the deadline is nearer: no sleep into the deadline",
			day:    15, app: billingApp, timeout: 800 * time.Millisecond,
			want: exportResult{Polls: 1, Err: "*entra.ExportPendingError", Detail: "1 poll(s), next in 1s",
				Hint: "Graph is slow to export this partner's usage: run verify again later"},
			wantGets: map[string]int{"operations": 1},
		},
		"expired SAS": {
			reason: "the blob is read after the manifest's SAS token ended: storage's 403 AuthenticationFailed, not retried",
			day:    15, app: billingApp, expireSAS: true,
			want: exportResult{Blobs: 1, Polls: 2, Err: "*entra.BlobError", Detail: "403 AuthenticationFailed",
				Hint: "the manifest's SAS token was refused (it expires some time after the export ran): run verify again, which starts a new export with a new token"},
			wantGets: map[string]int{"operations": 2, "blob": 1},
		},
		"storage 5xx beyond retries": {
			reason: "every blob GET answers 503: tried 1 + 3 times, then a BlobError",
			day:    15, app: billingApp, faults: sandbox.Faults{Rate5xx: 1, Scope: []string{"blob"}},
			want: exportResult{Blobs: 1, Polls: 2, Err: "*entra.BlobError", Detail: "503 ServerBusy",
				Hint: "Azure Storage is throttling or failing: run verify again later"},
			wantGets: map[string]int{"operations": 2, "blob": 4},
		},
		"Graph 5xx beyond retries": {
			reason: "every Graph request answers 503: the retry budget (1 here) spent, a ThrottledError",
			day:    15, app: billingApp, faults: sandbox.Faults{Rate5xx: 1, Scope: []string{"graph"}}, maxRetries: 1,
			want: exportResult{Err: "*entra.ThrottledError", Detail: "503",
				Hint: "run again later or with a lower --parallelism; the tenants that succeeded need not be repeated"},
			wantGets: map[string]int{},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := e.sb.AdvanceClockTo(tc.day); err != nil {
				t.Fatal(err)
			}
			tok := e.appToken(tc.app) // after the clock moved: issued at the sandbox's time
			f := e.sb.Faults()
			f.Rate5xx, f.Scope = tc.faults.Rate5xx, tc.faults.Scope
			if err := e.sb.SetFaults(f); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				f := e.sb.Faults()
				f.Rate5xx, f.Scope = 0, nil
				e.sb.SetFaults(f)
				afterManifest.Store(nil)
			})
			if tc.expireSAS {
				expire := func() {
					f := e.sb.Faults()
					f.ClockOffset += 25 * time.Hour
					e.sb.SetFaults(f)
				}
				afterManifest.Store(&expire)
			}
			c, err := entra.NewWithToken(e.sb.Cloud(), tok, entra.Options{MaxRetries: tc.maxRetries})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), stdcmp.Or(tc.timeout, time.Minute))
			defer cancel()
			var since int
			e.requests(&since)
			u, err := c.ExportUnbilledUsage(ctx, e.tenant, "EUR", false)
			if err != nil && (strings.Contains(err.Error(), "sig=") || strings.Contains(err.Error(), tok)) {
				t.Errorf("%s: the error shows the SAS token or the Graph token: %v", tc.reason, err)
			}
			got := resultOf(u, err)
			if got.Err == "" && got.Rows != len(e.sb.UnbilledUsage(e.tenant, false, "EUR")) {
				t.Errorf("%s: %d rows, the world holds %d", tc.reason, got.Rows, len(e.sb.UnbilledUsage(e.tenant, false, "EUR")))
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("%s: -want +got\n%s", tc.reason, d)
			}
			gets, polls := map[string]int{}, []time.Time{}
			for _, le := range e.requests(&since) {
				switch {
				case le.Method == "GET" && strings.Contains(le.Path, "/reports/partners/billing/operations/"):
					gets["operations"]++
					polls = append(polls, le.Time)
				case le.Method == "GET" && strings.HasPrefix(le.Path, "/blob/"):
					gets["blob"]++
				}
			}
			if d := cmp.Diff(tc.wantGets, gets); d != "" {
				t.Errorf("%s: GETs in the request log, -want +got\n%s", tc.reason, d)
			}
			// The sandbox answers the first poll with Retry-After: 1.
			for i := 1; i < len(polls); i++ {
				if gap := polls[i].Sub(polls[i-1]); gap < time.Second {
					t.Errorf("%s: poll %d came %s after the one before, within its Retry-After of 1 s", tc.reason, i+1, gap)
				}
			}
		})
	}
}
