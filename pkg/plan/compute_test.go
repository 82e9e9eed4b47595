package plan

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/useitcloud/uicctl/pkg/spec"
)

var update = flag.Bool("update", false, "rewrite golden files")

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

const (
	spID       = "sp-app"
	pcSPID     = "sp-partner-center"
	mpSPID     = "sp-microsoft-partner"
	graphSPID  = "sp-graph"
	appID      = "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"
	keyID      = "11111111-aaaa-4bbb-8ccc-000000000001"
	adminGroup = "group-adminagents"
)

func mustSpec(t *testing.T, extra string) *spec.Partner {
	t.Helper()
	p, diags := spec.Parse("partner.yaml", []byte("apiVersion: uicctl/v1\nkind: Partner\nname: contoso\ntenantId: 6f0e3c3a-1b2c-4d5e-8f90-123456789abc\n"+extra))
	if len(diags) > 0 {
		t.Fatalf("spec: %v", diags)
	}
	return p
}

// inSync returns a tenant and secrets file that match the default spec exactly.
func inSync() (*Observed, Secrets) {
	o := &Observed{
		TenantID: "6f0e3c3a-1b2c-4d5e-8f90-123456789abc",
		App: &App{ObjectID: "obj-app", AppID: appID, DisplayName: "Partner Center Web App", UniqueName: "uicctl-contoso",
			SignInAudience: "AzureADMultipleOrgs", RedirectURIs: []string{"http://localhost:8400/"},
			RequiredResourceAccess: []ResourceAccess{
				{ResourceAppID: spec.PartnerCenterAppID, Scopes: []string{spec.PartnerCenterUserImpersonate}},
				{ResourceAppID: spec.MicrosoftPartnerAppID, Scopes: []string{"eabf9ef3-1f9e-f3da-19a1-bcd60d080567"}},
			},
			Passwords: []Password{{KeyID: keyID, DisplayName: "uicctl", StartDateTime: now.AddDate(0, -1, 0), EndDateTime: now.AddDate(0, 5, 0)}},
		},
		ServicePrincipal: &ServicePrincipal{ObjectID: spID, AppID: appID},
		Grants: []Grant{
			{ID: "g1", ClientID: spID, ResourceID: pcSPID, ConsentType: "AllPrincipals", Scopes: []string{"user_impersonation"}},
			{ID: "g2", ClientID: spID, ResourceID: mpSPID, ConsentType: "AllPrincipals", Scopes: []string{"user_impersonation"}},
		},
		AdminAgents: AdminAgents{GroupID: adminGroup},
		ResourceSPs: map[string]ResourceSP{
			spec.PartnerCenterAppID:    {ObjectID: pcSPID, AppID: spec.PartnerCenterAppID},
			spec.MicrosoftPartnerAppID: {ObjectID: mpSPID, AppID: spec.MicrosoftPartnerAppID},
			spec.MicrosoftGraphAppID:   {ObjectID: graphSPID, AppID: spec.MicrosoftGraphAppID},
		},
	}
	s := Secrets{Found: true, ClientID: appID, SecretKeyID: keyID, SecretEnd: now.AddDate(0, 5, 0),
		HasRefreshToken: true, TokenIssued: now.AddDate(0, 0, -10), TokenAccount: "svc@contoso.onmicrosoft.com"}
	return o, s
}

type got struct {
	Address string
	Action  Action
	Reason  string
}

