package sandbox

import (
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/useitcloud/uicctl/pkg/partnercenter"
)

func keysOf(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

// pcToken gets an app-only Partner Center token through the v1 endpoint, as the Partner
// Center docs do.
func (e *env) pcToken(t *testing.T, tenant, clientID, secret string) string {
	t.Helper()
	r := e.postForm(t, "/"+tenant+"/oauth2/token", url.Values{"resource": {"https://api.partnercenter.microsoft.com"},
		"client_id": {clientID}, "client_secret": {secret}, "grant_type": {"client_credentials"}})
	if r.status != 200 {
		t.Fatalf("v1 client_credentials: %d %s", r.status, r.body)
	}
	return r.json(t)["access_token"].(string)
}

func (e *env) pc(t *testing.T, token, path string, hdr map[string]string) response {
	t.Helper()
	h := map[string]string{"Authorization": "Bearer " + token, "Accept": "application/json"}
	for k, v := range hdr {
		h[k] = v
	}
	return e.do(t, "GET", "/partnercenter/v1"+path, h, nil)
}

// pcAll reads every page of a Partner Center collection, resolving each links.next.uri as
// uicctl does and sending its headers; it returns the items and the next links it followed.
func (e *env) pcAll(t *testing.T, token, path string) (items []any, nexts []string) {
	t.Helper()
	base := e.sb.URL() + "/partnercenter/v1"
	r := e.pc(t, token, path, nil)
	for range 1000 {
		if r.status != 200 {
			t.Fatalf("GET %s: %d %s", path, r.status, r.body)
		}
		page := r.json(t)
		items = append(items, page["items"].([]any)...)
		next, ok := page["links"].(map[string]any)["next"].(map[string]any)
		if !ok {
			return items, nexts
		}
		uri := next["uri"].(string)
		nexts = append(nexts, uri)
		u, err := partnercenter.NextURL(base, uri)
		if err != nil {
			t.Fatal(err)
		}
		h := map[string]string{}
		for _, kv := range next["headers"].([]any) {
			h[kv.(map[string]any)["key"].(string)] = kv.(map[string]any)["value"].(string)
		}
		path = strings.TrimPrefix(u, base)
		r = e.pc(t, token, path, h)
	}
	t.Fatalf("paging of %s did not end", path)
	return nil, nil
}

func TestPartnerCenterCustomersPaging(t *testing.T) {
	e := start(t, Options{Tenants: 1, Customers: 5})
	ten := e.sb.World().Tenants[0]
	_, cid, secret := e.sb.Operator()
	tok := e.pcToken(t, ten.TenantID, cid, secret)

	r := e.pc(t, tok, "/customers?size=2", map[string]string{"MS-RequestId": "req-1", "MS-CorrelationId": "corr-1"})
	if r.status != 200 {
		t.Fatalf("customers: %d %s", r.status, r.body)
	}
	if r.header.Get("MS-RequestId") != "req-1" || r.header.Get("MS-CorrelationId") != "corr-1" {
		t.Errorf("IDs not echoed: %v", r.header)
	}
	page := r.json(t)
	if diff := cmp.Diff([]string{"attributes", "continuationToken", "items", "links", "totalCount"}, keysOf(page)); diff != "" {
		t.Errorf("envelope keys: -want, +got:\n%s", diff)
	}
	item := page["items"].([]any)[0].(map[string]any)
	if diff := cmp.Diff([]string{"attributes", "companyProfile", "id", "relationshipToPartner"}, keysOf(item)); diff != "" {
		t.Errorf("customer keys: -want, +got:\n%s", diff)
	}
	var ids []string
	for pages := 0; ; pages++ {
		for _, it := range page["items"].([]any) {
			ids = append(ids, it.(map[string]any)["id"].(string))
		}
		next, ok := page["links"].(map[string]any)["next"].(map[string]any)
		if !ok {
			break
		}
		uri := next["uri"].(string)
		if !strings.HasPrefix(uri, "/v1/customers?") || !strings.HasSuffix(uri, "seekOperation=Next") {
			t.Fatalf("next uri %q", uri)
		}
		h := next["headers"].([]any)[0].(map[string]any)
		r = e.pc(t, tok, strings.TrimPrefix(uri, "/v1"), map[string]string{h["key"].(string): h["value"].(string)})
		if r.status != 200 || pages > 5 {
			t.Fatalf("next page: %d %s", r.status, r.body)
		}
		page = r.json(t)
	}
	var want []string
	for _, c := range ten.Customers {
		want = append(want, c.ID)
	}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("customers over all pages: -want, +got:\n%s", diff)
	}
	if r.header.Get("MS-RequestId") == "" {
		t.Errorf("MS-RequestId not generated when absent")
	}

	for _, size := range []string{"0", "501", "x"} {
		r := e.pc(t, tok, "/customers?size="+size, nil)
		if r.status != 400 {
			t.Errorf("size=%s: %d", size, r.status)
		}
		if diff := cmp.Diff([]string{"code", "data", "description", "source"}, keysOf(r.json(t))); diff != "" {
			t.Errorf("error keys: -want, +got:\n%s", diff)
		}
	}
}

