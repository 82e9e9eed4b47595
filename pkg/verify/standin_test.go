package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/useitcloud/uicctl/pkg/cloud"
	"github.com/useitcloud/uicctl/pkg/secrets"
	"github.com/useitcloud/uicctl/pkg/spec"
)

// standIn is a Partner Center that answers only in the forms Microsoft documents, not in
// the sandbox's: unbilled line items page with next links without /v1
// (https://learn.microsoft.com/en-us/partner-center/developer/get-invoice-unbilled-consumption-lineitems),
// Azure utilization with relative ones and seek_operation=Next
// (https://learn.microsoft.com/en-us/previous-versions/azure/cloud-solution-provider/integration/manage-billing/get-customer-utilization-records),
// after a first 204 with Retry-After
// (https://learn.microsoft.com/en-us/partner-center/developer/get-a-customer-s-utilization-record-for-azure).
// It refuses a request without MS-Contract-Version and records the ids of every request.
type standIn struct {
	srv       *httptest.Server
	nextHost  string // when set, the unbilled next link is an absolute URL on this host
	mu        sync.Mutex
	requests  []http.Header
	utilAsked bool
}

const standInPages = 3 // pages of two items each

func newStandIn(t *testing.T) *standIn {
	s := &standIn{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		aud, _, _ := strings.Cut(r.PostForm.Get("scope"), "/.default")
		tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"aud": aud, "amr": []string{"pwd", "mfa"}, "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte("k"))
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3599, "refresh_token": "rt-next"})
	})
	mux.HandleFunc("GET /v1/", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Header.Clone())
		s.mu.Unlock()
		w.Header().Set("MS-RequestId", r.Header.Get("MS-RequestId"))
		w.Header().Set("MS-CorrelationId", r.Header.Get("MS-CorrelationId"))
		if r.Header.Get("MS-Contract-Version") == "" {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"code":"400","description":"MS-Contract-Version is required.","data":[],"source":"PartnerFD"}`)
			return
		}
		page := 1
		if tok := r.Header.Get("MS-ContinuationToken"); tok != "" {
			fmt.Sscanf(tok, "page-%d", &page)
		}
		links := func(next string) string {
			if page >= standInPages {
				return `{}`
			}
			return fmt.Sprintf(`{"next":{"uri":%q,"method":"GET","headers":[{"key":"MS-ContinuationToken","value":"page-%d"}]}}`, next, page+1)
		}
		q := r.URL.Query()
		switch r.URL.Path {
		case "/v1/customers":
			fmt.Fprint(w, `{"totalCount":1,"items":[{"id":"c1","companyProfile":{"tenantId":"c1","domain":"c1.example","companyName":"C1"},"relationshipToPartner":"reseller","attributes":{"objectType":"Customer"}}],"links":{"self":{"uri":"/v1/customers?size=100","method":"GET","headers":[]}},"attributes":{"objectType":"Collection"}}`)
		case "/v1/customers/c1/subscriptions":
			fmt.Fprint(w, `{"totalCount":1,"items":[{"id":"s1","offerId":"MS-AZR-0145P","friendlyName":"Azure","attributes":{"objectType":"Subscription"}}],"links":{},"attributes":{"objectType":"Collection"}}`)
		case "/v1/invoices/unbilled/lineitems":
			if page > 1 && q.Get("seekOperation") != "Next" {
				w.WriteHeader(400)
				return
			}
			next := "/invoices/unbilled/lineitems?provider=onetime&invoicelineitemtype=usagelineitems&currencycode=EUR&period=current&size=2000&seekOperation=Next"
			if s.nextHost != "" {
				next = "https://" + s.nextHost + "/v1" + next
			}
			fmt.Fprintf(w, `{"totalCount":2,"items":[{"attributes":{"objectType":"DailyRatedUsageLineItem"}},{"attributes":{"objectType":"DailyRatedUsageLineItem"}}],"links":%s,"attributes":{"objectType":"Collection"}}`, links(next))
		case "/v1/customers/c1/subscriptions/s1/utilizations/azure":
			s.mu.Lock()
			first := !s.utilAsked
			s.utilAsked = true
			s.mu.Unlock()
			if first {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			if page > 1 && q.Get("seek_operation") != "Next" {
				w.WriteHeader(400)
				return
			}
			fmt.Fprintf(w, `{"totalCount":2,"items":[{"usageStartTime":"2026-11-01T00:00:00Z"},{"usageStartTime":"2026-11-02T00:00:00Z"}],"links":%s,"attributes":{"objectType":"Collection"}}`,
				links("customers/c1/subscriptions/s1/utilizations/azure?seek_operation=Next"))
		default:
			w.WriteHeader(404)
			fmt.Fprint(w, `{"code":"404","description":"not found","data":[],"source":"PartnerFD"}`)
		}
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// TestVerifyAgainstDocumentedForms runs verify's usage check against the stand-in: every
// page is read through each documented next-link form, utilization's 204 is waited for, and
// a next link to another host fails the check.
func TestVerifyAgainstDocumentedForms(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	cases := map[string]struct {
		reason   string
		usage    string
		nextHost string
		want     Check
	}{
		"Unbilled": {
			reason: "next links without /v1, followed over three pages",
			usage:  "unbilled",
			want:   Check{Name: CheckUsage, Status: Pass, Message: "unbilled usage (EUR, current period): 6 line items"},
		},
		"Utilization": {
			reason: "a 204 first, then relative next links over three pages",
			usage:  "azure-utilization",
			want:   Check{Name: CheckUsage, Status: Pass, Message: "azure utilization of one legacy Azure subscription (MS-AZR-0145P, last 7 days): 6 records"},
		},
		"OtherHost": {
			reason:   "a next link to another host is refused",
			usage:    "unbilled",
			nextHost: "evil.example",
			want: Check{Name: CheckUsage, Status: Fail,
				Message: `unbilled usage: partner center gave a next link to another host ("evil.example", not "127.0.0.1:PORT"): refused, the access token is for 127.0.0.1:PORT only`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := newStandIn(t)
			s.nextHost = tc.nextHost
			cl := cloud.Cloud{Login: s.srv.URL + "/", Graph: s.srv.URL + "/graph", PartnerCenter: s.srv.URL + "/v1", PartnerAPI: s.srv.URL + "/partnerapi",
				GraphAudience: "https://graph.microsoft.com", PartnerCenterAudience: "https://api.partnercenter.microsoft.com", PartnerAPIAudience: "https://api.partner.microsoft.com"}
			p := &spec.Partner{Name: "contoso", TenantID: "t1",
				Application: spec.Application{ClientSecret: spec.ClientSecret{RenewBefore: spec.DefaultRenewBefore}},
				Verify:      spec.Verify{Usage: tc.usage, Currency: "EUR"}}
			f := &secrets.File{ClientID: "app", ClientSecret: secrets.ClientSecret{Value: secrets.NewValue("s"), EndDateTime: now.Add(100 * 24 * time.Hour)},
				RefreshToken: secrets.RefreshToken{Value: secrets.NewValue("rt")}}
			got, _ := Run(context.Background(), Input{Tenant: spec.Tenant{Path: "p.yaml", Partner: p}, Secrets: f, Cloud: cl, Now: now, CorrelationID: "corr-1"})
			var usage Check
			for _, c := range got.Checks {
				if c.Name == CheckUsage {
					usage = c
				}
			}
			usage.Duration = 0
			usage.Message = strings.ReplaceAll(usage.Message, strings.TrimPrefix(s.srv.URL, "http://"), "127.0.0.1:PORT")
			if usage != tc.want {
				t.Errorf("%s\nusage check %+v\nwant        %+v\nall: %+v", tc.reason, usage, tc.want, got.Checks)
			}
			if got.CorrelationID != "corr-1" {
				t.Errorf("report correlation id %q", got.CorrelationID)
			}
			ids := map[string]bool{}
			for i, h := range s.requests {
				if h.Get("MS-Contract-Version") != "v1" || h.Get("MS-CorrelationId") != "corr-1" || ids[h.Get("MS-RequestId")] || len(h.Get("MS-RequestId")) != 36 {
					t.Errorf("request %d: MS-Contract-Version %q MS-CorrelationId %q MS-RequestId %q (fresh GUID wanted)", i,
						h.Get("MS-Contract-Version"), h.Get("MS-CorrelationId"), h.Get("MS-RequestId"))
				}
				ids[h.Get("MS-RequestId")] = true
			}
		})
	}
}
