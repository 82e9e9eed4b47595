package sandbox

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/useitcloud/uicctl/pkg/sandbox/keyvault"
)

// Faults are the failures the sandbox injects. Rates are probabilities in [0,1] drawn per
// request. Latency, 429, 5xx and resets apply to the requests named by Scope (all when
// empty), never to the admin API.
type Faults struct {
	Latency        time.Duration // added before every request is served
	Rate429        float64       // share of requests answered 429 Too Many Requests
	RetryAfter     time.Duration // Retry-After of those 429s (fractional seconds allowed); 0 means 2s
	Rate5xx        float64       // share answered 503 Service Unavailable
	ResetRate      float64       // share whose connection is reset without an answer
	ReplicationLag time.Duration // Graph objects are invisible for this long after they are created
	ClockOffset    time.Duration // added to the sandbox clock: ages tokens, codes and secrets
	// Echo answers every request in scope with an error that reflects the request (headers
	// with Authorization, query, form body), as a hostile endpoint or a proxy could: it is
	// how tests prove that no credential the client sent comes back to the user.
	Echo  bool
	Scope []string // requests hit: a service (login, graph, partnercenter, partnerapi, blob, keyvault), partnercenter-usage, login-token or login-authorize
}

var services = []string{"login", "graph", "partnercenter", "partnerapi", "blob", "keyvault"}

// usageScope narrows Partner Center faults to its usage endpoints, so a test can fail the
// usage calls while customers and subscriptions still answer.
const usageScope = "partnercenter-usage"

// tokenScope and authorizeScope narrow login faults to its token or its authorize endpoint,
// so that a consent test can fail the code redemption after a sign-in that worked.
const (
	tokenScope     = "login-token"
	authorizeScope = "login-authorize"
)

var scopes = append(slices.Clip(services), usageScope, tokenScope, authorizeScope)

func (f Faults) validate() error {
	var errs []error
	for name, r := range map[string]float64{"429 rate": f.Rate429, "5xx rate": f.Rate5xx, "reset rate": f.ResetRate} {
		if r < 0 || r > 1 {
			errs = append(errs, fmt.Errorf("%s must be between 0 and 1", name))
		}
	}
	for name, d := range map[string]time.Duration{"latency": f.Latency, "retry-after": f.RetryAfter, "replication lag": f.ReplicationLag} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", name))
		}
	}
	for _, sc := range f.Scope {
		if !contains(scopes, sc) {
			errs = append(errs, fmt.Errorf("unknown fault scope %q (want one of %s)", sc, strings.Join(scopes, ", ")))
		}
	}
	return errors.Join(errs...)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// faultsJSON is the admin API and flag form: durations as Go duration strings.
type faultsJSON struct {
	Latency        string   `json:"latency"`
	Rate429        float64  `json:"rate429"`
	RetryAfter     string   `json:"retryAfter"`
	Rate5xx        float64  `json:"rate5xx"`
	ResetRate      float64  `json:"resetRate"`
	ReplicationLag string   `json:"replicationLag"`
	ClockOffset    string   `json:"clockOffset"`
	Echo           bool     `json:"echo"`
	Scope          []string `json:"scope"`
}

// MarshalJSON writes durations as strings ("1.5s") so the admin API reads like the flags.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{Latency: f.Latency.String(), Rate429: f.Rate429, RetryAfter: f.RetryAfter.String(),
		Rate5xx: f.Rate5xx, ResetRate: f.ResetRate, ReplicationLag: f.ReplicationLag.String(),
		ClockOffset: f.ClockOffset.String(), Echo: f.Echo, Scope: f.Scope})
}

