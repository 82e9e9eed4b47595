package entra_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/go-cmp/cmp"

	"github.com/useitcloud/uicctl/pkg/cloud"
	"github.com/useitcloud/uicctl/pkg/entra"
	"github.com/useitcloud/uicctl/pkg/sandbox/graph"
)

type staticToken struct{}

func (staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "t", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestObserveBatchItemThrottled: Graph throttles $batch items one by one (json-batching);
// the items answered 429 are sent again after their Retry-After, the others are kept.
func TestObserveBatchItemThrottled(t *testing.T) {
	const tenant = "11111111-1111-4111-8111-111111111111"
	var throttle atomic.Int32
	svc := graph.New(graph.Options{
		Authenticate: func(*http.Request) (graph.Principal, error) {
			return graph.Principal{TenantID: tenant, AppID: "33333333-3333-4333-8333-333333333333",
				Audience: "https://graph.microsoft.com", Roles: []string{"Directory.Read.All"}}, nil
		},
		BatchItemThrottle: func() (string, bool) { return "0.05", throttle.Add(-1) >= 0 },
	})
	svc.AddTenant(tenant, "contoso.onmicrosoft.com")
	var mu sync.Mutex
	var batches int
	mux := http.NewServeMux()
	mux.Handle("/graph/", http.StripPrefix("/graph", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/$batch") {
			mu.Lock()
			batches++
			mu.Unlock()
		}
		svc.ServeHTTP(w, r)
	})))
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	entra.SetTestOnlyTransport(srv.Client().Transport)
	defer entra.SetTestOnlyTransport(nil)
	cl := cloud.Cloud{Name: "test", Login: srv.URL + "/", Graph: srv.URL + "/graph/v1.0", GraphAudience: cloud.PublicGraphAudience}
	c, err := entra.New(cl, staticToken{}, entra.Options{})
	if err != nil {
		t.Fatal(err)
	}
	q := entra.Query{UniqueName: "uicctl-x", ResourceAppIDs: []string{graph.PartnerCenterAppID, graph.GraphAppID}}
	want, err := c.Observe(context.Background(), tenant, q)
	if err != nil {
		t.Fatal(err)
	}
	batches = 0
	throttle.Store(3) // the first three items of the next batch
	got, err := c.Observe(context.Background(), tenant, q)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("observe with throttled items: -want +got\n%s", d)
	}
	if batches != 2 {
		t.Errorf("%d $batch requests, want 2 (the first, then its three throttled items)", batches)
	}

	// Items throttled round after round: a ThrottledError after the item budget.
	throttle.Store(1 << 20)
	batches = 0
	_, err = c.Observe(context.Background(), tenant, q)
	var te *entra.ThrottledError
	if !errors.As(err, &te) || te.Status != http.StatusTooManyRequests {
		t.Errorf("want a ThrottledError, got %T %v", err, err)
	}
	if batches != 11 {
		t.Errorf("%d $batch requests, want 11 (the first and ten retries of its items)", batches)
	}
}
