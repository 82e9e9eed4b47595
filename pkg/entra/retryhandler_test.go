package entra

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	abs "github.com/microsoft/kiota-abstractions-go"
	khttp "github.com/microsoft/kiota-http-go"

	"github.com/useitcloud/uicctl/internal/retry"
)

// scripted answers each try with the next status (and Retry-After) and records the bodies
// it was sent and whether the previous answer was closed before the next try.
type scripted struct {
	answers  []answer
	bodies   []string
	unclosed int
	last     *trackedBody
}

type answer struct {
	status     int
	retryAfter string
}

type trackedBody struct {
	io.Reader
	closed bool
}

func (b *trackedBody) Close() error { b.closed = true; return nil }

func (s *scripted) Next(req *http.Request, _ int) (*http.Response, error) {
	if s.last != nil && !s.last.closed {
		s.unclosed++
	}
	b := ""
	if req.Body != nil {
		raw, _ := io.ReadAll(req.Body)
		b = string(raw)
	}
	s.bodies = append(s.bodies, b)
	a := s.answers[min(len(s.bodies)-1, len(s.answers)-1)]
	if a.status == 0 {
		s.last = nil
		return nil, io.ErrUnexpectedEOF // the connection was cut
	}
	s.last = &trackedBody{Reader: strings.NewReader(`{"error":{}}`)}
	h := http.Header{}
	if a.retryAfter != "" {
		h.Set("Retry-After", a.retryAfter)
	}
	return &http.Response{StatusCode: a.status, Header: h, Body: s.last}, nil
}

func TestRetryHandler(t *testing.T) {
	cases := map[string]struct {
		reason     string
		answers    []answer
		maxRetries int
		noRetry504 bool // the per-request option addPassword sets
		idempotent bool // a $batch of reads, an upsert
		budget     time.Duration
		wantErr    string
		wantTries  int
		wantStatus int
		minWait    time.Duration
	}{
		"FractionalRetryAfter": {reason: "Retry-After 0.3 is waited, not truncated to 0", answers: []answer{{429, "0.3"}, {200, ""}},
			maxRetries: 3, wantTries: 2, wantStatus: 200, minWait: 300 * time.Millisecond},
		"GivesUp": {reason: "after MaxRetries the last refusal is returned, body intact", answers: []answer{{503, "0"}},
			maxRetries: 2, wantTries: 3, wantStatus: 503},
		"NotRetriable": {reason: "a 400 is no reason to try again", answers: []answer{{400, ""}, {200, ""}},
			maxRetries: 3, wantTries: 1, wantStatus: 400},
		"GatewayTimeoutNotIdempotent": {reason: "a 504 may come after Graph acted: a POST not marked idempotent is not sent twice", answers: []answer{{504, "0"}, {200, ""}},
			maxRetries: 3, wantTries: 1, wantStatus: 504},
		"GatewayTimeoutIdempotent": {reason: "an upsert is sent again after a 504", answers: []answer{{504, "0"}, {200, ""}},
			maxRetries: 3, idempotent: true, wantTries: 2, wantStatus: 200},
		"PerRequestOption": {reason: "a request's own ShouldRetry (addPassword: no 504) is honoured", answers: []answer{{504, "0"}, {200, ""}},
			maxRetries: 3, noRetry504: true, wantTries: 1, wantStatus: 504},
		"HourCappedByBudget": {reason: "Retry-After: 3600 is cut to the budget; the last refusal is the answer", answers: []answer{{429, "3600"}},
			maxRetries: 10, budget: 300 * time.Millisecond, wantTries: 2, wantStatus: 429, minWait: 300 * time.Millisecond},
		"ResetIdempotent": {reason: "a cut connection of an idempotent request is tried again", answers: []answer{{0, ""}, {0, ""}, {200, ""}},
			maxRetries: 3, idempotent: true, wantTries: 3, wantStatus: 200},
		"ResetNotIdempotent": {reason: "a POST that may have acted is not sent twice", answers: []answer{{0, ""}, {200, ""}},
			maxRetries: 3, wantTries: 1, wantErr: "unexpected EOF"},
		"ResetPastBudget": {reason: "resets past the budget name the network", answers: []answer{{0, ""}},
			maxRetries: 10, idempotent: true, budget: 60 * time.Millisecond, wantTries: 2,
			wantErr: "Graph unreachable: connection closed without an answer (EOF), gave up after 2 tries in 0s"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := &scripted{answers: tc.answers}
			ctx := context.Background()
			if tc.idempotent {
				ctx = retry.Idempotent(ctx)
			}
			if tc.budget > 0 {
				ctx = retry.WithBudget(ctx, tc.budget)
			}
			if tc.noRetry504 {
				o := &khttp.RetryHandlerOptions{MaxRetries: tc.maxRetries, ShouldRetry: func(_ time.Duration, _ int, _ *http.Request, r *http.Response) bool {
					return r.StatusCode != http.StatusGatewayTimeout
				}}
				ctx = context.WithValue(ctx, o.GetKey(), abs.RequestOption(o))
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://graph.example/v1.0/x", nil)
			req.Body = khttp.NopCloser(bytes.NewReader([]byte(`{"a":1}`)))
			start := time.Now()
			res, err := retryHandler{defaults: khttp.RetryHandlerOptions{MaxRetries: tc.maxRetries}}.Intercept(p, 0, req)
			if tc.wantErr != "" || err != nil {
				if err == nil || err.Error() != tc.wantErr {
					t.Errorf("%s: error %v, want %q", tc.reason, err, tc.wantErr)
				}
				if len(p.bodies) != tc.wantTries {
					t.Errorf("%s: %d tries, want %d", tc.reason, len(p.bodies), tc.wantTries)
				}
				return
			}
			got := struct{ Tries, Status, Unclosed int }{len(p.bodies), res.StatusCode, p.unclosed}
			want := struct{ Tries, Status, Unclosed int }{tc.wantTries, tc.wantStatus, 0}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("%s: -want +got\n%s", tc.reason, d)
			}
			for i, b := range p.bodies {
				if b != `{"a":1}` {
					t.Errorf("%s: try %d sent body %q: not rewound", tc.reason, i+1, b)
				}
			}
			if body, _ := io.ReadAll(res.Body); string(body) != `{"error":{}}` {
				t.Errorf("%s: the returned answer's body was consumed: %q", tc.reason, body)
			}
			if w := time.Since(start); w < tc.minWait {
				t.Errorf("%s: waited %v, want at least %v", tc.reason, w, tc.minWait)
			}
		})
	}
}
