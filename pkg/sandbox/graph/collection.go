package graph

import (
	"net/http"
	"strings"
)

// collection describes a top-level entity set that lists with the OData query options
// and creates with POST.
type collection struct {
	spec        listSpec
	read, write []string                                                     // permissions, any one of which suffices
	entities    func(t *tenant) map[string]*entity                           // the set in a tenant
	seen        func(c *ctx, e *entity) bool                                 // whether the caller may see e now
	create      func(c *ctx, t *tenant, body map[string]any) (*entity, bool) // writes its own errors
	location    bool                                                         // a 201 names the new object in Location
}

// serveCollection serves GET (list) and POST (create) on col.
func (c *ctx) serveCollection(col collection) {
	s := c.s
	switch c.r.Method {
	case http.MethodGet:
		if !c.allow(col.read) {
			return
		}
		q, ok := c.parseQuery(col.spec)
		if !ok {
			return
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		set := col.entities(s.tenants[c.p.TenantID])
		items := make([]object, 0, len(set))
		for _, e := range set {
			if col.seen(c, e) {
				items = append(items, e.Props)
			}
		}
		c.list(items, col.spec, q)
	case http.MethodPost:
		if !c.allow(col.write) {
			return
		}
		body, ok := c.body()
		if !ok || !c.validBody(col.spec.typ, body) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		e, ok := col.create(c, s.tenants[c.p.TenantID], body)
		if !ok {
			return
		}
		if col.location {
			c.w.Header().Set("Location", c.base+"/"+col.spec.context+"/"+e.str("id"))
		}
		c.json(http.StatusCreated, c.entityOut(e.Props, c.base+"/$metadata#"+col.spec.context+"/$entity", nil))
	default:
		c.methodNotAllowed()
	}
}

// allow reports whether the token holds one of perms, and writes the 403 when not.
func (c *ctx) allow(perms []string) bool {
	if !c.has(perms...) {
		c.denied()
		return false
	}
	return true
}

// action checks the method and permissions of an OData action such as addPassword.
func (c *ctx) action(perms []string) bool {
	if c.r.Method != http.MethodPost {
		c.methodNotAllowed()
		return false
	}
	return c.allow(perms)
}

func visibleTo(c *ctx, e *entity) bool { return c.visible(e) }

// getEntity answers GET of one entity of entity set set (an application, a service
// principal): the permission check, $select, 404 for a key that finds nothing, and the
// @odata.context Graph writes for the selection.
func (c *ctx) getEntity(perms []string, typ, set, keyValue string, find func(*tenant) *entity) {
	if !c.allow(perms) {
		return
	}
	var sel []string
	if v, ok := c.r.URL.Query()["$select"]; ok && !c.parseSelect(typ, v[0], &sel) {
		return
	}
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	e := find(c.s.tenants[c.p.TenantID])
	if e == nil {
		c.notFound(keyValue)
		return
	}
	ctxURL := c.base + "/$metadata#" + set + "/$entity"
	if sel != nil {
		ctxURL = c.base + "/$metadata#" + set + "(" + strings.Join(sel, ",") + ")/$entity"
	}
	c.json(http.StatusOK, c.entityOut(e.Props, ctxURL, sel))
}
