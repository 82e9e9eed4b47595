package entra

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// Entra replicates a new object to the directory's other replicas over seconds: a write
// that refers to it right after its creation may be refused as if it did not exist. These
// are the documented shapes of that refusal; a write that fails so is tried again.
//
// 429, 503 and 504 are not here: kiota's retry handler already retried them honouring
// Retry-After, and a ThrottledError is what is left after its budget.

// errNotReplicated is a write's own finding that an object Graph reported is not visible
// yet (a 409 for a grant that a list then does not show).
var errNotReplicated = errors.New("not replicated yet")

// errLostAnswer is a write whose connection broke before the answer came: settle tries it
// again after the write has looked at what exists (never blindly).
var errLostAnswer = errors.New("the connection broke before Graph answered")

// graphFailure is the status, OData code and message of a Graph error, from a direct
// call (ResponseStatusCode) or a classified one.
type graphFailure struct {
	status        int
	code, message string
	retryAfter    string
}

func failureOf(err error) (graphFailure, bool) {
	var ie *graphItemError
	if errors.As(err, &ie) {
		return ie.f, true
	}
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		f := graphFailure{status: oe.ResponseStatusCode}
		if m := oe.GetErrorEscaped(); m != nil {
			f.code, f.message = strOf(m.GetCode()), strOf(m.GetMessage())
		}
		if oe.ResponseHeaders != nil {
			if v := oe.ResponseHeaders.Get("Retry-After"); len(v) > 0 {
				f.retryAfter = v[0]
			}
		}
		return f, true
	}
	var ae *abs.ApiError
	if errors.As(err, &ae) {
		return graphFailure{status: ae.ResponseStatusCode, message: ae.Message}, true
	}
	return graphFailure{}, false
}

// replicationLag reports whether err is one of the documented post-create errors:
//
//   - 404 Request_ResourceNotFound: the object (or one it references) is not yet visible;
//   - 400 "… does not reference a valid application object": a service principal created
//     for an application that is not yet visible;
//   - 400 "Invalid value specified for property 'clientId' / 'resourceId' /
//     'principalId'": a grant or an app role assignment naming a principal not yet
//     visible;
//   - 409: a conflict with an object still being replicated.
func replicationLag(err error) bool {
	if errors.Is(err, errNotReplicated) {
		return true
	}
	f, ok := failureOf(err)
	if !ok {
		return false
	}
	switch f.status {
	case http.StatusNotFound:
		return f.code == "Request_ResourceNotFound" || f.code == "ResourceNotFound" || f.code == ""
	case http.StatusConflict:
		return true
	case http.StatusBadRequest:
		m := strings.ToLower(f.message)
		if strings.Contains(m, "does not reference a valid application object") {
			return true
		}
		for _, p := range []string{"'clientid'", "'resourceid'", "'principalid'"} {
			if strings.Contains(m, "invalid value specified for property "+p) {
				return true
			}
		}
	}
	return false
}

// Backoff between tries of a write refused for replication lag: exponential from 100 ms,
// capped at 500 ms so that the write lands within half a second of the object appearing
// (a new tenant waits for three replications in a row: app, service principal, grants),
// with jitter so that the tenants of a fleet do not retry in step. Even a 30 s lag costs
// only about 60 requests this way, far below Graph's per-tenant limits.
const (
	backoffBase = 100 * time.Millisecond
	backoffCap  = 500 * time.Millisecond
)

func backoff(attempt int) time.Duration {
	d := min(backoffBase<<min(attempt, 10), backoffCap)
	return d/2 + rand.N(d/2+1)
}

// settle runs write until it succeeds, fails for another reason than replication lag, or
// the per-operation deadline passes (then the last error is returned).
func (c *Client) settle(ctx context.Context, write func(context.Context) error) error {
	deadline := time.Now().Add(c.settleTimeout)
	for attempt := 0; ; attempt++ {
		err := write(ctx)
		if err == nil || !(replicationLag(err) || errors.Is(err, errLostAnswer)) {
			return err
		}
		wait := backoff(attempt)
		if time.Now().Add(wait).After(deadline) {
			return err
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// sleep waits d, or less if ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