// UnmarshalJSON reads the admin API form; absent keys are zero.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	var errs []error
	dur := func(name, s string) time.Duration {
		if s == "" {
			return 0
		}
		d, err := ParseDuration(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		return d
	}
	*f = Faults{Latency: dur("latency", j.Latency), Rate429: j.Rate429, RetryAfter: dur("retryAfter", j.RetryAfter),
		Rate5xx: j.Rate5xx, ResetRate: j.ResetRate, ReplicationLag: dur("replicationLag", j.ReplicationLag),
		ClockOffset: dur("clockOffset", j.ClockOffset), Echo: j.Echo, Scope: j.Scope}
	return errors.Join(errs...)
}

// maxDays bounds a duration in days: 100 years, far below time.Duration's limit.
const maxDays = 36500

// ParseDuration is time.ParseDuration that also accepts whole days ("91d"), the unit tokens
// and secrets age in.
func ParseDuration(s string) (time.Duration, error) {
	neg := strings.HasPrefix(s, "-")
	if d, ok := strings.CutSuffix(strings.TrimPrefix(s, "-"), "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		if n > maxDays {
			// time.Duration holds about 292 years; n*24h past that would wrap around.
			return 0, fmt.Errorf("invalid duration %q: at most %dd", s, maxDays)
		}
		out := time.Duration(n) * 24 * time.Hour
		if neg {
			out = -out
		}
		return out, nil
	}
	return time.ParseDuration(s)
}

type faultInjector struct {
	mu  sync.Mutex
	f   Faults
	rng *rand.Rand
}

func newFaultInjector(f Faults, seed int64) *faultInjector {
	return &faultInjector{f: f, rng: rand.New(rand.NewPCG(uint64(seed), 0xfa017))}
}

func (fi *faultInjector) get() Faults {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.f
}

func (fi *faultInjector) set(f Faults) {
	fi.mu.Lock()
	fi.f = f
	fi.mu.Unlock()
}

type faultKind int

const (
	noFault faultKind = iota
	fault429
	fault5xx
	faultReset
	faultEcho
)

// draw picks what happens to one request of service svc at path. Requests out of scope
// draw no number, so the faults a scope gets do not depend on traffic outside it.
func (fi *faultInjector) draw(svc, path string) (Faults, faultKind) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	f := fi.f
	if svc == "admin" || !inScope(f.Scope, svc, path) {
		return Faults{ClockOffset: f.ClockOffset}, noFault
	}
	if f.Echo {
		return f, faultEcho
	}
	if f.Rate429 == 0 && f.Rate5xx == 0 && f.ResetRate == 0 {
		return f, noFault
	}
	x := fi.rng.Float64()
	switch {
	case x < f.ResetRate:
		return f, faultReset
	case x < f.ResetRate+f.Rate429:
		return f, fault429
	case x < f.ResetRate+f.Rate429+f.Rate5xx:
		return f, fault5xx
	}
	return f, noFault
}

// inScope says whether faults limited to scope hit a request of service svc at path.
func inScope(scope []string, svc, path string) bool {
	if len(scope) == 0 || contains(scope, svc) {
		return true
	}
	switch svc {
	case "partnercenter":
		return contains(scope, usageScope) && isUsagePath(path)
	case "login":
		return (contains(scope, tokenScope) && strings.HasSuffix(path, "/token")) ||
			(contains(scope, authorizeScope) && strings.HasSuffix(path, "/authorize"))
	}
	return false
}

// isUsagePath: Partner Center's usage endpoints, invoice line items (unbilled included)
// and Azure utilization records, whatever page of them is asked for.
func isUsagePath(path string) bool {
	seg := strings.Split(strings.Trim(strings.TrimPrefix(path, "/partnercenter/v1/"), "/"), "/")
	n := len(seg)
	return (n >= 2 && seg[0] == "invoices" && seg[n-1] == "lineitems") ||
		(n >= 5 && seg[0] == "customers" && seg[2] == "subscriptions" && seg[4] == "utilizations")
}

// serviceOf names the emulated service a path belongs to.
func serviceOf(path string) string {
	first, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	switch first {
	case "graph", "partnercenter", "partnerapi", "blob":
		return first
	case "_sandbox":
		return "admin"
	}
	return "login"
}