func TestPartnerCenterUsage(t *testing.T) {
	e := start(t, Options{Tenants: 1, Customers: 2})
	ten := e.sb.World().Tenants[0]
	_, cid, secret := e.sb.Operator()
	tok := e.pcToken(t, ten.TenantID, cid, secret)
	// The second customer has an Azure plan, a legacy Azure subscription and Microsoft 365.
	c := ten.Customers[1]

	subs := e.pc(t, tok, "/customers/"+c.ID+"/subscriptions", nil)
	if subs.status != 200 || len(subs.json(t)["items"].([]any)) != len(c.Subscriptions) {
		t.Fatalf("subscriptions: %d %s", subs.status, subs.body)
	}
	end := time.Now().UTC().Truncate(24 * time.Hour)
	q := url.Values{"start_time": {end.AddDate(0, 0, -3).Format(time.RFC3339)}, "end_time": {end.Format(time.RFC3339)}, "size": {"4"}}
	upath := "/customers/" + c.ID + "/subscriptions/" + c.Subscriptions[1].ID + "/utilizations/azure?" + q.Encode()
	if u := e.pc(t, tok, upath, nil); u.status != 204 || u.header.Get("Retry-After") != "1" || len(u.body) != 0 {
		t.Errorf("first utilization request of a period: %d Retry-After %q %s, want 204 Retry-After 1 and no body (not ready yet)", u.status, u.header.Get("Retry-After"), u.body)
	}
	u := e.pc(t, tok, upath, nil)
	if u.status != 200 {
		t.Fatalf("utilization: %d %s", u.status, u.body)
	}
	up := u.json(t)
	rec := up["items"].([]any)[0].(map[string]any)
	if diff := cmp.Diff([]string{"attributes", "infoFields", "instanceData", "quantity", "resource", "unit", "usageEndTime", "usageStartTime"}, keysOf(rec)); diff != "" {
		t.Errorf("utilization record keys: -want, +got:\n%s", diff)
	}
	next := up["links"].(map[string]any)["next"].(map[string]any)
	if want := "customers/" + c.ID + "/subscriptions/" + c.Subscriptions[1].ID + "/utilizations/azure?seek_operation=Next"; next["uri"] != want {
		t.Errorf("utilization next link %v, want the documented relative form %s", next["uri"], want)
	}
	all, _ := e.pcAll(t, tok, upath)
	if len(all) != 3*len(meters) {
		t.Errorf("utilization over all pages: %d records, want %d (3 days, %d meters)", len(all), 3*len(meters), len(meters))
	}
	for _, i := range []int{0, 2} {
		if r := e.pc(t, tok, "/customers/"+c.ID+"/subscriptions/"+c.Subscriptions[i].ID+"/utilizations/azure?"+q.Encode(), nil); r.status != 400 {
			t.Errorf("utilization of %s (%s), which the API does not support: %d", c.Subscriptions[i].OfferName, c.Subscriptions[i].OfferID, r.status)
		}
	}

	items, nexts := e.pcAll(t, tok, "/invoices/unbilled/lineitems?provider=onetime&invoicelineitemtype=usagelineitems&currencycode=EUR&period=previous&size=2000")
	if len(items) != len(e.sb.UnbilledUsage(ten.TenantID, true, "EUR")) || len(nexts) == 0 {
		t.Fatalf("unbilled line items of the previous month: %d over %d next links", len(items), len(nexts))
	}
	if !strings.HasPrefix(nexts[0], "/invoices/unbilled/lineitems?") || !strings.HasSuffix(nexts[0], "&seekOperation=Next") {
		t.Errorf("unbilled next link %s, want the documented form without /v1", nexts[0])
	}
	it := items[0].(map[string]any)
	if it["attributes"].(map[string]any)["objectType"] != "DailyRatedUsageLineItem" || it["billingCurrency"] != "EUR" || it["partnerId"] != ten.TenantID {
		t.Errorf("line item: %v", it)
	}
	if r := e.pc(t, tok, "/customers/00000000-0000-0000-0000-000000000000", nil); r.status != 404 {
		t.Errorf("unknown customer: %d", r.status)
	}
}

