package partnercenter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/useitcloud/uicctl/internal/retry"
	"github.com/useitcloud/uicctl/internal/scrub"
	"github.com/useitcloud/uicctl/pkg/cloud"
)

// DelegatedToken redeems a refresh token like RedeemRefreshToken but also returns the access
// token, for the calls verify makes with it. The access token must never be printed.
func DelegatedToken(ctx context.Context, hc *http.Client, c cloud.Cloud, tenantID, clientID, secret, refreshToken, audience string) (access, rotated string, claims Claims, err error) {
	tok, err := requestToken(ctx, hc, c, tenantID, clientID, secret, audience, refreshToken)
	if err != nil {
		return "", "", Claims{}, err
	}
	if claims, err = ParseClaims(tok.AccessToken); err != nil {
		return "", "", Claims{}, err
	}
	rotated = tok.RefreshToken
	if rotated == "" {
		rotated = refreshToken
	}
	return tok.AccessToken, rotated, claims, nil
}

// Client calls the Partner Center REST API with a delegated (App+User) access token.
type Client struct {
	HTTP  *http.Client // nil: http.DefaultClient
	Base  string       // the cloud's PartnerCenter base, with its "/v1"
	Token string
	// CorrelationID is the MS-CorrelationId of every request: one per tenant per run, so
	// that one id finds all of a run's calls in a support case. Empty: NewCorrelationID
	// once, on first use.
	CorrelationID string
	once          sync.Once
}

// NewCorrelationID is a fresh MS-CorrelationId (a GUID, as the headers page asks).
func NewCorrelationID() string { return uuid.NewString() }

// ContractVersion is the MS-Contract-Version every request sends: the headers page
// (https://learn.microsoft.com/en-us/partner-center/developer/headers) lists it as
// required, "usually api-version: v1"; the SDKs send "v1".
const ContractVersion = "v1"

// APIError is a Partner Center refusal: its status, error body and request ids (never the
// token).
type APIError struct {
	Status        int
	Code          string
	Description   string
	RequestID     string
	CorrelationID string
	Path          string
	retryAfter    string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("partner center answered %d to %s", e.Status, e.Path)
	if e.Code != "" || e.Description != "" {
		msg += fmt.Sprintf(": %s %s", e.Code, e.Description)
	}
	return msg + ids(e.RequestID, e.CorrelationID)
}

