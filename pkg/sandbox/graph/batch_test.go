package graph

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBatch(t *testing.T) {
	f := newFixture(t)
	// Shaped like the SDK's batch: lower-case header names, body null, empty dependsOn,
	// $ percent-encoded in item URLs, and the whole body gzipped.
	req := map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "PATCH", "url": "/applications(uniqueName='batch-app')",
			"headers": map[string]any{"accept": "application/json", "content-type": "application/json", "prefer": "create-if-missing"},
			"body":    map[string]any{"displayName": "batched"}, "dependsOn": []any{}},
		map[string]any{"id": "2", "method": "GET", "url": "/applications?%24filter=uniqueName%20eq%20%27batch-app%27&%24select=id,uniqueName",
			"headers": map[string]any{"accept": "application/json"}, "body": nil, "dependsOn": []any{"1"}},
		map[string]any{"id": "3", "method": "GET", "url": "/applications(uniqueName='nope')",
			"headers": map[string]any{"accept": "application/json"}, "body": nil, "dependsOn": []any{}},
		map[string]any{"id": "4", "method": "GET", "url": "/servicePrincipals", "headers": map[string]any{}, "body": nil,
			"dependsOn": []any{"3"}},
	}}
	r := f.do("operator", "POST", "/$batch", gz(t, req), "Content-Encoding", "gzip")
	if r.status != 200 {
		t.Fatalf("batch: %d %s", r.status, r.raw)
	}
	var got struct {
		Responses []struct {
			ID      string            `json:"id"`
			Status  int               `json:"status"`
			Headers map[string]string `json:"headers"`
			Body    map[string]any    `json:"body"`
		} `json:"responses"`
	}
	if err := json.Unmarshal(r.raw, &got); err != nil {
		t.Fatal(err)
	}
	status := map[string]int{}
	for _, it := range got.Responses {
		status[it.ID] = it.Status
		if it.Body != nil {
			if _, ok := it.Headers["Content-Type"]; !ok {
				t.Errorf("item %s: no Content-Type (with that case) in %v", it.ID, it.Headers)
			}
		}
		if it.ID == "2" {
			if v, _ := it.Body["value"].([]any); len(v) != 1 {
				t.Errorf("item 2 did not see the upserted app: %v", it.Body)
			}
		}
	}
	if diff := cmp.Diff(map[string]int{"1": 201, "2": 200, "3": 404, "4": 424}, status); diff != "" {
		t.Errorf("item statuses (-want +got):\n%s", diff)
	}

	bad := map[string]struct {
		reason string
		body   any
	}{
		"too many": {"at most 20 requests", map[string]any{"requests": func() []any {
			var items []any
			for i := 0; i < 21; i++ {
				items = append(items, map[string]any{"id": strings.Repeat("x", i+1), "method": "GET", "url": "/applications"})
			}
			return items
		}()}},
		"duplicate id": {"ids are unique regardless of case", map[string]any{"requests": []any{
			map[string]any{"id": "a", "method": "GET", "url": "/applications"},
			map[string]any{"id": "A", "method": "GET", "url": "/applications"}}}},
		"body without content type": {"a body needs Content-Type", map[string]any{"requests": []any{
			map[string]any{"id": "a", "method": "POST", "url": "/applications", "body": map[string]any{"displayName": "x"}}}}},
		"unknown dependency": {"dependsOn names a request of the batch", map[string]any{"requests": []any{
			map[string]any{"id": "a", "method": "GET", "url": "/applications", "dependsOn": []any{"b"}}}}},
		"not a batch": {"requests is required", map[string]any{"items": []any{}}},
	}
	for name, tc := range bad {
		if r := f.do("operator", "POST", "/$batch", tc.body); r.status != 400 || errCode(r) != "BadRequest" {
			t.Errorf("%s (%s): %d %s", name, tc.reason, r.status, r.raw)
		}
	}
}

