package verify

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/useitcloud/uicctl/pkg/cloud"
	"github.com/useitcloud/uicctl/pkg/secrets"
	"github.com/useitcloud/uicctl/pkg/spec"
)

func TestClientSecretCheck(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	// Nothing listens on port 1: the network checks after the secret fail at once.
	cl := cloud.Cloud{Login: "http://127.0.0.1:1", Graph: "http://127.0.0.1:1", PartnerCenter: "http://127.0.0.1:1/v1"}
	tests := map[string]struct {
		reason  string
		end     time.Time
		noValue bool
		want    Check
	}{
		"expired": {
			reason: "an expired secret fails with the apply hint",
			end:    now.Add(-time.Hour),
			want:   Check{Name: CheckClientSecret, Status: Fail, Message: "the client secret expired on 2026-11-26", Hint: "run uicctl apply: it replaces an expired client secret"},
		},
		"within renewBefore": {
			reason: "a secret expiring within renewBefore (30 days) warns",
			end:    now.Add(10 * 24 * time.Hour),
			want:   Check{Name: CheckClientSecret, Status: Warn, Message: "the client secret expires in 10 days (2026-12-06), within renewBefore", Hint: "run uicctl apply: it rotates the secret within renewBefore"},
		},
		"healthy": {
			reason: "a secret far from expiry passes",
			end:    now.Add(100 * 24 * time.Hour),
			want:   Check{Name: CheckClientSecret, Status: Pass, Message: "keyId not checked on the app (no operator credentials); expires in 100 days (2027-03-06)"},
		},
		"absent": {
			reason:  "no secret value fails with the apply hint",
			noValue: true,
			want:    Check{Name: CheckClientSecret, Status: Fail, Message: "no client secret in the secrets file", Hint: "run uicctl apply: it creates the secret and stores it"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := &spec.Partner{Name: "contoso", TenantID: "00000000-0000-0000-0000-000000000001",
				Application: spec.Application{ClientSecret: spec.ClientSecret{RenewBefore: spec.DefaultRenewBefore}},
				Verify:      spec.Verify{Usage: spec.DefaultUsage, Currency: spec.DefaultCurrency}}
			f := &secrets.File{ClientID: "app", ClientSecret: secrets.ClientSecret{EndDateTime: tc.end}}
			if !tc.noValue {
				f.ClientSecret.Value = secrets.NewValue("canary-secret-value")
			}
			got, rot := Run(context.Background(), Input{Tenant: spec.Tenant{Path: "p.yaml", Partner: p}, Secrets: f, Cloud: cl, Now: now})
			if rot != nil {
				t.Errorf("rotation without a redemption")
			}
			c := got.Checks[1]
			c.Duration = 0
			if diff := cmp.Diff(tc.want, c); diff != "" {
				t.Errorf("%s: client-secret check (-want +got):\n%s", tc.reason, diff)
			}
			var b bytes.Buffer
			if err := WriteJSON(&b, NewReport([]Tenant{got})); err != nil {
				t.Fatal(err)
			}
			if err := WriteText(&b, NewReport([]Tenant{got})); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b.String(), "canary-secret-value") {
				t.Errorf("the secret value is in the report")
			}
		})
	}
}

func TestClientSecretKeyIDOnApp(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	cl := cloud.Cloud{Login: "http://127.0.0.1:1", Graph: "http://127.0.0.1:1", PartnerCenter: "http://127.0.0.1:1/v1"}
	tests := map[string]struct {
		reason string
		ids    []string
		found  bool
		want   Check
	}{
		"on the app": {
			reason: "the keyId is compared without case",
			ids:    []string{"other", "ABC"}, found: true,
			want: Check{Name: CheckClientSecret, Status: Pass, Message: "keyId on the app; expires in 100 days (2027-03-06)"},
		},
		"removed": {
			reason: "a secret removed from the app fails even before it expires",
			ids:    []string{"other"}, found: true,
			want: Check{Name: CheckClientSecret, Status: Fail, Message: "the stored client secret's keyId is no longer on the app", Hint: "run uicctl apply: it creates a new secret and stores it"},
		},
		"no app": {
			reason: "an app missing from the tenant fails",
			want:   Check{Name: CheckClientSecret, Status: Fail, Message: "the app of the secrets file's clientId is not in the tenant", Hint: "run uicctl plan to see whether the app exists"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := &spec.Partner{Name: "contoso", TenantID: "t",
				Application: spec.Application{ClientSecret: spec.ClientSecret{RenewBefore: spec.DefaultRenewBefore}},
				Verify:      spec.Verify{Usage: spec.DefaultUsage, Currency: spec.DefaultCurrency}}
			f := &secrets.File{ClientID: "app", ClientSecret: secrets.ClientSecret{Value: secrets.NewValue("s"), KeyID: "abc", EndDateTime: now.Add(100 * 24 * time.Hour)}}
			keyIDs := func(context.Context, string, string) ([]string, bool, error) { return tc.ids, tc.found, nil }
			got, _ := Run(context.Background(), Input{Tenant: spec.Tenant{Partner: p}, Secrets: f, Cloud: cl, Now: now, KeyIDs: keyIDs})
			c := got.Checks[1]
			c.Duration = 0
			if diff := cmp.Diff(tc.want, c); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}
