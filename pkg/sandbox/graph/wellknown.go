package graph

import (
	"crypto/sha256"
	"fmt"
	"sync"
)

// Well-known first-party application IDs (api-facts section B).
const (
	GraphAppID            = "00000003-0000-0000-c000-000000000000"
	PartnerCenterAppID    = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd"
	MicrosoftPartnerAppID = "4990cffe-04e8-4e8b-808a-1175604b879f"
	AzureManagementAppID  = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
	AADGraphAppID         = "00000002-0000-0000-c000-000000000000"

	// microsoftTenantID owns the first-party applications (appOwnerOrganizationId).
	microsoftTenantID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
)

type permDef struct{ id, value, display string }

// Microsoft Graph application permissions (appRoles). IDs checked against the Graph
// permissions reference (learn.microsoft.com/graph/permissions-reference).
var graphRoles = []permDef{
	{"9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", "Application.Read.All", "Read all applications"},
	{"1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", "Application.ReadWrite.All", "Read and write all applications"},
	{"18a4783c-866b-4cc7-a460-3d5e5662c884", "Application.ReadWrite.OwnedBy", "Manage apps that this app creates or owns"},
	{"06b708a9-e830-4db3-a914-8e69da51d44f", "AppRoleAssignment.ReadWrite.All", "Manage app permission grants and app role assignments"},
	{"8e8e4742-1d95-4f68-9d56-6ee75648c72a", "DelegatedPermissionGrant.ReadWrite.All", "Manage all delegated permission grants"},
	{"7ab1d382-f21e-4acd-a863-ba3e13f7da61", "Directory.Read.All", "Read directory data"},
	{"19dbc75e-c2e2-444c-a770-ec69d8559fc7", "Directory.ReadWrite.All", "Read and write directory data"},
	{"5b567255-7703-4780-807c-7be8301ae99b", "Group.Read.All", "Read all groups"},
	{"62a82d76-70ea-41e2-9197-370581804d09", "Group.ReadWrite.All", "Read and write all groups"},
	{"98830695-27a2-44f7-8c18-0c3ebc9698f6", "GroupMember.Read.All", "Read all group memberships"},
	{"dbaae8cf-10b5-4b86-a4a1-f871c94c6695", "GroupMember.ReadWrite.All", "Read and write all group memberships"},
	{"498476ce-e0fe-48b0-b801-37ba7e2685c6", "Organization.Read.All", "Read organization information"},
	{"246dd0d5-5bd0-4def-940b-0421030a5b68", "Policy.Read.All", "Read your organization's policies"},
	{"be74164b-cff1-491c-8741-e671cb536e13", "Policy.ReadWrite.ApplicationConfiguration", "Read and write your organization's application configuration policies"},
	{"7c3e1994-38ff-4412-a99b-9369f6bb7706", "PartnerBilling.Read.All", "Read all billing data for your company's tenant"},
	{"bf394140-e372-4bf9-a898-299cfc7564e5", "SecurityEvents.Read.All", "Read your organization's security events"},
	{"df021288-bdef-4463-88db-98f22de89214", "User.Read.All", "Read all users' full profiles"},
}