// TestPartnerCenterAuth covers who may call: MFA for App+User (900421), App management
// registration for app-only, audience, and the Partner API being App+User only.
func TestPartnerCenterAuth(t *testing.T) {
	e := start(t, Options{Tenants: 1})
	ten := e.sb.World().Tenants[0]
	acct := ten.Accounts[0]
	a := e.setupSAM(t, ten.TenantID, map[string]string{pcAppID: "user_impersonation", partnerAPIApp: "user_impersonation"})
	withMFA := consent(t, e, a, acct)["access_token"].(string)

	e.sb.SetMFA(acct.UPN, false)
	loc := location(t, e.signIn(t, ten.TenantID, authQuery(a, "v"), acct.UPN, acct.Password, ""))
	r := e.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", url.Values{"client_id": {a.appID}, "client_secret": {a.secret},
		"grant_type": {"authorization_code"}, "code": {loc.Get("code")}, "redirect_uri": {redirect}, "code_verifier": {"v"}})
	noMFA := r.json(t)["access_token"].(string)
	e.sb.SetMFA(acct.UPN, true)

	appOnly := e.pcToken(t, ten.TenantID, a.appID, a.secret)
	r = e.postForm(t, "/"+ten.TenantID+"/oauth2/token", url.Values{"resource": {"https://api.partner.microsoft.com"},
		"client_id": {a.appID}, "client_secret": {a.secret}, "grant_type": {"client_credentials"}})
	appOnlyPartnerAPI := r.json(t)["access_token"].(string)
	graphTok := e.appToken(t, ten.TenantID, "https://graph.microsoft.com")

	rt := consent(t, e, a, acct)["refresh_token"].(string)
	r = e.postForm(t, "/"+ten.TenantID+"/oauth2/v2.0/token", url.Values{"client_id": {a.appID}, "client_secret": {a.secret},
		"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {"https://api.partner.microsoft.com/user_impersonation"}})
	if r.status != 200 {
		t.Fatalf("Partner API token by refresh: %d %s", r.status, r.body)
	}
	partnerAPI := r.json(t)["access_token"].(string)

	type result struct {
		Status int
		Code   string
	}
	cases := map[string]struct {
		reason string
		path   string
		token  string
		before func()
		want   result
	}{
		"AppUserWithMFA":      {reason: "SAM tokens with MFA work", path: "/partnercenter/v1/customers", token: withMFA, want: result{200, ""}},
		"AppUserWithoutMFA":   {reason: "App+User without the mfa claim: 401 900421", path: "/partnercenter/v1/customers", token: noMFA, want: result{401, "900421"}},
		"AppOnlyRegistered":   {reason: "app-only works while the app is in App management", path: "/partnercenter/v1/customers", token: appOnly, want: result{200, ""}},
		"AppOnlyUnregistered": {reason: "app-only of an app removed from App management is refused", path: "/partnercenter/v1/customers", token: appOnly, before: func() { e.sb.SetAppManagement(ten.TenantID, a.appID, false) }, want: result{403, "403"}},
		"WrongAudience":       {reason: "a Graph token is not a Partner Center token", path: "/partnercenter/v1/customers", token: graphTok, want: result{401, "401"}},
		"NoToken":             {reason: "no Authorization header", path: "/partnercenter/v1/customers", want: result{401, "401"}},
		"PriceSheet":          {reason: "a Partner API token reads the price sheet", path: "/partnerapi/v1.0/sales/pricesheets(Market='US',PricesheetView='updatedlicensebased')/$value", token: partnerAPI, want: result{200, ""}},
		"PriceSheetAppOnly":   {reason: "the price sheet is App+User only", path: "/partnerapi/v1.0/sales/pricesheets(Market='US',PricesheetView='updatedlicensebased')/$value", token: appOnlyPartnerAPI, want: result{401, "401"}},
		"PriceSheetWrongAud":  {reason: "a Partner Center token is not a Partner API token", path: "/partnerapi/v1.0/sales/pricesheets(Market='US',PricesheetView='updatedlicensebased')/$value", token: withMFA, want: result{401, "401"}},
	}
	for _, name := range []string{"AppUserWithMFA", "AppUserWithoutMFA", "AppOnlyRegistered", "WrongAudience", "NoToken", "PriceSheet", "PriceSheetAppOnly", "PriceSheetWrongAud", "AppOnlyUnregistered"} {
		tc := cases[name]
		t.Run(name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
			}
			h := map[string]string{}
			if tc.token != "" {
				h["Authorization"] = "Bearer " + tc.token
			}
			r := e.do(t, "GET", tc.path, h, nil)
			got := result{Status: r.status}
			if r.status != 200 {
				got.Code, _ = r.json(t)["code"].(string)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n-want, +got:\n%s\n%s", tc.reason, diff, r.body)
			}
			if wa := r.header.Get("WWW-Authenticate"); got.Status == 401 && !strings.HasPrefix(wa, "OAuth realm=urn:cpsvc:cpid:") {
				t.Errorf("401 without the documented WWW-Authenticate: %q", wa)
			}
		})
	}
}

