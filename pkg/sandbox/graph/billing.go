package graph

import (
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// operation is a partner billing export in progress.
type operation struct {
	ID         string    `json:"id"`
	Created    time.Time `json:"created"`
	LastAction time.Time `json:"lastAction"`
	Polls      int       `json:"polls"`
	ManifestID string    `json:"manifestId,omitempty"`
	Failed     bool      `json:"failed,omitempty"`
}

// manifest describes the blobs of a finished export.
type manifest struct {
	ID        string            `json:"id"`
	Created   time.Time         `json:"created"`
	Tenant    string            `json:"tenant"`
	Fragment  string            `json:"fragment"`
	BlobNames []string          `json:"blobNames"`
	Blobs     map[string][]byte `json:"blobs"` // name -> gzip JSON Lines
	Expires   time.Time         `json:"expires"`
}

const (
	permBilling = "PartnerBilling.Read.All"
	// rowsPerBlob splits large exports over several blobs, as the real service does.
	rowsPerBlob = 1000
	// sasLife is how long the manifest's SAS token works.
	// UNCONFIRMED: the real lifetime.
	sasLife = 24 * time.Hour
)

func (c *ctx) reports() {
	s := c.s
	segs := c.segs
	if len(segs) < 4 || segs[1] != "partners" || segs[2] != "billing" {
		if len(segs) > 1 {
			c.badSegment(segs[1])
		} else {
			c.badSegment(segs[0])
		}
		return
	}
	if !c.has(permBilling) {
		c.denied()
		return
	}
	switch segs[3] {
	case "usage", "reconciliation":
		if len(segs) != 6 || (segs[4] != "billed" && segs[4] != "unbilled") ||
			(segs[5] != "export" && segs[5] != "microsoft.graph.partners.billing.export") {
			c.badSegment(segs[len(segs)-1])
			return
		}
		if c.r.Method != http.MethodPost {
			c.methodNotAllowed()
			return
		}
		c.export(segs[3], segs[4] == "billed")
	case "operations":
		if len(segs) != 5 {
			c.badSegment(segs[3])
			return
		}
		if c.r.Method != http.MethodGet {
			c.methodNotAllowed()
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		op := s.tenants[c.p.TenantID].Operations[segs[4]]
		if op == nil {
			c.notFound(segs[4])
			return
		}
		op.Polls++
		body := object{"@odata.context": c.base + "/$metadata#reports/partners/billing/operations/$entity",
			"id": op.ID, "createdDateTime": op.Created.Format(time.RFC3339), "lastActionDateTime": op.LastAction.Format(time.RFC3339)}
		switch {
		case op.Polls <= 1:
			// The first poll finds the export still running, so clients exercise Retry-After.
			body["@odata.type"] = "#microsoft.graph.partners.billing.runningOperation"
			body["status"] = "running"
			c.w.Header().Set("Retry-After", "1")
		case op.Failed:
			body["@odata.type"] = "#microsoft.graph.partners.billing.failedOperation"
			body["status"] = "failed"
			body["error"] = object{"message": "No data available", "code": "5000"}
		default:
			body["@odata.type"] = "#microsoft.graph.partners.billing.exportSuccessOperation"
			body["status"] = "succeeded"
			body["resourceLocation@odata.navigationLink"] = c.base + "/reports/partners/billing/manifests/" + op.ManifestID
		}
		c.json(http.StatusOK, body)
	case "manifests":
		if len(segs) != 5 {
			c.badSegment(segs[3])
			return
		}
		if c.r.Method != http.MethodGet {
			c.methodNotAllowed()
			return
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		m := s.tenants[c.p.TenantID].Manifests[segs[4]]
		if m == nil {
			c.notFound(segs[4])
			return
		}
		blobs := make([]any, 0, len(m.BlobNames))
		for _, n := range m.BlobNames {
			blobs = append(blobs, object{"name": n, "partitionValue": "default"})
		}
		c.json(http.StatusOK, object{
			"@odata.context": c.base + "/$metadata#reports/partners/billing/manifests/$entity",
			"id":             m.ID, "schemaVersion": "1", "dataFormat": "compressedJSON",
			"createdDateTime": m.Created.Format(time.RFC3339), "eTag": strconv.Quote(m.ID[:8]),
			"partnerTenantId": m.Tenant, "rootDirectory": c.root + "/blob/exports/" + m.ID,
			"sasToken": c.s.sas(m.ID, m.Expires), "partitionType": "Default",
			"blobCount": len(m.BlobNames), "blobs": blobs,
		})
	default:
		c.badSegment(segs[3])
	}
}

// export starts an export: 202 with no body and Location naming the operation.
func (c *ctx) export(kind string, billed bool) {
	body, ok := c.body()
	if !ok {
		return
	}
	allowed := map[string][]string{"attributeSet": {"full", "basic"}}
	if billed {
		allowed["invoiceId"] = nil
	} else {
		allowed["billingPeriod"] = []string{"current", "last"}
		allowed["currencyCode"] = nil
	}
	for k, v := range body {
		enum, ok := allowed[k]
		if !ok {
			c.fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("The parameter '%s' in the request payload is not a valid parameter for the operation 'export'.", k))
			return
		}
		sv, isStr := v.(string)
		if !isStr {
			c.fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Cannot convert the literal '%v' to the expected type 'Edm.String'.", shortValue(v)))
			return
		}
		if enum != nil && !contains(enum, sv) {
			// UNCONFIRMED: the text for an invalid enum member.
			c.fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("The value '%s' is not valid for parameter '%s'.", sv, k))
			return
		}
	}
	var required []string
	if billed {
		required = []string{"invoiceId"}
	} else {
		required = []string{"billingPeriod", "currencyCode"}
	}
	for _, k := range required {
		if v, _ := body[k].(string); v == "" {
			// UNCONFIRMED: the text for a missing required parameter.
			c.fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("The parameter '%s' is required for the operation 'export'.", k))
			return
		}
	}
	fragment := "full"
	if v, ok := body["attributeSet"].(string); ok {
		fragment = v
	}
	period := "current"
	if billed {
		period = body["invoiceId"].(string)
	} else {
		period = body["billingPeriod"].(string)
	}
	currency, _ := body["currencyCode"].(string)
	rows := c.s.usageRows(c.p.TenantID, kind, billed, period, currency, fragment, c.now)
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenants[c.p.TenantID]
	op := &operation{ID: newGUID(), Created: c.now, LastAction: c.now}
	if len(rows) == 0 {
		op.Failed = true
	} else {
		m := &manifest{ID: newGUID(), Created: c.now, Tenant: t.ID, Fragment: fragment, Blobs: map[string][]byte{}, Expires: c.now.Add(sasLife)}
		for i := 0; i < len(rows); i += rowsPerBlob {
			name := fmt.Sprintf("part-%05d-%s.c000.json.gz", i/rowsPerBlob, newGUID())
			m.BlobNames = append(m.BlobNames, name)
			m.Blobs[name] = gzipLines(rows[i:min(i+rowsPerBlob, len(rows))])
		}
		t.Manifests[m.ID] = m
		op.ManifestID = m.ID
	}
	t.Operations[op.ID] = op
	c.w.Header().Set("Location", c.base+"/reports/partners/billing/operations/"+op.ID)
	c.w.WriteHeader(http.StatusAccepted)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func gzipLines(rows []map[string]any) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	enc := json.NewEncoder(zw) // one object per line: JSON Lines
	for _, r := range rows {
		_ = enc.Encode(r)
	}
	_ = zw.Close()
	return buf.Bytes()
}

