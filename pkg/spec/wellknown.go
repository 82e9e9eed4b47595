package spec

import "strings"

// KnownAPI is a resource API that partner.yaml can name by alias, with the permissions
// whose IDs are documented (see docs/partner-yaml.md for the sources).
type KnownAPI struct {
	Alias       string
	AppID       string
	DisplayName string
	Delegated   []PermScope // oauth2PermissionScopes
	Application []PermScope // appRoles
}

// Well-known resource app IDs.
const (
	PartnerCenterAppID           = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd"
	MicrosoftPartnerAppID        = "4990cffe-04e8-4e8b-808a-1175604b879f"
	MicrosoftGraphAppID          = "00000003-0000-0000-c000-000000000000"
	AzureServiceManagementAppID  = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
	AzureADGraphAppID            = "00000002-0000-0000-c000-000000000000"
	PartnerCenterUserImpersonate = "1cebfa2a-fb4d-419e-b5f9-839b4383e05a"
	// PartnerBillingReadAll is the Graph permission of the partner billing export (delegated
	// and application alike).
	PartnerBillingReadAll = "PartnerBilling.Read.All"
)

// KnownAPIs is the alias table, sorted by alias.
var KnownAPIs = []KnownAPI{
	{
		// Legacy Azure AD Graph: both published Create-AzureADApplication.ps1 versions request
		// it, so apps onboarded by hand carry it. Retired by Microsoft; kept so such apps can be
		// described and pruned.
		Alias: "azure-ad-graph", AppID: AzureADGraphAppID, DisplayName: "Windows Azure Active Directory",
		Delegated: []PermScope{
			{ID: "a42657d6-7f20-40e3-b6f0-cee03008a62a", Value: "Directory.AccessAsUser.All"},
			{ID: "311a71cc-e848-46a1-bdf8-97ff7156d8e6", Value: "User.Read"},
		},
		Application: []PermScope{
			{ID: "5778995a-e1bf-45b8-affa-663a9f3f4d04", Value: "Directory.Read.All"},
		},
	},
	{
		Alias: "azure-service-management", AppID: AzureServiceManagementAppID, DisplayName: "Windows Azure Service Management API",
		Delegated: []PermScope{{ID: "41094075-9dad-400e-a0bd-54e686782033", Value: "user_impersonation"}},
	},
	{
		Alias: "microsoft-graph", AppID: MicrosoftGraphAppID, DisplayName: "Microsoft Graph",
		Delegated: []PermScope{
			{ID: "0e263e50-5827-48a4-b97c-d940288653c7", Value: "Directory.AccessAsUser.All"},
			{ID: "8804798e-5934-4e30-8ce3-ef88257cecd4", Value: "PartnerBilling.Read.All"},
			{ID: "e1fe6dd8-ba31-4d61-89e7-88639da4683d", Value: "User.Read"},
		},
		Application: []PermScope{
			// The operator's (docs/operator.md), then what a partner app may ask for.
			{ID: "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", Value: PermApplicationReadWriteAll},
			{ID: "06b708a9-e830-4db3-a914-8e69da51d44f", Value: PermAppRoleAssignmentReadWriteAll},
			{ID: "8e8e4742-1d95-4f68-9d56-6ee75648c72a", Value: PermDelegatedGrantReadWriteAll},
			{ID: "dbaae8cf-10b5-4b86-a4a1-f871c94c6695", Value: PermGroupMemberReadWriteAll},
			{ID: "246dd0d5-5bd0-4def-940b-0421030a5b68", Value: PermPolicyReadAll},
			{ID: "7ab1d382-f21e-4acd-a863-ba3e13f7da61", Value: "Directory.Read.All"},
			{ID: "7c3e1994-38ff-4412-a99b-9369f6bb7706", Value: "PartnerBilling.Read.All"},
			{ID: "bf394140-e372-4bf9-a898-299cfc7564e5", Value: "SecurityEvents.Read.All"},
		},
	},
	{
		// The "Microsoft Partner" (Microsoft Dev Center) API behind the price sheet. Its
		// permission ID is UNCONFIRMED by Microsoft's own docs (only a third-party page names it).
		Alias: "microsoft-partner", AppID: MicrosoftPartnerAppID, DisplayName: "Microsoft Partner",
		Delegated: []PermScope{{ID: "eabf9ef3-1f9e-f3da-19a1-bcd60d080567", Value: "user_impersonation"}},
	},
	{
		Alias: "partner-center", AppID: PartnerCenterAppID, DisplayName: "Microsoft Partner Center",
		Delegated: []PermScope{{ID: PartnerCenterUserImpersonate, Value: "user_impersonation"}},
	},
}

// LookupAPI finds a well-known API by alias or appId (case-insensitive).
func LookupAPI(aliasOrAppID string) (KnownAPI, bool) {
	for _, a := range KnownAPIs {
		if strings.EqualFold(a.Alias, aliasOrAppID) || strings.EqualFold(a.AppID, aliasOrAppID) {
			return a, true
		}
	}
	return KnownAPI{}, false
}

// AliasFor returns the alias of a resource appId, or the appId itself when it has none.
func AliasFor(appID string) string {
	if a, ok := LookupAPI(appID); ok {
		return a.Alias
	}
	return appID
}

func findScope(list []PermScope, nameOrID string) (PermScope, bool) {
	for _, p := range list {
		if strings.EqualFold(p.Value, nameOrID) || strings.EqualFold(p.ID, nameOrID) {
			return p, true
		}
	}
	return PermScope{}, false
}

func scopeValues(list []PermScope) []string {
	out := make([]string, len(list))
	for i, p := range list {
		out[i] = p.Value
	}
	return out
}
