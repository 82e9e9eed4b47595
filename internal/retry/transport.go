package retry

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Transport applies the policy to the requests of an http.Client: a throttled or
// unavailable answer, or a connection error of an idempotent request, is tried again until
// the operation's budget is spent. Each try is bounded by AttemptTimeout; give the
// http.Client no Timeout of its own (it would cut the waits short).
type Transport struct {
	Base    http.RoundTripper // nil: http.DefaultTransport
	Service string            // named in announcements and errors: "Graph", "Partner Center", ...
	// AttemptTimeout bounds one try, its body read included. 0 means 1 minute.
	AttemptTimeout time.Duration
}

func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	timeout := t.AttemptTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx := req.Context()
	op := Start(ctx, t.Service)
	idem := IsIdempotent(req)
	for {
		if op.tries > 1 {
			// A RoundTripper must not change the caller's request: each retry is a clone.
			next := req.Clone(ctx)
			if req.Body != nil && req.Body != http.NoBody {
				if req.GetBody == nil {
					return nil, errNoReplay
				}
				b, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				next.Body = b
			}
			next.Header.Set("Retry-Attempt", strconv.Itoa(op.tries-1))
			req = next
		}
		actx, cancel := context.WithTimeout(ctx, timeout)
		resp, err := base.RoundTrip(req.WithContext(actx))
		if err != nil {
			cancel()
			if ctx.Err() != nil || !idem || !Transient(err) {
				return nil, err
			}
			if werr := op.Wait(ctx, Network, 0, "", err); werr != nil {
				return nil, werr
			}
			continue
		}
		cause, retry := StatusCause(resp.StatusCode)
		if !retry || (!idem && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
			resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
			return resp, nil
		}
		ra := resp.Header.Get("Retry-After")
		// Drain and close the refused answer so its connection goes back to the pool.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		cancel()
		if werr := op.Wait(ctx, cause, resp.StatusCode, ra, nil); werr != nil {
			return nil, werr
		}
	}
}

type noReplay struct{}

func (noReplay) Error() string { return "cannot retry a request whose body cannot be sent again" }

var errNoReplay error = noReplay{}

// cancelBody ends a try's context when its body is closed, not when RoundTrip returns
// (the body is still to be read).
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
