package partnercenter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

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
			fmt.Fprint(w, `{"totalCount":3,"items":[{},{}],"links":{"next":{"uri":"/v1/invoices/unbilled/lineitems?seekOperation=Next","headers":[{"key":"MS-ContinuationToken","value":"ct1"}]}}}`)
		case r.URL.Path == "/pc/v1/invoices/unbilled/lineitems" && r.Header.Get("MS-ContinuationToken") == "ct1":
			fmt.Fprint(w, `{"totalCount":3,"items":[{}],"links":{}}`)
		case r.URL.Path == "/pc/v1/customers":
			w.Header().Set("MS-RequestId", "req-1")
			w.WriteHeader(403)
			fmt.Fprint(w, `{"code":600010,"description":"forbidden"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := &Client{HTTP: srv.Client(), Base: srv.URL + "/pc/v1", Token: "tok"}
	n, err := c.UnbilledLineItems(context.Background(), "EUR")
	if err != nil || n != 3 {
		t.Fatalf("UnbilledLineItems = %d, %v; want 3 rows over two pages after one 429", n, err)
	}
	_, _, err = c.Customers(context.Background(), 10)
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("Customers error %v is not an APIError", err)
	}
	want := &APIError{Status: 403, Code: "600010", Description: "forbidden", RequestID: "req-1", Path: "/pc/v1/customers"}
	if diff := cmp.Diff(want, ae, cmp.AllowUnexported(APIError{})); diff != "" {
		t.Errorf("error body (-want +got):\n%s", diff)
	}
	if got := ae.Error(); got != "partner center answered 403 to /pc/v1/customers: 600010 forbidden (MS-RequestId req-1)" {
		t.Errorf("message %q", got)
	}
}
