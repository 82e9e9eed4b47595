package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// DefaultBudget is how long one operation may spend waiting and retrying.
	DefaultBudget = 2 * time.Minute
	// MaxWait caps a Retry-After: Graph has sent an hour, and no run should sleep that long.
	MaxWait = 30 * time.Second
	// announceAfter: waits longer than this are announced; shorter ones are routine.
	announceAfter = 2 * time.Second
	// backoffBase and backoffCap shape the wait without Retry-After: from 1 s, doubling,
	// capped at 8 s, with jitter (half to the whole of it) so that the tenants of a fleet
	// do not retry in step.
	backoffBase = time.Second
	backoffCap  = 8 * time.Second
	// A connection error is retried sooner: nobody asked us to slow down.
	netBackoffBase = 100 * time.Millisecond
	netBackoffCap  = 2 * time.Second
)

// Cause is why an operation is being retried.
type Cause int

const (
	Throttled   Cause = iota + 1 // 429
	Unavailable                  // 502, 503, 504
	Network                      // reset, EOF, timeout
)

func (c Cause) String() string {
	switch c {
	case Throttled:
		return "throttled"
	case Unavailable:
		return "unavailable"
	case Network:
		return "unreachable"
	}
	return "failing"
}

type ctxKey int

const (
	budgetKey ctxKey = iota
	notifyKey
	idempotentKey
)

// WithBudget sets the budget of the operations started under ctx (0 or less: DefaultBudget).
func WithBudget(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, budgetKey, d)
}

// WithNotify sets where waits longer than 2 s are announced; notify gets one line such as
// "Graph throttled, retrying in 30s" (the caller prefixes the tenant).
func WithNotify(ctx context.Context, notify func(msg string)) context.Context {
	return context.WithValue(ctx, notifyKey, notify)
}

// Idempotent marks the requests made under ctx as safe to send again after a connection
// error: the server may have acted on the first, and a second does no harm.
func Idempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey, true)
}

// IsIdempotent reports whether req may be sent again after a connection error.
func IsIdempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	v, _ := req.Context().Value(idempotentKey).(bool)
	return v
}

func budgetOf(ctx context.Context) time.Duration {
	if d, ok := ctx.Value(budgetKey).(time.Duration); ok && d > 0 {
		return d
	}
	return DefaultBudget
}

// Exhausted is an operation that kept failing for a transient cause until its budget was
// spent.
type Exhausted struct {
	Service    string // "Graph", "Partner Center", "sign-in", ...
	Cause      Cause
	Status     int    // the last HTTP status; 0 for a connection error
	RetryAfter string // the last Retry-After, if any
	Tries      int
	Spent      time.Duration
	Err        error // the last connection error, for Network
}

func (e *Exhausted) Error() string {
	var s string
	switch e.Cause {
	case Network:
		s = fmt.Sprintf("%s unreachable: %s", e.Service, netReason(e.Err))
	case Throttled:
		s = fmt.Sprintf("%s throttled (%d)", e.Service, e.Status)
	default:
		s = fmt.Sprintf("%s unavailable (%d)", e.Service, e.Status)
	}
	s += fmt.Sprintf(", gave up after %d tries in %s", e.Tries, e.Spent.Round(time.Second))
	if e.RetryAfter != "" {
		s += fmt.Sprintf(" (last Retry-After: %s s)", e.RetryAfter)
	}
	return s
}

// Hint fits the cause: a network failure says nothing of credentials.
func (e *Exhausted) Hint() string {
	switch e.Cause {
	case Network:
		return fmt.Sprintf("the connection to %s failed (not a credential problem): check the network, proxy and firewall, then run again", e.Service)
	case Throttled:
		return fmt.Sprintf("%s is limiting requests: run again later or with a lower --parallelism; the tenants that succeeded need not be repeated", e.Service)
	}
	return fmt.Sprintf("%s is failing for now: run again later", e.Service)
}

// Unwrap returns the last connection error, if any.
func (e *Exhausted) Unwrap() error { return e.Err }

// netReason names a connection error without its URL (which Go's url.Error repeats).
func netReason(err error) string {
	switch {
	case err == nil:
		return "connection failed"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return "connection closed without an answer (EOF)"
	case isTimeout(err):
		return "timed out"
	}
	return "connection failed"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Transient reports whether err is a connection failure worth another try: a reset, a
// connection closed without an answer (EOF), a timeout. A refused connection or an unknown
// host is not: nothing listens there, and waiting will not change it; nor is a cancelled
// context.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, syscall.ECONNREFUSED) {
		return false
	}
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || isTimeout(err) ||
		strings.Contains(err.Error(), "connection reset")
}

// StatusCause says whether an HTTP status is retried, and why.
func StatusCause(status int) (Cause, bool) {
	switch status {
	case http.StatusTooManyRequests:
		return Throttled, true
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return Unavailable, true
	}
	return 0, false
}

// ParseRetryAfter reads a Retry-After header: seconds (Graph sends fractions at times) or an
// HTTP date, as a wait from now.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		if s > MaxWait.Seconds()*1000 {
			return MaxWait * 1000, true // no overflow from an absurd value
		}
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Backoff is the wait before retry attempt (1 for the first) when the service said nothing.
func Backoff(attempt int) time.Duration { return jittered(backoffBase, backoffCap, attempt) }

func jittered(base, ceiling time.Duration, attempt int) time.Duration {
	d := min(base<<min(max(attempt-1, 0), 10), ceiling)
	return d/2 + rand.N(d/2+1)
}

// Op is one operation's retry state: its service, its budget and how often it tried.
type Op struct {
	service  string
	start    time.Time
	deadline time.Time
	notify   func(string)
	tries    int
}

// Start begins an operation of service under ctx's budget.
func Start(ctx context.Context, service string) *Op {
	now := time.Now()
	n, _ := ctx.Value(notifyKey).(func(string))
	return &Op{service: service, start: now, deadline: now.Add(budgetOf(ctx)), notify: n, tries: 1}
}

// Wait is called after a try failed for cause (status and retryAfter as answered; status 0
// and err for a connection error). It waits before the next try and returns nil, or
// returns *Exhausted when the budget is spent, or ctx's error.
func (o *Op) Wait(ctx context.Context, cause Cause, status int, retryAfter string, err error) error {
	now := time.Now()
	left := o.deadline.Sub(now)
	wait, ok := ParseRetryAfter(retryAfter, now)
	switch {
	case ok:
	case cause == Network:
		wait = jittered(netBackoffBase, netBackoffCap, o.tries)
	default:
		wait = Backoff(o.tries)
	}
	wait = min(wait, MaxWait)
	if left <= 0 || (left < wait && left < 50*time.Millisecond) {
		return &Exhausted{Service: o.service, Cause: cause, Status: status, RetryAfter: retryAfter, Tries: o.tries, Spent: now.Sub(o.start), Err: err}
	}
	// The last try gets what is left of the budget, rather than giving up early.
	wait = min(wait, left)
	if wait > announceAfter && o.notify != nil {
		o.notify(fmt.Sprintf("%s %s, retrying in %s", o.service, cause, wait.Round(time.Second)))
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	o.tries++
	return nil
}

// Tries is how many tries the operation made so far.
func (o *Op) Tries() int { return o.tries }