// Microsoft Graph delegated permissions (oauth2PermissionScopes); the last field is
// "User" when users may consent themselves.
var graphScopes = []struct {
	permDef
	userConsent bool
}{
	{permDef{"37f7f235-527c-4136-accd-4a02d197296e", "openid", "Sign users in"}, true},
	{permDef{"14dad69e-099b-42c9-810b-d002981feec1", "profile", "View users' basic profile"}, true},
	{permDef{"7427e0e9-2fba-42fe-b0c0-848c9e6a8182", "offline_access", "Maintain access to data you have given it access to"}, true},
	{permDef{"64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", "email", "View users' email address"}, true},
	{permDef{"e1fe6dd8-ba31-4d61-89e7-88639da4683d", "User.Read", "Sign in and read user profile"}, true},
	{permDef{"c79f8feb-a9db-4090-85f9-90d820caa0eb", "Application.Read.All", "Read applications"}, false},
	{permDef{"bdfbf15f-ee85-4955-8675-146e8e5296b5", "Application.ReadWrite.All", "Read and write all applications"}, false},
	{permDef{"84bccea3-f856-4a8a-967b-dbe0a3d53a64", "AppRoleAssignment.ReadWrite.All", "Manage app permission grants and app role assignments"}, false},
	{permDef{"41ce6ca6-6826-4807-84f1-1c82854f7ee5", "DelegatedPermissionGrant.ReadWrite.All", "Manage all delegated permission grants"}, false},
	{permDef{"06da0dbc-49e2-44d2-8312-53f166ab848a", "Directory.Read.All", "Read directory data"}, false},
	{permDef{"c5366453-9fb0-48a5-a156-24f0c49a4b84", "Directory.ReadWrite.All", "Read and write directory data"}, false},
	{permDef{"0e263e50-5827-48a4-b97c-d940288653c7", "Directory.AccessAsUser.All", "Access directory as the signed in user"}, false},
	{permDef{"5f8c59db-677d-491f-a6b8-5f174b11ec1d", "Group.Read.All", "Read all groups"}, false},
	{permDef{"4e46008b-f24c-477d-8fff-7bb4ec7aafe0", "Group.ReadWrite.All", "Read and write all groups"}, false},
	{permDef{"bc024368-1153-4739-b217-4326f2e966d0", "GroupMember.Read.All", "Read group memberships"}, false},
	{permDef{"f81125ac-d3b7-4573-a3b2-7099cc39df9e", "GroupMember.ReadWrite.All", "Read and write group memberships"}, false},
	{permDef{"8804798e-5934-4e30-8ce3-ef88257cecd4", "PartnerBilling.Read.All", "Read all billing data for your company's tenant"}, false},
}

// resourceApp is a first-party API whose service principal exists in every tenant.
type resourceApp struct {
	appID, displayName string
	identifierURIs     []string
	scopes             []permDef // all admin-consent scopes unless listed in userScopes
	roles              []permDef
}

func firstPartyApps() []resourceApp {
	g := resourceApp{appID: GraphAppID, displayName: "Microsoft Graph",
		identifierURIs: []string{"https://graph.microsoft.com", "https://graph.microsoft.com/", "https://canary.graph.microsoft.com"},
		roles:          graphRoles}
	for _, sc := range graphScopes {
		g.scopes = append(g.scopes, sc.permDef)
	}
	return []resourceApp{
		g,
		{appID: PartnerCenterAppID, displayName: "Microsoft Partner Center",
			identifierURIs: []string{"https://api.partnercenter.microsoft.com"},
			scopes:         []permDef{{"1cebfa2a-fb4d-419e-b5f9-839b4383e05a", "user_impersonation", "Access Partner Center"}}},
		// UNCONFIRMED: the scope id of the Microsoft Partner API (only docs.cloudblue.com names it).
		{appID: MicrosoftPartnerAppID, displayName: "Microsoft Partner",
			identifierURIs: []string{"https://api.partner.microsoft.com"},
			scopes:         []permDef{{"eabf9ef3-1f9e-f3da-19a1-bcd60d080567", "user_impersonation", "Partner Center"}}},
		{appID: AzureManagementAppID, displayName: "Windows Azure Service Management API",
			identifierURIs: []string{"https://management.core.windows.net/", "https://management.azure.com/"},
			scopes:         []permDef{{"41094075-9dad-400e-a0bd-54e686782033", "user_impersonation", "Access Azure Service Management as organization users (preview)"}}},
		{appID: AADGraphAppID, displayName: "Windows Azure Active Directory",
			identifierURIs: []string{"https://graph.windows.net"},
			scopes: []permDef{{"a42657d6-7f20-40e3-b6f0-cee03008a62a", "Directory.AccessAsUser.All", "Access the directory as the signed-in user"},
				{"311a71cc-e848-46a1-bdf8-97ff7156d8e6", "User.Read", "Sign in and read user profile"}},
			roles: []permDef{{"5778995a-e1bf-45b8-affa-663a9f3f4d04", "Directory.Read.All", "Read directory data"}}},
	}
}

