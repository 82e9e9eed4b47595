package spec

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBillingExportPermissionWarning(t *testing.T) {
	const head = "apiVersion: uicctl/v1\nkind: Partner\nname: contoso\ntenantId: 6f0e3c3a-1b2c-4d5e-8f90-123456789abc\n"
	const usage = "verify:\n  usage: billing-export\n"
	warn := func(line int, msg, hint string) []Diagnostic {
		return []Diagnostic{{File: "partner.yaml", Line: line, Column: 10, Path: "verify.usage", Severity: SeverityWarning, Message: msg, Hint: hint}}
	}
	const addAll = "add under application: permissions: [{api: partner-center, delegated: [user_impersonation]}, " +
		"{api: microsoft-partner, delegated: [user_impersonation]}, {api: microsoft-graph, application: [PartnerBilling.Read.All]}]"
	tests := map[string]struct {
		reason string
		yaml   string
		want   []Diagnostic
	}{
		"default permissions": {
			reason: "the defaults (Partner Center, Microsoft Partner) do not include the Graph permission: the hint writes them out with it",
			yaml:   head + usage,
			want: warn(6, "billing-export needs the Microsoft Graph permission PartnerBilling.Read.All, which application.permissions does not list",
				addAll+" and run uicctl apply"),
		},
		"permissions written without it": {
			reason: "a spec that writes its permissions gets the one entry to add",
			yaml:   head + "application:\n  permissions:\n    - api: partner-center\n      delegated: [user_impersonation]\n" + usage,
			want: warn(10, "billing-export needs the Microsoft Graph permission PartnerBilling.Read.All, which application.permissions does not list",
				"add {api: microsoft-graph, application: [PartnerBilling.Read.All]} to application.permissions and run uicctl apply"),
		},
		"application permission": {
			reason: "the application permission with admin consent (the default) is what verify needs",
			yaml:   head + "application:\n  permissions:\n    - api: microsoft-graph\n      application: [PartnerBilling.Read.All]\n" + usage,
		},
		"by appId and permission ID": {
			reason: "the resource appId and the role's ID name the same permission",
			yaml:   head + "application:\n  permissions:\n    - api: 00000003-0000-0000-c000-000000000000\n      application: [7c3e1994-38ff-4412-a99b-9369f6bb7706]\n" + usage,
		},
		"delegated only": {
			reason: "without the application permission verify exports with the consent account's delegated Graph token",
			yaml:   head + "application:\n  permissions:\n    - api: microsoft-graph\n      delegated: [PartnerBilling.Read.All]\n" + usage,
		},
		"no admin consent": {
			reason: "without adminConsent apply creates no app role assignment",
			yaml:   head + "application:\n  adminConsent: false\n  permissions:\n    - api: microsoft-graph\n      application: [PartnerBilling.Read.All]\n" + usage,
			want: warn(11, "billing-export needs PartnerBilling.Read.All granted, and adminConsent is false: apply will not grant it",
				"set adminConsent: true, or have an admin grant consent to the app in the Entra admin center"),
		},
		"other usage": {
			reason: "unbilled usage goes through Partner Center: no Graph permission needed",
			yaml:   head + "verify:\n  usage: unbilled\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, diags := Parse("partner.yaml", []byte(tc.yaml))
			if p == nil {
				t.Fatalf("%s: the spec is refused: %v", tc.reason, diags)
			}
			if d := cmp.Diff(tc.want, diags); d != "" {
				t.Errorf("%s: diagnostics -want +got\n%s", tc.reason, d)
			}
		})
	}
}