// ids names a request for a support case: "(MS-RequestId r, MS-CorrelationId c)".
func ids(requestID, correlationID string) string {
	var parts []string
	if requestID != "" {
		parts = append(parts, "MS-RequestId "+requestID)
	}
	if correlationID != "" {
		parts = append(parts, "MS-CorrelationId "+correlationID)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// Hint says what to do about the refusal.
func (e *APIError) Hint() string {
	switch {
	case e.Code == "900421":
		return "the token has no MFA claim: run uicctl consent and sign in with MFA"
	case e.Status == 401 || e.Status == 403:
		return "check that the app is registered in Partner Center App management and the consent account has the Admin agent role"
	case e.Status == 429 || e.Status >= 500:
		return "Partner Center is throttling or failing; run verify again later"
	}
	return ""
}

// NotReadyError is Azure utilization's "204 No Content with a Retry-After header": the
// data is not ready in a dependent system yet
// (https://learn.microsoft.com/en-us/partner-center/developer/get-a-customer-s-utilization-record-for-azure).
type NotReadyError struct {
	Path          string
	RetryAfter    time.Duration
	RequestID     string
	CorrelationID string
	Waits         int // how often it was waited for before giving up
}

func (e *NotReadyError) Error() string {
	msg := fmt.Sprintf("partner center has no data ready for %s yet (204, Retry-After %s)", e.Path, e.RetryAfter)
	if e.Waits > 0 {
		msg += fmt.Sprintf(" after %d wait(s)", e.Waits)
	}
	return msg + ids(e.RequestID, e.CorrelationID)
}

// Hint says what to do about it.
func (e *NotReadyError) Hint() string {
	return "Partner Center is still preparing this usage; run verify again later"
}

// Page is the collection envelope of every Partner Center list
// (https://learn.microsoft.com/en-us/partner-center/developer/get-a-list-of-customers).
type Page struct {
	TotalCount int               `json:"totalCount"`
	Items      []json.RawMessage `json:"items"`
	Links      struct {
		Self *Link `json:"self"`
		Next *Link `json:"next"`
	} `json:"links"`
	Attributes struct {
		ObjectType string `json:"objectType"`
	} `json:"attributes"`
}

// Link is a link of a collection: the next page is links.next, to be requested with its
// headers (MS-ContinuationToken).
type Link struct {
	URI     string `json:"uri"`
	Method  string `json:"method"`
	Headers []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"headers"`
}

// Retries is how often a 429 or 5xx answer is retried (within the retry budget).
const Retries = 3

// get sends one logical request, under uicctl's one retry policy (internal/retry): a
// throttled or failing answer (429, 5xx) is waited out (Retry-After, at most 30 s) and a
// cut connection tried again, within the operation's budget and at most Retries times for
// an answer. Its MS-RequestId is fresh, and kept by the retries: the headers page asks a
// retry to carry the same value.
func (c *Client) get(ctx context.Context, rawURL string, hdr http.Header, v any) error {
	requestID := uuid.NewString()
	op := retry.Start(ctx, "Partner Center")
	for {
		err := c.get1(ctx, rawURL, requestID, hdr, v)
		var ae *APIError
		var werr error
		switch {
		case err == nil || ctx.Err() != nil:
			return err
		case errors.As(err, &ae):
			cause, ok := retry.StatusCause(ae.Status)
			if ae.Status == http.StatusInternalServerError {
				cause, ok = retry.Unavailable, true // Partner Center's 500s pass (UNCONFIRMED whether documented)
			}
			if !ok || op.Tries() > Retries {
				return err
			}
			werr = op.Wait(ctx, cause, ae.Status, ae.retryAfter, nil)
			if _, spent := werr.(*retry.Exhausted); spent {
				return err // the refusal itself says more (its code and request id)
			}
		case retry.Transient(err):
			werr = op.Wait(ctx, retry.Network, 0, "", err)
		default:
			return err
		}
		if werr != nil {
			return werr
		}
	}
}

// notReadyWait is how long a 204 asks to wait: its Retry-After, at most retry.MaxWait;
// 1 s without one.
func notReadyWait(v string) time.Duration {
	if d, ok := retry.ParseRetryAfter(v, time.Now()); ok {
		return min(d, retry.MaxWait)
	}
	return time.Second
}

func (c *Client) correlationID() string {
	c.once.Do(func() {
		if c.CorrelationID == "" {
			c.CorrelationID = NewCorrelationID()
		}
	})
	return c.CorrelationID
}

// Headers sets the headers every Partner Center and Partner API request carries
// (https://learn.microsoft.com/en-us/partner-center/developer/headers).
func Headers(h http.Header, requestID, correlationID string) {
	h.Set("MS-RequestId", requestID)
	h.Set("MS-CorrelationId", correlationID)
	h.Set("MS-Contract-Version", ContractVersion)
}

func (c *Client) get1(ctx context.Context, rawURL, requestID string, hdr http.Header, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/json")
	cid := c.correlationID()
	Headers(req.Header, requestID, cid)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	// The service echoes both ids; what it sent back is what a support case will find
	// (scrubbed: they are the service's text, shown to the user).
	rid, rcid := scrub.Line(resp.Header.Get("MS-RequestId")), scrub.Line(resp.Header.Get("MS-CorrelationId"))
	if rid == "" {
		rid = requestID
	}
	if rcid == "" {
		rcid = cid
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return json.Unmarshal(body, v)
	case http.StatusNoContent:
		return &NotReadyError{Path: req.URL.Path, RetryAfter: notReadyWait(resp.Header.Get("Retry-After")), RequestID: rid, CorrelationID: rcid}
	}
	e := &APIError{Status: resp.StatusCode, RequestID: rid, CorrelationID: rcid, Path: req.URL.Path, retryAfter: resp.Header.Get("Retry-After")}
	var eb struct {
		Code        any    `json:"code"`
		Description string `json:"description"`
	}
	if json.Unmarshal(body, &eb) == nil {
		if eb.Code != nil {
			e.Code = scrub.Line(fmt.Sprint(eb.Code))
		}
		e.Description = scrub.Line(eb.Description)
	}
	return e
}

// NextURL resolves links.next.uri against the base. Microsoft documents four forms: a path
// with the version ("/v1/customers?...", get-a-list-of-customers), a path without it
// ("/invoices/unbilled/lineitems?...&seekOperation=Next",
// get-invoice-unbilled-consumption-lineitems), a path relative to the version without a
// leading slash ("customers/{id}/subscriptions/{id}/utilizations/azure?seek_operation=Next",
// get-customer-utilization-records), and an absolute URL is a URL. A link to another host
// is refused: the access token goes to the Partner Center host only.
func NextURL(base, uri string) (string, error) {
	b, err := url.Parse(strings.TrimSuffix(base, "/"))
	if err != nil {
		return "", fmt.Errorf("invalid Partner Center base: %w", err)
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "", errors.New("partner center gave a next link that is not a URL")
	}
	switch {
	case u.Scheme != "" || u.Host != "":
		if !strings.EqualFold(u.Scheme, b.Scheme) || !strings.EqualFold(u.Host, b.Host) {
			return "", fmt.Errorf("partner center gave a next link to another host (%q, not %q): refused, the access token is for %s only", u.Host, b.Host, b.Host)
		}
		return u.String(), nil
	case u.Path == "/v1" || strings.HasPrefix(u.Path, "/v1/"):
		u.Path = strings.TrimSuffix(b.Path, "/v1") + u.Path
	case strings.HasPrefix(u.Path, "/"):
		u.Path = b.Path + u.Path
	default:
		u.Path = b.Path + "/" + u.Path
	}
	u.RawPath = ""
	u.Scheme, u.Host = b.Scheme, b.Host
	return u.String(), nil
}

// Customers reads the first page of customers and reports its size and the total count.
func (c *Client) Customers(ctx context.Context, size int) (n, total int, err error) {
	var p Page
	if err := c.get(ctx, fmt.Sprintf("%s/customers?size=%d", strings.TrimSuffix(c.Base, "/"), size), nil, &p); err != nil {
		return 0, 0, err
	}
	return len(p.Items), p.TotalCount, nil
}

// UnbilledLineItems counts the unbilled usage line items of the current period in a
// currency, following links.next with its continuation token.
func (c *Client) UnbilledLineItems(ctx context.Context, currency string) (int, error) {
	u := fmt.Sprintf("%s/invoices/unbilled/lineitems?provider=onetime&invoicelineitemtype=usagelineitems&currencycode=%s&period=current&size=2000",
		strings.TrimSuffix(c.Base, "/"), url.QueryEscape(currency))
	return c.count(ctx, u)
}

// AzureUtilization counts the utilization records of one subscription over a period. A
// "not ready" answer (204) is waited for as its Retry-After says, as long as ctx's
// deadline (the check's budget) allows.
func (c *Client) AzureUtilization(ctx context.Context, customerID, subscriptionID, start, end string) (int, error) {
	u := fmt.Sprintf("%s/customers/%s/subscriptions/%s/utilizations/azure?start_time=%s&end_time=%s&size=1000",
		strings.TrimSuffix(c.Base, "/"), url.PathEscape(customerID), url.PathEscape(subscriptionID), url.QueryEscape(start), url.QueryEscape(end))
	return c.count(ctx, u)
}

// maxNotReadyWaits bounds the 204 waits of one page even without a deadline.
const maxNotReadyWaits = 30

// reserved are the headers a next link cannot set: they are uicctl's own.
var reserved = []string{"Authorization", "Accept", "Host", "MS-RequestId", "MS-CorrelationId", "MS-Contract-Version"}

func (c *Client) count(ctx context.Context, u string) (int, error) {
	n, waits := 0, 0
	var hdr http.Header
	for range 10000 {
		var p Page
		err := c.get(ctx, u, hdr, &p)
		var nr *NotReadyError
		if errors.As(err, &nr) {
			if err := waitNotReady(ctx, nr, waits); err != nil {
				return n, err
			}
			waits++
			continue
		}
		if err != nil {
			return n, err
		}
		n += len(p.Items)
		if p.Links.Next == nil || p.Links.Next.URI == "" || len(p.Items) == 0 {
			return n, nil
		}
		if u, err = NextURL(c.Base, p.Links.Next.URI); err != nil {
			return n, err
		}
		hdr = http.Header{}
		for _, h := range p.Links.Next.Headers {
			if !slices.ContainsFunc(reserved, func(r string) bool { return strings.EqualFold(r, h.Key) }) {
				hdr.Set(h.Key, h.Value)
			}
		}
		waits = 0
	}
	return n, fmt.Errorf("partner center paging did not end after 10000 pages")
}

// waitNotReady waits out a 204's Retry-After, or says why it does not: too many waits, or
// a wait that would end after ctx's deadline.
func waitNotReady(ctx context.Context, nr *NotReadyError, waits int) error {
	nr.Waits = waits
	if waits >= maxNotReadyWaits {
		return nr
	}
	if dl, ok := ctx.Deadline(); ok && time.Now().Add(nr.RetryAfter).After(dl) {
		return fmt.Errorf("%w; waiting longer would pass the check's time budget", nr)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(nr.RetryAfter):
		return nil
	}
}

// AppOnlyToken asks for an app-only (client credentials) token for audience and returns it,
// for the App management heuristic. It must never be printed.
func AppOnlyToken(ctx context.Context, hc *http.Client, c cloud.Cloud, tenantID, clientID, secret, audience string) (string, error) {
	tok, err := requestToken(ctx, hc, c, tenantID, clientID, secret, audience, "")
	if err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}
