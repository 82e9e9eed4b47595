package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/useitcloud/uicctl/pkg/secrets"
	"github.com/useitcloud/uicctl/pkg/spec"
)

func init() {
	validateChecks = append(validateChecks, checkSecretsFile)
}

// checkSecretsFile checks a tenant's secrets file: without keys, that it is sops-encrypted,
// well-formed and in the documented format with its secret values encrypted; then, when a
// key is available, that it decrypts, passes its MAC check and has values of the right
// types. A missing file or no usable key is a warning: a tenant not applied yet, or a
// reviewer without access, must still be able to validate.
//
// The diagnostics are filed under the tenant's partner.yaml, at its secrets: key, because
// validate reports per partner.yaml; the message names the secrets file and the line and
// column in it. No message contains a value from the file (pkg/secrets guarantees it).
func checkSecretsFile(ctx context.Context, t *spec.Tenant) []spec.Diagnostic {
	diag := func(severity, msg, hint string) spec.Diagnostic {
		return spec.Diagnostic{File: t.Path, Line: t.SecretsPos.Line, Column: t.SecretsPos.Column, Path: "secrets",
			Severity: severity, Message: msg, Hint: hint}
	}
	fromErr := func(severity string, err error) spec.Diagnostic {
		var h interface{ Hint() string }
		hint := ""
		if errors.As(err, &h) {
			hint = h.Hint()
		}
		return diag(severity, err.Error(), hint)
	}
	problems := func(ps []secrets.Problem) []spec.Diagnostic {
		var out []spec.Diagnostic
		for _, p := range ps {
			out = append(out, diag(spec.SeverityError,
				fmt.Sprintf("%s:%d:%d: %s: %s", t.SecretsPath, p.Line, p.Column, p.KeyPath, p.Message),
				"fix it with `sops edit "+t.SecretsPath+"`; the format is in docs/secrets.md"))
		}
		return out
	}

	ins, f, err := secrets.Check(ctx, t.SecretsPath)
	var notFound *secrets.NotFoundError
	var noKey *secrets.NoKeyError
	var schema *secrets.SchemaError
	switch {
	case errors.As(err, &notFound):
		return []spec.Diagnostic{diag(spec.SeverityWarning,
			fmt.Sprintf("%s does not exist yet", t.SecretsPath),
			"uicctl apply creates it when it stores the client secret; uicctl consent adds the refresh token")}
	case errors.As(err, &noKey):
		d := fromErr(spec.SeverityWarning, err)
		d.Message += "; checked without decrypting"
		return []spec.Diagnostic{d}
	case errors.As(err, &schema):
		return problems(schema.Problems)
	case err != nil:
		return []spec.Diagnostic{fromErr(spec.SeverityError, err)}
	case len(ins.Problems) > 0:
		return problems(ins.Problems)
	}
	return crossCheck(t, f)
}

// crossCheck compares the decrypted file with the spec where both name the same thing.
// Neither a client ID nor an account is a secret, so both may be shown.
func crossCheck(t *spec.Tenant, f *secrets.File) []spec.Diagnostic {
	var out []spec.Diagnostic
	p := t.Partner
	if app := p.Application.AppID; app != "" && f.ClientID != "" && !strings.EqualFold(app, f.ClientID) {
		pos := p.PosOf("application.appId")
		out = append(out, spec.Diagnostic{File: t.Path, Line: pos.Line, Column: pos.Column, Path: "application.appId",
			Severity: spec.SeverityError,
			Message:  fmt.Sprintf("is %s but %s holds the credentials of client %s", app, t.SecretsPath, f.ClientID),
			Hint:     "point appId at the app the secrets belong to, or move that tenant's secrets file here"})
	}
	want, got := p.PartnerCenter.Consent.Account, f.RefreshToken.Account
	if want != "" && got != "" && !f.RefreshToken.Value.IsZero() && !strings.EqualFold(want, got) {
		pos := p.PosOf("partnerCenter.consent.account")
		out = append(out, spec.Diagnostic{File: t.Path, Line: pos.Line, Column: pos.Column, Path: "partnerCenter.consent.account",
			Severity: spec.SeverityWarning,
			Message:  fmt.Sprintf("is %s but the refresh token in %s was issued to %s", want, t.SecretsPath, got),
			Hint:     "run uicctl consent to sign in as " + want + ", or correct the account in partner.yaml"})
	}
	return out
}
