package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/useitcloud/uicctl/pkg/sandbox/graph"
)

// writePCError writes the Partner Center error body {code, description, data, source}.
func writePCError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]any{"code": code, "description": desc, "data": []any{}, "source": "PartnerFD"})
}

// pcAuth checks a Partner Center (or Partner API) token; it writes the error and returns
// false when the request must stop.
func (s *Sandbox) pcAuth(w http.ResponseWriter, r *http.Request, res resource, appOnlyAllowed bool) (graph.Principal, bool) {
	p, err := s.verify(r, res)
	// Partner Center's 401s carry this header (error-codes doc); what cpid names is not said.
	unauthorized := func() { w.Header().Set("WWW-Authenticate", "OAuth realm=urn:cpsvc:cpid:"+newGUID()) }
	if err != nil {
		// UNCONFIRMED: Partner Center's code and text for a missing or invalid token.
		unauthorized()
		desc := map[error]string{errNoToken: "Authorization header is missing.", errTokenExpired: "The token is expired.",
			errBadAudience: "The token audience is invalid.", errBadToken: "The token is invalid."}[err]
		writePCError(w, http.StatusUnauthorized, "401", desc)
		return p, false
	}
	if len(p.Scopes) == 0 { // app-only
		if !appOnlyAllowed {
			// UNCONFIRMED: the price sheet documents App+User only; the refusal's shape is a guess.
			unauthorized()
			writePCError(w, http.StatusUnauthorized, "401", "App-only authentication is not supported for this API; use App+User authentication.")
			return p, false
		}
		if !s.appRegistered(p.TenantID, p.AppID) {
			// UNCONFIRMED: no documented code for an app missing from App management.
			writePCError(w, http.StatusForbidden, "403", fmt.Sprintf("The application %s is not registered in Partner Center App management for this partner.", p.AppID))
			return p, false
		}
		return p, true
	}
	if !p.MFA {
		// 900421: App+User calls must carry MFA (enforced since 2026). UNCONFIRMED: the text.
		unauthorized()
		writePCError(w, http.StatusUnauthorized, "900421", "Multi-factor authentication is required for this request. Sign in with MFA and acquire a new token.")
		return p, false
	}
	return p, true
}

// pcContract refuses a request without MS-Contract-Version, which the headers page lists as
// required (https://learn.microsoft.com/en-us/partner-center/developer/headers). The body is
// the documented error shape {code, description, data, source}
// (https://learn.microsoft.com/en-us/partner-center/developer/error-codes). UNCONFIRMED: the
// code and text, that the service refuses rather than defaults, and that it checks this
// before the token.
func pcContract(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("MS-Contract-Version") != "" {
		return true
	}
	writePCError(w, http.StatusBadRequest, "400", "The MS-Contract-Version header is required.")
	return false
}

// pcHeaders echoes the request and correlation IDs, generating them when absent.
func pcHeaders(w http.ResponseWriter, r *http.Request) {
	for _, h := range []string{"MS-RequestId", "MS-CorrelationId"} {
		v := r.Header.Get(h)
		if v == "" {
			v = newGUID()
		}
		w.Header().Set(h, v)
	}
	w.Header().Set("MS-CV", randomToken(9)+".0")
	w.Header().Set("MS-ServerId", "sandbox")
}

func (s *Sandbox) partnerTenant(id string) *Tenant {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tenant(id); ok {
		return t.partner
	}
	return nil
}

