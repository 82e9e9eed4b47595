package spec

import (
	"net/url"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// operator.yaml, at the fleet root, declares the operator app itself (kind Operator): the
// multi-tenant app in the consultant's home tenant that uicctl signs in as in every partner
// tenant (docs/operator.md). It loads into a Partner of KindOperator, so that plan and
// apply treat it with the same machinery as a partner's app.

// KindOperator and OperatorFileName name the operator spec.
const (
	KindOperator     = "Operator"
	OperatorFileName = "operator.yaml"
)

// Defaults of operator.yaml.
const (
	DefaultOperatorDisplayName = "uicctl operator"
	DefaultOperatorUniqueName  = "uicctl-operator"
	DefaultOperatorBranch      = "main"
	// OperatorName is the operator's name in a fleet (plan output, shards).
	OperatorName = "operator"
	// ConsentRedirectURI is the operator app's one web redirect URI: where the admin
	// consent link sends a partner's admin afterwards, Microsoft's own blank page.
	ConsentRedirectURI = "https://login.microsoftonline.com/common/oauth2/nativeclient"
	// GitHubIssuer and FederatedAudience are what GitHub Actions' OIDC tokens carry
	// (https://docs.github.com/en/actions/reference/security/oidc) and what Entra expects
	// of a workload identity federation.
	GitHubIssuer      = "https://token.actions.githubusercontent.com"
	FederatedAudience = "api://AzureADTokenExchange"
)

// The Microsoft Graph application permissions of the operator, in the order of
// docs/operator.md's table (entra.OperatorPermissions says which call needs each).
const (
	PermApplicationReadWriteAll       = "Application.ReadWrite.All"
	PermDelegatedGrantReadWriteAll    = "DelegatedPermissionGrant.ReadWrite.All"
	PermAppRoleAssignmentReadWriteAll = "AppRoleAssignment.ReadWrite.All"
	PermGroupMemberReadWriteAll       = "GroupMember.ReadWrite.All"
	// PermPolicyReadAll reads the app management policies that cap a client secret's
	// lifetime (plan; docs/partner-yaml.md).
	PermPolicyReadAll = "Policy.Read.All"
)

// OperatorGraphRoles is everything the operator app requests: nothing else.
var OperatorGraphRoles = []string{PermApplicationReadWriteAll, PermDelegatedGrantReadWriteAll, PermAppRoleAssignmentReadWriteAll, PermGroupMemberReadWriteAll, PermPolicyReadAll}

// FederatedCredential is a federated identity credential of the operator app: the GitHub
// Actions jobs that may sign in as it.
type FederatedCredential struct {
	Name     string `json:"name"`
	Issuer   string `json:"issuer"`
	Subject  string `json:"subject"`
	Audience string `json:"audience"`
}

var repoRE = regexp.MustCompile(`^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$`)

// IsOperator reports whether a spec is the operator's (operator.yaml).
func (p *Partner) IsOperator() bool { return p.Kind == KindOperator }

// ParseOperator validates operator.yaml content; file names it in diagnostics.
func ParseOperator(file string, data []byte) (*Partner, []Diagnostic) {
	return parseWith(file, data, (*decoder).operator)
}

// operator decodes operator.yaml:
//
//	apiVersion: uicctl/v1
//	kind: Operator
//	tenantId: <home tenant>
//	displayName: uicctl operator      # default
//	uniqueName: uicctl-operator       # default
//	github:
//	  repository: OWNER/REPO          # the fleet repository whose workflows sign in
//	  branch: main                    # default: the nightly verify's subject
//	  issuer: https://token.actions.githubusercontent.com  # default; GHES: https://HOSTNAME/_services/token
func (d *decoder) operator(doc *yaml.Node) *Partner {
	p := &Partner{
		Name: OperatorName,
		Application: Application{
			DisplayName:    DefaultOperatorDisplayName,
			UniqueName:     DefaultOperatorUniqueName,
			SignInAudience: DefaultAudience,
			RedirectURIs:   []string{ConsentRedirectURI},
		},
	}
	graph, _ := LookupAPI("microsoft-graph")
	perm := Permission{API: graph.Alias, ResourceAppID: graph.AppID}
	for _, v := range OperatorGraphRoles {
		ps, _ := findScope(graph.Application, v)
		perm.Application = append(perm.Application, ps)
	}
	p.Application.Permissions = []Permission{perm}
	repo, branch, issuer := "", DefaultOperatorBranch, GitHubIssuer
	seen := d.mapping(doc, "", []field{
		d.apiVersion(p), d.kind(p, KindOperator, "write kind: Operator (operator.yaml declares the operator app)"),
		{"tenantId", func(v *yaml.Node, kp string) {
			if s, ok := d.guid(v, kp, "your own (home) tenant, where the operator app is registered"); ok {
				p.TenantID = strings.ToLower(s)
			}
		}},
		{"displayName", func(v *yaml.Node, kp string) {
			if s, ok := d.str(v, kp); ok {
				p.Application.DisplayName = s
			}
		}},
		{"uniqueName", func(v *yaml.Node, kp string) {
			if s, ok := d.str(v, kp); ok {
				if !uniqueNameRE.MatchString(s) {
					d.add(v, kp, "letters, digits, dot, dash and underscore, at most 120", "invalid uniqueName")
				}
				p.Application.UniqueName = s
			}
		}},
		{"github", func(v *yaml.Node, kp string) {
			gh := d.mapping(v, kp, []field{
				{"repository", func(v *yaml.Node, kp string) {
					if s, ok := d.str(v, kp); ok {
						if !repoRE.MatchString(s) {
							d.add(v, kp, "write OWNER/REPO, such as contoso/uic-fleet", "invalid repository")
						}
						repo = s
					}
				}},
				{"issuer", func(v *yaml.Node, kp string) {
					// GitHub Enterprise Server's issuer is https://HOSTNAME/_services/token.
					if s, ok := d.str(v, kp); ok {
						if u, err := url.Parse(s); err != nil || u.Scheme != "https" || u.Host == "" {
							d.add(v, kp, "the https URL of the OIDC issuer, such as https://HOSTNAME/_services/token for GitHub Enterprise Server", "invalid issuer")
						}
						issuer = s
					}
				}},
				{"branch", func(v *yaml.Node, kp string) {
					if s, ok := d.str(v, kp); ok {
						if strings.ContainsAny(s, " :*") || strings.HasPrefix(s, "refs/") {
							d.add(v, kp, "the branch name alone, such as main", "invalid branch")
						}
						branch = s
					}
				}},
			})
			if _, ok := gh["repository"]; !ok && v.Kind == yaml.MappingNode {
				d.add(v, join(kp, "repository"), "the fleet repository whose workflows sign in, as OWNER/REPO", "missing required key %q", "repository")
			}
		}},
	})
	for _, req := range []string{"apiVersion", "kind", "tenantId", "github"} {
		if _, ok := seen[req]; !ok && doc.Kind == yaml.MappingNode {
			d.add(doc, req, operatorRequiredHint(req), "missing required key %q", req)
		}
	}
	if repo != "" {
		// The subjects of examples/ci: the plan workflow runs on pull requests, the nightly
		// verify on the default branch (a schedule runs on it).
		p.Federated = []FederatedCredential{
			{Name: "github-pull-request", Issuer: issuer, Subject: "repo:" + repo + ":pull_request", Audience: FederatedAudience},
			{Name: "github-branch-" + strings.ReplaceAll(branch, "/", "-"), Issuer: issuer, Subject: "repo:" + repo + ":ref:refs/heads/" + branch, Audience: FederatedAudience},
		}
	}
	p.Positions = d.pos
	return p
}

func operatorRequiredHint(key string) string {
	switch key {
	case "kind":
		return "add kind: Operator"
	case "tenantId":
		return "add tenantId: the GUID of your own (home) tenant"
	case "github":
		return "add github: {repository: OWNER/REPO}, the fleet repository whose workflows sign in"
	}
	return requiredHint(key)
}
