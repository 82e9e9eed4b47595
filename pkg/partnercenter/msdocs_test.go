package partnercenter

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/useitcloud/uicctl/pkg/cloud"
)

// msdoc is what these tests read of a testdata/msdocs file: the documented answer.
type msdoc struct {
	Status  int             `json:"status"`
	Headers []string        `json:"headers"`
	Body    json.RawMessage `json:"body"`
}

func readMSDoc(t *testing.T, name string) msdoc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "msdocs", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var d msdoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

// serveMSDoc writes a corpus answer: its documented headers, status and body.
func serveMSDoc(w http.ResponseWriter, d msdoc, body []byte) {
	values := map[string]string{"Content-Type": "application/json", "Retry-After": "0"} // Retry-After 0: no wait in a test
	for _, h := range d.Headers {
		v, ok := values[h]
		if !ok {
			v = "0f8fad5b-d9cb-469f-a165-70867728950e"
		}
		w.Header().Set(h, v)
	}
	w.WriteHeader(d.Status)
	w.Write(body)
}

// lastPage is a documented page without its next link.
func lastPage(t *testing.T, body []byte) []byte {
	var p map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	delete(p["links"].(map[string]any), "next")
	b, _ := json.Marshal(p)
	return b
}

// TestMSDocsDecode: uicctl's Partner Center client reads Microsoft's documented answers:
// pages followed through their documented next links, the 204 waited for, the error body
// and the token endpoint's answers.
func TestMSDocsDecode(t *testing.T) {
	customers, subs := readMSDoc(t, "pc-customers"), readMSDoc(t, "pc-customer-subscriptions")
	unbilled, notReady, util := readMSDoc(t, "pc-unbilled-lineitems"), readMSDoc(t, "pc-utilization-not-ready"), readMSDoc(t, "pc-utilization")
	pcErr := readMSDoc(t, "pc-error")
	var utilAsked int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next := r.Header.Get("MS-ContinuationToken") != ""
		switch p := r.URL.Path; {
		case p == "/v1/customers" && r.URL.Query().Get("size") == "0":
			serveMSDoc(w, pcErr, pcErr.Body)
		case p == "/v1/customers":
			serveMSDoc(w, customers, customers.Body)
		case strings.HasSuffix(p, "/subscriptions"):
			serveMSDoc(w, subs, subs.Body)
		case p == "/v1/invoices/unbilled/lineitems" && next:
			serveMSDoc(w, unbilled, lastPage(t, unbilled.Body))
		case p == "/v1/invoices/unbilled/lineitems":
			serveMSDoc(w, unbilled, unbilled.Body)
		case strings.HasSuffix(p, "/utilizations/azure") && next:
			serveMSDoc(w, util, lastPage(t, util.Body))
		case strings.HasSuffix(p, "/utilizations/azure"):
			if utilAsked++; utilAsked == 1 {
				serveMSDoc(w, notReady, nil)
				return
			}
			serveMSDoc(w, util, util.Body)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := &Client{HTTP: srv.Client(), Base: srv.URL + "/v1", Token: "tok"}
	ctx := context.Background()
	type result struct {
		Customers, Total, Unbilled, Utilization int
		Customer, Subscription                  string
		Error                                   string
	}
	var got result
	var err error
	if got.Customers, got.Total, err = c.Customers(ctx, 2); err != nil {
		t.Fatal(err)
	}
	sub, err := c.LegacyAzureSubscription(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got.Customer, got.Subscription = sub.CustomerID, sub.ID
	if got.Unbilled, err = c.UnbilledLineItems(ctx, "EUR"); err != nil {
		t.Fatal(err)
	}
	if got.Utilization, err = c.AzureUtilization(ctx, got.Customer, got.Subscription, "2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z"); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Customers(ctx, 0)
	if ae, ok := errors.AsType[*APIError](err); ok {
		got.Error = ae.Code + " " + ae.Description
	}
	want := result{Customers: 1, Total: 2, Unbilled: 2, Utilization: 2, Customer: "b44bb1fb-0000-4000-8000-000000000001",
		Subscription: "42226ed6-0000-4000-8000-000000000003", Error: "400 The request is not valid."}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("what the client read from the documented answers (-want +got):\n%s", diff)
	}
}

// TestMSDocsDecodeToken: the token client reads the documented success and error answers.
func TestMSDocsDecodeToken(t *testing.T) {
	ok, refused := readMSDoc(t, "login-token"), readMSDoc(t, "login-token-error")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.PostForm.Get("client_secret") == "wrong" {
			serveMSDoc(w, refused, refused.Body)
			return
		}
		var body map[string]any
		json.Unmarshal(ok.Body, &body)
		body["access_token"], _ = jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"aud": "https://graph.microsoft.com"}).SignedString([]byte("k"))
		b, _ := json.Marshal(body)
		serveMSDoc(w, ok, b)
	}))
	defer srv.Close()
	c := cloud.Cloud{Login: srv.URL + "/"}
	if _, err := AppOnlyToken(context.Background(), srv.Client(), c, "t", "app", "right", "https://graph.microsoft.com"); err != nil {
		t.Errorf("the documented token answer: %v", err)
	}
	err := ClientCredentials(context.Background(), srv.Client(), c, "t", "app", "wrong", "https://graph.microsoft.com")
	if se, ok := errors.AsType[*SignInError](err); !ok || se.AADSTS != "7000215" || se.Code != "invalid_client" || se.Status != 401 {
		t.Errorf("the documented error answer: %#v", err)
	}
}