// usageRows returns the export's line items: from Options.UsageRows when it has them,
// otherwise generated deterministically from the tenant and period. An invoice id the tenant does
// not have yields no rows (the operation then fails with "No data available").
func (s *Service) usageRows(tenantID, kind string, billed bool, period, currency, fragment string, now time.Time) []map[string]any {
	var rows []map[string]any
	ok := false
	if s.opts.UsageRows != nil {
		rows, ok = s.opts.UsageRows(tenantID, kind, billed, period, currency)
	}
	if !ok {
		rows = syntheticUsage(tenantID, billed, period, currency, now)
	}
	if fragment == "basic" {
		out := make([]map[string]any, len(rows))
		for i, r := range rows {
			b := map[string]any{}
			for _, k := range basicFields {
				if v, ok := r[k]; ok {
					b[k] = v
				}
			}
			out[i] = b
		}
		rows = out
	}
	return rows
}

// basicFields is the "basic" attribute set.
// UNCONFIRMED: the exact field list of the basic fragment.
var basicFields = []string{"partnerId", "customerId", "customerName", "subscriptionId", "usageDate", "meterId",
	"meterName", "meterCategory", "unitOfMeasure", "quantity", "unitPrice", "billingPreTaxTotal", "billingCurrency"}

// syntheticUsage makes daily-rated usage line items shaped like the Partner Center ones
// (api-facts D3). Billed exports exist only for invoice ids G000000001..G000000012.
// UNCONFIRMED: the v2 export's field names are taken from the v1 line item.
func syntheticUsage(tenantID string, billed bool, period, currency string, now time.Time) []map[string]any {
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	invoice := ""
	if billed {
		n, err := strconv.Atoi(strings.TrimPrefix(period, "G"))
		if !strings.HasPrefix(period, "G") || err != nil || n < 1 || n > 12 {
			return nil
		}
		invoice = period
		month = month.AddDate(0, -n, 0)
	} else if period == "last" {
		month = month.AddDate(0, -1, 0)
	}
	if currency == "" {
		currency = "USD"
	}
	h := fnv.New64a()
	h.Write([]byte(tenantID + period))
	seed := h.Sum64()
	meters := []struct{ id, name, category, unit string }{
		{stableGUID("meter", "vm"), "D2s v3", "Virtual Machines", "1 Hour"},
		{stableGUID("meter", "storage"), "LRS Data Stored", "Storage", "1 GB/Month"},
		{stableGUID("meter", "bandwidth"), "Standard Data Transfer Out", "Bandwidth", "1 GB"},
	}
	days := 28
	if !billed && period == "current" {
		days = max(1, now.Day()-1)
	}
	var rows []map[string]any
	customers := 2 + int(seed%3)
	for ci := 0; ci < customers; ci++ {
		cust := stableGUID(tenantID, "customer", strconv.Itoa(ci))
		sub := stableGUID(tenantID, "subscription", strconv.Itoa(ci))
		for d := 0; d < days; d++ {
			day := month.AddDate(0, 0, d)
			for mi, m := range meters {
				q := float64((seed>>uint(ci+mi))%97+1) / 4
				price := []float64{0.096, 0.0208, 0.087}[mi]
				rows = append(rows, map[string]any{
					"partnerId": tenantID, "customerId": cust, "customerName": fmt.Sprintf("Customer %d", ci+1),
					"customerDomainName": fmt.Sprintf("customer%d.onmicrosoft.com", ci+1), "invoiceNumber": invoice,
					"productId": "DZH318Z0BQPS", "skuId": "0001", "skuName": "Azure plan", "productName": "Azure plan",
					"subscriptionId": sub, "chargeStartDate": month.Format(time.RFC3339),
					"chargeEndDate": month.AddDate(0, 1, -1).Format(time.RFC3339), "usageDate": day.Format(time.RFC3339),
					"meterId": m.id, "meterName": m.name, "meterCategory": m.category, "meterSubCategory": "",
					"meterRegion": "West Europe", "unitOfMeasure": m.unit, "resourceLocation": "westeurope",
					"consumedService": "Microsoft.Compute", "resourceGroup": "rg-prod",
					"resourceUri": "/subscriptions/" + sub + "/resourceGroups/rg-prod", "tags": "", "additionalInfo": "",
					"unitPrice": price, "quantity": q, "billingPreTaxTotal": price * q, "billingCurrency": currency,
					"pricingPreTaxTotal": price * q, "pricingCurrency": "USD", "entitlementId": sub,
					"pcToBCExchangeRate": 1, "effectiveUnitPrice": price, "rateOfPartnerEarnedCredit": 0.15,
					"creditType": "Partner Earned Credit Applied", "invoiceLineItemType": "UsageLineItems",
					"billingProvider": "AzureDataMarket",
				})
			}
		}
	}
	return rows
}

