package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/useitcloud/uicctl/internal/retry"
	"github.com/useitcloud/uicctl/internal/scrub"
)

// PermissionError is a 403 Authorization_RequestDenied from Graph: the operator identity
// lacks the Graph permission that the call needs.
type PermissionError struct {
	TenantID   string
	Operation  string // what uicctl was doing, e.g. "read the application"
	Permission string // the Graph application permission of OperatorPermissions that allows it
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("tenant %s: cannot %s: the operator lacks the Microsoft Graph permission %s", e.TenantID, e.Operation, e.Permission)
}

// Hint says where to grant it.
func (e *PermissionError) Hint() string {
	return fmt.Sprintf("grant the operator app the Microsoft Graph application permission %s (or a broader one) with admin consent in tenant %s; a signed-in user also needs a directory role that allows it", e.Permission, e.TenantID)
}

// SignInError is a failed token request for a tenant, with the AADSTS code when Entra sent
// one. Its text never includes the token endpoint's raw answer.
type SignInError struct {
	TenantID string
	Code     int // AADSTS code; 0 when none was found
	err      error
}

// aadstsMeaning maps the AADSTS codes operators hit to what they mean and what to do.
var aadstsMeaning = map[int]struct{ meaning, hint string }{
	7000215: {"invalid client secret", "the operator secret (AZURE_CLIENT_SECRET) is wrong: use the secret's value, not its ID"},
	7000222: {"the client secret has expired", "create a new client secret for the operator app and update AZURE_CLIENT_SECRET"},
	700016:  {"the application is not found in the tenant", "the operator app has no service principal in this tenant: have an admin of the tenant consent to it, or check AZURE_CLIENT_ID and the tenantId"},
	700011:  {"the application is not found in the tenant", "check AZURE_CLIENT_ID and that the operator app is consented in this tenant"},
	7000229: {"the application has no service principal in the tenant", "have an admin of the tenant consent to the operator app"},
	90002:   {"tenant not found", "check tenantId in partner.yaml and --cloud: the tenant must exist in the cloud uicctl signs in to"},
	900023:  {"the tenant identifier is not valid", "tenantId must be a GUID or a verified domain of the tenant"},
	50034:   {"the user account does not exist in the tenant", "sign in with an account of this tenant (az login --tenant)"},
	50076:   {"multi-factor authentication is required", "sign in again interactively: az login --tenant <tenantId>"},
	50079:   {"multi-factor authentication enrolment is required", "complete MFA registration for the account, then az login again"},
	50173:   {"the grant was revoked", "sign in again: az login --tenant <tenantId>"},
	70043:   {"the refresh token has expired or is invalid due to sign-in frequency checks", "sign in again: az login --tenant <tenantId>"},
	700082:  {"the refresh token has expired due to inactivity", "sign in again: az login --tenant <tenantId>"},
	65001:   {"the operator app has not been consented in the tenant", "have an admin of the tenant grant admin consent to the operator app"},
	700024:  {"the federated token has expired", "the workload identity token expired before this sign-in: in GitHub Actions let uicctl fetch it (ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN, `permissions: id-token: write`) instead of writing AZURE_FEDERATED_TOKEN_FILE once per job; a token file must be kept fresh by whatever writes it"},
	70021:   {"no federated identity credential of the operator app matches the token", "add a federated credential to the operator app with the token's issuer, subject and audience (api://AzureADTokenExchange)"},
	700211:  {"no federated identity credential of the operator app trusts the token's issuer", "the operator app's federated credential must name the token's issuer: https://token.actions.githubusercontent.com for GitHub Actions"},
	700212:  {"the token's audience matches no federated identity credential of the operator app", "the credential's audience must be the one uicctl requests: api://AzureADTokenExchange, or set UICCTL_OIDC_AUDIENCE to the credential's audience"},
	700213:  {"the token's subject matches no federated identity credential of the operator app", "add a federated credential for this job's subject, matched case-sensitively: repo:OWNER/REPO:ref:refs/heads/BRANCH for a branch, repo:OWNER/REPO:pull_request for pull requests, repo:OWNER/REPO:environment:NAME for an environment"},
	7000272: {"the federated token's signing key is not in its issuer's metadata", "check that the token comes from the issuer the operator app's federated credential names"},
	700027:  {"the client assertion's signature is invalid", "check that the token comes from the issuer the operator app's federated credential names"},
}

var aadstsRE = regexp.MustCompile(`AADSTS(\d{5,7})`)

func newSignInError(tenantID string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	e := &SignInError{TenantID: tenantID, err: err}
	if m := aadstsRE.FindStringSubmatch(err.Error()); m != nil {
		e.Code, _ = strconv.Atoi(m[1])
	}
	if e.Code == 90002 {
		return &TenantNotFoundError{TenantID: tenantID, err: e}
	}
	return e
}

func (e *SignInError) Error() string {
	switch m, ok := aadstsMeaning[e.Code]; {
	case ok:
		return fmt.Sprintf("tenant %s: sign-in failed: AADSTS%d: %s", e.TenantID, e.Code, m.meaning)
	case e.Code != 0:
		return fmt.Sprintf("tenant %s: sign-in failed: AADSTS%d", e.TenantID, e.Code)
	}
	var af *azidentity.AuthenticationFailedError
	if errors.As(e.err, &af) && af.RawResponse != nil {
		return fmt.Sprintf("tenant %s: sign-in failed: the token endpoint answered %d", e.TenantID, af.RawResponse.StatusCode)
	}
	// Other failures (network, configuration) carry no secret; azidentity's answer above
	// may carry the raw token endpoint response, so it is not shown.
	return fmt.Sprintf("tenant %s: sign-in failed: %v", e.TenantID, e.err)
}

