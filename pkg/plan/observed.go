package plan

import "time"

// Observed is one tenant's live state as uicctl read it. It is plain data: pkg/entra fills
// it from Graph, tests build it by hand, and Compute only reads it.
type Observed struct {
	TenantID string `json:"tenantId"`
	// App is nil when no application matches the spec's uniqueName or appId.
	App *App `json:"app,omitempty"`
	// ServicePrincipal is nil when the app has none in the tenant (or there is no app).
	ServicePrincipal *ServicePrincipal `json:"servicePrincipal,omitempty"`
	// Grants are the delegated permission grants whose client is the app's service principal.
	Grants []Grant `json:"grants,omitempty"`
	// AppRoleAssignments are the application permissions granted to the app's service
	// principal.
	AppRoleAssignments []AppRoleAssignment `json:"appRoleAssignments,omitempty"`
	// AdminAgents is the tenant's AdminAgents group and whether the service principal is a
	// direct member. GroupID is empty when the tenant has no such group.
	AdminAgents AdminAgents `json:"adminAgents"`
	// ResourceSPs maps a resource API's appId to its service principal in the tenant, for the
	// APIs the spec names or a grant points at. A missing entry means the resource has no
	// service principal in the tenant.
	ResourceSPs map[string]ResourceSP `json:"resourceServicePrincipals,omitempty"`
	// Federated are the app's federated identity credentials, read for the operator app
	// only (operator.yaml).
	Federated []FederatedCredential `json:"federatedCredentials,omitempty"`
	// PasswordPolicy is the app management policy restriction on the app's new passwords
	// (nil: none applies).
	PasswordPolicy *PasswordPolicy `json:"passwordPolicy,omitempty"`
}

// PasswordPolicy is what an app management policy (the tenant default, or one assigned to
// the app) allows a new password credential.
type PasswordPolicy struct {
	// Source names the policy for people: "the tenant's default app management policy" or
	// "app management policy "name" (id) assigned to the application".
	Source string `json:"source"`
	ID     string `json:"id"`
	// MaxLifetime caps a new password's lifetime (0: no cap); Blocked forbids new passwords.
	MaxLifetime time.Duration `json:"maxLifetimeNs,omitempty"`
	Blocked     bool          `json:"blocked,omitempty"`
}

// FederatedCredential is a live federated identity credential of the app.
type FederatedCredential struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Issuer    string   `json:"issuer"`
	Subject   string   `json:"subject"`
	Audiences []string `json:"audiences"`
}

// App is the live application object.
type App struct {
	ObjectID               string           `json:"id"`
	AppID                  string           `json:"appId"`
	DisplayName            string           `json:"displayName"`
	UniqueName             string           `json:"uniqueName,omitempty"`
	SignInAudience         string           `json:"signInAudience"`
	RedirectURIs           []string         `json:"redirectUris"` // web.redirectUris, as stored
	RequiredResourceAccess []ResourceAccess `json:"requiredResourceAccess"`
	Passwords              []Password       `json:"passwordCredentials"`
	// CreatedDateTime decides which policy restrictions apply (restrictForAppsCreatedAfterDateTime).
	CreatedDateTime time.Time `json:"createdDateTime,omitzero"`
}

// ResourceAccess is one requiredResourceAccess entry: permission IDs by type.
type ResourceAccess struct {
	ResourceAppID string   `json:"resourceAppId"`
	Scopes        []string `json:"scopes,omitempty"` // resourceAccess type "Scope" (delegated)
	Roles         []string `json:"roles,omitempty"`  // resourceAccess type "Role" (application)
}

// Password is a password credential's metadata; Graph never returns the value after
// addPassword.
type Password struct {
	KeyID         string    `json:"keyId"`
	DisplayName   string    `json:"displayName,omitempty"`
	Hint          string    `json:"hint,omitempty"`
	StartDateTime time.Time `json:"startDateTime"`
	EndDateTime   time.Time `json:"endDateTime"`
}

// ServicePrincipal is the app's service principal in the tenant.
type ServicePrincipal struct {
	ObjectID string `json:"id"`
	AppID    string `json:"appId"`
}

// Grant is an oauth2PermissionGrant.
type Grant struct {
	ID          string `json:"id"`
	ClientID    string `json:"clientId"`   // the app's service principal object ID
	ResourceID  string `json:"resourceId"` // the resource API's service principal object ID
	ConsentType string `json:"consentType"`
	PrincipalID string `json:"principalId,omitempty"`
	// Scopes are the space-separated scope values of the grant, split and sorted.
	Scopes []string `json:"scopes"`
}

// AppRoleAssignment is one application permission granted to the app's service principal.
type AppRoleAssignment struct {
	ID          string `json:"id"`
	PrincipalID string `json:"principalId"`
	ResourceID  string `json:"resourceId"`
	AppRoleID   string `json:"appRoleId"`
}

// AdminAgents is the Partner Center AdminAgents group and the app's membership in it.
type AdminAgents struct {
	GroupID string `json:"groupId,omitempty"`
	Member  bool   `json:"member"`
}

// ResourceSP is a resource API's service principal with the permissions it publishes.
type ResourceSP struct {
	ObjectID string `json:"id"`
	AppID    string `json:"appId"`
	// Scopes maps oauth2PermissionScopes IDs to their values (grants carry values).
	Scopes map[string]string `json:"scopes,omitempty"`
	// Roles maps appRoles IDs to their values.
	Roles map[string]string `json:"roles,omitempty"`
}
