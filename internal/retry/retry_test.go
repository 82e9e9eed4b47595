package retry_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/useitcloud/uicctl/internal/retry"
)

// answer is what the test server does with one request: a status (with Retry-After), or
// a reset connection when status is 0.
type answer struct {
	status     int
	retryAfter string
}

func server(t *testing.T, answers []answer) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		a := answer{status: 200}
		if i < len(answers) {
			a = answers[i]
		}
		if r.Body != nil {
			b, _ := io.ReadAll(r.Body)
			if r.Method == http.MethodPost && string(b) != "body" {
				t.Errorf("try %d sent body %q", i+1, b)
			}
		}
		if a.status == 0 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		w.WriteHeader(a.status)
		io.WriteString(w, "answer")
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestTransport(t *testing.T) {
	reset, throttled := answer{}, answer{429, "0.01"}
	for name, tc := range map[string]struct {
		reason     string
		method     string
		idempotent bool
		budget     time.Duration
		answers    []answer
		wantTries  int32
		wantStatus int
		wantErr    string
	}{
		"GetThroughResets": {reason: "a GET is sent again after resets", method: "GET",
			answers: []answer{reset, reset}, wantTries: 3, wantStatus: 200},
		"PostNotRetriedOnReset": {reason: "a POST may have acted: a reset is its caller's to resolve", method: "POST",
			answers: []answer{reset}, wantTries: 1, wantErr: "EOF"},
		"MarkedPostRetried": {reason: "a POST marked idempotent (token request, $batch of reads) is sent again", method: "POST", idempotent: true,
			answers: []answer{reset, reset}, wantTries: 3, wantStatus: 200},
		"ThrottledPostRetried": {reason: "429 comes before acting: any request is sent again", method: "POST",
			answers: []answer{throttled, throttled}, wantTries: 3, wantStatus: 200},
		"GatewayTimeoutPostNotRetried": {reason: "a 504 may come after acting", method: "POST",
			answers: []answer{{504, ""}}, wantTries: 1, wantStatus: 504},
		"NotRetriable": {reason: "a 400 is the answer", method: "GET",
			answers: []answer{{400, ""}}, wantTries: 1, wantStatus: 400},
		"BudgetSpentThrottled": {reason: "an hour's Retry-After is cut to the budget; then the error says throttled", method: "GET", budget: 100 * time.Millisecond,
			answers: []answer{{429, "3600"}, {429, "3600"}, {429, "3600"}, {429, "3600"}}, wantTries: 2,
			wantErr: "Sandbox throttled (429), gave up after 2 tries in 0s (last Retry-After: 3600 s)"},
		"BudgetSpentNetwork": {reason: "resets past the budget name the network, not the credentials", method: "GET", budget: 60 * time.Millisecond,
			answers: []answer{reset, reset, reset, reset}, wantTries: 2,
			wantErr: "Sandbox unreachable: connection closed without an answer (EOF), gave up after 2 tries in 0s"},
	} {
		t.Run(name, func(t *testing.T) {
			srv, n := server(t, tc.answers)
			hc := &http.Client{Transport: &retry.Transport{Service: "Sandbox"}}
			ctx := context.Background()
			if tc.idempotent {
				ctx = retry.Idempotent(ctx)
			}
			if tc.budget > 0 {
				ctx = retry.WithBudget(ctx, tc.budget)
			}
			var body io.Reader
			if tc.method == "POST" {
				body = strings.NewReader("body")
			}
			req, _ := http.NewRequestWithContext(ctx, tc.method, srv.URL, body)
			res, err := hc.Do(req)
			gotStatus, gotErr := 0, ""
			if err != nil {
				gotErr = err.Error()
				if i := strings.LastIndex(gotErr, ": "); strings.HasPrefix(gotErr, tc.method+" ") && i > 0 {
					gotErr = gotErr[i+2:] // url.Error's prefix names the method and URL
				}
			} else {
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if string(b) != "answer" {
					t.Errorf("body %q after retries", b)
				}
				gotStatus = res.StatusCode
			}
			if tc.wantErr != "" && !strings.HasSuffix(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %q, want it to end %q", tc.reason, err, tc.wantErr)
			} else if tc.wantErr == "" && gotErr != "" {
				t.Errorf("%s: error %v", tc.reason, err)
			}
			if d := cmp.Diff([]any{tc.wantTries, tc.wantStatus}, []any{n.Load(), gotStatus}); d != "" {
				t.Errorf("%s: tries, status -want +got\n%s", tc.reason, d)
			}
		})
	}
}

// TestExhaustedHints: the hint fits the cause; a network failure never blames credentials.
func TestExhaustedHints(t *testing.T) {
	for name, tc := range map[string]struct {
		cause retry.Cause
		want  string
	}{
		"Network":     {retry.Network, "the connection to Graph failed (not a credential problem): check the network, proxy and firewall, then run again"},
		"Throttled":   {retry.Throttled, "Graph is limiting requests: run again later or with a lower --parallelism; the tenants that succeeded need not be repeated"},
		"Unavailable": {retry.Unavailable, "Graph is failing for now: run again later"},
	} {
		t.Run(name, func(t *testing.T) {
			e := &retry.Exhausted{Service: "Graph", Cause: tc.cause}
			if d := cmp.Diff(tc.want, e.Hint()); d != "" {
				t.Errorf("-want +got\n%s", d)
			}
		})
	}
}

// TestWaitAnnounced: waits over 2 s are announced with the service and the cause; the
// budget cuts an hour's Retry-After short. The budget (2.2 s) keeps the test quick.
func TestWaitAnnounced(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	ctx := retry.WithNotify(retry.WithBudget(context.Background(), 2200*time.Millisecond), func(m string) {
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	})
	op := retry.Start(ctx, "Graph")
	start := time.Now()
	if err := op.Wait(ctx, retry.Throttled, 429, "3600", nil); err != nil {
		t.Fatal(err)
	}
	err := op.Wait(ctx, retry.Throttled, 429, "3600", nil)
	var ex *retry.Exhausted
	if !errors.As(err, &ex) || ex.Tries != 2 {
		t.Fatalf("want Exhausted after 2 tries, got %v", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %s, past the budget", el)
	}
	if d := cmp.Diff([]string{"Graph throttled, retrying in 2s"}, got); d != "" {
		t.Errorf("announcements -want +got\n%s", d)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for name, tc := range map[string]struct {
		in   string
		want time.Duration
		ok   bool
	}{
		"Seconds":    {"3", 3 * time.Second, true},
		"Fraction":   {"0.5", 500 * time.Millisecond, true},
		"Date":       {now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second, true},
		"PastDate":   {now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		"Empty":      {"", 0, false},
		"Garbage":    {"soon", 0, false},
		"Negative":   {"-1", 0, false},
		"Overflowed": {"1e300", 30000 * time.Second, true},
	} {
		t.Run(name, func(t *testing.T) {
			d, ok := retry.ParseRetryAfter(tc.in, now)
			if d != tc.want || ok != tc.ok {
				t.Errorf("%q: got %s %v, want %s %v", tc.in, d, ok, tc.want, tc.ok)
			}
		})
	}
}
