package secrets

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCheckFindsBadValues: the checks secrets set applies per key hold for a file written
// by other means (sops edit), which validate reports through Check: one line, the key's
// format, and no credential in a key sops leaves in clear. No message repeats the value.
func TestCheckFindsBadValues(t *testing.T) {
	token := "0.AQEA" + strings.Repeat("x7Yl-TNh", 12)
	tests := map[string]struct {
		reason string
		key    []string
		value  string
		want   string
	}{
		"token as account": {reason: "a refresh token pasted under account would be committed in clear",
			key: []string{"refreshToken", "account"}, value: token,
			want: "refreshToken.account: looks like a refresh token, and this key is stored in clear: secrets belong in clientSecret.value or refreshToken.value"},
		"two lines": {reason: "an account with a second line",
			key: []string{"refreshToken", "account"}, value: "admin@contoso.onmicrosoft.com\nother@contoso.onmicrosoft.com",
			want: "refreshToken.account: must be one line"},
		"not a upn": {reason: "an account is a user principal name",
			key: []string{"refreshToken", "account"}, value: "nobody-here",
			want: "refreshToken.account: must be the user principal name of the account that consented, such as admin@contoso.onmicrosoft.com"},
		"secret as keyId": {reason: "a client secret where its keyId goes",
			key: []string{"clientSecret", "keyId"}, value: "abc8Q~" + strings.Repeat("k", 34),
			want: "clientSecret.keyId: looks like an Entra client secret, and this key is stored in clear: secrets belong in clientSecret.value or refreshToken.value"},
		"bad date": {reason: "dates are RFC 3339",
			key: []string{"refreshToken", "issuedAt"}, value: "yesterday",
			want: "refreshToken.issuedAt: must be an RFC 3339 date-time such as 2026-05-01T00:00:00Z"},
		"secret two lines": {reason: "a secret value is one line too",
			key: []string{"clientSecret", "value"}, value: "first\nsecond",
			want: "clientSecret.value: must be one line"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			env := newTestEnv(t)
			p := env.path("contoso")
			b, err := newDoc(p, p, branchOf([]change{{path: []string{"clientId"}, text: "0b9c4a2e-7d1f-4c58-9a3b-2f6e8d1c5a70"}, {path: tc.key, text: tc.value}}))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, p, string(b))
			// Readable keys are checked without decrypting (ins.Problems), secret values
			// once decrypted (a SchemaError).
			ins, _, err := Check(context.Background(), p)
			problems := ins.Problems
			var se *SchemaError
			if errors.As(err, &se) {
				problems = se.Problems
			} else if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, pr := range problems {
				got = append(got, pr.KeyPath+": "+pr.Message)
				if strings.Contains(pr.Message, tc.value) {
					t.Errorf("%s: the problem repeats the value", tc.reason)
				}
			}
			if diff := cmp.Diff([]string{tc.want}, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestCheckValue(t *testing.T) {
	tests := map[string]struct {
		reason, key, value, want string
	}{
		"account ok":     {"a UPN", "refreshToken.account", "admin@contoso.onmicrosoft.com", ""},
		"guest account":  {"a guest's UPN has #EXT#", "refreshToken.account", "ann_fabrikam.com#EXT#@contoso.onmicrosoft.com", ""},
		"secret ok":      {"a secret may look like one", "clientSecret", "abc8Q~" + strings.Repeat("k", 34), ""},
		"secret 2 lines": {"but is one line", "refreshToken", "a\nb", "refreshToken must be one line"},
		"id":             {"a GUID", "clientId", "nope", "clientId must be a GUID such as 00000000-0000-0000-0000-000000000000"},
		"unknown":        {"secrets set's enum stops these; CheckValue names them", "password", "x", `unknown key "password"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := ""
			if err := CheckValue(tc.key, tc.value); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("%s: CheckValue = %q, want %q", tc.reason, got, tc.want)
			}
		})
	}
}