// sas returns the query string that authorises reading a manifest's blobs until exp.
func (s *Service) sas(manifestID string, exp time.Time) string {
	se := exp.UTC().Format(time.RFC3339)
	mac := hmac.New(sha256.New, s.blobKey)
	mac.Write([]byte(manifestID + "\n" + se))
	sig := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	return "sv=2023-11-03&sr=d&sp=rl&se=" + url.QueryEscape(se) + "&sdd=1&sig=" + url.QueryEscape(sig)
}

// BlobHandler serves the export blobs; it is mounted at /blob/. URLs are
// {rootDirectory}/{blob name}?{sasToken}, as the manifest describes them.
func (s *Service) BlobHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/blob"), "/")
		parts := strings.Split(path, "/")
		storageError := func(status int, code, msg string) {
			w.Header().Set("Content-Type", "application/xml")
			w.Header().Set("x-ms-error-code", code)
			w.WriteHeader(status)
			fmt.Fprintf(w, "\ufeff<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>%s</Code><Message>%s\nRequestId:%s\nTime:%s</Message></Error>",
				code, msg, newGUID(), s.opts.Now().UTC().Format("2006-01-02T15:04:05.0000000Z"))
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			storageError(http.StatusMethodNotAllowed, "UnsupportedHttpVerb", "The resource doesn't support specified Http Verb.")
			return
		}
		if len(parts) != 3 || parts[0] != "exports" {
			storageError(http.StatusNotFound, "ResourceNotFound", "The specified resource does not exist.")
			return
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		var m *manifest
		for _, t := range s.tenants {
			if m = t.Manifests[parts[1]]; m != nil {
				break
			}
		}
		q := r.URL.Query()
		want := ""
		if m != nil {
			want = s.sas(m.ID, m.Expires)
		}
		wq, _ := url.ParseQuery(want)
		if m == nil || q.Get("sig") == "" || !hmac.Equal([]byte(q.Get("sig")), []byte(wq.Get("sig"))) || q.Get("se") != wq.Get("se") {
			storageError(http.StatusForbidden, "AuthenticationFailed", "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.")
			return
		}
		if !s.opts.Now().Before(m.Expires) {
			storageError(http.StatusForbidden, "AuthenticationFailed", "Signed expiry time ["+m.Expires.UTC().Format(time.RFC1123)+"] must be after signed start time.")
			return
		}
		b, ok := m.Blobs[parts[2]]
		if !ok {
			storageError(http.StatusNotFound, "BlobNotFound", "The specified blob does not exist.")
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Header().Set("x-ms-blob-type", "BlockBlob")
		w.Header().Set("ETag", strconv.Quote(fmt.Sprintf("0x%X", fnv.New32a().Sum32()^uint32(len(b)))))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(b)
		}
	})
}