func TestBillingExport(t *testing.T) {
	f := newFixture(t)
	for _, action := range []string{"export", "microsoft.graph.partners.billing.export"} {
		r := f.do("operator", "POST", "/reports/partners/billing/usage/unbilled/"+action,
			map[string]any{"billingPeriod": "current", "currencyCode": "EUR", "attributeSet": "full"})
		if r.status != http.StatusAccepted || len(r.raw) != 0 {
			t.Fatalf("%s: %d %q", action, r.status, r.raw)
		}
		loc := r.header.Get("Location")
		if !strings.HasPrefix(loc, f.srv.URL+"/graph/v1.0/reports/partners/billing/operations/") {
			t.Fatalf("Location %q", loc)
		}
		r = f.do("operator", "GET", loc, nil)
		if r.status != 200 || str(r.body, "status") != "running" || r.header.Get("Retry-After") == "" {
			t.Fatalf("first poll: %d %v %s", r.status, r.header, r.raw)
		}
		r = f.do("operator", "GET", loc, nil)
		if str(r.body, "status") != "succeeded" || str(r.body, "@odata.type") != "#microsoft.graph.partners.billing.exportSuccessOperation" {
			t.Fatalf("second poll: %s", r.raw)
		}
		r = f.do("operator", "GET", str(r.body, "resourceLocation@odata.navigationLink"), nil)
		if r.status != 200 {
			t.Fatalf("manifest: %d %s", r.status, r.raw)
		}
		blobs := r.body["blobs"].([]any)
		if int(r.body["blobCount"].(float64)) != len(blobs) || len(blobs) == 0 {
			t.Fatalf("manifest blobs: %s", r.raw)
		}
		root, sas := str(r.body, "rootDirectory"), str(r.body, "sasToken")
		rows := 0
		for _, b := range blobs {
			u := root + "/" + str(b.(map[string]any), "name") + "?" + sas
			res, err := f.srv.Client().Get(u)
			if err != nil {
				t.Fatal(err)
			}
			zr, err := gzip.NewReader(res.Body)
			if err != nil {
				t.Fatalf("blob %s is not gzip: %v", u, err)
			}
			sc := bufio.NewScanner(zr)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var row map[string]any
				if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
					t.Fatalf("line %d is not JSON: %v", rows, err)
				}
				if row["billingCurrency"] != "EUR" || row["partnerId"] != testTenant {
					t.Fatalf("row %v", row)
				}
				rows++
			}
			res.Body.Close()
		}
		if rows == 0 {
			t.Fatal("export has no rows")
		}
		// Without the SAS token the blob store refuses, as Azure Storage does.
		res, err := f.srv.Client().Get(root + "/" + str(blobs[0].(map[string]any), "name"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 403 || !strings.Contains(string(body), "<Code>AuthenticationFailed</Code>") {
			t.Errorf("blob without SAS: %d %s", res.StatusCode, body)
		}
	}

	// A billed export of an invoice the partner does not have fails after it ran.
	r := f.do("operator", "POST", "/reports/partners/billing/usage/billed/export", map[string]any{"invoiceId": "G999999999"})
	loc := r.header.Get("Location")
	f.do("operator", "GET", loc, nil)
	r = f.do("operator", "GET", loc, nil)
	if str(r.body, "status") != "failed" || !cmp.Equal(r.body["error"], map[string]any{"message": "No data available", "code": "5000"}) {
		t.Errorf("failed export: %s", r.raw)
	}
}

func TestBatchItemThrottle(t *testing.T) {
	f := newFixture(t)
	f.throttle = true
	r := f.do("operator", "POST", "/$batch", map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "GET", "url": "/applications"}}})
	var got struct {
		Responses []batchResponse `json:"responses"`
	}
	if err := json.Unmarshal(r.raw, &got); err != nil || r.status != 200 || len(got.Responses) != 1 {
		t.Fatalf("batch: %d %s", r.status, r.raw)
	}
	it := got.Responses[0]
	if it.Status != 429 || it.Headers["Retry-After"] != "2" || !strings.Contains(string(it.Body), `"TooManyRequests"`) {
		t.Errorf("throttled item: %+v %s", it, it.Body)
	}
}
