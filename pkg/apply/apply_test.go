package apply

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/useitcloud/uicctl/pkg/entra"
	"github.com/useitcloud/uicctl/pkg/plan"
	"github.com/useitcloud/uicctl/pkg/secrets"
	"github.com/useitcloud/uicctl/pkg/spec"
)

// fakeGraph records the calls apply makes; the tenant starts empty.
type fakeGraph struct {
	calls   []string
	removed []string
}

func (f *fakeGraph) Observe(context.Context, string, entra.Query) (*plan.Observed, error) {
	return &plan.Observed{ResourceSPs: map[string]plan.ResourceSP{
		spec.PartnerCenterAppID:    {ObjectID: "sp-pc", AppID: spec.PartnerCenterAppID},
		spec.MicrosoftPartnerAppID: {ObjectID: "sp-mp", AppID: spec.MicrosoftPartnerAppID},
	}}, nil
}
func (f *fakeGraph) UpsertApplication(_ context.Context, _ string, k entra.AppKey, _ entra.AppSpec) (entra.AppRef, error) {
	f.calls = append(f.calls, "upsert "+k.UniqueName)
	return entra.AppRef{ObjectID: "obj-1", AppID: "app-1", Created: true}, nil
}
func (f *fakeGraph) AddPassword(_ context.Context, _, obj, name string, _ time.Time) (entra.NewPassword, error) {
	f.calls = append(f.calls, "addPassword "+obj+" "+name)
	return entra.NewPassword{KeyID: "key-new", Secret: "s3cr3t-value"}, nil
}
func (f *fakeGraph) RemovePassword(_ context.Context, _, obj, keyID string) error {
	f.calls = append(f.calls, "removePassword "+obj+" "+keyID)
	f.removed = append(f.removed, keyID)
	return nil
}
func (f *fakeGraph) EnsureServicePrincipal(_ context.Context, _, appID string) (string, error) {
	f.calls = append(f.calls, "servicePrincipal "+appID)
	return "sp-1", nil
}
func (f *fakeGraph) EnsureGrant(_ context.Context, _, client, resource string, scopes []string) (string, error) {
	f.calls = append(f.calls, "grant "+client+" "+resource+" "+strings.Join(scopes, " "))
	return "g", nil
}
func (f *fakeGraph) DeleteGrant(context.Context, string, string) error { return nil }
func (f *fakeGraph) EnsureAppRoleAssignment(context.Context, string, string, string, string) (string, error) {
	return "a", nil
}
func (f *fakeGraph) DeleteAppRoleAssignment(context.Context, string, string, string) error {
	return nil
}
func (f *fakeGraph) AddGroupMember(context.Context, string, string, string) error    { return nil }
func (f *fakeGraph) RemoveGroupMember(context.Context, string, string, string) error { return nil }
func (f *fakeGraph) EnsureFederatedCredential(context.Context, string, string, entra.FederatedCredential) error {
	return nil
}
func (f *fakeGraph) DeleteFederatedCredential(context.Context, string, string, string) error {
	return nil
}

func tenant(t *testing.T) *spec.Tenant {
	p, diags := spec.Parse("partner.yaml", []byte("apiVersion: uicctl/v1\nkind: Partner\nname: contoso\ntenantId: 6f0e3c3a-1b2c-4d5e-8f90-123456789abc\n"))
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	dir := t.TempDir()
	return &spec.Tenant{Path: filepath.Join(dir, "partner.yaml"), Dir: dir, Partner: p, SecretsPath: filepath.Join(dir, "secrets.sops.yaml")}
}

func TestSecretStoredBeforeAnythingElse(t *testing.T) {
	cases := map[string]struct {
		reason    string
		writeErr  error
		wantCalls []string
		wantErr   string
	}{
		"Stored": {
			reason: "the writes follow the dependency order; the secret goes to the file and nothing is removed",
			wantCalls: []string{"upsert uicctl-contoso", "servicePrincipal app-1", "grant sp-1 sp-pc user_impersonation",
				"grant sp-1 sp-mp user_impersonation", "addPassword obj-1 uicctl"},
		},
		"WriteFails": {
			reason:   "a secret whose value cannot be stored is removed from the app again, and the error says so",
			writeErr: errors.New("disk full"),
			wantCalls: []string{"upsert uicctl-contoso", "servicePrincipal app-1", "grant sp-1 sp-pc user_impersonation",
				"grant sp-1 sp-mp user_impersonation", "addPassword obj-1 uicctl", "removePassword obj-1 key-new"},
			wantErr: "cannot store the new client secret, so it was removed from the app again: disk full",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := &fakeGraph{}
			var stored *secrets.File
			x := New(Options{Graph: g, SettleTimeout: time.Millisecond,
				testOnlySecretsWrite: func(_ context.Context, _ string, set func(*secrets.File)) error {
					if tc.writeErr != nil {
						return tc.writeErr
					}
					stored = &secrets.File{}
					set(stored)
					return nil
				}})
			tn := tenant(t)
			tp, obs, sf, err := x.Plan(context.Background(), tn)
			if err != nil {
				t.Fatal(err)
			}
			r := x.Execute(context.Background(), tn, tp, obs, sf)
			if diff := cmp.Diff(tc.wantCalls, g.calls); diff != "" {
				t.Errorf("%s\ncalls: -want, +got:\n%s", tc.reason, diff)
			}
			if tc.wantErr != "" {
				if r.Err == nil || r.Err.Error() != tc.wantErr {
					t.Errorf("%s\nerror %v, want %q", tc.reason, r.Err, tc.wantErr)
				}
				return
			}
			if stored == nil || stored.ClientSecret.Value.Reveal() != "s3cr3t-value" || stored.ClientSecret.KeyID != "key-new" || stored.ClientID != "app-1" {
				t.Errorf("%s\nthe secrets file did not get the new secret: %+v", tc.reason, stored)
			}
			// The fake tenant never changes, so the check after the writes must call the
			// result inconsistent rather than pass.
			var ie *InconsistentError
			if !errors.As(r.Err, &ie) {
				t.Errorf("%s\nwant an InconsistentError from a tenant that did not change, got %v", tc.reason, r.Err)
			}
		})
	}
}

func TestCheckFresh(t *testing.T) {
	fresh := plan.Tenant{Name: "contoso", SpecDigest: "s1", ObservedDigest: "o1"}
	cases := map[string]struct {
		reason string
		saved  *plan.Tenant
		want   string
	}{
		"NoSavedPlan":  {"without a saved plan there is nothing to compare", nil, ""},
		"Same":         {"equal digests: the plan still holds", &plan.Tenant{SpecDigest: "s1", ObservedDigest: "o1"}, ""},
		"SpecChanged":  {"the spec moved", &plan.Tenant{SpecDigest: "s0", ObservedDigest: "o1"}, "plan for contoso is stale: the spec or secrets file changed since the plan was made"},
		"TenantDrift":  {"the tenant moved", &plan.Tenant{SpecDigest: "s1", ObservedDigest: "o0"}, "plan for contoso is stale: the live state of the tenant changed since the plan was made"},
		"NotInTheFile": {"a tenant the file does not cover", &plan.Tenant{SpecDigest: "(not in the plan file)"}, "plan for contoso is stale: the spec or secrets file changed since the plan was made"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ""
			if err := CheckFresh(&fresh, tc.saved); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nCheckFresh: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