func (fi *faultInjector) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		svc := serviceOf(r.URL.Path)
		if keyvault.IsVaultHost(r.Host) {
			svc = "keyvault"
		}
		f, kind := fi.draw(svc, r.URL.Path)
		if f.Latency > 0 {
			select {
			case <-time.After(f.Latency):
			case <-r.Context().Done():
				return
			}
		}
		switch kind {
		case faultReset:
			resetConnection(w)
		case fault429:
			writeThrottled(w, svc, f.RetryAfter)
		case fault5xx:
			writeUnavailable(w, svc)
		case faultEcho:
			if svc == "login" && strings.HasSuffix(r.URL.Path, "/authorize") {
				// Entra sends authorize errors to the redirect URI once it trusts it: the
				// handler echoes the sign-in there (authorize.go).
				next.ServeHTTP(w, withEcho(r))
				return
			}
			b, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
			writeEcho(w, svc, echoText(r, string(b)))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// resetConnection closes the TCP connection with SO_LINGER 0, so the client sees a reset
// instead of an answer.
func resetConnection(w http.ResponseWriter) {
	if rw, ok := w.(*statusWriter); ok {
		rw.status = 0 // the log shows status 0: no answer
		w = rw.ResponseWriter
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := underlyingTCP(conn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

func underlyingTCP(c net.Conn) (*net.TCPConn, bool) {
	type netConner interface{ NetConn() net.Conn }
	for {
		switch v := c.(type) {
		case *net.TCPConn:
			return v, true
		case netConner:
			c = v.NetConn()
		default:
			return nil, false
		}
	}
}

func writeThrottled(w http.ResponseWriter, svc string, retryAfter time.Duration) {
	if retryAfter <= 0 {
		retryAfter = 2 * time.Second
	}
	// Graph sends fractional seconds at times ("2.128"); keep what the fault asked for.
	w.Header().Set("Retry-After", strconv.FormatFloat(retryAfter.Seconds(), 'f', -1, 64))
	switch svc {
	case "blob":
		// Azure Storage throttles with 503 Server Busy, never 429, and sends no Retry-After
		// (learn.microsoft.com/azure/storage/common/scalability-targets-resource-provider).
		w.Header().Del("Retry-After")
		writeStorageError(w, http.StatusServiceUnavailable, "ServerBusy", "Operations per second is over the account limit.")
	case "graph":
		writeGraphError(w, http.StatusTooManyRequests, "TooManyRequests", "Too many requests from Identifier:sandbox under category:throttle.aad.ags.tenant. Please try again later.")
	case "keyvault":
		// learn.microsoft.com/azure/key-vault/general/overview-throttling: 429 with
		// Retry-After. UNCONFIRMED: the body's code and text.
		writeKVError(w, http.StatusTooManyRequests, "Throttled", "Request was not processed because too many requests were received. Reason: A6F1")
	case "partnercenter", "partnerapi":
		writePCError(w, http.StatusTooManyRequests, "429", "Rate limit is exceeded. Try again later.") // UNCONFIRMED: Partner Center's 429 text.
	default:
		// UNCONFIRMED: the body Entra sends with a 429.
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": "temporarily_unavailable", "error_description": "AADSTS90055: The server is temporarily unavailable, too many requests.", "error_codes": []int{90055}})
	}
}

func writeUnavailable(w http.ResponseWriter, svc string) {
	switch svc {
	case "blob":
		writeStorageError(w, http.StatusServiceUnavailable, "ServerBusy", "The server is currently unable to receive requests. Please retry your request.")
	case "graph":
		writeGraphError(w, http.StatusServiceUnavailable, "serviceNotAvailable", "The service is temporarily unavailable. Please try again later.")
	case "keyvault":
		writeKVError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "The service is unavailable.") // UNCONFIRMED
	case "partnercenter", "partnerapi":
		writePCError(w, http.StatusServiceUnavailable, "503", "The service is temporarily unavailable.")
	default:
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "temporarily_unavailable", "error_description": "AADSTS90033: A transient error has occurred. Please try again.", "error_codes": []int{90033}})
	}
}

func writeGraphError(w http.ResponseWriter, status int, code, msg string) {
	now := time.Now().UTC().Format("2006-01-02T15:04:05")
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]any{"date": now, "request-id": newGUID(), "client-request-id": newGUID()}}})
}