func (s *Sandbox) servePartnerCenter(w http.ResponseWriter, r *http.Request) {
	pcHeaders(w, r)
	path, ok := strings.CutPrefix(r.URL.Path, "/partnercenter/v1/")
	if !ok {
		writePCError(w, http.StatusNotFound, "404", "The requested resource was not found.")
		return
	}
	if !pcContract(w, r) {
		return
	}
	p, ok := s.pcAuth(w, r, resources[1], true)
	if !ok {
		return
	}
	if r.Method != http.MethodGet {
		writePCError(w, http.StatusMethodNotAllowed, "405", "The requested HTTP method is not supported for this resource.")
		return
	}
	t := s.partnerTenant(p.TenantID)
	var customers []Customer
	if t != nil {
		customers = t.Customers
	}
	seg := strings.Split(strings.Trim(path, "/"), "/")
	q := r.URL.Query()
	findCustomer := func(id string) (Customer, bool) {
		for _, c := range customers {
			if strings.EqualFold(c.ID, id) {
				return c, true
			}
		}
		return Customer{}, false
	}
	notFound := func(what string) {
		// UNCONFIRMED: Partner Center's code for an unknown customer or subscription.
		writePCError(w, http.StatusNotFound, "600024", what+" was not found.")
	}
	switch {
	case len(seg) == 1 && seg[0] == "customers":
		items := make([]any, len(customers))
		for i, c := range customers {
			items[i] = customerJSON(c)
		}
		// Links carry the version: "/v1/customers?size=40"
		// (https://learn.microsoft.com/en-us/partner-center/developer/get-a-list-of-customers).
		s.pcPage(w, r, items, "/v1/customers", pcLinks{self: "/v1/customers", seek: "seekOperation"}, q, "size", 1, 500, 500)
	case len(seg) == 2 && seg[0] == "customers":
		c, ok := findCustomer(seg[1])
		if !ok {
			notFound("Customer " + seg[1])
			return
		}
		writeJSON(w, http.StatusOK, customerJSON(c))
	case len(seg) == 3 && seg[0] == "customers" && seg[2] == "subscriptions":
		c, ok := findCustomer(seg[1])
		if !ok {
			notFound("Customer " + seg[1])
			return
		}
		items := make([]any, len(c.Subscriptions))
		for i, sub := range c.Subscriptions {
			items[i] = subscriptionJSON(c.ID, sub)
		}
		writeJSON(w, http.StatusOK, map[string]any{"totalCount": len(items), "items": items,
			"links":      map[string]any{"self": link("/v1/customers/"+c.ID+"/subscriptions", "")},
			"attributes": map[string]any{"objectType": "Collection"}})
	case len(seg) == 6 && seg[0] == "customers" && seg[2] == "subscriptions" && seg[4] == "utilizations" && seg[5] == "azure":
		c, ok := findCustomer(seg[1])
		if !ok {
			notFound("Customer " + seg[1])
			return
		}
		var sub *Subscription
		for i := range c.Subscriptions {
			if strings.EqualFold(c.Subscriptions[i].ID, seg[3]) {
				sub = &c.Subscriptions[i]
			}
		}
		if sub == nil {
			notFound("Subscription " + seg[3])
			return
		}
		s.serveUtilization(w, r, c, *sub, q)
	case len(seg) == 3 && seg[0] == "invoices" && seg[1] == "unbilled" && seg[2] == "lineitems":
		s.serveUnbilled(w, r, t, q)
	default:
		writePCError(w, http.StatusNotFound, "404", "The requested resource was not found.")
	}
}

func link(uri, token string) map[string]any {
	l := map[string]any{"uri": uri, "method": "GET", "headers": []any{}}
	if token != "" {
		l["headers"] = []any{map[string]string{"key": "MS-ContinuationToken", "value": token}}
	}
	return l
}

type continuation struct {
	Offset int    `json:"o"`
	Key    string `json:"k"` // the query the token belongs to
}

// pcLinks is how an endpoint writes its links, each in the form Microsoft documents for it:
// self is the path the links start with, seek the name of the query parameter of the next
// page, and bare says the next link has no query but that parameter (the continuation
// token carries the rest).
type pcLinks struct {
	self, seek string
	bare       bool
}

// DefaultPageSize is how many items a Partner Center page holds at most unless
// Options.PageSize says otherwise: far below the service's (2,000 line items, 1,000
// utilization records) so that every usage call of a test crosses a page boundary.
const DefaultPageSize = 5

func (s *Sandbox) pageSize() int {
	if s.opts.PageSize > 0 {
		return s.opts.PageSize
	}
	return DefaultPageSize
}

