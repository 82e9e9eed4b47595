package spec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const minimalOperator = "apiVersion: uicctl/v1\nkind: Operator\ntenantId: 11111111-2222-3333-4444-555555555555\ngithub:\n  repository: contoso/uic-fleet\n"

func TestParseOperator(t *testing.T) {
	cases := map[string]struct {
		reason    string
		yaml      string
		subjects  []string // the federated credentials' subjects, when valid
		issuer    string
		wantDiags []string // "line:col path: message", when invalid
	}{
		"Minimal": {
			reason:   "the plan workflow's pull requests and the nightly verify on main sign in",
			yaml:     minimalOperator,
			subjects: []string{"repo:contoso/uic-fleet:pull_request", "repo:contoso/uic-fleet:ref:refs/heads/main"},
			issuer:   GitHubIssuer,
		},
		"BranchAndIssuer": {
			reason:   "another default branch, and GitHub Enterprise Server's issuer",
			yaml:     minimalOperator + "  branch: trunk\n  issuer: https://ghe.example.com/_services/token\n",
			subjects: []string{"repo:contoso/uic-fleet:pull_request", "repo:contoso/uic-fleet:ref:refs/heads/trunk"},
			issuer:   "https://ghe.example.com/_services/token",
		},
		"Typo": {
			reason:    "unknown keys are errors with a did-you-mean, as in partner.yaml",
			yaml:      strings.Replace(minimalOperator, "repository:", "repositry:", 1),
			wantDiags: []string{"5:3 github.repositry: unknown key \"repositry\"", "5:3 github.repository: missing required key \"repository\""},
		},
		"NoGitHub": {
			reason:    "without the repository there is no federated credential to make",
			yaml:      "apiVersion: uicctl/v1\nkind: Operator\ntenantId: 11111111-2222-3333-4444-555555555555\n",
			wantDiags: []string{"1:1 github: missing required key \"github\""},
		},
		"PartnerKind": {
			reason:    "operator.yaml holds the operator, not a partner",
			yaml:      strings.Replace(minimalOperator, "kind: Operator", "kind: Partner", 1),
			wantDiags: []string{"2:7 kind: unsupported kind"},
		},
		"BadRepositoryAndBranch": {
			reason:    "the subject is built from them, so they must be what GitHub writes",
			yaml:      strings.Replace(minimalOperator, "contoso/uic-fleet", "https://github.com/contoso/uic-fleet", 1) + "  branch: refs/heads/main\n",
			wantDiags: []string{"5:15 github.repository: invalid repository", "6:11 github.branch: invalid branch"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p, diags := ParseOperator("operator.yaml", []byte(tc.yaml))
			var got []string
			for _, d := range diags {
				got = append(got, strings.TrimPrefix(d.String(), "operator.yaml:"))
			}
			for i := range got {
				got[i] = strings.Replace(got[i], ": ", " ", 1)
			}
			if d := cmp.Diff(tc.wantDiags, got); d != "" {
				t.Fatalf("%s: diagnostics -want +got\n%s", tc.reason, d)
			}
			if tc.wantDiags != nil {
				if p != nil {
					t.Errorf("%s: a spec with errors loaded", tc.reason)
				}
				return
			}
			var subjects []string
			for _, f := range p.Federated {
				subjects = append(subjects, f.Subject)
				if f.Issuer != tc.issuer || f.Audience != FederatedAudience {
					t.Errorf("%s: %s: issuer %q audience %q", tc.reason, f.Name, f.Issuer, f.Audience)
				}
			}
			if d := cmp.Diff(tc.subjects, subjects); d != "" {
				t.Errorf("%s: subjects -want +got\n%s", tc.reason, d)
			}
			var roles []string
			for _, ps := range p.Application.Permissions[0].Application {
				roles = append(roles, ps.Value)
			}
			if d := cmp.Diff(OperatorGraphRoles, roles); d != "" || len(p.Application.Permissions) != 1 {
				t.Errorf("%s: the app requests -want +got\n%s", tc.reason, d)
			}
			if !p.IsOperator() || p.Application.AdminConsent || p.Application.UniqueName != DefaultOperatorUniqueName ||
				!cmp.Equal(p.Application.RedirectURIs, []string{ConsentRedirectURI}) {
				t.Errorf("%s: application %+v", tc.reason, p.Application)
			}
		})
	}
}