// writeStorageError answers as Azure Storage does: an XML Error body (with a byte order
// mark) and the code in x-ms-error-code.
func writeStorageError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-ms-error-code", code)
	w.WriteHeader(status)
	var m strings.Builder
	xml.EscapeText(&m, []byte(msg))
	fmt.Fprintf(w, "\ufeff<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>%s</Code><Message>%s\nRequestId:%s\nTime:%s</Message></Error>",
		code, m.String(), newGUID(), time.Now().UTC().Format("2006-01-02T15:04:05.0000000Z"))
}

func writeKVError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func discardLogger() *log.Logger { return log.New(io.Discard, "", 0) }

// batchItemThrottle answers, for one item of a Graph $batch, whether the 429 fault hits it
// and with which Retry-After: Graph throttles the items of a batch one by one (the batch
// itself answers 200), so the 429 rate applies to items too.
func (fi *faultInjector) batchItemThrottle() (string, bool) {
	f, kind := fi.draw("graph", "")
	if kind != fault429 {
		return "", false
	}
	ra := f.RetryAfter
	if ra <= 0 {
		ra = 2 * time.Second
	}
	return strconv.FormatFloat(ra.Seconds(), 'f', -1, 64), true
}

// echoText is what the echo fault reflects, on one line (clients that keep only an error's
// first line are not spared): the request line, the body, and the headers (Authorization
// included, sorted), behind a terminal escape sequence (a title change and a screen clear)
// that a client printing remote text raw would obey.
func echoText(r *http.Request, body string) string {
	var b strings.Builder
	b.WriteString("echo \x1b]0;echo\x07\x1b[2J")
	fmt.Fprintf(&b, "%s %s body %s headers", r.Method, r.URL.RequestURI(), body)
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range r.Header[k] {
			fmt.Fprintf(&b, " %s: %s;", k, v)
		}
	}
	return b.String()
}

// writeEcho answers with the service's own error shape, the echo as its message. No service
// documents reflecting a request, which is the point of the fault; the codes are each
// service's for a malformed request: Storage's InvalidHeaderValue (400,
// learn.microsoft.com/rest/api/storageservices/common-rest-api-error-codes), Entra's
// AADSTS900144 (as authorize.go answers a missing parameter), Graph's BadRequest (the
// code its 400s carry; UNCONFIRMED for a reflected request), Partner Center's "400" and Key
// Vault's BadParameter (UNCONFIRMED: neither documents its code for this).
func writeEcho(w http.ResponseWriter, svc, echo string) {
	switch svc {
	case "blob":
		writeStorageError(w, http.StatusBadRequest, "InvalidHeaderValue", echo)
	case "graph":
		writeGraphError(w, http.StatusBadRequest, "BadRequest", echo)
	case "keyvault":
		writeKVError(w, http.StatusBadRequest, "BadParameter", echo)
	case "partnercenter", "partnerapi":
		writePCError(w, http.StatusBadRequest, "400", echo)
	default:
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request",
			"error_description": "AADSTS900144: The request body must contain the following parameter: " + echo,
			"error_codes":       []int{900144}, "trace_id": newGUID(), "correlation_id": newGUID()})
	}
}

type echoKey struct{}

// withEcho marks r for the authorize handler, which echoes it to the redirect URI.
func withEcho(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), echoKey{}, true))
}

func echoRequested(r *http.Request) bool { return r.Context().Value(echoKey{}) != nil }
