package graph

import (
	"net/http"
)

// Navigation lists of a service principal that pkg/entra reads in its observe $batch:
//
//	GET /servicePrincipals/{id}/oauth2PermissionGrants   (serviceprincipal-list-oauth2permissiongrants)
//	GET /servicePrincipals/{id}/memberOf                 (serviceprincipal-list-memberof)
//
// and the same after the (appId='…') alternate key, which both pages document.

var (
	// permSPGrantsRead is the documented list for serviceprincipal-list-oauth2permissiongrants:
	// it names neither DelegatedPermissionGrant.Read.All nor Application.Read.All.
	permSPGrantsRead = []string{"Directory.Read.All", "DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All"}
	// permMemberOfRead is the documented list for serviceprincipal-list-memberof.
	permMemberOfRead = []string{"Application.Read.All", "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy", "Directory.Read.All", "Directory.ReadWrite.All"}
)

var memberOfList = listSpec{typ: "group", resource: "DirectoryObject", context: "directoryObjects",
	filterable: map[string]bool{"id": true, "displayName": true}}

// spGrants serves GET /servicePrincipals/{key}/oauth2PermissionGrants: the delegated grants
// whose client is the service principal. rest is what follows the navigation segment.
func (c *ctx) spGrants(key, keyValue string, rest []string) {
	q, ok := c.navList(rest, permSPGrantsRead, grantList)
	if !ok {
		return
	}
	s := c.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.tenants[c.p.TenantID]
	sp := c.findSP(t, key, keyValue)
	if sp == nil {
		c.notFound(keyValue)
		return
	}
	items := []object{}
	for _, g := range t.Grants {
		if g.str("clientId") == sp.str("id") && c.visible(g) {
			items = append(items, g.Props)
		}
	}
	// The documented response's context is the entity set, not the navigation path.
	c.list(items, grantList, q)
}

// spMemberOf serves GET /servicePrincipals/{key}/memberOf: the groups the service principal
// is a direct member of (the sandbox has no directory roles), as directoryObjects.
func (c *ctx) spMemberOf(key, keyValue string, rest []string) {
	q, ok := c.navList(rest, permMemberOfRead, memberOfList)
	if !ok {
		return
	}
	// Without a permission to read groups, Graph still returns them with only @odata.type
	// and id set, the other properties null (limited information for inaccessible members).
	limited := !c.has(permGroupRead...)
	s := c.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.tenants[c.p.TenantID]
	sp := c.findSP(t, key, keyValue)
	if sp == nil {
		c.notFound(keyValue)
		return
	}
	id := sp.str("id")
	items := []object{}
	for gid, members := range t.Members {
		g := t.Groups[gid]
		if g == nil || !c.visible(g) {
			continue
		}
		for _, m := range members {
			if m != id {
				continue
			}
			out := cloneMap(g.Props)
			if q.sel != nil {
				out = c.entityOut(g.Props, "", q.sel)
				delete(out, "@odata.context")
			}
			if limited {
				for k := range out {
					if k != "id" {
						out[k] = nil
					}
				}
			}
			out["@odata.type"] = "#microsoft.graph.group"
			items = append(items, out)
			break
		}
	}
	// Items are projected above so that @odata.type survives $select, as Graph keeps it on
	// directoryObject collections.
	// UNCONFIRMED: the @odata.context then lacks the "(id,...)" select suffix Graph adds.
	q.sel = nil
	c.list(items, memberOfList, q)
}

// navList checks a read of a navigation list: the list itself (rest empty), GET, one of
// perms, and its query options. It writes the error itself.
func (c *ctx) navList(rest, perms []string, spec listSpec) (*query, bool) {
	switch {
	case len(rest) > 0:
		// UNCONFIRMED: the sandbox serves the lists only: no items by id under them and no
		// OData casts (memberOf/microsoft.graph.group).
		c.badSegment(rest[0])
	case c.r.Method != http.MethodGet:
		c.methodNotAllowed()
	case !c.has(perms...):
		c.denied()
	default:
		return c.parseQuery(spec)
	}
	return nil, false
}
