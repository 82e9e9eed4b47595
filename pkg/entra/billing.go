package entra

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	abs "github.com/microsoft/kiota-abstractions-go"
	khttp "github.com/microsoft/kiota-http-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/partners/billing"
	"github.com/microsoftgraph/msgraph-sdk-go/reports"

	"github.com/useitcloud/uicctl/internal/retry"
	"github.com/useitcloud/uicctl/internal/scrub"
	"github.com/useitcloud/uicctl/pkg/cloud"
)

// The partner billing export (Graph partner billing reconciliation API v2): POST an export,
// poll the operation its Location names (honouring Retry-After), read the manifest, and
// download a blob with the manifest's SAS token. Graph documents PartnerBilling.Read.All,
// delegated or application, and nothing broader, for every step.

var opExport = operation{"export the partner billing data", "PartnerBilling.Read.All"}

// UsageExport is what an unbilled usage export yielded.
type UsageExport struct {
	Rows  int // lines (JSON Lines rows) in the manifest's first blob
	Blobs int // blobs in the manifest
	Polls int // how often the operation was asked for its status
}

// Polling and download bounds. maxPollWait caps a Retry-After; without one the wait doubles
// from 1 s to pollBackoffCap. A blob GET answered 429 or 5xx, or cut off, is tried
// blobRetries more times.
const (
	maxPollWait    = 5 * time.Minute
	pollBackoffCap = 30 * time.Second
	blobRetries    = 3
)

// ExportUnbilledUsage exports the tenant's unbilled daily-rated usage of the current billing
// period in currency (the basic attribute set: verify only counts rows), waits for the
// operation as long as ctx allows, and counts the rows of the manifest's first blob while
// streaming it (never held in memory). Failures are typed: PermissionError (403),
// ExportFailedError, ExportPendingError, BlobError, and the other Graph errors.
//
// With last, the export is of the previous billing period, which stays unbilled until its
// invoice is made early in the month: on the first day of a period the current one has no
// data yet.
func (c *Client) ExportUnbilledUsage(ctx context.Context, tenantID, currency string, last bool) (UsageExport, error) {
	var res UsageExport
	a, err := c.adapter(tenantID)
	if err != nil {
		return res, err
	}
	rep := reports.NewReportsRequestBuilderInternal(map[string]string{}, a)
	fail := func(err error) (UsageExport, error) { return res, classify(tenantID, opExport, 0, err) }

	body := reports.NewPartnersBillingUsageUnbilledMicrosoftGraphPartnersBillingExportExportPostRequestBody()
	period, attrs := billing.CURRENT_BILLINGPERIOD, billing.BASIC_ATTRIBUTESET
	if last {
		period = billing.LAST_BILLINGPERIOD
	}
	body.SetBillingPeriod(&period)
	body.SetCurrencyCode(&currency)
	body.SetAttributeSet(&attrs)
	hi := khttp.NewHeadersInspectionOptions()
	hi.InspectResponseHeaders = true
	// Starting an export is safe to repeat after a lost answer: a second request only starts
	// another read-only export, and the operation followed is the one whose 202 arrived.
	if _, err := rep.Partners().Billing().Usage().Unbilled().MicrosoftGraphPartnersBillingExport().Post(retry.Idempotent(ctx), body,
		&reports.PartnersBillingUsageUnbilledMicrosoftGraphPartnersBillingExportRequestBuilderPostRequestConfiguration{
			Options: []abs.RequestOption{hi}}); err != nil {
		return fail(err)
	}
	// Only the operation id is taken from Location: the token goes to the Graph base URL,
	// never to a host an answer names.
	var opID string
	for _, loc := range hi.GetResponseHeaders().Get("Location") { // only the 202 has one
		opID = lastSegment(loc, "/reports/partners/billing/operations/")
	}
	if opID == "" {
		return res, fmt.Errorf("tenant %s: the export was accepted without a Location naming its operation", tenantID)
	}

	var manifestID string
	for manifestID == "" {
		hi := khttp.NewHeadersInspectionOptions()
		hi.InspectResponseHeaders = true
		op, err := rep.Partners().Billing().Operations().ByOperationId(opID).Get(ctx,
			&reports.PartnersBillingOperationsOperationItemRequestBuilderGetRequestConfiguration{Options: []abs.RequestOption{hi}})
		if err != nil {
			return fail(err)
		}
		res.Polls++
		// RunningOperation adds nothing to Operation, so every operation satisfies its
		// interface: the richer types first.
		switch o := op.(type) {
		case billing.ExportSuccessOperationable:
			link, _ := o.GetAdditionalData()["resourceLocation@odata.navigationLink"].(*string)
			if link != nil {
				manifestID = lastSegment(*link, "/reports/partners/billing/manifests/")
			}
			if manifestID == "" {
				return res, fmt.Errorf("tenant %s: the export succeeded without a manifest link", tenantID)
			}
			continue
		case billing.FailedOperationable:
			e := &ExportFailedError{TenantID: tenantID}
			if pe := o.GetError(); pe != nil {
				e.Code, e.Message = scrub.Line(strOf(pe.GetCode())), scrub.Line(strOf(pe.GetMessage()))
			}
			return res, e
		}
		if st := op.GetStatus(); st != nil && *st != models.RUNNING_LONGRUNNINGOPERATIONSTATUS && *st != models.NOTSTARTED_LONGRUNNINGOPERATIONSTATUS {
			return res, fmt.Errorf("tenant %s: the export operation has status %s", tenantID, st.String())
		}
		// The inspected headers gather every attempt of the retry handler as an unordered set:
		// waiting for the longest Retry-After honours them all.
		wait, ok := time.Duration(0), false
		for _, v := range hi.GetResponseHeaders().Get("Retry-After") {
			if d, valid := retry.ParseRetryAfter(v, time.Now()); valid {
				wait, ok = max(wait, d), true
			}
		}
		if !ok {
			wait = min(time.Second<<min(res.Polls-1, 10), pollBackoffCap)
		}
		wait = min(wait, maxPollWait)
		if dl, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(dl) {
			return res, &ExportPendingError{TenantID: tenantID, Polls: res.Polls, Wait: wait}
		}
		if err := sleep(ctx, wait); err != nil {
			return res, err
		}
	}

	m, err := rep.Partners().Billing().Manifests().ByManifestId(manifestID).Get(ctx, nil)
	if err != nil {
		return fail(err)
	}
	blobs := m.GetBlobs()
	res.Blobs = len(blobs)
	if len(blobs) == 0 || strOf(blobs[0].GetName()) == "" {
		return res, fmt.Errorf("tenant %s: the export manifest lists no blob", tenantID)
	}
	// UNCONFIRMED (api-facts E): the download URL is {rootDirectory}/{name}?{sasToken}.
	sas := strings.TrimPrefix(strOf(m.GetSasToken()), "?")
	raw := strings.TrimSuffix(strOf(m.GetRootDirectory()), "/") + "/" + strings.TrimPrefix(strOf(blobs[0].GetName()), "/") + "?" + sas
	scrub.Known(sas, raw) // the SAS token is the blob's credential
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		// Not the URL in the error: its query is the SAS token.
		return res, fmt.Errorf("tenant %s: the export manifest names no https blob URL", tenantID)
	}
	res.Rows, err = c.countBlobLines(ctx, tenantID, u)
	return res, err
}

