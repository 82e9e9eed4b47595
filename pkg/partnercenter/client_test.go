package partnercenter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestClientPaging follows links.next (a "/v1/..." path resolved against the base without
// its "/v1") with the continuation token header, and retries a 429 after Retry-After.
func TestClientPaging(t *testing.T) {
	var throttled atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			return
		}
		switch {
		case r.URL.Path == "/pc/v1/invoices/unbilled/lineitems" && r.URL.Query().Get("seekOperation") == "":
			if !throttled.Swap(true) {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(429)
				return
			}
			fmt.Fprint(w, `{"totalCount":3,"items":[{},{}],"links":{"next":{"uri":"/v1/invoices/unbilled/lineitems?seekOperation=Next","headers":[{"key":"MS-ContinuationToken","value":"ct1"},{"key":"Authorization","value":"Bearer other"}]}}}`)
		case r.URL.Path == "/pc/v1/invoices/unbilled/lineitems" && r.Header.Get("MS-ContinuationToken") == "ct1":
			fmt.Fprint(w, `{"totalCount":3,"items":[{}],"links":{}}`)
		case r.URL.Path == "/pc/v1/customers":
			w.Header().Set("MS-RequestId", "req-1")
			w.Header().Set("MS-CorrelationId", r.Header.Get("MS-CorrelationId"))
			w.WriteHeader(403)
			fmt.Fprint(w, `{"code":600010,"description":"forbidden"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := &Client{HTTP: srv.Client(), Base: srv.URL + "/pc/v1", Token: "tok", CorrelationID: "corr-1"}
	n, err := c.UnbilledLineItems(context.Background(), "EUR")
	if err != nil || n != 3 {
		t.Fatalf("UnbilledLineItems = %d, %v; want 3 rows over two pages after one 429 (a next link cannot replace the token)", n, err)
	}
	_, _, err = c.Customers(context.Background(), 10)
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("Customers error %v is not an APIError", err)
	}
	want := &APIError{Status: 403, Code: "600010", Description: "forbidden", RequestID: "req-1", CorrelationID: "corr-1", Path: "/pc/v1/customers"}
	if diff := cmp.Diff(want, ae, cmp.AllowUnexported(APIError{})); diff != "" {
		t.Errorf("error body (-want +got):\n%s", diff)
	}
	if got := ae.Error(); got != "partner center answered 403 to /pc/v1/customers: 600010 forbidden (MS-RequestId req-1, MS-CorrelationId corr-1)" {
		t.Errorf("message %q", got)
	}
}

// TestNextURL resolves every form of links.next.uri Microsoft documents against the base of
// the global cloud and of the sandbox (a base with a path prefix), and refuses other hosts.
func TestNextURL(t *testing.T) {
	cases := map[string]struct {
		reason  string
		base    string
		uri     string
		want    string
		wantErr string
	}{
		"Versioned": {
			reason: "customers: /v1/customers?size=40 (get-a-list-of-customers)",
			base:   "https://api.partnercenter.microsoft.com/v1", uri: "/v1/customers?size=40&seekOperation=Next",
			want: "https://api.partnercenter.microsoft.com/v1/customers?size=40&seekOperation=Next",
		},
		"Unversioned": {
			reason: "unbilled line items: a path without /v1 (get-invoice-unbilled-consumption-lineitems)",
			base:   "https://api.partnercenter.microsoft.com/v1", uri: "/invoices/unbilled/lineitems?provider=onetime&invoicelineitemtype=usagelineitems&currencycode=usd&period=previous&size=2000&seekOperation=Next",
			want: "https://api.partnercenter.microsoft.com/v1/invoices/unbilled/lineitems?provider=onetime&invoicelineitemtype=usagelineitems&currencycode=usd&period=previous&size=2000&seekOperation=Next",
		},
		"Relative": {
			reason: "utilization: relative to the version, no leading slash (get-customer-utilization-records)",
			base:   "https://api.partnercenter.microsoft.com/v1", uri: "customers/c1/subscriptions/s1/utilizations/azure?seek_operation=Next",
			want: "https://api.partnercenter.microsoft.com/v1/customers/c1/subscriptions/s1/utilizations/azure?seek_operation=Next",
		},
		"AbsoluteSameHost": {
			reason: "an absolute URL on the Partner Center host is used as it is",
			base:   "https://api.partnercenter.microsoft.com/v1", uri: "https://API.partnercenter.microsoft.com/v1/customers?seekOperation=Next",
			want: "https://API.partnercenter.microsoft.com/v1/customers?seekOperation=Next",
		},
		"SandboxVersioned": {
			reason: "a base with a path prefix keeps it for /v1 links",
			base:   "https://127.0.0.1:4443/partnercenter/v1/", uri: "/v1/customers?seekOperation=Next",
			want: "https://127.0.0.1:4443/partnercenter/v1/customers?seekOperation=Next",
		},
		"SandboxUnversioned": {
			reason: "... and for unversioned paths",
			base:   "https://127.0.0.1:4443/partnercenter/v1", uri: "/invoices/unbilled/lineitems?seekOperation=Next",
			want: "https://127.0.0.1:4443/partnercenter/v1/invoices/unbilled/lineitems?seekOperation=Next",
		},
		"SandboxRelative": {
			reason: "... and for relative ones",
			base:   "https://127.0.0.1:4443/partnercenter/v1", uri: "customers/c1/subscriptions/s1/utilizations/azure?seek_operation=Next",
			want: "https://127.0.0.1:4443/partnercenter/v1/customers/c1/subscriptions/s1/utilizations/azure?seek_operation=Next",
		},
		"OtherHost": {
			reason: "the token must not go to another host",
			base:   "https://api.partnercenter.microsoft.com/v1", uri: "https://evil.example/v1/customers?seekOperation=Next",
			wantErr: `partner center gave a next link to another host ("evil.example", not "api.partnercenter.microsoft.com"): refused, the access token is for api.partnercenter.microsoft.com only`,
		},
		"OtherScheme": {
			reason: "nor over plain http",
			base:   "https://api.partnercenter.microsoft.com/v1", uri: "http://api.partnercenter.microsoft.com/v1/customers",
			wantErr: `partner center gave a next link to another host ("api.partnercenter.microsoft.com", not "api.partnercenter.microsoft.com"): refused, the access token is for api.partnercenter.microsoft.com only`,
		},
		"SchemeRelative": {
			reason: "a //host link names another host too",
			base:   "https://api.partnercenter.microsoft.com/v1", uri: "//evil.example/v1/customers",
			wantErr: `partner center gave a next link to another host ("evil.example", not "api.partnercenter.microsoft.com"): refused, the access token is for api.partnercenter.microsoft.com only`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := NextURL(tc.base, tc.uri)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if got != tc.want || gotErr != tc.wantErr {
				t.Errorf("%s\nNextURL(%q, %q) = %q, %q\nwant %q, %q", tc.reason, tc.base, tc.uri, got, gotErr, tc.want, tc.wantErr)
			}
		})
	}
}

// TestHeaders: every request carries a fresh MS-RequestId (kept by the retry of a 429, as
// the headers page asks), the client's one MS-CorrelationId and MS-Contract-Version: v1.
func TestHeaders(t *testing.T) {
	var mu sync.Mutex
	var seen []http.Header
	var throttled atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		if r.URL.Path == "/v1/customers" && !throttled.Swap(true) {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(429)
			return
		}
		fmt.Fprint(w, `{"totalCount":1,"items":[{"id":"c1"}],"links":{}}`)
	}))
	defer srv.Close()
	c := &Client{HTTP: srv.Client(), Base: srv.URL + "/v1", Token: "tok"}
	for range 2 {
		if _, _, err := c.Customers(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != 3 {
		t.Fatalf("%d requests, want 3 (a 429, its retry, a second call)", len(seen))
	}
	for i, h := range seen {
		if h.Get("MS-Contract-Version") != "v1" || h.Get("MS-CorrelationId") != c.CorrelationID || len(h.Get("MS-RequestId")) != 36 {
			t.Errorf("request %d headers %v", i, h)
		}
	}
	if c.CorrelationID == "" {
		t.Errorf("no correlation id was made")
	}
	if seen[0].Get("MS-RequestId") != seen[1].Get("MS-RequestId") || seen[1].Get("MS-RequestId") == seen[2].Get("MS-RequestId") {
		t.Errorf("request ids %q %q %q: want the retry to keep its id and the next call a new one",
			seen[0].Get("MS-RequestId"), seen[1].Get("MS-RequestId"), seen[2].Get("MS-RequestId"))
	}
}

// TestNotReady: Azure utilization's 204 No Content with Retry-After is waited for, within
// the deadline of ctx (the check's budget); a wait that would pass it fails at once.
func TestNotReady(t *testing.T) {
	cases := map[string]struct {
		reason     string
		retryAfter string
		notReady   int
		timeout    time.Duration
		wantN      int
		wantErr    string
	}{
		"Once": {
			reason: "one 204 with Retry-After: 0, then the data", retryAfter: "0", notReady: 1, timeout: time.Minute, wantN: 2,
		},
		"OverBudget": {
			reason: "Retry-After beyond the deadline fails without waiting", retryAfter: "120", notReady: 1, timeout: time.Second,
			wantErr: "partner center has no data ready for /v1/customers/c1/subscriptions/s1/utilizations/azure yet (204, Retry-After 30s) (MS-RequestId r, MS-CorrelationId corr); waiting longer would pass the check's time budget",
		},
		"Never": {
			reason: "a period that never gets ready gives up after maxNotReadyWaits", retryAfter: "0", notReady: 1000, timeout: time.Minute,
			wantErr: fmt.Sprintf("partner center has no data ready for /v1/customers/c1/subscriptions/s1/utilizations/azure yet (204, Retry-After 0s) after %d wait(s) (MS-RequestId r, MS-CorrelationId corr)", maxNotReadyWaits),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var asked atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("MS-RequestId", "r")
				w.Header().Set("MS-CorrelationId", "corr")
				if asked.Add(1) <= int64(tc.notReady) {
					w.Header().Set("Retry-After", tc.retryAfter)
					w.WriteHeader(http.StatusNoContent)
					return
				}
				fmt.Fprint(w, `{"totalCount":2,"items":[{},{}],"links":{}}`)
			}))
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			c := &Client{HTTP: srv.Client(), Base: srv.URL + "/v1", Token: "tok"}
			start := time.Now()
			n, err := c.AzureUtilization(ctx, "c1", "s1", "2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z")
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
				if h, ok := errors.AsType[*NotReadyError](err); !ok || h.Hint() == "" {
					t.Errorf("%s: the error has no NotReadyError with a hint: %v", tc.reason, err)
				}
			}
			if n != tc.wantN || gotErr != tc.wantErr {
				t.Errorf("%s\ngot %d, %q\nwant %d, %q", tc.reason, n, gotErr, tc.wantN, tc.wantErr)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("%s: took %s", tc.reason, time.Since(start))
			}
		})
	}
}