// pcPage writes one page of a Partner Center collection. The first request names the page
// size; the next ones send seek=Next with the MS-ContinuationToken header. key is the
// collection's own path, which continuation tokens are bound to.
func (s *Sandbox) pcPage(w http.ResponseWriter, r *http.Request, items []any, key string, lk pcLinks, q url.Values, sizeParam string, minSize, maxSize, defSize int) {
	size, offset := defSize, 0
	var query string // the first request's query, with its size
	// q may already be the first request's query, recovered from the token: the request's
	// own says whether this is a next page.
	if r.URL.Query().Get(lk.seek) == "Next" {
		tok := r.Header.Get("MS-ContinuationToken")
		b, err := base64.StdEncoding.DecodeString(tok)
		var c continuation
		if err != nil || json.Unmarshal(b, &c) != nil || !strings.HasPrefix(c.Key, key+"?") {
			// UNCONFIRMED: Partner Center's code for a bad continuation token.
			writePCError(w, http.StatusBadRequest, "400", "The continuation token is invalid.")
			return
		}
		offset = c.Offset
		query = strings.TrimPrefix(c.Key, key+"?")
		cq, _ := url.ParseQuery(query)
		size, _ = strconv.Atoi(cq.Get(sizeParam))
	} else {
		if v := q.Get(sizeParam); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < minSize || n > maxSize {
				// UNCONFIRMED: the code; the bounds come from the Java SDK.
				writePCError(w, http.StatusBadRequest, "400", fmt.Sprintf("The %s must be between %d and %d.", sizeParam, minSize, maxSize))
				return
			}
			size = n
		}
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set(sizeParam, strconv.Itoa(size))
		query = qq.Encode()
	}
	size = min(size, s.pageSize())
	offset = min(offset, len(items))
	end := min(offset+size, len(items))
	page := items[offset:end]
	links := map[string]any{"self": link(lk.self+"?"+query, "")}
	out := map[string]any{"totalCount": len(page), "items": page, "attributes": map[string]any{"objectType": "Collection"}}
	if end < len(items) {
		b, _ := json.Marshal(continuation{Offset: end, Key: key + "?" + query})
		tok := base64.StdEncoding.EncodeToString(b)
		next := lk.self + "?" + query + "&" + lk.seek + "=Next"
		if lk.bare {
			next = lk.self + "?" + lk.seek + "=Next"
		}
		links["next"] = link(next, tok)
		out["continuationToken"] = tok // UNCONFIRMED: the SDKs expose it; the raw JSON field name is assumed.
	}
	out["links"] = links
	writeJSON(w, http.StatusOK, out)
}

func customerJSON(c Customer) map[string]any {
	return map[string]any{
		"id": c.ID,
		"companyProfile": map[string]any{"tenantId": c.ID, "domain": c.Domain, "companyName": c.CompanyName,
			"attributes": map[string]any{"objectType": "CustomerCompanyProfile"}},
		"relationshipToPartner": "reseller",
		"attributes":            map[string]any{"objectType": "Customer"},
	}
}

// subscriptionJSON is a subscription as "Get all of a customer's subscriptions" shows it
// (https://learn.microsoft.com/en-us/partner-center/developer/get-all-of-a-customer-s-subscriptions):
// links without /v1, attributes with an etag. UNCONFIRMED: the values of a legacy Azure
// (MS-AZR-0145P) subscription (unitType, billingType), the partnerId, orderId and etag.
func subscriptionJSON(customerID string, sub Subscription) map[string]any {
	billing := "license"
	unit := "Licenses"
	if sub.Azure {
		billing, unit = "usage", "Usage-based"
	}
	etag := base64.StdEncoding.EncodeToString([]byte(`{"id":"` + strings.ToLower(sub.ID) + `","version":1}`))
	return map[string]any{
		"id": sub.ID, "offerId": sub.OfferID, "offerName": sub.OfferName, "friendlyName": sub.FriendlyName,
		"quantity": sub.Quantity, "unitType": unit, "creationDate": "2024-01-15T00:00:00Z",
		"effectiveStartDate": "2024-01-15T00:00:00Z", "commitmentEndDate": "2027-01-14T00:00:00Z",
		"autoRenewEnabled": true, "isTrial": false, "status": "active", "billingType": billing, "billingCycle": "monthly",
		"partnerId": "1234567", "contractType": "subscription", "orderId": sub.ID,
		"links":      map[string]any{"offer": link("/offers/"+sub.OfferID+"?country=US", ""), "self": link("/customers/"+customerID+"/subscriptions/"+sub.ID, "")},
		"attributes": map[string]any{"etag": etag, "objectType": "Subscription"},
	}
}