var userConsentScope = map[string]bool{}

func init() {
	for _, sc := range graphScopes {
		if sc.userConsent {
			userConsentScope[sc.id] = true
		}
	}
	userConsentScope["311a71cc-e848-46a1-bdf8-97ff7156d8e6"] = true
}

// stableGUID derives a GUID from its parts so generated worlds are deterministic.
func stableGUID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	b := h.Sum(nil)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// firstPartyPerms holds the appRoles and oauth2PermissionScopes of each first-party app,
// built once and shared by every tenant: stored properties are never changed in place
// (PATCH works on a copy), so sharing them keeps 1,000 tenants small.
var firstPartyPerms = sync.OnceValue(func() map[string][2][]any {
	m := map[string][2][]any{}
	for _, ra := range firstPartyApps() {
		m[ra.appID] = [2][]any{appRolesOf(ra), scopesOf(ra)}
	}
	return m
})

// firstPartySP builds the service principal of a first-party app in tenant t.
func firstPartySP(t *tenant, ra resourceApp) *entity {
	sp := defaults(types["servicePrincipal"])
	sp["id"] = stableGUID(t.ID, "sp", ra.appID)
	sp["appId"] = ra.appID
	sp["displayName"] = ra.displayName
	sp["appDisplayName"] = ra.displayName
	sp["accountEnabled"] = true
	sp["appOwnerOrganizationId"] = microsoftTenantID
	sp["appRoleAssignmentRequired"] = false
	sp["servicePrincipalType"] = "Application"
	sp["signInAudience"] = "AzureADMultipleOrgs"
	names := []any{ra.appID}
	for _, u := range ra.identifierURIs {
		names = append(names, u)
	}
	sp["servicePrincipalNames"] = names
	perms := firstPartyPerms()[ra.appID]
	sp["appRoles"] = perms[0]
	sp["oauth2PermissionScopes"] = perms[1]
	return &entity{Props: sp}
}

// agentGroups are the security groups every CSP partner tenant has.
var agentGroups = []struct{ name, description string }{
	{"AdminAgents", "Members of this group have administrative privileges on behalf of customers."},
	{"HelpdeskAgents", "Members of this group can provide helpdesk support to customers."},
	{"SalesAgents", "Members of this group can sell to customers."},
}

func newGroup(t *tenant, name, description string) *entity {
	g := defaults(types["group"])
	g["id"] = stableGUID(t.ID, "group", name)
	g["displayName"] = name
	g["description"] = description
	g["mailEnabled"] = false
	g["securityEnabled"] = true
	g["mailNickname"] = name
	g["isAssignableToRole"] = false
	return &entity{Props: g}
}

func appRolesOf(ra resourceApp) []any {
	roles := []any{}
	for _, r := range ra.roles {
		roles = append(roles, object{
			"allowedMemberTypes": []any{"Application"}, "description": "Allows the app to " + r.display + ".",
			"displayName": r.display, "id": r.id, "isEnabled": true, "origin": "Application", "value": r.value,
		})
	}
	return roles
}

func scopesOf(ra resourceApp) []any {
	scopes := []any{}
	for _, sc := range ra.scopes {
		typ := "Admin"
		if userConsentScope[sc.id] {
			typ = "User"
		}
		scopes = append(scopes, object{
			"adminConsentDescription": "Allows the app to " + sc.display + ".", "adminConsentDisplayName": sc.display,
			"id": sc.id, "isEnabled": true, "origin": "Application", "type": typ,
			"userConsentDescription": "Allows the app to " + sc.display + ".", "userConsentDisplayName": sc.display,
			"value": sc.value,
		})
	}
	return scopes
}
