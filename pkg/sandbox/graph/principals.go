package graph

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

var (
	permSPRead     = []string{"Application.Read.All", "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy", "Directory.Read.All", "Directory.ReadWrite.All"}
	permSPWrite    = []string{"Application.ReadWrite.All", "Application.ReadWrite.OwnedBy", "Directory.ReadWrite.All"}
	permAssignRead = []string{"AppRoleAssignment.ReadWrite.All", "Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	permAssignWr   = []string{"AppRoleAssignment.ReadWrite.All"}
	// permAssignDir is the second permission granting an app role needs: the documented
	// least-privileged set is AppRoleAssignment.ReadWrite.All and Application.Read.All
	// (serviceprincipal-post-approleassignedto).
	permAssignDir  = []string{"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	permGrantRead  = []string{"DelegatedPermissionGrant.Read.All", "DelegatedPermissionGrant.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	permGrantWrite = []string{"DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All"}
	permGroupRead  = []string{"GroupMember.Read.All", "GroupMember.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	permMemberWr   = []string{"GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"}
)

var spList = listSpec{typ: "servicePrincipal", resource: "ServicePrincipal", context: "servicePrincipals",
	filterable: map[string]bool{"id": true, "appId": true, "displayName": true, "servicePrincipalType": true, "appOwnerOrganizationId": true, "accountEnabled": true, "servicePrincipalNames": true}}

var grantList = listSpec{typ: "oAuth2PermissionGrant", resource: "OAuth2PermissionGrant", context: "oauth2PermissionGrants",
	filterable: map[string]bool{"id": true, "clientId": true, "consentType": true, "principalId": true, "resourceId": true}}

var groupList = listSpec{typ: "group", resource: "Group", context: "groups",
	filterable: map[string]bool{"id": true, "displayName": true, "mailNickname": true, "securityEnabled": true, "mailEnabled": true}}

func (c *ctx) findSP(t *tenant, key, value string) *entity {
	if key == "id" {
		if e := t.SPs[value]; e != nil && c.visible(e) {
			return e
		}
		return nil
	}
	for _, e := range t.SPs {
		if strings.EqualFold(e.str(key), value) && c.visible(e) {
			return e
		}
	}
	return nil
}

// deleteSP removes a service principal and what hangs off it; the caller holds s.mu.
func (t *tenant) deleteSP(id string) {
	delete(t.SPs, id)
	for gid, g := range t.Grants {
		if g.str("clientId") == id || g.str("resourceId") == id {
			delete(t.Grants, gid)
		}
	}
	for aid, a := range t.Assignments {
		if a.str("principalId") == id || a.str("resourceId") == id {
			delete(t.Assignments, aid)
		}
	}
	for gid, m := range t.Members {
		t.Members[gid] = removeString(m, id)
	}
}

func removeString(list []string, s string) []string {
	out := list[:0]
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}

func (c *ctx) servicePrincipals(key, keyValue string) {
	segs := c.segs
	if key == "" && len(segs) == 1 {
		c.serveCollection(collection{spec: spList, read: permSPRead, write: permSPWrite, location: true,
			entities: func(t *tenant) map[string]*entity { return t.SPs },
			seen:     visibleTo, create: (*ctx).createSP})
		return
	}
	rest := segs[1:]
	if key == "" {
		key, keyValue, rest = "id", segs[1], segs[2:]
	}
	if key == "id" {
		keyValue = strings.ToLower(keyValue)
	}
	if key != "id" && key != "appId" {
		c.badSegment(segs[0])
		return
	}
	if len(rest) == 0 {
		c.servicePrincipal(key, keyValue)
		return
	}
	switch rest[0] {
	case "appRoleAssignedTo", "appRoleAssignments":
		if len(rest) > 2 {
			c.badSegment(rest[2])
			return
		}
		assignID := ""
		if len(rest) == 2 {
			assignID = rest[1]
		}
		c.assignments(key, keyValue, rest[0] == "appRoleAssignedTo", assignID)
	case "oauth2PermissionGrants":
		c.spGrants(key, keyValue, rest[1:])
	case "memberOf":
		c.spMemberOf(key, keyValue, rest[1:])
	default:
		c.badSegment(rest[0])
	}
}

func (c *ctx) servicePrincipal(key, keyValue string) {
	s := c.s
	switch c.r.Method {
	case http.MethodGet:
		c.getEntity(permSPRead, "servicePrincipal", "servicePrincipals", keyValue, func(t *tenant) *entity { return c.findSP(t, key, keyValue) })
	case http.MethodPatch:
		body, ok := c.writeBody(permSPWrite, "servicePrincipal")
		if !ok {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		e := c.findSP(s.tenants[c.p.TenantID], key, keyValue)
		if e == nil {
			c.notFound(keyValue)
			return
		}
		if a, ok := body["appId"]; ok && a != e.Props["appId"] {
			c.invalid("appId", "ServicePrincipal")
			return
		}
		next := cloneMap(e.Props)
		merge(types["servicePrincipal"], next, body)
		e.Props = next
		c.noContent()
	case http.MethodDelete:
		if !c.allow(permSPWrite) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		t := s.tenants[c.p.TenantID]
		e := c.findSP(t, key, keyValue)
		if e == nil {
			c.notFound(keyValue)
			return
		}
		t.deleteSP(e.str("id"))
		c.noContent()
	default:
		c.methodNotAllowed()
	}
}

// createSP instantiates an application in t; the caller holds s.mu.
func (c *ctx) createSP(t *tenant, body map[string]any) (*entity, bool) {
	appID, _ := body["appId"].(string)
	if appID == "" {
		c.invalid("appId", "ServicePrincipal")
		return nil, false
	}
	noBacking := func() {
		c.fail(http.StatusBadRequest, "Request_BadRequest",
			fmt.Sprintf("The appId '%s' of the service principal does not reference a valid application object.", appID),
			errorItem{Code: "NoBackingApplicationObject", Target: "appId"})
	}
	if existing := t.spByAppID(appID); existing != nil {
		c.fail(http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue",
			fmt.Sprintf("The service principal cannot be created, updated, or restored because the service principal name %s is already in use.", appID))
		return nil, false
	}
	loc, ok := c.s.apps[strings.ToLower(appID)]
	if !ok {
		noBacking()
		return nil, false
	}
	home := c.s.tenants[loc.tenant]
	app := home.Apps[loc.objectID]
	if app == nil || !c.visible(app) {
		noBacking()
		return nil, false
	}
	if c.ownedByOnly() && loc.tenant == t.ID && app.Owner != c.p.ObjectID {
		// Application.ReadWrite.OwnedBy instantiates only the apps the caller owns.
		c.denied()
		return nil, false
	}
	if loc.tenant != t.ID && app.str("signInAudience") == "AzureADMyOrg" {
		// UNCONFIRMED: a single-tenant app instantiated in another tenant fails like a missing app.
		noBacking()
		return nil, false
	}
	e := &entity{Props: spFromApp(t, home.ID, app), Created: c.now}
	merge(types["servicePrincipal"], e.Props, body)
	if c.appOnly() {
		e.Owner = c.p.ObjectID
	}
	t.SPs[e.str("id")] = e
	return e, true
}

// spFromApp builds the service principal an application gets in tenant t.
func spFromApp(t *tenant, homeTenant string, app *entity) object {
	sp := defaults(types["servicePrincipal"])
	a := app.Props
	sp["id"] = newGUID()
	sp["appId"] = a["appId"]
	sp["displayName"] = a["displayName"]
	sp["appDisplayName"] = a["displayName"]
	sp["appDescription"] = a["description"]
	sp["accountEnabled"] = true
	sp["appOwnerOrganizationId"] = homeTenant
	sp["appRoleAssignmentRequired"] = false
	sp["servicePrincipalType"] = "Application"
	sp["signInAudience"] = a["signInAudience"]
	sp["info"] = cloneValue(a["info"])
	sp["tags"] = cloneValue(a["tags"])
	sp["verifiedPublisher"] = cloneValue(a["verifiedPublisher"])
	names := []any{a["appId"]}
	if uris, ok := a["identifierUris"].([]any); ok {
		names = append(names, uris...)
	}
	sp["servicePrincipalNames"] = names
	roles := []any{}
	if ar, ok := a["appRoles"].([]any); ok {
		for _, r := range ar {
			r := cloneMap(r.(object))
			r["origin"] = "Application"
			roles = append(roles, r)
		}
	}
	sp["appRoles"] = roles
	scopes := []any{}
	if api, ok := a["api"].(object); ok {
		if ps, ok := api["oauth2PermissionScopes"].([]any); ok {
			for _, p := range ps {
				p := cloneMap(p.(object))
				p["origin"] = "Application"
				scopes = append(scopes, p)
			}
		}
	}
	sp["oauth2PermissionScopes"] = scopes
	if web, ok := a["web"].(object); ok {
		sp["replyUrls"] = cloneValue(web["redirectUris"])
		sp["homepage"] = web["homePageUrl"]
		sp["logoutUrl"] = web["logoutUrl"]
	}
	return sp
}

func (c *ctx) assignments(key, keyValue string, assignedTo bool, assignID string) {
	s := c.s
	nav := "appRoleAssignments"
	if assignedTo {
		nav = "appRoleAssignedTo"
	}
	spec := listSpec{typ: "appRoleAssignment", resource: "AppRoleAssignment",
		filterable: map[string]bool{"id": true, "principalId": true, "resourceId": true, "appRoleId": true}}
	switch {
	case c.r.Method == http.MethodGet && assignID == "":
		if !c.allow(permAssignRead) {
			return
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		t := s.tenants[c.p.TenantID]
		sp := c.findSP(t, key, keyValue)
		if sp == nil {
			c.notFound(keyValue)
			return
		}
		spec.context = "servicePrincipals('" + sp.str("id") + "')/" + nav
		q, ok := c.parseQuery(spec)
		if !ok {
			return
		}
		field := "principalId"
		if assignedTo {
			field = "resourceId"
		}
		items := []object{}
		for _, a := range t.Assignments {
			if a.str(field) == sp.str("id") && c.visible(a) {
				items = append(items, a.Props)
			}
		}
		c.list(items, spec, q)
	case c.r.Method == http.MethodPost && assignID == "":
		if !c.allow(permAssignWr) || !c.allow(permAssignDir) {
			return
		}
		body, ok := c.body()
		if !ok || !c.validBody("appRoleAssignment", body) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		t := s.tenants[c.p.TenantID]
		sp := c.findSP(t, key, keyValue)
		if sp == nil {
			c.notFound(keyValue)
			return
		}
		e, ok := c.createAssignment(t, sp, assignedTo, body)
		if !ok {
			return
		}
		c.json(http.StatusCreated, c.entityOut(e.Props,
			c.base+"/$metadata#servicePrincipals('"+sp.str("id")+"')/"+nav+"/$entity", nil))
	case (c.r.Method == http.MethodGet || c.r.Method == http.MethodDelete) && assignID != "":
		write := c.r.Method == http.MethodDelete
		if (write && !(c.has(permAssignWr...) && c.has(permAssignDir...))) || (!write && !c.has(permAssignRead...)) {
			c.denied()
			return
		}
		if write {
			s.mu.Lock()
			defer s.mu.Unlock()
		} else {
			s.mu.RLock()
			defer s.mu.RUnlock()
		}
		t := s.tenants[c.p.TenantID]
		sp := c.findSP(t, key, keyValue)
		a := t.Assignments[assignID]
		field := "principalId"
		if assignedTo {
			field = "resourceId"
		}
		if sp == nil {
			c.notFound(keyValue)
			return
		}
		if a == nil || a.str(field) != sp.str("id") || !c.visible(a) {
			if write {
				// As microsoft-graph-docs-contrib#3614 shows it.
				c.fail(http.StatusBadRequest, "Request_BadRequest", "EntitlementGrant being updated or deleted is not found.")
				return
			}
			c.notFound(assignID)
			return
		}
		if write {
			delete(t.Assignments, assignID)
			c.noContent()
			return
		}
		c.json(http.StatusOK, c.entityOut(a.Props, c.base+"/$metadata#servicePrincipals('"+sp.str("id")+"')/"+nav+"/$entity", nil))
	default:
		c.methodNotAllowed()
	}
}

// createAssignment grants an app role; the caller holds s.mu.
func (c *ctx) createAssignment(t *tenant, pathSP *entity, assignedTo bool, body map[string]any) (*entity, bool) {
	principalID, _ := body["principalId"].(string)
	resourceID, _ := body["resourceId"].(string)
	roleID, _ := body["appRoleId"].(string)
	for name, v := range map[string]string{"principalId": principalID, "resourceId": resourceID, "appRoleId": roleID} {
		if v == "" {
			c.invalid(name, "AppRoleAssignment")
			return nil, false
		}
	}
	// The path names the resource (appRoleAssignedTo) or the principal (appRoleAssignments).
	if assignedTo && !strings.EqualFold(resourceID, pathSP.str("id")) {
		c.invalid("resourceId", "AppRoleAssignment")
		return nil, false
	}
	if !assignedTo && !strings.EqualFold(principalID, pathSP.str("id")) {
		c.invalid("principalId", "AppRoleAssignment")
		return nil, false
	}
	resource := c.findSP(t, "id", resourceID)
	if resource == nil {
		c.notFound(resourceID)
		return nil, false
	}
	var principalName, principalType, memberType string
	if p := c.findSP(t, "id", principalID); p != nil {
		principalName, principalType, memberType = p.str("displayName"), "ServicePrincipal", "Application"
	} else if g := t.Groups[principalID]; g != nil && c.visible(g) {
		principalName, principalType, memberType = g.str("displayName"), "Group", "User"
	} else {
		// UNCONFIRMED: the status and text for an unknown principal.
		c.invalid("principalId", "AppRoleAssignment")
		return nil, false
	}
	found := roleID == "00000000-0000-0000-0000-000000000000" // default access
	roles, _ := resource.Props["appRoles"].([]any)
	for _, r := range roles {
		r := r.(object)
		if !strings.EqualFold(r["id"].(string), roleID) {
			continue
		}
		types, _ := r["allowedMemberTypes"].([]any)
		for _, mt := range types {
			if mt == memberType {
				found = true
			}
		}
	}
	if !found {
		// UNCONFIRMED: the text.
		c.fail(http.StatusBadRequest, "Request_BadRequest",
			"Permission being assigned was not found on application '"+resource.str("appId")+"'.")
		return nil, false
	}
	for _, a := range t.Assignments {
		if strings.EqualFold(a.str("principalId"), principalID) && strings.EqualFold(a.str("resourceId"), resourceID) &&
			strings.EqualFold(a.str("appRoleId"), roleID) {
			// 409 "EntitlementGrant entry already exists" as msgraph-bicep-types#161 reports it.
			// UNCONFIRMED: the code (that report shows only the status).
			c.fail(http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue", "EntitlementGrant entry already exists.")
			return nil, false
		}
	}
	id := assignmentID(principalID)
	e := &entity{Created: c.now, Props: object{
		"id": id, "deletedDateTime": nil, "appRoleId": strings.ToLower(roleID), "createdDateTime": c.now.Format(time.RFC3339Nano),
		"principalDisplayName": principalName, "principalId": strings.ToLower(principalID), "principalType": principalType,
		"resourceDisplayName": resource.str("displayName"), "resourceId": resource.str("id"),
	}}
	t.Assignments[id] = e
	return e, true
}

// assignmentID shapes an appRoleAssignment id like Entra's: 43 base64url characters that
// begin with the principal's GUID bytes.
// UNCONFIRMED: Entra's exact derivation.
func assignmentID(principalID string) string {
	b := guidBytes(principalID)
	r := guidBytes(newGUID())
	return encodeID(append(b, r...)[:32])
}

func encodeID(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func guidBytes(g string) []byte {
	b, _ := hex.DecodeString(strings.ReplaceAll(g, "-", ""))
	return b
}

// grantID derives an oauth2PermissionGrant id the way Entra's ids decode: base64url of the
// client and resource GUIDs (and the principal's, for a Principal grant) in .NET byte
// order. Two requests for the same grant meet on the same id.
// Checked against published ids (Azure/azure-cli issue 20974); not documented.
func grantID(clientID, resourceID, principalID string) string {
	b := append(dotnetGUIDBytes(clientID), dotnetGUIDBytes(resourceID)...)
	if principalID != "" {
		b = append(b, dotnetGUIDBytes(principalID)...)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// dotnetGUIDBytes is Guid.ToByteArray: the first three groups little-endian.
func dotnetGUIDBytes(g string) []byte {
	b := guidBytes(g)
	if len(b) != 16 {
		return b
	}
	b[0], b[1], b[2], b[3] = b[3], b[2], b[1], b[0]
	b[4], b[5] = b[5], b[4]
	b[6], b[7] = b[7], b[6]
	return b
}

func (c *ctx) grants() {
	s := c.s
	if len(c.segs) > 2 {
		c.badSegment(c.segs[2])
		return
	}
	if len(c.segs) == 1 {
		c.serveCollection(collection{spec: grantList, read: permGrantRead, write: permGrantWrite,
			entities: func(t *tenant) map[string]*entity { return t.Grants },
			seen:     visibleTo, create: (*ctx).createGrant})
		return
	}
	id := c.segs[1]
	switch c.r.Method {
	case http.MethodGet:
		if !c.allow(permGrantRead) {
			return
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		e := s.tenants[c.p.TenantID].Grants[id]
		if e == nil || !c.visible(e) {
			c.notFound(id)
			return
		}
		c.json(http.StatusOK, c.entityOut(e.Props, c.base+"/$metadata#oauth2PermissionGrants/$entity", nil))
	case http.MethodPatch:
		body, ok := c.writeBody(permGrantWrite, "oAuth2PermissionGrant")
		if !ok {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		e := s.tenants[c.p.TenantID].Grants[id]
		if e == nil || !c.visible(e) {
			c.notFound(id)
			return
		}
		for k, v := range body {
			if k != "scope" && k != "@odata.type" && v != e.Props[k] {
				// Only scope changes on an existing grant (oauth2permissiongrant-update).
				// UNCONFIRMED: the text.
				c.invalid(k, "OAuth2PermissionGrant")
				return
			}
		}
		if sc, ok := body["scope"]; ok {
			e.Props["scope"] = sc
		}
		c.noContent()
	case http.MethodDelete:
		if !c.allow(permGrantWrite) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		t := s.tenants[c.p.TenantID]
		e := t.Grants[id]
		if e == nil || !c.visible(e) {
			c.notFound(id)
			return
		}
		delete(t.Grants, id)
		c.noContent()
	default:
		c.methodNotAllowed()
	}
}

// createGrant records delegated consent; the caller holds s.mu.
func (c *ctx) createGrant(t *tenant, body map[string]any) (*entity, bool) {
	clientID, _ := body["clientId"].(string)
	resourceID, _ := body["resourceId"].(string)
	consent, _ := body["consentType"].(string)
	principalID, _ := body["principalId"].(string)
	scope, _ := body["scope"].(string)
	// UNCONFIRMED: the texts of these 400s follow the directory's "Invalid value" pattern.
	if consent != "AllPrincipals" && consent != "Principal" {
		c.invalid("consentType", "OAuth2PermissionGrant")
		return nil, false
	}
	if (consent == "Principal") != (principalID != "") {
		c.invalid("principalId", "OAuth2PermissionGrant")
		return nil, false
	}
	if c.findSP(t, "id", clientID) == nil {
		c.invalid("clientId", "OAuth2PermissionGrant")
		return nil, false
	}
	if c.findSP(t, "id", resourceID) == nil {
		c.invalid("resourceId", "OAuth2PermissionGrant")
		return nil, false
	}
	id := grantID(strings.ToLower(clientID), strings.ToLower(resourceID), strings.ToLower(principalID))
	for _, g := range t.Grants {
		if strings.EqualFold(g.str("clientId"), clientID) && strings.EqualFold(g.str("resourceId"), resourceID) &&
			g.str("consentType") == consent && strings.EqualFold(g.str("principalId"), principalID) {
			// As reported by terraform-provider-azuread users (issue 690): 409 with this code.
			c.fail(http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists.")
			return nil, false
		}
	}
	var principal any
	if principalID != "" {
		principal = strings.ToLower(principalID)
	}
	e := &entity{Created: c.now, Props: object{
		"id": id, "clientId": strings.ToLower(clientID), "consentType": consent, "principalId": principal,
		"resourceId": strings.ToLower(resourceID), "scope": scope,
	}}
	t.Grants[id] = e
	return e, true
}

func (c *ctx) groups() {
	s := c.s
	segs := c.segs
	_, key, keyValue := splitKey(segs[0])
	if key != "" {
		c.badSegment(segs[0])
		return
	}
	_ = keyValue
	if len(segs) == 1 {
		if c.r.Method != http.MethodGet {
			// UNCONFIRMED: the sandbox does not create groups; Graph would with Group.Create.
			c.methodNotAllowed()
			return
		}
		if !c.allow(permGroupRead) {
			return
		}
		q, ok := c.parseQuery(groupList)
		if !ok {
			return
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		t := s.tenants[c.p.TenantID]
		items := make([]object, 0, len(t.Groups))
		for _, e := range t.Groups {
			items = append(items, e.Props)
		}
		c.list(items, groupList, q)
		return
	}
	gid := segs[1]
	switch {
	case len(segs) == 2 && c.r.Method == http.MethodGet:
		if !c.allow(permGroupRead) {
			return
		}
		var sel []string
		if v, ok := c.r.URL.Query()["$select"]; ok && !c.parseSelect("group", v[0], &sel) {
			return
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		g := s.tenants[c.p.TenantID].Groups[gid]
		if g == nil {
			c.notFound(gid)
			return
		}
		c.json(http.StatusOK, c.entityOut(g.Props, c.base+"/$metadata#groups/$entity", sel))
	case len(segs) == 3 && segs[2] == "members" && c.r.Method == http.MethodGet:
		if !c.allow(permGroupRead) {
			return
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		t := s.tenants[c.p.TenantID]
		if t.Groups[gid] == nil {
			c.notFound(gid)
			return
		}
		spec := listSpec{typ: "servicePrincipal", resource: "DirectoryObject", context: "directoryObjects",
			filterable: map[string]bool{"id": true, "displayName": true}}
		q, ok := c.parseQuery(spec)
		if !ok {
			return
		}
		items := []object{}
		for _, m := range t.Members[gid] {
			if o, typ := t.directoryObject(m); o != nil {
				out := cloneMap(o.Props)
				out["@odata.type"] = "#microsoft.graph." + typ
				items = append(items, out)
			}
		}
		c.list(items, spec, q)
	case len(segs) == 4 && segs[2] == "members" && segs[3] == "$ref" && c.r.Method == http.MethodPost:
		if !c.allow(permMemberWr) {
			return
		}
		body, ok := c.body()
		if !ok {
			return
		}
		ref, _ := body["@odata.id"].(string)
		memberID, ok := refID(ref)
		if !ok || len(body) != 1 {
			// UNCONFIRMED: the text for a malformed reference.
			c.fail(http.StatusBadRequest, "BadRequest", "Invalid object identifier '"+ref+"'.")
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		t := s.tenants[c.p.TenantID]
		if t.Groups[gid] == nil {
			c.notFound(gid)
			return
		}
		o, _ := t.directoryObject(memberID)
		if o == nil || !c.visible(o) {
			c.notFound(memberID)
			return
		}
		for _, m := range t.Members[gid] {
			if m == o.str("id") {
				c.fail(http.StatusBadRequest, "Request_BadRequest",
					"One or more added object references already exist for the following modified properties: 'members'.")
				return
			}
		}
		t.Members[gid] = append(t.Members[gid], o.str("id"))
		c.noContent()
	case len(segs) == 5 && segs[2] == "members" && segs[4] == "$ref" && c.r.Method == http.MethodDelete:
		if !c.allow(permMemberWr) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		t := s.tenants[c.p.TenantID]
		if t.Groups[gid] == nil {
			c.notFound(gid)
			return
		}
		before := len(t.Members[gid])
		t.Members[gid] = removeString(t.Members[gid], segs[3])
		if len(t.Members[gid]) == before {
			c.notFound(segs[3])
			return
		}
		c.noContent()
	default:
		if len(segs) > 2 && segs[2] != "members" {
			c.badSegment(segs[2])
			return
		}
		c.methodNotAllowed()
	}
}

// refID takes the object id out of an @odata.id such as
// https://graph.microsoft.com/v1.0/directoryObjects/{id}.
func refID(ref string) (string, bool) {
	u, err := url.Parse(ref)
	if err != nil || ref == "" {
		return "", false
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 2 {
		return "", false
	}
	switch parts[len(parts)-2] {
	case "directoryObjects", "servicePrincipals", "users", "groups", "applications":
	default:
		return "", false
	}
	id := parts[len(parts)-1]
	return strings.ToLower(id), isGUID(id)
}

// directoryObject finds any directory object by id.
func (t *tenant) directoryObject(id string) (*entity, string) {
	if e := t.SPs[id]; e != nil {
		return e, "servicePrincipal"
	}
	if e := t.Groups[id]; e != nil {
		return e, "group"
	}
	if e := t.Apps[id]; e != nil {
		return e, "application"
	}
	return nil, ""
}

func (c *ctx) directoryObjects() {
	if len(c.segs) != 2 {
		if len(c.segs) > 2 {
			c.badSegment(c.segs[2])
		} else {
			c.methodNotAllowed()
		}
		return
	}
	if c.r.Method != http.MethodGet {
		c.methodNotAllowed()
		return
	}
	if !c.has("Directory.Read.All", "Directory.ReadWrite.All", "Application.Read.All", "Application.ReadWrite.All") {
		c.denied()
		return
	}
	s := c.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, typ := s.tenants[c.p.TenantID].directoryObject(c.segs[1])
	if o == nil || !c.visible(o) {
		c.notFound(c.segs[1])
		return
	}
	out := c.entityOut(o.Props, c.base+"/$metadata#directoryObjects/$entity", nil)
	out["@odata.type"] = "#microsoft.graph." + typ
	c.json(http.StatusOK, out)
}
