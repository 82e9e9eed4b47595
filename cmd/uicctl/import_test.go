package main

import (
	"strings"
	"testing"
	"time"

	"github.com/useitcloud/uicctl/pkg/plan"
	"github.com/useitcloud/uicctl/pkg/spec"
)

// TestImportedSpecValid renders specs for live apps the spec cannot fully express and checks
// that each passes validate's parser and the JSON Schema, and that what it cannot express
// is a comment.
func TestImportedSpecValid(t *testing.T) {
	sch, err := compileSpecSchema()
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC)
	base := func() *plan.Observed {
		return &plan.Observed{
			App: &plan.App{AppID: "6f0e3c3a-1b2c-4d5e-8f90-123456789abc", DisplayName: "Partner Center Web App",
				SignInAudience: "AzureADMultipleOrgs", RedirectURIs: []string{"http://localhost:8400"},
				RequiredResourceAccess: []plan.ResourceAccess{{ResourceAppID: spec.PartnerCenterAppID, Scopes: []string{spec.PartnerCenterUserImpersonate}}}},
			ServicePrincipal: &plan.ServicePrincipal{ObjectID: "sp", AppID: "6f0e3c3a-1b2c-4d5e-8f90-123456789abc"},
		}
	}
	for _, tc := range []struct {
		name, reason string
		edit         func(o *plan.Observed)
		wantComment  string // a line the spec must hold as a comment
		wantKey      string // a line the spec must hold as a key
	}{
		{"script", "the newer script's shape", func(o *plan.Observed) {}, "# No admin consent is granted", "adminConsent: false"},
		{"unknown-api", "an API and a permission uicctl does not know are written by ID",
			func(o *plan.Observed) {
				o.App.RequiredResourceAccess = append(o.App.RequiredResourceAccess, plan.ResourceAccess{ResourceAppID: "11111111-2222-3333-4444-555555555555", Roles: []string{"AAAAAAAA-2222-3333-4444-555555555555"}})
			}, "", "application: [aaaaaaaa-2222-3333-4444-555555555555]"},
		{"urn", "a public-client style URI in web is a comment",
			func(o *plan.Observed) { o.App.RedirectURIs = append(o.App.RedirectURIs, "urn:ietf:wg:oauth:2.0:oob") },
			"not a web redirect URI partner.yaml accepts", "redirectUris: [http://localhost:8400/]"},
		{"audience", "an audience partner.yaml cannot write is a comment",
			func(o *plan.Observed) { o.App.SignInAudience = "AzureADandPersonalMicrosoftAccountX" },
			"cannot be written in partner.yaml", ""},
		{"partial-consent", "consent for some permissions only leaves adminConsent false",
			func(o *plan.Observed) {
				o.App.RequiredResourceAccess = append(o.App.RequiredResourceAccess, plan.ResourceAccess{ResourceAppID: spec.MicrosoftPartnerAppID, Scopes: []string{"eabf9ef3-1f9e-f3da-19a1-bcd60d080567"}})
				o.ResourceSPs = map[string]plan.ResourceSP{spec.PartnerCenterAppID: {ObjectID: "pc"}, spec.MicrosoftPartnerAppID: {ObjectID: "mp"}}
				o.Grants = []plan.Grant{{ClientID: "sp", ResourceID: "pc", ConsentType: "AllPrincipals", Scopes: []string{"user_impersonation"}}}
			}, "Admin consent covers only some", "adminConsent: false"},
		{"secret-names", "live credentials named uicctl and uicctl-2 push the name to uicctl-3",
			func(o *plan.Observed) {
				o.App.Passwords = []plan.Password{{KeyID: "k1", DisplayName: "uicctl", EndDateTime: end}, {KeyID: "k2", DisplayName: "uicctl-2", EndDateTime: end}}
			}, `keyId k1 uicctl, ends 2027-05-01`, "clientSecret: {displayName: uicctl-3, lifetime: 180d, renewBefore: 30d}"},
		{"odd-name", "a display name YAML would misread is quoted",
			func(o *plan.Observed) { o.App.DisplayName = "UIC: #1 [prod]" }, "", `displayName: "UIC: #1 [prod]"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base()
			tc.edit(o)
			text := importedSpec("contoso", "52766c91-155f-42b4-a6bb-9ac686124ead", o)
			p, diags := spec.Parse("partner.yaml", []byte(text))
			if len(diags) > 0 {
				t.Fatalf("%s: validate: %v\n%s", tc.reason, diags, text)
			}
			if p.Application.AppID != o.App.AppID || p.Application.DisplayName != o.App.DisplayName {
				t.Errorf("%s: appId/displayName = %q/%q, want %q/%q", tc.reason, p.Application.AppID, p.Application.DisplayName, o.App.AppID, o.App.DisplayName)
			}
			if err := validateYAMLAgainst(sch, []byte(text)); err != nil {
				t.Errorf("%s: JSON Schema: %v", tc.reason, err)
			}
			for _, line := range strings.Split(text, "\n") {
				trimmed := strings.TrimSpace(line)
				if tc.wantComment != "" && strings.HasPrefix(trimmed, "#") && strings.Contains(trimmed, tc.wantComment) {
					tc.wantComment = ""
				}
				if tc.wantKey != "" && trimmed == tc.wantKey {
					tc.wantKey = ""
				}
			}
			if tc.wantComment != "" || tc.wantKey != "" {
				t.Errorf("%s: missing comment %q / key %q in\n%s", tc.reason, tc.wantComment, tc.wantKey, text)
			}
		})
	}
}
