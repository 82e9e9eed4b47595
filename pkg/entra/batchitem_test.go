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

const tenant = "11111111-1111-4111-8111-111111111111"

// graphOnly serves the sandbox's Graph alone, behind wrap, to a client with a fixed
// token: for answers the sandbox's fault switch does not make.
func graphOnly(t *testing.T, itemThrottle func() (string, bool), wrap func(http.Handler) http.Handler) (*entra.Client, *graph.Service) {
	t.Helper()
	svc := graph.New(graph.Options{
		Authenticate: func(*http.Request) (graph.Principal, error) {
			return graph.Principal{TenantID: tenant, AppID: "33333333-3333-4333-8333-333333333333",
				Audience: "https://graph.microsoft.com", Roles: []string{"Directory.Read.All", "Application.ReadWrite.All", "Policy.Read.All"}}, nil
		},
		BatchItemThrottle: itemThrottle,
	})
	svc.AddTenant(tenant, "contoso.onmicrosoft.com")
	mux := http.NewServeMux()
	mux.Handle("/graph/", http.StripPrefix("/graph", wrap(svc)))
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	entra.SetTestOnlyTransport(srv.Client().Transport)
	t.Cleanup(func() { entra.SetTestOnlyTransport(nil) })
	cl := cloud.Cloud{Name: "test", Login: srv.URL + "/", Graph: srv.URL + "/graph/v1.0", GraphAudience: cloud.PublicGraphAudience}
	c, err := entra.New(cl, staticToken{}, entra.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c, svc
}

type staticToken struct{}

func (staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "t", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestObserveBatchItemThrottled: Graph throttles $batch items one by one (json-batching);
// the items answered 429 are sent again after their Retry-After, the others are kept.
func TestObserveBatchItemThrottled(t *testing.T) {
	var throttle atomic.Int32
	var mu sync.Mutex
	var batches int
	c, _ := graphOnly(t, func() (string, bool) { return "0.05", throttle.Add(-1) >= 0 }, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/$batch") {
				mu.Lock()
				batches++
				mu.Unlock()
			}
			h.ServeHTTP(w, r)
		})
	})
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

// TestAddPasswordAmbiguousFailure: a 504 to addPassword may come after the secret was made,
// so it is not sent again (a second secret would be known to nobody); a 503 is.
func TestAddPasswordAmbiguousFailure(t *testing.T) {
	var status atomic.Int32
	var calls atomic.Int32
	c, _ := graphOnly(t, nil, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/addPassword") {
				calls.Add(1)
				if s := status.Swap(0); s != 0 {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(int(s))
					w.Write([]byte(`{"error":{"code":"serviceNotAvailable","message":"try later"}}`))
					return
				}
			}
			h.ServeHTTP(w, r)
		})
	})
	ctx := context.Background()
	ref, err := c.UpsertApplication(ctx, tenant, entra.AppKey{UniqueName: "uicctl-x"}, entra.AppSpec{DisplayName: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, reason string
		status       int32
		calls        int32
		ok           bool
	}{
		{"503", "answered before acting: retried", 503, 2, true},
		{"504", "may have acted: not retried", 504, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status.Store(tc.status)
			calls.Store(0)
			_, err := c.AddPassword(ctx, tenant, ref.ObjectID, "uicctl", time.Time{})
			if (err == nil) != tc.ok || calls.Load() != tc.calls {
				t.Errorf("%s: err %v after %d calls, want ok=%v after %d", tc.reason, err, calls.Load(), tc.ok, tc.calls)
			}
		})
	}
}

// TestAddPasswordLostAnswer: the connection breaks after Graph made the secret, before its
// answer arrives. addPassword is not sent blindly again: the app is observed, the secret
// the lost call made (its display name and end date) is removed, and one more call makes
// the secret that is returned, so the app holds exactly one, known, secret.
func TestAddPasswordLostAnswer(t *testing.T) {
	var cut atomic.Bool
	c, _ := graphOnly(t, nil, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/addPassword") && cut.Swap(false) {
				h.ServeHTTP(httptest.NewRecorder(), r) // Graph acts; its answer is lost
				conn, _, err := w.(http.Hijacker).Hijack()
				if err != nil {
					t.Error(err)
					return
				}
				conn.Close()
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	ctx := context.Background()
	ref, err := c.UpsertApplication(ctx, tenant, entra.AppKey{UniqueName: "uicctl-lost"}, entra.AppSpec{DisplayName: "x"})
	if err != nil {
		t.Fatal(err)
	}
	cut.Store(true)
	end := time.Now().Add(180 * 24 * time.Hour).UTC().Truncate(time.Second)
	np, err := c.AddPassword(ctx, tenant, ref.ObjectID, "uicctl", end)
	if err != nil {
		t.Fatalf("AddPassword after a lost answer: %v", err)
	}
	if cut.Load() {
		t.Fatal("the connection was never cut: the test proves nothing")
	}
	obs, err := c.Observe(ctx, tenant, entra.Query{UniqueName: "uicctl-lost"})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, pw := range obs.App.Passwords {
		keys = append(keys, pw.KeyID)
	}
	if d := cmp.Diff([]string{np.KeyID}, keys); d != "" {
		t.Errorf("the app's secrets: want only the one returned, -want +got\n%s", d)
	}
}
