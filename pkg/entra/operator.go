package entra

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/useitcloud/uicctl/pkg/cloud"
	"github.com/useitcloud/uicctl/pkg/plan"
	"github.com/useitcloud/uicctl/pkg/spec"
)

// OperatorPermission is one Microsoft Graph application permission the operator app needs
// in every partner tenant, with the commands and calls that need it. docs/operator.md is
// this table; a test removes each one and sees its command fail.
type OperatorPermission struct {
	Name     string // the permission's value
	ID       string // its appRole id on Microsoft Graph
	Commands string // the uicctl commands whose calls need it
	Calls    string // those Graph calls
	Why      string // why not a narrower permission
}

// Microsoft Graph application permissions of the operator, by value (spec declares them
// for operator.yaml). Ids from the Graph permissions reference
// (https://learn.microsoft.com/en-us/graph/permissions-reference).
const (
	PermApplicationReadWriteAll       = spec.PermApplicationReadWriteAll
	PermAppRoleAssignmentReadWriteAll = spec.PermAppRoleAssignmentReadWriteAll
	PermDelegatedGrantReadWriteAll    = spec.PermDelegatedGrantReadWriteAll
	PermGroupMemberReadWriteAll       = spec.PermGroupMemberReadWriteAll
	PermPolicyReadAll                 = spec.PermPolicyReadAll
)

// OperatorPermissions is everything the operator app requests: nothing else. A call that
// needs another permission (as plan's read of app management policies brought
// Policy.Read.All) adds it here with its commands, calls and reason, and in
// spec.OperatorGraphRoles, graph.OperatorRoles (the sandbox), docs/operator.md's table and
// TestOperatorLeastPrivilege's cases; TestOperationsNeedOnlyOperatorPermissions and
// TestOperatorPermissionsDocumented fail until all agree.
var OperatorPermissions = []OperatorPermission{
	{
		Name: PermApplicationReadWriteAll, ID: "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
		Commands: "plan, apply, verify, import, operator check",
		Calls: "GET /applications(uniqueName=…|appId=…), GET /servicePrincipals(appId=…) and its appRoleAssignments and memberOf, " +
			"GET /applications?$filter=displayName (import); apply: PATCH /applications(uniqueName=…) (upsert), " +
			"POST /applications/{id}/addPassword and removePassword, POST /servicePrincipals",
		Why: "Application.ReadWrite.OwnedBy covers only apps the operator created: apps adopted with appId or import " +
			"were made by hand, and the resource APIs' service principals (Partner Center) are Microsoft's",
	},
	{
		Name: PermDelegatedGrantReadWriteAll, ID: "8e8e4742-1d95-4f68-9d56-6ee75648c72a",
		Commands: "plan, apply, verify --with-plan",
		Calls:    "GET /servicePrincipals(appId=…)/oauth2PermissionGrants; apply: POST, PATCH and DELETE /oauth2PermissionGrants",
		Why:      "adminConsent of the delegated Partner Center permissions is an AllPrincipals grant; it also reads grants, so Directory.Read.All is not needed",
	},
	{
		Name: PermAppRoleAssignmentReadWriteAll, ID: "06b708a9-e830-4db3-a914-8e69da51d44f",
		Commands: "apply",
		Calls:    "POST and DELETE /servicePrincipals/{resource}/appRoleAssignedTo",
		Why:      "adminConsent of application permissions (PartnerBilling.Read.All for verify.usage: billing-export) is an app role assignment",
	},
	{
		Name: PermGroupMemberReadWriteAll, ID: "dbaae8cf-10b5-4b86-a4a1-f871c94c6695",
		Commands: "plan, apply",
		Calls:    "GET /groups?$filter=displayName eq 'AdminAgents'; apply: POST /groups/{id}/members/$ref and DELETE …/members/{id}/$ref",
		Why:      "preconsent adds the app to AdminAgents; GroupMember.ReadWrite.All rather than Group.ReadWrite.All, which could change the group itself",
	},
	{
		Name: PermPolicyReadAll, ID: "246dd0d5-5bd0-4def-940b-0421030a5b68",
		Commands: "plan, apply, verify --with-plan",
		Calls:    "GET /policies/defaultAppManagementPolicy, GET /applications(appId=…)/appManagementPolicies",
		Why:      "the app management policy that applies caps a new client secret's lifetime (plan shows it, apply asks for no more); the least privileged permission both pages list, read-only",
	},
}