// countBlobLines downloads a gzip JSON Lines blob with its SAS URL and counts its lines as it
// decompresses them. No Authorization header goes with it: the SAS token is the credential,
// and a Graph token must never reach another host.
func (c *Client) countBlobLines(ctx context.Context, tenantID string, u *url.URL) (int, error) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return 0, fmt.Errorf("tenant %s: cannot request the export blob", tenantID)
		}
		req.Header.Set("x-ms-version", "2023-11-03")
		start := time.Now()
		res, err := c.blobHC.Do(req)
		if c.log != nil {
			attrs := []any{"method", req.Method, "path", u.Path, "ms", time.Since(start).Milliseconds()}
			if err == nil {
				attrs = append(attrs, "status", res.StatusCode)
			}
			c.log.Debug("blob request", attrs...)
		}
		var retryWait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			if attempt >= blobRetries {
				// The *url.Error would print the SAS URL: keep only what happened.
				return 0, &BlobError{TenantID: tenantID, Message: "the download failed: " + transportCause(err)}
			}
		case res.StatusCode == http.StatusOK:
			n, err := countLines(res.Body)
			res.Body.Close()
			if err != nil {
				if ctx.Err() != nil {
					return 0, ctx.Err()
				}
				return 0, &BlobError{TenantID: tenantID, Status: http.StatusOK, Message: "the blob is not gzip JSON Lines: " + err.Error()}
			}
			return n, nil
		default:
			be := blobError(tenantID, res)
			if (res.StatusCode != http.StatusTooManyRequests && res.StatusCode < 500) || attempt >= blobRetries {
				return 0, be
			}
			retryWait, _ = retry.ParseRetryAfter(res.Header.Get("Retry-After"), time.Now())
		}
		if retryWait <= 0 {
			retryWait = backoff(attempt + 3) // 0.25-0.5 s
		}
		if err := sleep(ctx, min(retryWait, pollBackoffCap)); err != nil {
			return 0, err
		}
	}
}