// meters are the Azure meters every sandbox Azure subscription consumes.
var meters = []struct {
	id, name, category, sub, unit, resource string
	price                                   float64
}{
	{"9995d93a-7d35-4d3f-9c69-7a7fea447ef4", "D2s v3", "Virtual Machines", "Dv3/DSv3 Series", "1 Hour", "vm-web-01", 0.096},
	{"d23a5753-ff85-4ddf-af28-8cc5cf2d3882", "LRS Data Stored", "Storage", "Standard Page Blob", "1 GB/Month", "stweb01", 0.045},
}

// quantity is the deterministic usage of one meter on one day.
func quantity(subID string, meter int, day time.Time) float64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d/%s", subID, meter, day.Format("2006-01-02"))
	return float64(h.Sum64()%2400) / 100 // 0.00 .. 23.99
}

func (s *Sandbox) serveUtilization(w http.ResponseWriter, r *http.Request, c Customer, sub Subscription, q url.Values) {
	if !strings.HasPrefix(sub.OfferID, "MS-AZR-") {
		// "this API isn't supported for Azure plans"
		// (https://learn.microsoft.com/partner-center/developer/get-a-customer-s-utilization-record-for-azure).
		// UNCONFIRMED: the answer for a subscription that is not a legacy Azure one.
		writePCError(w, http.StatusBadRequest, "400", "Azure utilization is only available for Microsoft Azure (MS-AZR-0145P) subscriptions.")
		return
	}
	self := "/v1/customers/" + c.ID + "/subscriptions/" + sub.ID + "/utilizations/azure"
	// The links are relative to the version, without a leading slash, and the next one has
	// no query but seek_operation=Next: "customers/{id}/subscriptions/{id}/utilizations/azure?seek_operation=Next"
	// (https://learn.microsoft.com/en-us/previous-versions/azure/cloud-solution-provider/integration/manage-billing/get-customer-utilization-records;
	// the current page's example shows the same relative self link:
	// https://learn.microsoft.com/en-us/partner-center/developer/get-a-customer-s-utilization-record-for-azure).
	lk := pcLinks{self: strings.TrimPrefix(self, "/v1/"), seek: "seek_operation", bare: true}
	var start, end time.Time
	if q.Get("seek_operation") != "Next" {
		var err error
		if start, err = time.Parse(time.RFC3339, q.Get("start_time")); err != nil {
			writePCError(w, http.StatusBadRequest, "400", "start_time is required and must be a UTC date-time.")
			return
		}
		if end, err = time.Parse(time.RFC3339, q.Get("end_time")); err != nil || !end.After(start) {
			writePCError(w, http.StatusBadRequest, "400", "end_time is required, must be a UTC date-time and after start_time.")
			return
		}
		if s.notReady(sub.ID + "|" + start.UTC().Format(time.RFC3339) + "|" + end.UTC().Format(time.RFC3339)) {
			// "If the Azure utilization data isn't yet ready in a dependent system, this method
			// returns an HTTP Status Code 204 with a Retry-After header"
			// (get-a-customer-s-utilization-record-for-azure). UNCONFIRMED: the value; 1 second.
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusNoContent)
			return
		}
	} else if cq, ok := continuationQuery(r, self); ok {
		start, _ = time.Parse(time.RFC3339, cq.Get("start_time"))
		end, _ = time.Parse(time.RFC3339, cq.Get("end_time"))
		q = cq
	}
	var items []any
	for d := start.UTC().Truncate(24 * time.Hour); d.Before(end) && d.Before(s.now()); d = d.Add(24 * time.Hour) {
		for i, m := range meters {
			items = append(items, map[string]any{
				"usageStartTime": d.Format(time.RFC3339), "usageEndTime": d.Add(24 * time.Hour).Format(time.RFC3339),
				"resource": map[string]any{"id": m.id, "name": m.name, "category": m.category, "subcategory": m.sub, "region": "EU West"},
				"quantity": quantity(sub.ID, i, d), "unit": m.unit, "infoFields": map[string]any{},
				"instanceData": map[string]any{"resourceUri": "/subscriptions/" + sub.ID + "/resourceGroups/rg-web/providers/" + m.resource,
					"location": "westeurope", "partNumber": "", "orderNumber": "", "additionalInfo": map[string]any{}},
				"attributes": map[string]any{"objectType": "AzureUtilizationRecord"},
			})
		}
	}
	s.pcPage(w, r, items, self, lk, q, "size", 1, 1000, 1000)
}