func TestCompute(t *testing.T) {
	cases := map[string]struct {
		reason string
		spec   string
		drift  func(o *Observed, s *Secrets)
		want   []got
	}{
		"InSync": {
			reason: "a tenant that matches its spec has no changes",
			drift:  func(o *Observed, s *Secrets) {},
		},
		"RedirectMissing": {
			reason: "a missing redirect URI updates the app",
			drift:  func(o *Observed, s *Secrets) { o.App.RedirectURIs = nil },
			want:   []got{{"application", Update, "live settings differ from the spec"}},
		},
		"RedirectExtraKept": {
			reason: "an extra live redirect URI is shown but kept without prune",
			drift: func(o *Observed, s *Secrets) {
				o.App.RedirectURIs = append(o.App.RedirectURIs, "https://old.example.com/cb")
			},
			want: []got{{"application", NoOp, "live settings the spec does not name"}},
		},
		"RedirectExtraPruned": {
			reason: "with prune the extra redirect URI is removed",
			spec:   "application:\n  prune: true\n",
			drift: func(o *Observed, s *Secrets) {
				o.App.RedirectURIs = append(o.App.RedirectURIs, "https://old.example.com/cb")
			},
			want: []got{{"application", Update, "live settings differ from the spec"}},
		},
		"PermissionMissing": {
			reason: "a missing permission updates requiredResourceAccess",
			drift:  func(o *Observed, s *Secrets) { o.App.RequiredResourceAccess = o.App.RequiredResourceAccess[:1] },
			want:   []got{{"application", Update, "live settings differ from the spec"}},
		},
		"GrantScopeMissing": {
			reason: "a grant without the scope is updated",
			drift:  func(o *Observed, s *Secrets) { o.Grants[0].Scopes = []string{"offline_access"} },
			want:   []got{{"grant[partner-center]", Update, "the admin consent grant's scopes differ from the spec"}},
		},
		"GrantMissing": {
			reason: "a missing grant is created",
			drift:  func(o *Observed, s *Secrets) { o.Grants = o.Grants[1:] },
			want:   []got{{"grant[partner-center]", Create, "admin consent for the delegated permissions (AllPrincipals)"}},
		},
		"ExtraGrantKept": {
			reason: "a grant to an API the spec does not name is kept",
			drift: func(o *Observed, s *Secrets) {
				o.Grants = append(o.Grants, Grant{ID: "g3", ClientID: spID, ResourceID: graphSPID, ConsentType: "AllPrincipals", Scopes: []string{"User.Read"}})
			},
			want: []got{{"grant[microsoft-graph]", NoOp, "not in the spec; kept (prune: true removes it)"}},
		},
		"ServicePrincipalMissing": {
			reason: "without a service principal, it and its grants are created",
			drift:  func(o *Observed, s *Secrets) { o.ServicePrincipal, o.Grants = nil, nil },
			want: []got{
				{"servicePrincipal", Create, "the application has no service principal in the tenant"},
				{"grant[microsoft-partner]", Create, "admin consent for the delegated permissions (AllPrincipals)"},
				{"grant[partner-center]", Create, "admin consent for the delegated permissions (AllPrincipals)"},
			},
		},
		"AdminAgentsMissing": {
			reason: "preconsent adds the service principal to AdminAgents",
			spec:   "application:\n  preconsent: true\n",
			drift:  func(o *Observed, s *Secrets) {},
			want:   []got{{"adminAgents", Create, "preconsent: add the service principal to the AdminAgents group"}},
		},
		"SecretExpiring": {
			reason: "a secret within renewBefore is replaced, and the reason says by how much",
			drift:  func(o *Observed, s *Secrets) { o.App.Passwords[0].EndDateTime = now.AddDate(0, 0, 12) },
			want:   []got{{"clientSecret", Replace, "client secret expires in 12 days, renewBefore is 30d"}},
		},
		"SecretExpired": {
			reason: "an expired secret is replaced",
			drift:  func(o *Observed, s *Secrets) { o.App.Passwords[0].EndDateTime = now.AddDate(0, 0, -3) },
			want:   []got{{"clientSecret", Replace, "client secret expired 3 days ago"}},
		},
		"SecretDeletedOnApp": {
			reason: "a secret removed from the app is created again",
			drift:  func(o *Observed, s *Secrets) { o.App.Passwords = nil },
			want:   []got{{"clientSecret", Create, "client secret " + keyID + " of the secrets file is no longer on the application"}},
		},
		"SecretUnknownToFile": {
			reason: "a secrets file without a client secret gets one; a live one named like uicctl's is an orphan and goes",
			drift:  func(o *Observed, s *Secrets) { s.SecretKeyID = "" },
			want: []got{
				{"clientSecret", Create, "the secrets file holds no client secret"},
				{"clientSecret[" + keyID + "]", Delete, `password credential "uicctl" ending 2027-04-26 is not the one in the secrets file; uicctl made it and its value is lost (an interrupted apply or rotation)`},
			},
		},
		"ForeignSecretKept": {
			reason: "a password credential someone else made is shown and kept",
			drift: func(o *Observed, s *Secrets) {
				o.App.Passwords = append(o.App.Passwords, Password{KeyID: "22222222-aaaa-4bbb-8ccc-000000000002", DisplayName: "from the portal", EndDateTime: now.AddDate(1, 0, 0)})
			},
			want: []got{
				{"clientSecret[22222222-aaaa-4bbb-8ccc-000000000002]", NoOp, `password credential "from the portal" ending 2027-11-26 is not the one in the secrets file; kept (prune: true removes it)`},
			},
		},
		"AdoptedSecretToRecord": {
			reason: "an adopted app with a secret made by hand and none recorded asks for it to be recorded, and changes nothing",
			spec:   "application:\n  appId: " + appID + "\n",
			drift: func(o *Observed, s *Secrets) {
				o.App.Passwords = []Password{{KeyID: "22222222-aaaa-4bbb-8ccc-000000000002", DisplayName: "Password uid", EndDateTime: now.AddDate(2, 0, 0)}}
				s.SecretKeyID = ""
			},
			want: []got{
				{"clientSecret", Manual, "the adopted application has a client secret (keyId 22222222-aaaa-4bbb-8ccc-000000000002, ends 2028-11-26) made outside uicctl and the secrets file records none: " +
					"record the one in use with uicctl secrets set tenants/contoso/secrets.sops.yaml clientSecret (and clientSecret.keyId, clientSecret.endDateTime), or set prune: true to have apply replace them with a secret of its own"},
				{"clientSecret[22222222-aaaa-4bbb-8ccc-000000000002]", NoOp, `password credential "Password uid" ending 2028-11-26 is not the one in the secrets file; kept (prune: true removes it)`},
			},
		},
		"AdoptedSecretsEnding": {
			reason: "hand-made secrets that end within renewBefore are not worth recording: uicctl makes its own",
			spec:   "application:\n  appId: " + appID + "\n",
			drift: func(o *Observed, s *Secrets) {
				o.App.Passwords = []Password{{KeyID: "22222222-aaaa-4bbb-8ccc-000000000002", DisplayName: "Password uid", EndDateTime: now.AddDate(0, 0, 10)}}
				s.SecretKeyID = ""
			},
			want: []got{
				{"clientSecret", Create, "the secrets file holds no client secret"},
				{"clientSecret[22222222-aaaa-4bbb-8ccc-000000000002]", NoOp, `password credential "Password uid" ending 2026-12-06 is not the one in the secrets file; kept (prune: true removes it)`},
			},
		},
		"AdoptedSecretPruned": {
			reason: "prune: true is the request to replace hand-made secrets with uicctl's own",
			spec:   "application:\n  appId: " + appID + "\n  prune: true\n",
			drift: func(o *Observed, s *Secrets) {
				o.App.Passwords = []Password{{KeyID: "22222222-aaaa-4bbb-8ccc-000000000002", DisplayName: "Password uid", EndDateTime: now.AddDate(2, 0, 0)}}
				s.SecretKeyID = ""
			},
			want: []got{
				{"clientSecret", Create, "the secrets file holds no client secret"},
				{"clientSecret[22222222-aaaa-4bbb-8ccc-000000000002]", Delete, `password credential "Password uid" ending 2028-11-26 is not the one in the secrets file (prune: true)`},
			},
		},
		"RefreshTokenMissing": {
			reason: "a missing refresh token is a manual step",
			drift:  func(o *Observed, s *Secrets) { s.HasRefreshToken = false },
			want:   []got{{"refreshToken", Manual, "no refresh token in the secrets file: run uicctl consent tenants/contoso"}},
		},
		"RefreshTokenOld": {
			reason: "a refresh token older than maxAge is a manual step",
			drift:  func(o *Observed, s *Secrets) { s.TokenIssued = now.AddDate(0, 0, -61) },
			want:   []got{{"refreshToken", Manual, "the refresh token is 61 days old, maxAge is 60d: run uicctl consent tenants/contoso"}},
		},
		"Unregistered": {
			reason: "a declared unregistered app is a manual step",
			spec:   "partnerCenter:\n  appManagement: unregistered\n",
			drift:  func(o *Observed, s *Secrets) {},
			want: []got{{"appManagement", Manual, "declared unregistered: in Partner Center > Account settings > App management, add the app with Application ID " +
				appID + " (there is no API for this step); then set partnerCenter.appManagement: registered"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			o, s := inSync()
			tc.drift(o, &s)
			tp, err := Compute(Input{Name: "contoso", Path: "tenants/contoso/partner.yaml", Spec: mustSpec(t, tc.spec), Secrets: s, Observed: o, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			var have []got
			for _, c := range tp.Changes {
				have = append(have, got{c.Address, c.Action, c.Reason})
			}
			if diff := cmp.Diff(tc.want, have); diff != "" {
				t.Errorf("%s\nCompute: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// TestRenderGolden renders an empty tenant (everything to create) and a drifted one in
// every format; the goldens are API and reviewed like code.
func TestRenderGolden(t *testing.T) {
	empty, err := Compute(Input{Name: "contoso", Path: "tenants/contoso/partner.yaml", Spec: mustSpec(t, ""), Observed: &Observed{}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	o, s := inSync()
	o.App.RedirectURIs = append(o.App.RedirectURIs, "https://old.example.com/cb")
	o.App.DisplayName = "Old name"
	o.App.Passwords[0].EndDateTime = now.AddDate(0, 0, 12)
	s.HasRefreshToken = false
	drift, err := Compute(Input{Name: "fabrikam", Path: "tenants/fabrikam/partner.yaml", Spec: mustSpec(t, ""), Secrets: s, Observed: o, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	drift.Name = "fabrikam"
	failed := Tenant{Name: "northwind", Path: "tenants/northwind/partner.yaml", TenantID: "3d9e1f20-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
		Error: "cannot sign in to tenant 3d9e1f20-4b5a-4c6d-8e7f-9a0b1c2d3e4f: AADSTS90002: tenant not found", Hint: "check tenantId"}
	p := New([]Tenant{empty, drift, failed})
	for _, format := range []string{"text", "json", "markdown"} {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			switch format {
			case "text":
				err = WriteText(&b, p, TextOptions{})
			case "json":
				err = WriteJSON(&b, p)
			default:
				err = WriteMarkdown(&b, p)
			}
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "render."+format)
			if *update {
				os.MkdirAll("testdata", 0o755)
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("no golden (go test -update): %v", err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("render %s: -want, +got:\n%s", format, diff)
			}
		})
	}
}

func TestComputeDeterministic(t *testing.T) {
	o, s := inSync()
	o.Grants[0], o.Grants[1] = o.Grants[1], o.Grants[0]
	a, _ := Compute(Input{Name: "c", Spec: mustSpec(t, ""), Secrets: s, Observed: o, Now: now})
	o2, _ := inSync()
	b, _ := Compute(Input{Name: "c", Spec: mustSpec(t, ""), Secrets: s, Observed: o2, Now: now})
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("the order Graph returns things in must not change the plan or its digests: -a, +b:\n%s", diff)
	}
}

func TestTextColour(t *testing.T) {
	o, s := inSync()
	o.App.DisplayName = "Old"
	tp, _ := Compute(Input{Name: "contoso", Spec: mustSpec(t, ""), Secrets: s, Observed: o, Now: now})
	p := New([]Tenant{tp})
	cases := map[string]struct {
		reason string
		color  bool
		want   bool
	}{
		"Colour":   {"a terminal gets ANSI colours", true, true},
		"NoColour": {"pipes, files, --no-color and NO_COLOR get none", false, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteText(&b, p, TextOptions{Color: tc.color}); err != nil {
				t.Fatal(err)
			}
			if got := bytes.Contains(b.Bytes(), []byte("\x1b[")); got != tc.want {
				t.Errorf("%s: escape codes present = %v, want %v", tc.reason, got, tc.want)
			}
		})
	}
}
