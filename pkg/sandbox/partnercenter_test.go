package sandbox

import (
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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
	c := ten.Customers[0]

	subs := e.pc(t, tok, "/customers/"+c.ID+"/subscriptions", nil)
	if subs.status != 200 || len(subs.json(t)["items"].([]any)) != len(c.Subscriptions) {
		t.Fatalf("subscriptions: %d %s", subs.status, subs.body)
	}
	end := time.Now().UTC().Truncate(24 * time.Hour)
	q := url.Values{"start_time": {end.AddDate(0, 0, -3).Format(time.RFC3339)}, "end_time": {end.Format(time.RFC3339)}, "size": {"4"}}
	u := e.pc(t, tok, "/customers/"+c.ID+"/subscriptions/"+c.Subscriptions[0].ID+"/utilizations/azure?"+q.Encode(), nil)
	if u.status != 200 {
		t.Fatalf("utilization: %d %s", u.status, u.body)
	}
	up := u.json(t)
	rec := up["items"].([]any)[0].(map[string]any)
	if diff := cmp.Diff([]string{"attributes", "infoFields", "instanceData", "quantity", "resource", "unit", "usageEndTime", "usageStartTime"}, keysOf(rec)); diff != "" {
		t.Errorf("utilization record keys: -want, +got:\n%s", diff)
	}
	next := up["links"].(map[string]any)["next"].(map[string]any)
	if !strings.Contains(next["uri"].(string), "seek_operation=Next") {
		t.Errorf("utilization next uses seek_operation: %v", next)
	}
	if r := e.pc(t, tok, "/customers/"+c.ID+"/subscriptions/"+c.Subscriptions[1].ID+"/utilizations/azure?"+q.Encode(), nil); r.status != 400 {
		t.Errorf("utilization of a license subscription: %d", r.status)
	}

	li := e.pc(t, tok, "/invoices/unbilled/lineitems?provider=onetime&invoicelineitemtype=usagelineitems&currencycode=EUR&period=previous&size=2000", nil)
	if li.status != 200 {
		t.Fatalf("unbilled: %d %s", li.status, li.body)
	}
	items := li.json(t)["items"].([]any)
	if len(items) == 0 {
		t.Fatal("no unbilled line items for the previous month")
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