// notReady says whether a utilization request of the period key finds the data not ready:
// only its first request, unless Options.UtilizationReady.
func (s *Sandbox) notReady(key string) bool {
	if s.opts.UtilizationReady {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.asked == nil {
		s.asked = map[string]bool{}
	}
	first := !s.asked[key]
	s.asked[key] = true
	return first
}

// continuationQuery recovers the original query of a continuation token for self.
func continuationQuery(r *http.Request, self string) (url.Values, bool) {
	b, err := base64.StdEncoding.DecodeString(r.Header.Get("MS-ContinuationToken"))
	var c continuation
	if err != nil || json.Unmarshal(b, &c) != nil {
		return nil, false
	}
	k, ok := strings.CutPrefix(c.Key, self+"?")
	if !ok {
		return nil, false
	}
	q, err := url.ParseQuery(k)
	return q, err == nil
}

var errBadPeriod = errors.New("period must be current or previous")

func (s *Sandbox) serveUnbilled(w http.ResponseWriter, r *http.Request, t *Tenant, q url.Values) {
	self := "/v1/invoices/unbilled/lineitems"
	if q.Get("seekOperation") == "Next" {
		if cq, ok := continuationQuery(r, self); ok {
			q = cq
		}
	}
	if !strings.EqualFold(q.Get("provider"), "onetime") || !strings.EqualFold(q.Get("invoicelineitemtype"), "usagelineitems") {
		writePCError(w, http.StatusBadRequest, "400", "provider must be onetime and invoicelineitemtype must be usagelineitems.")
		return
	}
	currency := strings.ToUpper(q.Get("currencycode"))
	if currency == "" {
		writePCError(w, http.StatusBadRequest, "400", "currencycode is required.")
		return
	}
	period := strings.ToLower(q.Get("period"))
	if period != "current" && period != "previous" {
		writePCError(w, http.StatusBadRequest, "400", errBadPeriod.Error())
		return
	}
	rows := unbilledUsage(t, period == "previous", currency, s.now())
	items := make([]any, len(rows))
	for i, row := range rows {
		// The fields the documented line item has beyond the rows Graph's export shares
		// (get-invoice-unbilled-consumption-lineitems); UNCONFIRMED: their values for Azure usage.
		for k, v := range map[string]any{"partnerName": t.Name, "availabilityId": "DZH318Z0BPS6", "publisherName": "Microsoft", "publisherId": "",
			"subscriptionDescription": "Microsoft Azure", "meterType": row["unitOfMeasure"], "serviceInfo1": "", "serviceInfo2": "", "customerCountry": "",
			"mpnId": "1234567", "resellerMpnId": "", "chargeType": "", "unitType": "", "entitlementDescription": "Microsoft Azure",
			"pcToBCExchangeRateDate": row["chargeStartDate"], "attributes": map[string]any{"objectType": "DailyRatedUsageLineItem"}} {
			row[k] = v
		}
		items[i] = row
	}
	// The links have no version: "/invoices/unbilled/lineitems?...&size=2000&seekOperation=Next"
	// (https://learn.microsoft.com/en-us/partner-center/developer/get-invoice-unbilled-consumption-lineitems).
	// UNCONFIRMED: the maximum page size; the documented sample uses 2000.
	s.pcPage(w, r, items, self, pcLinks{self: strings.TrimPrefix(self, "/v1"), seek: "seekOperation"}, q, "size", 1, 2000, 2000)
}

// UnbilledUsage returns the unbilled daily-rated usage line items of a partner tenant of the
// world: the current billing period (the 1st of the sandbox month up to yesterday), or the
// previous one. Partner Center's unbilled line items and Graph's unbilled usage export both
// serve these rows, so the two usage kinds of verify count the same. Nil for a tenant that
// is not in the world.
func (s *Sandbox) UnbilledUsage(tenantID string, previous bool, currency string) []map[string]any {
	return unbilledUsage(s.partnerTenant(tenantID), previous, currency, s.now())
}

// exportUsage gives Graph's unbilled usage export the rows of UnbilledUsage (billingPeriod
// "last" is Partner Center's period=previous). The world models no invoices and no
// reconciliation (license) rows: Graph generates those.
func (s *Sandbox) exportUsage(tenantID, kind string, billed bool, period, currency string) ([]map[string]any, bool) {
	if kind != "usage" || billed {
		return nil, false
	}
	return s.UnbilledUsage(tenantID, period == "last", currency), true
}

func unbilledUsage(t *Tenant, previous bool, currency string, now time.Time) []map[string]any {
	if t == nil {
		return nil
	}
	now = now.UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	from, to := first, now.Truncate(24*time.Hour)
	if previous {
		from, to = first.AddDate(0, -1, 0), first
	}
	var rows []map[string]any
	for _, c := range t.Customers {
		for _, sub := range c.Subscriptions {
			if !sub.Azure {
				continue
			}
			for d := from; d.Before(to); d = d.Add(24 * time.Hour) {
				for i, m := range meters {
					qty := quantity(sub.ID, i, d)
					total := float64(int(qty*m.price*10000+0.5)) / 10000
					rows = append(rows, map[string]any{
						"partnerId": t.TenantID, "customerId": c.ID, "customerName": c.CompanyName, "customerDomainName": c.Domain,
						"invoiceNumber": "", "productId": "DZH318Z0BPS6", "skuId": "0001", "skuName": m.name, "productName": m.category,
						"subscriptionId": sub.ID, "chargeStartDate": from.Format(time.RFC3339), "chargeEndDate": from.AddDate(0, 1, 0).Add(-time.Second).Format(time.RFC3339),
						"usageDate": d.Format(time.RFC3339), "meterId": m.id, "meterName": m.name, "meterCategory": m.category,
						"meterSubCategory": m.sub, "meterRegion": "EU West", "unitOfMeasure": m.unit, "resourceLocation": "westeurope",
						"consumedService": "Microsoft.Compute", "resourceGroup": "rg-web", "resourceUri": "/subscriptions/" + sub.ID + "/resourceGroups/rg-web/providers/" + m.resource,
						"tags": "", "additionalInfo": "", "unitPrice": m.price, "quantity": qty, "billingPreTaxTotal": total,
						"billingCurrency": currency, "pricingPreTaxTotal": total, "pricingCurrency": "USD", "entitlementId": sub.ID,
						"pcToBCExchangeRate": 1, "effectiveUnitPrice": m.price, "rateOfPartnerEarnedCredit": 0.15, "creditType": "Credit Not Applied",
						"invoiceLineItemType": "usagelineitems", "billingProvider": "marketplace",
					})
				}
			}
		}
	}
	return rows
}

// servePartnerAPI serves enough of the Partner API price sheet to prove a token for
// https://api.partner.microsoft.com works: App+User only, like the real API.
func (s *Sandbox) servePartnerAPI(w http.ResponseWriter, r *http.Request) {
	pcHeaders(w, r)
	path := strings.TrimPrefix(r.URL.Path, "/partnerapi")
	// UNCONFIRMED: the Partner API's own docs do not list its headers; the sandbox holds it
	// to Partner Center's.
	if !pcContract(w, r) {
		return
	}
	if _, ok := s.pcAuth(w, r, resources[2], false); !ok {
		return
	}
	var market, view string
	if _, err := fmt.Sscanf(strings.NewReplacer("'", " ", ",", " ", ")", " ").Replace(strings.TrimPrefix(path, "/v1.0/sales/pricesheets(")),
		"Market= %s PricesheetView= %s", &market, &view); err != nil || !strings.HasSuffix(path, ")/$value") || r.Method != http.MethodGet {
		writePCError(w, http.StatusNotFound, "404", "The requested resource was not found.")
		return
	}
	if view != "updatedlicensebased" && view != "azure_consumption" && view != "azure_reservations" {
		writePCError(w, http.StatusBadRequest, "400", "PricesheetView must be updatedlicensebased, azure_consumption or azure_reservations.")
		return
	}
	// UNCONFIRMED: the real API returns a (zipped) CSV; the sandbox returns a small plain CSV.
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	fmt.Fprintf(w, "Market,ProductTitle,ProductId,SkuId,SkuTitle,UnitOfMeasure,UnitPrice,Currency,PricesheetView\n")
	fmt.Fprintf(w, "%s,Microsoft 365 Business Basic,CFQ7TTC0LH18,0001,Microsoft 365 Business Basic,Licenses,6.00,USD,%s\n", market, view)
	fmt.Fprintf(w, "%s,Microsoft 365 Business Standard,CFQ7TTC0LCHC,0001,Microsoft 365 Business Standard,Licenses,12.50,USD,%s\n", market, view)
}