// countLines counts the lines of a gzip stream, a last one without a newline included.
func countLines(r io.Reader) (int, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 64<<10)
	n, last := 0, byte('\n')
	for {
		k, err := zr.Read(buf)
		if k > 0 {
			n += bytes.Count(buf[:k], []byte{'\n'})
			last = buf[k-1]
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if last != '\n' {
		n++
	}
	return n, nil
}

// transportCause names a failed round trip without its URL.
func transportCause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return "connection error"
}

// blobError reads Azure Storage's error: the x-ms-error-code header and the XML body's
// Code and the first line of its Message (the rest is request id and time).
func blobError(tenantID string, res *http.Response) *BlobError {
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	var x struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	_ = xml.Unmarshal(bytes.TrimPrefix(b, []byte("\ufeff")), &x)
	e := &BlobError{TenantID: tenantID, Status: res.StatusCode, Code: res.Header.Get("x-ms-error-code"), RetryAfter: res.Header.Get("Retry-After")}
	if e.Code == "" {
		e.Code = x.Code
	}
	e.Message, _, _ = strings.Cut(x.Message, "\n")
	// Storage's text may reflect the request, SAS signature included: scrubbed.
	e.Code, e.Message = scrub.Line(e.Code), scrub.Line(e.Message)
	return e
}

// lastSegment returns the (unescaped) segment after marker in a URL's path, or "".
func lastSegment(raw, marker string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	_, id, ok := strings.Cut(u.Path, marker)
	if !ok || id == "" || strings.Contains(id, "/") {
		return ""
	}
	return id
}

// ExportFailedError is a billing export operation that ended failed, with Graph's code and
// message ("5000 No data available").
type ExportFailedError struct {
	TenantID      string
	Code, Message string
}

func (e *ExportFailedError) Error() string {
	return fmt.Sprintf("tenant %s: the export operation failed: %s %s", e.TenantID, e.Code, e.Message)
}

// Hint says what the usual failure means.
// NoData reports whether the operation failed because the period has no usage to export.
func (e *ExportFailedError) NoData() bool {
	return strings.Contains(strings.ToLower(e.Message), "no data")
}

func (e *ExportFailedError) Hint() string {
	if e.NoData() {
		return "Graph has no usage to export for the current billing period yet (daily-rated usage takes about 24 hours to appear, and none exists on the first day of a period): run verify again later"
	}
	return "run verify again; if the export keeps failing, report Graph's code and message to Microsoft partner support"
}

// ExportPendingError is a billing export still running when the deadline came, or whose
// next poll Graph asked for after it.
type ExportPendingError struct {
	TenantID string
	Polls    int
	Wait     time.Duration // what Graph (or the backoff) asked to wait before the next poll
}

func (e *ExportPendingError) Error() string {
	return fmt.Sprintf("tenant %s: the export was still running after %d poll(s); the next one (in %s) would pass the deadline", e.TenantID, e.Polls, e.Wait.Round(time.Millisecond))
}

// Hint suggests running again.
func (e *ExportPendingError) Hint() string {
	return "Graph is slow to export this partner's usage: run verify again later"
}

// BlobError is a failed download of an export blob from Azure Storage: its status and
// storage error code (never the blob URL, whose query is the SAS token).
type BlobError struct {
	TenantID   string
	Status     int // 0: no answer
	Code       string
	Message    string
	RetryAfter string
}

func (e *BlobError) Error() string {
	if e.Status == 0 || e.Status == http.StatusOK {
		return fmt.Sprintf("tenant %s: cannot read the export blob: %s", e.TenantID, e.Message)
	}
	s := fmt.Sprintf("tenant %s: cannot download the export blob: storage answered %d", e.TenantID, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Hint tells an expired or refused SAS token from a failing storage service.
func (e *BlobError) Hint() string {
	switch {
	case e.Code == "AuthenticationFailed" || e.Status == http.StatusForbidden:
		return "the manifest's SAS token was refused (it expires some time after the export ran): run verify again, which starts a new export with a new token"
	case e.Status == http.StatusTooManyRequests || e.Status >= 500 || e.Status == 0:
		return "Azure Storage is throttling or failing: run verify again later"
	}
	return "run verify again; a new export gets a new manifest"
}

// staticToken is a credential that hands out one access token the caller already has.
// A function, so that printing it shows no token.
type staticToken func() azcore.AccessToken

func (s staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return s(), nil
}

// NewWithToken returns a Client that sends token (a Graph access token the caller got, such
// as verify's app-only token of a partner's own app) with every request: it serves the
// tenant the token is for, until the token expires. Options as for New.
func NewWithToken(c cloud.Cloud, token string, opts Options) (*Client, error) {
	return New(c, staticToken(func() azcore.AccessToken {
		// Its real expiry is the caller's concern; kiota only needs one in the future.
		return azcore.AccessToken{Token: token, ExpiresOn: time.Now().Add(time.Hour)}
	}), opts)
}
