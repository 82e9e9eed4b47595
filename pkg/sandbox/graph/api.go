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

// OperatorRoles are the Graph application permissions the sandbox's operator app
// requests (requiredResourceAccess) and holds in every tenant it was consented in: the
// least-privileged set docs/operator.md derives from uicctl's calls. The sandbox keeps
// its own list (it is the cloud, not the client); a test checks that the two agree.
var OperatorRoles = []string{"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All",
	"DelegatedPermissionGrant.ReadWrite.All", "GroupMember.ReadWrite.All", "Policy.Read.All"}

// OperatorConsentRedirectURI is the web redirect URI the operator app registers for the
// admin consent link: Microsoft's own blank page, so a partner's admin lands on
// login.microsoftonline.com with admin_consent=True in the address bar.
const OperatorConsentRedirectURI = "https://login.microsoftonline.com/common/oauth2/nativeclient"

// SeedOperator registers the operator app (home tenant homeTenantID) with a secret,
// requesting roles on Microsoft Graph (nil: OperatorRoles), and admin-consents it in each listed tenant:
// its service principal and app role assignments there. Tenants not listed have no
// service principal of it until an admin consents (AdminConsent).
// Seeding again (after Restore, say) replaces the secret and keeps everything else.
func (s *Service) SeedOperator(homeTenantID, appID, displayName, secret string, endDateTime time.Time, tenants, roles []string) error {
	if roles == nil {
		roles = OperatorRoles
	}
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
	objID := stableGUID(homeTenantID, "app", appID)
	app := home.Apps[objID]
	if app == nil {
		props := defaults(types["application"])
		props["verifiedPublisher"] = object{"displayName": nil, "verifiedPublisherId": nil, "addedDateTime": nil}
		props["parentalControlSettings"].(object)["legalAgeGroupRule"] = "Allow"
		props["web"].(object)["implicitGrantSettings"] = object{"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false}
		props["web"].(object)["redirectUris"] = []any{OperatorConsentRedirectURI}
		props["id"] = objID
		props["appId"] = appID
		props["displayName"] = displayName
		props["signInAudience"] = "AzureADMultipleOrgs"
		props["createdDateTime"] = s.opts.Now().UTC().Format(time.RFC3339)
		props["publisherDomain"] = home.Domain
		access := []any{}
		for _, r := range graphRoles {
			if contains(roles, r.value) {
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
		s.consentLocked(s.tenants[tid], homeTenantID, app, start)
	}
	return nil
}

// AdminConsent is what a tenant admin's approval on the admin consent endpoint does
// (v2-admin-consent, with scope=.default: everything the app's requiredResourceAccess
// lists): the app's service principal in tenantID, an app role assignment for each
// application permission and an AllPrincipals grant for the delegated ones. Consenting
// again adds what the app requests now and keeps the rest. It returns the granted
// permission values, sorted by resource.
func (s *Service) AdminConsent(tenantID, appID string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenants[tenantID]
	if t == nil {
		return nil, fmt.Errorf("unknown tenant %s", tenantID)
	}
	loc, ok := s.apps[strings.ToLower(appID)]
	if !ok {
		return nil, fmt.Errorf("unknown application %s", appID)
	}
	app := s.tenants[loc.tenant].Apps[loc.objectID]
	if app == nil {
		return nil, fmt.Errorf("unknown application %s", appID)
	}
	return s.consentLocked(t, loc.tenant, app, s.opts.Now().UTC()), nil
}

// consentLocked creates app's service principal in t and grants it what app requests of
// the resources t has. The caller holds s.mu.
func (s *Service) consentLocked(t *tenant, homeTenantID string, app *entity, at time.Time) []string {
	appID := app.str("appId")
	sp := t.spByAppID(appID)
	if sp == nil {
		props := spFromApp(t, homeTenantID, app)
		props["id"] = stableGUID(t.ID, "sp", appID)
		sp = &entity{Props: props}
		t.SPs[props["id"].(string)] = sp
	}
	var granted []string
	rras, _ := app.Props["requiredResourceAccess"].([]any)
	for _, rra := range rras {
		rra, _ := rra.(object)
		resourceAppID, _ := rra["resourceAppId"].(string)
		res := t.spByAppID(resourceAppID)
		if res == nil {
			continue
		}
		values := map[string]map[string]string{"Role": {}, "Scope": {}}
		for _, kind := range [][2]string{{"appRoles", "Role"}, {"oauth2PermissionScopes", "Scope"}} {
			list, _ := res.Props[kind[0]].([]any)
			for _, p := range list {
				p, _ := p.(object)
				id, _ := p["id"].(string)
				v, _ := p["value"].(string)
				values[kind[1]][strings.ToLower(id)] = v
			}
		}
		var scopes []string
		access, _ := rra["resourceAccess"].([]any)
		for _, a := range access {
			a, _ := a.(object)
			id, _ := a["id"].(string)
			typ, _ := a["type"].(string)
			v := values[typ][strings.ToLower(id)]
			if v == "" {
				continue
			}
			granted = append(granted, v)
			if typ == "Scope" {
				scopes = append(scopes, v)
				continue
			}
			aid := assignmentIDStable(sp.str("id"), strings.ToLower(id))
			if t.Assignments[aid] != nil {
				continue
			}
			t.Assignments[aid] = &entity{Props: object{
				"id": aid, "deletedDateTime": nil, "appRoleId": strings.ToLower(id), "createdDateTime": at.Format(time.RFC3339Nano),
				"principalDisplayName": app.str("displayName"), "principalId": sp.str("id"), "principalType": "ServicePrincipal",
				"resourceDisplayName": res.str("displayName"), "resourceId": res.str("id"),
			}}
		}
		if len(scopes) > 0 {
			gid := grantID(sp.str("id"), res.str("id"), "")
			g := t.Grants[gid]
			if g == nil {
				g = &entity{Props: object{"id": gid, "clientId": sp.str("id"), "consentType": "AllPrincipals", "principalId": nil,
					"resourceId": res.str("id"), "scope": ""}}
				t.Grants[gid] = g
			}
			have := strings.Fields(g.str("scope"))
			for _, sc := range scopes {
				if !contains(have, sc) {
					have = append(have, sc)
				}
			}
			g.Props["scope"] = strings.Join(have, " ")
		}
	}
	return granted
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