// TestPartnerCenterHeaders: a request without MS-Contract-Version is refused with the
// documented error shape; the ids are echoed; the request log records the three headers (the
// ids, or "not a GUID": never another header value).
func TestPartnerCenterHeaders(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "requests.jsonl")
	e := start(t, Options{Tenants: 1, RequestLog: logPath})
	ten := e.sb.World().Tenants[0]
	_, cid, secret := e.sb.Operator()
	tok := e.pcToken(t, ten.TenantID, cid, secret)
	const rid, corr = "0f8fad5b-d9cb-469f-a165-70867728950e", "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	cases := map[string]struct {
		reason string
		hdr    map[string]string
		status int
		want   LogEntry
	}{
		"All": {
			reason: "the three headers: answered, logged, ids echoed",
			hdr:    map[string]string{"MS-RequestId": rid, "MS-CorrelationId": corr},
			status: 200, want: LogEntry{RequestID: rid, CorrelationID: corr, ContractVersion: true},
		},
		"NoContractVersion": {
			reason: "MS-Contract-Version is required: 400 in Partner Center's error shape",
			hdr:    map[string]string{"MS-RequestId": rid, "MS-CorrelationId": corr, "MS-Contract-Version": ""},
			status: 400, want: LogEntry{RequestID: rid, CorrelationID: corr},
		},
		"NotGUIDs": {
			reason: "ids that are not GUIDs are not logged as sent",
			hdr:    map[string]string{"MS-RequestId": "secret-looking-value", "MS-CorrelationId": "x"},
			status: 200, want: LogEntry{RequestID: "not a GUID", CorrelationID: "not a GUID", ContractVersion: true},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.pc(t, tok, "/customers?size=1", tc.hdr)
			if r.status != tc.status {
				t.Fatalf("%s: %d %s", tc.reason, r.status, r.body)
			}
			if r.status != 200 {
				if diff := cmp.Diff([]string{"code", "data", "description", "source"}, keysOf(r.json(t))); diff != "" {
					t.Errorf("%s: error keys -want, +got:\n%s", tc.reason, diff)
				}
			}
			if got := r.header.Get("MS-RequestId"); got != tc.hdr["MS-RequestId"] {
				t.Errorf("%s: MS-RequestId echoed as %q", tc.reason, got)
			}
			le := lastLogEntry(t, e, logPath)
			got := LogEntry{RequestID: le.RequestID, CorrelationID: le.CorrelationID, ContractVersion: le.ContractVersion}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s: log entry -want, +got:\n%s", tc.reason, diff)
			}
			if b, _ := os.ReadFile(logPath); strings.Contains(string(b), "secret-looking-value") {
				t.Errorf("a header value other than an id is in the request log")
			}
		})
	}
}