// Hint explains the AADSTS code.
func (e *SignInError) Hint() string {
	if m, ok := aadstsMeaning[e.Code]; ok {
		return m.hint
	}
	if e.Code != 0 {
		return fmt.Sprintf("see https://login.microsoftonline.com/error?code=%d", e.Code)
	}
	var h interface{ Hint() string }
	if errors.As(e.err, &h) {
		return h.Hint()
	}
	if retry.Transient(e.err) {
		return "the connection to the token endpoint failed (not a credential problem): check the network, proxy and firewall, then run again"
	}
	return "run with -v for the sign-in details, and check the operator credential (AZURE_* variables or az login)"
}

// Unwrap returns azidentity's error, for errors.As; its text is not shown because it
// carries the raw token endpoint response.
func (e *SignInError) Unwrap() error { return e.err }

// TenantNotFoundError is AADSTS90002: the tenant does not exist in the cloud signed in to.
type TenantNotFoundError struct {
	TenantID string
	err      error
}

func (e *TenantNotFoundError) Error() string {
	return fmt.Sprintf("tenant %s not found (AADSTS90002)", e.TenantID)
}

// Hint names the two usual causes.
func (e *TenantNotFoundError) Hint() string {
	return "check tenantId in partner.yaml and --cloud: the tenant must exist in the cloud uicctl signs in to"
}

func (e *TenantNotFoundError) Unwrap() error { return e.err }

// NoCredentialError means no source of the operator credential is configured.
type NoCredentialError struct{ err error }

func (e *NoCredentialError) Error() string { return "no operator credential available" }

// Hint lists the sources uicctl tries.
func (e *NoCredentialError) Hint() string {
	return "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (an operator app allowed in every tenant, with AZURE_ADDITIONALLY_ALLOWED_TENANTS=*), run in a GitHub Actions job with `permissions: id-token: write` or another workload identity environment, or sign in with az login"
}

func (e *NoCredentialError) Unwrap() error { return e.err }

// ThrottledError is a 429 (or 503/504) that outlasted the retry budget.
type ThrottledError struct {
	TenantID   string
	Status     int
	RetryAfter string // the last Retry-After Graph sent, if any
}

func (e *ThrottledError) Error() string {
	s := fmt.Sprintf("tenant %s: Microsoft Graph is throttling (%d) beyond the retry budget", e.TenantID, e.Status)
	if e.Status != http.StatusTooManyRequests {
		s = fmt.Sprintf("tenant %s: Microsoft Graph is unavailable (%d) beyond the retry budget", e.TenantID, e.Status)
	}
	if e.RetryAfter != "" {
		s += " (Retry-After: " + e.RetryAfter + ")"
	}
	return s
}

// Hint suggests spreading the load.
func (e *ThrottledError) Hint() string {
	return "run again later or with a lower --parallelism; the tenants that succeeded need not be repeated"
}

// GraphError is any other Graph error, with its status, OData code and message.
type GraphError struct {
	TenantID  string
	Operation string
	Status    int
	Code      string
	Message   string
}

func (e *GraphError) Error() string {
	s := fmt.Sprintf("tenant %s: cannot %s: Graph answered %d", e.TenantID, e.Operation, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// retryable reports whether kiota's retry handler would have retried this status.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// classify turns a Graph call's error (or a batch item's) into one of the typed errors
// above. status, when not 0, overrides the status the error carries.
func classify(tenantID string, op operation, status int, err error) error {
	var se *SignInError
	var tn *TenantNotFoundError
	var nc *NoCredentialError
	if errors.As(err, &se) || errors.As(err, &tn) || errors.As(err, &nc) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	f, ok := failureOf(err)
	if !ok {
		return fmt.Errorf("tenant %s: cannot %s: %w", tenantID, op.what, err)
	}
	if status == 0 {
		status = f.status
	}
	switch {
	case status == http.StatusForbidden:
		return &PermissionError{TenantID: tenantID, Operation: op.what, Permission: op.permission}
	case retryable(status):
		return &ThrottledError{TenantID: tenantID, Status: status, RetryAfter: f.retryAfter}
	}
	// Code and message are Graph's text, shown to the user: scrubbed.
	return &GraphError{TenantID: tenantID, Operation: op.what, Status: status, Code: scrub.Line(f.code), Message: scrub.Line(f.message)}
}

// graphItemError is a failed $batch item: its status and Graph's error body.
type graphItemError struct{ f graphFailure }

func (e *graphItemError) Error() string {
	return scrub.Line(fmt.Sprintf("Graph answered %d %s: %s", e.f.status, e.f.code, e.f.message))
}

func itemError(status int, headers map[string]string, body []byte) error {
	var b struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &b)
	f := graphFailure{status: status, code: b.Error.Code, message: b.Error.Message}
	for k, v := range headers {
		if strings.EqualFold(k, "Retry-After") {
			f.retryAfter = v
		}
	}
	return &graphItemError{f: f}
}

// operation names a Graph call for errors: what it does and the operator permission
// (OperatorPermissions) that allows it; billing's names the partner app's own.
type operation struct{ what, permission string }

func strOf(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
