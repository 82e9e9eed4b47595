package entra

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"time"

	khttp "github.com/microsoft/kiota-http-go"

	"github.com/useitcloud/uicctl/internal/retry"
)

// retryHandler applies uicctl's one retry policy (internal/retry) to Graph requests, in
// place of kiota's RetryHandler, whose request options (MaxRetries, ShouldRetry) it
// honours. It differs where kiota-http-go v1.5.4 hurts a fleet run:
//
//   - a fractional Retry-After ("0.5": Graph sends them at times) is waited; kiota truncates
//     it to whole seconds, so it retried at once;
//   - Retry-After is capped at retry.MaxWait (30 s) inside the operation's budget: kiota
//     sleeps whatever Graph says (an hour, printing nothing);
//   - without Retry-After the exponential backoff is capped: kiota doubles without a cap
//     (1, 2, 4 ... 64 s), so during an outage one request could wait minutes;
//   - a connection error (reset, EOF, timeout) of an idempotent request is tried again
//     (kiota returns it at once);
//   - the refused answer is read and closed before the wait, so its connection goes back
//     to the pool instead of waiting for the garbage collector.
//
// When the budget or MaxRetries is spent the last refusal is returned (classify makes it a
// ThrottledError); a connection error past the budget is a *retry.Exhausted.
type retryHandler struct{ defaults khttp.RetryHandlerOptions }

// retryOptions is what kiota's RetryHandlerOptions offers per request.
type retryOptions interface {
	GetShouldRetry() func(delay time.Duration, executionCount int, request *http.Request, response *http.Response) bool
	GetMaxRetries() int
}

var retryOptionsKey = (&khttp.RetryHandlerOptions{}).GetKey()

func (h retryHandler) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	var opts retryOptions = &h.defaults
	if o, ok := req.Context().Value(retryOptionsKey).(retryOptions); ok {
		opts = o
	}
	ctx := req.Context()
	op := retry.Start(ctx, "Graph")
	idem := retry.IsIdempotent(req)
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		resp, err := p.Next(req, i)
		var cause retry.Cause
		switch {
		case err != nil:
			if ctx.Err() != nil || !idem || !retry.Transient(err) || !replayable(req) || attempt > opts.GetMaxRetries() {
				return nil, err
			}
			cause = retry.Network
		default:
			c, ok := retry.StatusCause(resp.StatusCode)
			// 429 and 503 come before Graph acts; a 502 or 504 may come after, so only a
			// request that is safe to repeat is sent again.
			beforeActing := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable
			if !ok || !replayable(req) || attempt > opts.GetMaxRetries() || (!idem && !beforeActing) {
				return resp, nil
			}
			if should := opts.GetShouldRetry(); should != nil && !should(waited, attempt-1, req, resp) {
				return resp, nil
			}
			cause = c
			// Keep the refusal in memory: it is the answer if no try is left.
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader(body))
		}
		start := time.Now()
		status, ra := 0, ""
		if resp != nil {
			status, ra = resp.StatusCode, resp.Header.Get("Retry-After")
		}
		if werr := op.Wait(ctx, cause, status, ra, err); werr != nil {
			if resp != nil && ctx.Err() == nil {
				return resp, nil
			}
			return nil, werr
		}
		waited += time.Since(start)
		if s, ok := req.Body.(io.Seeker); ok {
			if _, err := s.Seek(0, io.SeekStart); err != nil {
				return nil, err
			}
		}
		req.Header.Set("Retry-Attempt", strconv.Itoa(attempt))
	}
}

// replayable: a request whose body can be sent again.
func replayable(req *http.Request) bool {
	if req.Body == nil || req.Body == http.NoBody {
		return true
	}
	_, ok := req.Body.(io.Seeker)
	return ok
}
