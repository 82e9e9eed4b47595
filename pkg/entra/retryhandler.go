package entra

import (
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	khttp "github.com/microsoft/kiota-http-go"
)

// retryHandler retries requests answered 429, 503 or 504 in place of kiota's RetryHandler,
// whose request options (MaxRetries, ShouldRetry) it honours. It differs where kiota-http-go
// v1.5.4 hurts a fleet run:
//
//   - a fractional Retry-After ("0.5": Graph sends them at times) is waited; kiota truncates
//     it to whole seconds, so it retried at once;
//   - without Retry-After the exponential backoff is capped at retryCap: kiota doubles from
//     its delay without a cap (1, 2, 4 ... 64 s), so during an outage one request could
//     wait minutes (TestApplyFleetUnderFaults spent most of its 3.5 minutes there);
//   - the refused answer is drained and closed before the next try, so its connection goes
//     back to the pool instead of waiting for the garbage collector.
type retryHandler struct{ defaults khttp.RetryHandlerOptions }

// Backoff of a retry without Retry-After: retryBase, doubling, capped at retryCap, with
// jitter (half to the whole of it) so that the tenants of a fleet do not retry in step.
const (
	retryBase = time.Second
	retryCap  = 8 * time.Second
)

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
	resp, err := p.Next(req, i)
	var waited time.Duration
	for attempt := 1; err == nil && attempt <= opts.GetMaxRetries() && retriable(resp, req); attempt++ {
		if should := opts.GetShouldRetry(); should != nil && !should(waited, attempt-1, req, resp) {
			break
		}
		wait := retryDelay(resp.Header.Get("Retry-After"), attempt, time.Now())
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err := sleep(req.Context(), wait); err != nil {
			return nil, err
		}
		waited += wait
		if s, ok := req.Body.(io.Seeker); ok {
			if _, err := s.Seek(0, io.SeekStart); err != nil {
				return nil, err
			}
		}
		req.Header.Set("Retry-Attempt", strconv.Itoa(attempt))
		resp, err = p.Next(req, i)
	}
	return resp, err
}

// retriable: 429, 503 and 504, for a request whose body can be sent again.
func retriable(resp *http.Response, req *http.Request) bool {
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
	default:
		return false
	}
	if req.Body == nil || req.Body == http.NoBody {
		return true
	}
	_, ok := req.Body.(io.Seeker)
	return ok
}

// retryDelay is the wait before retry attempt (1 for the first): what Retry-After says,
// else the capped exponential backoff.
func retryDelay(retryAfter string, attempt int, now time.Time) time.Duration {
	if d, ok := parseRetryAfter(retryAfter, now); ok {
		return d
	}
	d := min(retryBase<<min(attempt-1, 10), retryCap)
	return d/2 + rand.N(d/2+1)
}

// parseRetryAfter reads a Retry-After header: seconds (Graph sends fractions at times) or an
// HTTP date, as a wait from now.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
