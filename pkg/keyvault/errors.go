package keyvault

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/useitcloud/uicctl/internal/retry"
	"github.com/useitcloud/uicctl/internal/scrub"
)

// Error is a failed vault operation. Its text names the vault, the operation, the status
// and Key Vault's codes, and the service's message scrubbed; never a value.
type Error struct {
	Vault   string // the vault URL
	Op      string // "read secret uic-contoso-client-secret"
	Status  int    // 0: no answer (network, or the retry budget spent)
	Code    string // error.code
	Inner   string // error.innererror.code (ForbiddenByRbac, ObjectIsDeletedButRecoverable, ...)
	Message string // the service's message, scrubbed, first line
	Err     error  // the cause when there was no answer
}

func (e *Error) Error() string {
	s := fmt.Sprintf("key vault %s: cannot %s", vaultName(e.Vault), e.Op)
	switch {
	case e.Status == 0 && e.Err != nil:
		return s + ": " + scrub.Line(e.Err.Error())
	case e.Status != 0:
		s += fmt.Sprintf(": %d", e.Status)
		code := e.Code
		if e.Inner != "" {
			code += " " + e.Inner
		}
		if code != "" {
			s += " " + code
		}
		if e.Message != "" {
			s += ": " + e.Message
		}
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Hint says what to do about the usual causes.
func (e *Error) Hint() string {
	name := vaultName(e.Vault)
	var ex *retry.Exhausted
	switch {
	case errors.As(e.Err, &ex):
		return ex.Hint()
	case e.Status == http.StatusForbidden && e.Inner == "ForbiddenByRbac":
		return fmt.Sprintf("the operator needs the Key Vault Secrets Officer role on vault %s (az role assignment create --role \"Key Vault Secrets Officer\" --assignee <operator appId> --scope <the vault's resource ID>); role assignments take a few minutes to apply", name)
	case e.Status == http.StatusForbidden && e.Inner == "SecretDisabled":
		return "the latest version of the secret is disabled; uicctl apply writes a new, enabled version"
	case e.Status == http.StatusForbidden:
		return fmt.Sprintf("the vault refused the operator: vault %s must use Azure RBAC and the operator needs Key Vault Secrets Officer on it (with access policies, grant secret get, list and set)", name)
	case e.Status == http.StatusConflict && e.Inner == "ObjectIsDeletedButRecoverable":
		return fmt.Sprintf("the secret was deleted and is kept soft-deleted under its name: recover it (az keyvault secret recover --vault-name %s --name <secret>) and run again, or purge it (az keyvault secret purge --vault-name %s --name <secret>) to start anew", name, name)
	case e.Status == http.StatusNotFound:
		return fmt.Sprintf("vault %s has no such secret or version; check delivery.keyVault in partner.yaml and run uicctl plan to see what apply writes", name)
	case e.Status == http.StatusUnauthorized:
		return fmt.Sprintf("the operator could not sign in for vault %s: the vault belongs to a tenant the operator is not in, or its token was refused", name)
	case e.Status == http.StatusTooManyRequests:
		return "Key Vault is limiting requests: run again later or with a lower --parallelism"
	case e.Status == 0:
		return fmt.Sprintf("the vault %s could not be reached (not a credential problem): check delivery.keyVault.url, DNS, the proxy (HTTPS_PROXY) and the vault's firewall", e.Vault)
	}
	return "run again; if it persists, check the vault in the Azure portal"
}

func vaultName(u string) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		h, _, _ := strings.Cut(p.Hostname(), ".")
		return h
	}
	return u
}

// wrap turns an azsecrets error into an *Error.
func wrap(vault, op string, err error) error {
	e := &Error{Vault: vault, Op: op}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		e.Err = err
		return e
	}
	e.Status, e.Code = re.StatusCode, re.ErrorCode
	if re.RawResponse != nil {
		if b, rerr := runtime.Payload(re.RawResponse); rerr == nil {
			var body struct {
				Error struct {
					Code       string `json:"code"`
					Message    string `json:"message"`
					InnerError struct {
						Code string `json:"code"`
					} `json:"innererror"`
				} `json:"error"`
			}
			if json.Unmarshal(b, &body) == nil {
				if body.Error.Code != "" {
					e.Code = body.Error.Code
				}
				e.Inner = body.Error.InnerError.Code
				msg, _, _ := strings.Cut(body.Error.Message, "\r\n")
				msg, _, _ = strings.Cut(msg, "\n")
				e.Message = scrub.Line(msg)
			}
		}
	}
	return e
}

// innerCode is the innererror code of a Key Vault error answer.
func innerCode(re *azcore.ResponseError) string {
	var e Error
	if w, ok := wrap("", "", re).(*Error); ok {
		e = *w
	}
	return e.Inner
}