// ConsentRedirectURI is where the admin consent link sends the partner's administrator
// afterwards: Microsoft's own blank page (the operator app registers it as a web redirect
// URI), so no server of the consultant is involved.
const ConsentRedirectURI = spec.ConsentRedirectURI

// AdminConsentURL is the v2 admin consent link of the operator app clientID for tenantID
// (https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent): scope
// {graph}/.default asks for every application permission the app requests, and state ties
// the answer to the tenant.
func AdminConsentURL(c cloud.Cloud, tenantID, clientID, redirectURI string) string {
	audience := c.GraphAudience
	if audience == "" {
		audience = cloud.PublicGraphAudience
	}
	if redirectURI == "" {
		redirectURI = ConsentRedirectURI
	}
	q := url.Values{"client_id": {clientID}, "scope": {cloud.Scope(audience)}, "redirect_uri": {redirectURI}, "state": {"uicctl-" + tenantID}}
	return strings.TrimSuffix(c.Login, "/") + "/" + url.PathEscape(tenantID) + "/v2.0/adminconsent?" + q.Encode()
}

// notConsentedCodes are the sign-in errors of an operator app that has no service
// principal in the tenant: AADSTS700016, "application ... was not found in the directory
// ... has not been installed by the administrator of the tenant or consented to"
// (https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes), and
// AADSTS7000229, "the client application ... is missing service principal in the tenant",
// 401 invalid_client
// (https://learn.microsoft.com/en-gb/microsoftteams/platform/teams-sdk/teams/app-authentication/troubleshooting).
var notConsentedCodes = map[int]bool{700016: true, 7000229: true}

// NotConsentedError is a partner tenant where the operator app was never approved: it has
// no service principal there, so it cannot sign in.
type NotConsentedError struct {
	TenantID   string
	ConsentURL string // empty when the operator's client ID is unknown (a signed-in user)
	err        error
}

func (e *NotConsentedError) Error() string {
	code := 0
	var se *SignInError
	if errors.As(e.err, &se) {
		code = se.Code
	}
	return fmt.Sprintf("tenant %s: the operator app is not consented in this tenant (AADSTS%d)", e.TenantID, code)
}

// Hint is the link the tenant's administrator opens.
func (e *NotConsentedError) Hint() string {
	if e.ConsentURL == "" {
		return fmt.Sprintf("a Global Administrator of tenant %s must approve the operator app: uicctl operator consent-url --tenant-id %s prints the link", e.TenantID, e.TenantID)
	}
	return fmt.Sprintf("a Global Administrator (or Privileged Role Administrator) of tenant %s approves the operator app by opening %s", e.TenantID, e.ConsentURL)
}

// No Unwrap: the sign-in error's own hint would repeat this one less clearly.

// MissingPermissionError is a 403 of a tenant where the operator app is consented but lacks
// the permission the call needs (it was removed, or the app requests it since).
type MissingPermissionError struct {
	*PermissionError
	ConsentURL string
}

// Hint names the permission and how to grant it: consenting again grants everything the
// app requests now.
func (e *MissingPermissionError) Hint() string {
	if e.ConsentURL == "" {
		return e.PermissionError.Hint()
	}
	return fmt.Sprintf("the operator needs the Microsoft Graph application permission %s in tenant %s: a Global Administrator of the tenant grants it by opening %s", e.Permission, e.TenantID, e.ConsentURL)
}

// WithConsentLink turns the errors of an operator app that is not (or not fully) consented
// in a tenant into NotConsentedError and MissingPermissionError with the admin consent
// link; consentURL returns it for a tenant ("" when unknown). Other errors pass unchanged.
func WithConsentLink(err error, consentURL func(tenantID string) string) error {
	var se *SignInError
	if errors.As(err, &se) && notConsentedCodes[se.Code] {
		return &NotConsentedError{TenantID: se.TenantID, ConsentURL: consentURL(se.TenantID), err: err}
	}
	var pe *PermissionError
	var mp *MissingPermissionError
	if errors.As(err, &pe) && !errors.As(err, &mp) {
		return &MissingPermissionError{PermissionError: pe, ConsentURL: consentURL(pe.TenantID)}
	}
	return err
}

// OperatorAccess is what the operator app holds in a tenant.
type OperatorAccess struct {
	// ServicePrincipal is false when the app has no service principal there (never
	// consented); a token request then fails first, so this is seen only by a signed-in
	// user reading another app.
	ServicePrincipal bool
	// Roles are the values of its app role assignments on Microsoft Graph, sorted.
	Roles []string
}

