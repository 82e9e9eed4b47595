package partnercenter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

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
}

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
	if e.RequestID != "" {
		msg += fmt.Sprintf(" (MS-RequestId %s)", e.RequestID)
	}
	return msg
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

type page struct {
	TotalCount int               `json:"totalCount"`
	Items      []json.RawMessage `json:"items"`
	Links      struct {
		Next *struct {
			URI     string `json:"uri"`
			Headers []struct {
				Key   string `json:"key"`
				Value string `json:"value"`
			} `json:"headers"`
		} `json:"next"`
	} `json:"links"`
}

// Retries is how often a 429 or 5xx answer is retried (after Retry-After, at most 30 s).
const Retries = 3

func (c *Client) get(ctx context.Context, rawURL string, hdr http.Header, v any) error {
	for attempt := 0; ; attempt++ {
		err := c.get1(ctx, rawURL, hdr, v)
		var ae *APIError
		if attempt >= Retries || !errors.As(err, &ae) || (ae.Status != 429 && ae.Status < 500) {
			return err
		}
		wait := time.Duration(attempt+1) * 200 * time.Millisecond
		if s, perr := strconv.Atoi(ae.retryAfter); perr == nil {
			wait = min(time.Duration(s)*time.Second, 30*time.Second)
		} else if d, perr := time.ParseDuration(ae.retryAfter); perr == nil {
			wait = min(d, 30*time.Second)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (c *Client) get1(ctx context.Context, rawURL string, hdr http.Header, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/json")
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
	if resp.StatusCode != http.StatusOK {
		e := &APIError{Status: resp.StatusCode, RequestID: resp.Header.Get("MS-RequestId"), CorrelationID: resp.Header.Get("MS-CorrelationId"), Path: req.URL.Path, retryAfter: resp.Header.Get("Retry-After")}
		var eb struct {
			Code        any    `json:"code"`
			Description string `json:"description"`
		}
		if json.Unmarshal(body, &eb) == nil {
			if eb.Code != nil {
				e.Code = fmt.Sprint(eb.Code)
			}
			e.Description = eb.Description
		}
		return e
	}
	return json.Unmarshal(body, v)
}

// root is the base without its version segment: links.next.uri starts with "/v1/".
func (c *Client) root() string {
	return strings.TrimSuffix(strings.TrimSuffix(c.Base, "/"), "/v1")
}

// Customers reads the first page of customers and reports its size and the total count.
func (c *Client) Customers(ctx context.Context, size int) (n, total int, err error) {
	var p page
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

// AzureUtilization counts the utilization records of one subscription over a period.
func (c *Client) AzureUtilization(ctx context.Context, customerID, subscriptionID, start, end string) (int, error) {
	u := fmt.Sprintf("%s/customers/%s/subscriptions/%s/utilizations/azure?start_time=%s&end_time=%s&size=1000",
		strings.TrimSuffix(c.Base, "/"), url.PathEscape(customerID), url.PathEscape(subscriptionID), url.QueryEscape(start), url.QueryEscape(end))
	return c.count(ctx, u)
}

func (c *Client) count(ctx context.Context, u string) (int, error) {
	n := 0
	var hdr http.Header
	for range 10000 {
		var p page
		if err := c.get(ctx, u, hdr, &p); err != nil {
			return n, err
		}
		n += len(p.Items)
		if p.Links.Next == nil || p.Links.Next.URI == "" || len(p.Items) == 0 {
			return n, nil
		}
		u = c.root() + p.Links.Next.URI
		hdr = http.Header{}
		for _, h := range p.Links.Next.Headers {
			hdr.Set(h.Key, h.Value)
		}
	}
	return n, fmt.Errorf("partner center paging did not end after 10000 pages")
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

// FirstSubscription finds a customer subscription to ask for Azure utilization: the first
// subscription of the first customer (on the first page) that has one.
func (c *Client) FirstSubscription(ctx context.Context) (customerID, subscriptionID string, err error) {
	var cs page
	if err := c.get(ctx, strings.TrimSuffix(c.Base, "/")+"/customers?size=100", nil, &cs); err != nil {
		return "", "", err
	}
	for _, raw := range cs.Items {
		var cu struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(raw, &cu) != nil || cu.ID == "" {
			continue
		}
		var ss page
		if err := c.get(ctx, fmt.Sprintf("%s/customers/%s/subscriptions", strings.TrimSuffix(c.Base, "/"), url.PathEscape(cu.ID)), nil, &ss); err != nil {
			return "", "", err
		}
		for _, sraw := range ss.Items {
			var sub struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(sraw, &sub) == nil && sub.ID != "" {
				return cu.ID, sub.ID, nil
			}
		}
	}
	return "", "", nil
}
