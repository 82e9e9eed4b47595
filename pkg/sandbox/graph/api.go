package graph

import (
	"net/http"
	"time"
)

// ServeHTTP serves Graph; paths start with /v1.0/.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	http.NotFound(w, r)
}

// BlobHandler serves the export blobs; it is mounted at /blob/.
func (s *Service) BlobHandler() http.Handler {
	return http.NotFoundHandler()
}

// AddTenant creates a tenant's directory: the well-known resource service principals of
// api-facts section B (Microsoft Graph with its appRoles/oauth2PermissionScopes, Partner
// Center, Microsoft Partner, Azure Service Management, ...) and the AdminAgents group.
func (s *Service) AddTenant(tenantID, domain string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tenants[tenantID]; !ok {
		s.tenants[tenantID] = &tenant{ID: tenantID, Domain: domain}
	}
}

// SeedOperator registers the operator app (home tenant homeTenantID) with a secret, and in
// each listed tenant creates its service principal and app role assignments on Microsoft
// Graph for the permissions uicctl needs (Application.ReadWrite.All,
// AppRoleAssignment.ReadWrite.All, DelegatedPermissionGrant.ReadWrite.All,
// GroupMember.ReadWrite.All, Directory.Read.All, PartnerBilling.Read.All).
func (s *Service) SeedOperator(homeTenantID, appID, displayName, secret string, endDateTime time.Time, tenants []string) error {
	return nil
}

// FindApp returns the application whose appId is appID, in whichever tenant registered it.
func (s *Service) FindApp(appID string) (App, bool) {
	return App{}, false
}

// VerifySecret reports which password credential of the app the secret matches.
func (s *Service) VerifySecret(appID, secret string) (Password, bool) {
	return Password{}, false
}

// ServicePrincipal returns the object ID of appID's service principal in tenantID.
func (s *Service) ServicePrincipal(tenantID, appID string) (objectID string, ok bool) {
	return "", false
}

// DelegatedScopes returns the scopes of the AllPrincipals oauth2PermissionGrant (or the
// user's Principal grant for userObjectID) from clientAppID's SP to resourceAppID's SP in
// tenantID.
func (s *Service) DelegatedScopes(tenantID, clientAppID, resourceAppID, userObjectID string) []string {
	return nil
}

// AppRoles returns the role VALUES (e.g. "Application.ReadWrite.All") assigned to
// clientAppID's SP on resourceAppID's SP in tenantID.
func (s *Service) AppRoles(tenantID, clientAppID, resourceAppID string) []string {
	return nil
}

// Snapshot returns the JSON of all state, for --state FILE.
func (s *Service) Snapshot() ([]byte, error) {
	return nil, nil
}

// Restore replaces all state with a Snapshot.
func (s *Service) Restore(b []byte) error {
	return nil
}