var opReadOperator = operation{"read the operator app's service principal", PermApplicationReadWriteAll}

// OperatorAccess signs in to tenantID and reads the service principal of the operator app
// clientID and its app role assignments on Microsoft Graph, in one $batch.
func (c *Client) OperatorAccess(ctx context.Context, tenantID, clientID string) (OperatorAccess, error) {
	a, err := c.adapter(tenantID)
	if err != nil {
		return OperatorAccess{}, err
	}
	o := &observation{c: c, a: a, tenant: tenantID, out: &plan.Observed{TenantID: tenantID, ResourceSPs: map[string]plan.ResourceSP{}}}
	graphStep, err := o.resourceStep(ctx, spec.MicrosoftGraphAppID)
	if err != nil {
		return OperatorAccess{}, err
	}
	spSteps, err := o.spSteps(ctx, clientID)
	if err != nil {
		return OperatorAccess{}, err
	}
	spStep, assignStep := stepOf(spSteps, stepSP), stepOf(spSteps, stepAssignments)
	spStep.op, assignStep.op = opReadOperator, opReadOperator
	if err := o.send(ctx, []*step{graphStep, spStep, assignStep}); err != nil {
		return OperatorAccess{}, err
	}
	if err := o.readResource(graphStep); err != nil {
		return OperatorAccess{}, err
	}
	var sp spJSON
	found, err := o.decode(spStep, &sp)
	if err != nil || !found {
		return OperatorAccess{}, err
	}
	assigns, err := collect[assignmentJSON](ctx, o, assignStep)
	if err != nil {
		return OperatorAccess{}, err
	}
	g := o.out.ResourceSPs[spec.MicrosoftGraphAppID]
	var roles []string
	for _, as := range assigns {
		if strings.EqualFold(as.ResourceID, g.ObjectID) {
			if v := g.Roles[strings.ToLower(as.AppRoleID)]; v != "" {
				roles = append(roles, v)
			}
		}
	}
	return OperatorAccess{ServicePrincipal: true, Roles: uniqueSorted(roles)}, nil
}

// Template IDs of the Entra built-in directory roles a consultant signed in as a user may
// need (https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference).
const (
	GlobalAdministrator           = "62e90394-69f5-4237-9190-012177145e10"
	ApplicationAdministrator      = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	CloudApplicationAdministrator = "158c047a-c907-4556-b7ef-446551a6b5f7"
	PrivilegedRoleAdministrator   = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	GroupsAdministrator           = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
)

// DirectoryRoleNames names the role template IDs above.
var DirectoryRoleNames = map[string]string{
	GlobalAdministrator:           "Global Administrator",
	ApplicationAdministrator:      "Application Administrator",
	CloudApplicationAdministrator: "Cloud Application Administrator",
	PrivilegedRoleAdministrator:   "Privileged Role Administrator",
	GroupsAdministrator:           "Groups Administrator",
}

// UserDirectoryRoles signs in to tenantID and returns the directory role template IDs the
// signed-in user holds there, lower-case and sorted: the wids claim of the Graph access
// token ("the tenant-wide roles assigned to this user",
// https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference). A
// token without wids (an app, or a user without roles: Entra omits empty claims) gives
// none. The token is only read, not verified: it is our own, straight from the token
// service, and the result is only shown.
func (c *Client) UserDirectoryRoles(ctx context.Context, tenantID string) ([]string, error) {
	tok, err := tenantCredential{cred: c.cred, tenant: tenantID, log: c.log}.GetToken(ctx, policy.TokenRequestOptions{Scopes: c.scopes})
	if err != nil {
		return nil, err
	}
	return tokenWids(tok.Token)
}

// tokenWids reads the wids claim of a JWT's payload. Errors never show the token.
func tokenWids(token string) ([]string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("the access token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, errors.New("the access token's payload is not base64url")
	}
	var claims struct {
		Wids []string `json:"wids"`
	}
	if err := json.Unmarshal(b, &claims); err != nil {
		return nil, errors.New("the access token's payload is not JSON with a wids array")
	}
	var out []string
	for _, w := range claims.Wids {
		if spec.ValidGUID(w) { // untrusted text: only GUIDs are shown
			out = append(out, strings.ToLower(w))
		}
	}
	return uniqueSorted(out), nil
}
