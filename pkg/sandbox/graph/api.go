package graph

import (
	"crypto/subtle"
	"fmt"
	"strings"
	"time"
)

// AddTenant creates a tenant's directory: the well-known resource service principals of
// api-facts section B (Microsoft Graph with its appRoles/oauth2PermissionScopes, Partner
// Center, Microsoft Partner, Azure Service Management, ...) and the AdminAgents group.
// Adding a tenant that exists changes nothing.
func (s *Service) AddTenant(tenantID, domain string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tenants[tenantID]; ok {
		return
	}
	t := newTenant(tenantID, domain)
	for _, ra := range firstPartyApps() {
		sp := firstPartySP(t, ra)
		t.SPs[sp.str("id")] = sp
	}
	for _, g := range agentGroups {
		e := newGroup(t, g.name, g.description)
		t.Groups[e.str("id")] = e
	}
	s.tenants[tenantID] = t
}

// operatorRoles are the Graph application permissions the operator app holds in every
// tenant it manages.
var operatorRoles = []string{"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All",
	"DelegatedPermissionGrant.ReadWrite.All", "GroupMember.ReadWrite.All", "Directory.Read.All", "PartnerBilling.Read.All"}

// SeedOperator registers the operator app (home tenant homeTenantID) with a secret, and in
// each listed tenant creates its service principal and app role assignments on Microsoft
// Graph for the permissions uicctl needs (Application.ReadWrite.All,
// AppRoleAssignment.ReadWrite.All, DelegatedPermissionGrant.ReadWrite.All,
// GroupMember.ReadWrite.All, Directory.Read.All, PartnerBilling.Read.All).
// Seeding again (after Restore, say) replaces the secret and keeps everything else.
func (s *Service) SeedOperator(homeTenantID, appID, displayName, secret string, endDateTime time.Time, tenants []string) error {
	if !isGUID(appID) {
		return fmt.Errorf("cannot seed operator app: app id %q is not a GUID", appID)
	}
	if secret == "" {
		return fmt.Errorf("cannot seed operator app %s: empty secret", appID)
	}
	appID = strings.ToLower(appID)
	s.mu.Lock()
	defer s.mu.Unlock()
	home := s.tenants[homeTenantID]
	if home == nil {
		return fmt.Errorf("cannot seed operator app %s: unknown home tenant %s", appID, homeTenantID)
	}
	for _, tid := range tenants {
		if s.tenants[tid] == nil {
			return fmt.Errorf("cannot seed operator app %s: unknown tenant %s", appID, tid)
		}
	}
	if loc, ok := s.apps[appID]; ok && loc.tenant != homeTenantID {
		return fmt.Errorf("cannot seed operator app %s: it is registered in tenant %s", appID, loc.tenant)
	}
	graphSP := func(t *tenant) *entity { return t.SPs[stableGUID(t.ID, "sp", GraphAppID)] }
	objID := stableGUID(homeTenantID, "app", appID)
	app := home.Apps[objID]
	if app == nil {
		props := defaults(types["application"])
		props["verifiedPublisher"] = object{"displayName": nil, "verifiedPublisherId": nil, "addedDateTime": nil}
		props["parentalControlSettings"].(object)["legalAgeGroupRule"] = "Allow"
		props["web"].(object)["implicitGrantSettings"] = object{"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false}
		props["id"] = objID
		props["appId"] = appID
		props["displayName"] = displayName
		props["signInAudience"] = "AzureADMultipleOrgs"
		props["createdDateTime"] = s.opts.Now().UTC().Format(time.RFC3339)
		props["publisherDomain"] = home.Domain
		access := []any{}
		for _, r := range graphRoles {
			if contains(operatorRoles, r.value) {
				access = append(access, object{"id": r.id, "type": "Role"})
			}
		}
		props["requiredResourceAccess"] = []any{object{"resourceAppId": GraphAppID, "resourceAccess": access}}
		app = &entity{Props: props}
		home.Apps[objID] = app
		s.apps[appID] = appLoc{homeTenantID, objID}
	}
	start := s.opts.Now().UTC()
	keyID := stableGUID(appID, "operator-secret")
	app.Props["passwordCredentials"] = []any{object{
		"customKeyIdentifier": nil, "displayName": "uicctl sandbox operator", "endDateTime": endDateTime.UTC().Format(passwordTime),
		"hint": secret[:min(3, len(secret))], "keyId": keyID, "secretText": nil, "startDateTime": start.Format(passwordTime),
	}}
	home.Secrets[objID] = map[string]string{keyID: hashSecret(secret)}
	for _, tid := range tenants {
		t := s.tenants[tid]
		sp := t.spByAppID(appID)
		if sp == nil {
			props := spFromApp(t, homeTenantID, app)
			props["id"] = stableGUID(tid, "sp", appID)
			sp = &entity{Props: props}
			t.SPs[props["id"].(string)] = sp
		}
		g := graphSP(t)
		for _, r := range graphRoles {
			if !contains(operatorRoles, r.value) {
				continue
			}
			id := assignmentIDStable(sp.str("id"), r.id)
			if t.Assignments[id] != nil {
				continue
			}
			t.Assignments[id] = &entity{Props: object{
				"id": id, "deletedDateTime": nil, "appRoleId": r.id, "createdDateTime": start.Format(time.RFC3339Nano),
				"principalDisplayName": displayName, "principalId": sp.str("id"), "principalType": "ServicePrincipal",
				"resourceDisplayName": g.str("displayName"), "resourceId": g.str("id"),
			}}
		}
	}
	return nil
}

func assignmentIDStable(principalID, roleID string) string {
	b := append(guidBytes(principalID), guidBytes(stableGUID(principalID, roleID))...)
	return strings.TrimRight(encodeID(b[:32]), "=")
}

// FindApp returns the application whose appId is appID, in whichever tenant registered it.
func (s *Service) FindApp(appID string) (App, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	loc, ok := s.apps[strings.ToLower(appID)]
	if !ok {
		return App{}, false
	}
	e := s.tenants[loc.tenant].Apps[loc.objectID]
	if e == nil {
		return App{}, false
	}
	a := App{TenantID: loc.tenant, ObjectID: loc.objectID, AppID: e.str("appId"), DisplayName: e.str("displayName"),
		SignInAudience: e.str("signInAudience")}
	if web, ok := e.Props["web"].(object); ok {
		if uris, ok := web["redirectUris"].([]any); ok {
			for _, u := range uris {
				a.RedirectURIs = append(a.RedirectURIs, u.(string))
			}
		}
	}
	a.Passwords = passwords(e)
	return a, true
}

func passwords(e *entity) []Password {
	var out []Password
	list, _ := e.Props["passwordCredentials"].([]any)
	for _, pc := range list {
		pc := pc.(object)
		p := Password{KeyID: pc["keyId"].(string)}
		if v, ok := pc["startDateTime"].(string); ok {
			p.StartDateTime, _ = parseTime(v)
		}
		if v, ok := pc["endDateTime"].(string); ok {
			p.EndDateTime, _ = parseTime(v)
		}
		out = append(out, p)
	}
	return out
}

// VerifySecret reports which password credential of the app the secret matches. Whether
// that credential has expired is the caller's question (AADSTS7000222).
func (s *Service) VerifySecret(appID, secret string) (Password, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	loc, ok := s.apps[strings.ToLower(appID)]
	if !ok {
		return Password{}, false
	}
	t := s.tenants[loc.tenant]
	e := t.Apps[loc.objectID]
	if e == nil {
		return Password{}, false
	}
	h := []byte(hashSecret(secret))
	for _, p := range passwords(e) {
		stored := t.Secrets[loc.objectID][p.KeyID]
		if stored != "" && subtle.ConstantTimeCompare(h, []byte(stored)) == 1 {
			return p, true
		}
	}
	return Password{}, false
}

// ServicePrincipal returns the object ID of appID's service principal in tenantID.
func (s *Service) ServicePrincipal(tenantID, appID string) (objectID string, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.tenants[tenantID]
	if t == nil {
		return "", false
	}
	sp := t.spByAppID(appID)
	if sp == nil {
		return "", false
	}
	return sp.str("id"), true
}

// DelegatedScopes returns the scopes of the AllPrincipals oauth2PermissionGrant (or the
// user's Principal grant for userObjectID) from clientAppID's SP to resourceAppID's SP in
// tenantID.
func (s *Service) DelegatedScopes(tenantID, clientAppID, resourceAppID, userObjectID string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.tenants[tenantID]
	if t == nil {
		return nil
	}
	client, resource := t.spByAppID(clientAppID), t.spByAppID(resourceAppID)
	if client == nil || resource == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, id := range sortedKeys(t.Grants) {
		g := t.Grants[id]
		if g.str("clientId") != client.str("id") || g.str("resourceId") != resource.str("id") {
			continue
		}
		if g.str("consentType") != "AllPrincipals" && !(userObjectID != "" && strings.EqualFold(g.str("principalId"), userObjectID)) {
			continue
		}
		for _, sc := range strings.Fields(g.str("scope")) {
			if !seen[sc] {
				seen[sc] = true
				out = append(out, sc)
			}
		}
	}
	return out
}

// AppRoles returns the role VALUES (e.g. "Application.ReadWrite.All") assigned to
// clientAppID's SP on resourceAppID's SP in tenantID.
func (s *Service) AppRoles(tenantID, clientAppID, resourceAppID string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.tenants[tenantID]
	if t == nil {
		return nil
	}
	client, resource := t.spByAppID(clientAppID), t.spByAppID(resourceAppID)
	if client == nil || resource == nil {
		return nil
	}
	values := map[string]string{}
	roles, _ := resource.Props["appRoles"].([]any)
	for _, r := range roles {
		r := r.(object)
		id, _ := r["id"].(string)
		v, _ := r["value"].(string)
		values[strings.ToLower(id)] = v
	}
	var out []string
	for _, id := range sortedKeys(t.Assignments) {
		a := t.Assignments[id]
		if a.str("principalId") == client.str("id") && a.str("resourceId") == resource.str("id") {
			if v := values[strings.ToLower(a.str("appRoleId"))]; v != "" && !contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}
