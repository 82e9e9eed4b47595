package graph

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
)

// federatedIdentityCredentials of an application (federatedidentitycredential.md and the
// application-*-federatedidentitycredentials pages):
//
//	GET|POST /applications/{key}/federatedIdentityCredentials
//	GET|PATCH|DELETE /applications/{key}/federatedIdentityCredentials/{id or name}
//	GET|PATCH|DELETE /applications/{key}/federatedIdentityCredentials(name='{name}')
//
// Reads need one of permAppRead; writes Application.ReadWrite.OwnedBy (least privileged)
// or Application.ReadWrite.All, as for the application itself.

// maxFederatedCredentials is the documented maximum per application.
const maxFederatedCredentials = 20

// ficName is "URL friendly": the documentation names no alphabet.
// UNCONFIRMED: which characters Entra accepts in a name.
var ficName = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,120}$`)

var ficList = listSpec{typ: "federatedIdentityCredential", resource: "FederatedIdentityCredential",
	filterable: map[string]bool{"id": true, "name": true, "issuer": true, "subject": true}}

// FederatedCredential is what the sign-in emulation needs of a federatedIdentityCredential.
type FederatedCredential struct {
	Name, Issuer, Subject string
	Audiences             []string
}

// federatedCredentials serves the navigation. ficKey/ficValue come from a
// federatedIdentityCredentials(name='x') segment; rest follows the navigation segment.
func (c *ctx) federatedCredentials(key, keyValue, ficKey, ficValue string, rest []string) {
	if ficKey != "" && ficKey != "name" && ficKey != "id" {
		c.badSegment(c.segs[len(c.segs)-1-len(rest)])
		return
	}
	switch {
	case ficKey == "" && len(rest) == 0:
		c.ficCollection(key, keyValue)
	case ficKey != "" && len(rest) == 0:
		c.ficItem(key, keyValue, ficValue)
	case ficKey == "" && len(rest) == 1:
		// The documentation addresses an item by its id or its name in the same segment.
		c.ficItem(key, keyValue, rest[0])
	default:
		c.badSegment(rest[len(rest)-1])
	}
}

func (c *ctx) ficCollection(key, keyValue string) {
	s := c.s
	switch c.r.Method {
	case http.MethodGet:
		if !c.allow(permAppRead) {
			return
		}
		q, ok := c.parseQuery(ficList)
		if !ok {
			return
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		app := c.findApp(s.tenants[c.p.TenantID], key, keyValue)
		if app == nil {
			c.notFound(keyValue)
			return
		}
		items := []object{}
		for _, e := range s.tenants[c.p.TenantID].Federated[app.str("id")] {
			items = append(items, e.Props)
		}
		spec := ficList
		spec.context = "applications('" + app.str("id") + "')/federatedIdentityCredentials"
		c.list(items, spec, q)
	case http.MethodPost:
		body, ok := c.writeBody(permAppWrite, "federatedIdentityCredential")
		if !ok {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		t := s.tenants[c.p.TenantID]
		app := c.findApp(t, key, keyValue)
		if app == nil {
			c.notFound(keyValue)
			return
		}
		props := defaults(types["federatedIdentityCredential"])
		merge(types["federatedIdentityCredential"], props, body)
		props["id"] = newGUID()
		creds := t.Federated[app.str("id")]
		if len(creds) >= maxFederatedCredentials {
			// UNCONFIRMED: the status and text past the documented maximum of 20.
			c.fail(http.StatusBadRequest, "Request_BadRequest", "The maximum number of federated identity credentials (20) for this application has been reached.")
			return
		}
		if !c.checkFIC(creds, props, "") {
			return
		}
		if creds == nil {
			creds = map[string]*entity{}
			t.Federated[app.str("id")] = creds
		}
		creds[props["id"].(string)] = &entity{Props: props, Created: c.now}
		c.json(http.StatusCreated, c.entityOut(props, c.ficContext(app), nil))
	default:
		c.methodNotAllowed()
	}
}

func (c *ctx) ficContext(app *entity) string {
	return c.base + "/$metadata#applications('" + app.str("id") + "')/federatedIdentityCredentials/$entity"
}

// findFIC finds a credential by id or by name; the caller holds s.mu.
func findFIC(creds map[string]*entity, idOrName string) *entity {
	if e := creds[strings.ToLower(idOrName)]; e != nil {
		return e
	}
	for _, e := range creds {
		if e.str("name") == idOrName {
			return e
		}
	}
	return nil
}

func (c *ctx) ficItem(key, keyValue, idOrName string) {
	s := c.s
	var sel []string
	var body map[string]any
	switch c.r.Method {
	case http.MethodGet:
		if !c.allow(permAppRead) {
			return
		}
		if v, ok := c.r.URL.Query()["$select"]; ok && !c.parseSelect("federatedIdentityCredential", v[0], &sel) {
			return
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
	case http.MethodPatch, http.MethodDelete:
		if !c.allow(permAppWrite) {
			return
		}
		if c.r.Method == http.MethodPatch {
			var ok bool
			if body, ok = c.body(); !ok || !c.validBody("federatedIdentityCredential", body) {
				return
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
	default:
		c.methodNotAllowed()
		return
	}
	t := s.tenants[c.p.TenantID]
	app := c.findApp(t, key, keyValue)
	if app == nil {
		c.notFound(keyValue)
		return
	}
	creds := t.Federated[app.str("id")]
	e := findFIC(creds, idOrName)
	switch {
	case e == nil:
		c.notFound(idOrName)
	case c.r.Method == http.MethodGet:
		c.json(http.StatusOK, c.entityOut(e.Props, c.ficContext(app), sel))
	case c.r.Method == http.MethodDelete:
		delete(creds, e.str("id"))
		c.noContent()
	case body["name"] != nil && body["name"] != e.Props["name"]:
		// The name is immutable once created (federatedidentitycredential.md).
		// UNCONFIRMED: the text.
		c.invalid("name", "FederatedIdentityCredential")
	default:
		next := cloneMap(e.Props)
		merge(types["federatedIdentityCredential"], next, body)
		if c.checkFIC(creds, next, e.str("id")) {
			e.Props = next
			c.noContent()
		}
	}
}

// checkFIC checks a credential about to be stored among creds (self is its own id when
// it is an update): the required properties, their limits, and the unique keys.
func (c *ctx) checkFIC(creds map[string]*entity, p object, self string) bool {
	name, _ := p["name"].(string)
	issuer, _ := p["issuer"].(string)
	subject, _ := p["subject"].(string)
	auds, _ := p["audiences"].([]any)
	// UNCONFIRMED: the texts; the limits are documented (name 120, issuer and subject 600,
	// one audience of at most 600 characters, description 600).
	switch {
	case !ficName.MatchString(name):
		c.invalid("name", "FederatedIdentityCredential")
		return false
	case issuer == "" || len(issuer) > 600:
		c.invalid("issuer", "FederatedIdentityCredential")
		return false
	case subject == "" || len(subject) > 600:
		c.invalid("subject", "FederatedIdentityCredential")
		return false
	case len(auds) != 1 || auds[0].(string) == "" || len(auds[0].(string)) > 600:
		c.invalid("audiences", "FederatedIdentityCredential")
		return false
	}
	if d, _ := p["description"].(string); len(d) > 600 {
		c.invalid("description", "FederatedIdentityCredential")
		return false
	}
	for id, o := range creds {
		if id == self {
			continue
		}
		if o.str("name") == name || (o.str("issuer") == issuer && o.str("subject") == subject) {
			// UNCONFIRMED: the status and text for a duplicate name or issuer and subject.
			c.fail(http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue",
				"A federated identity credential with the same name, or the same issuer and subject, already exists on this application.")
			return false
		}
	}
	return true
}

// FederatedCredentials returns the federatedIdentityCredentials of the application whose
// appId is appID, by name.
func (s *Service) FederatedCredentials(appID string) []FederatedCredential {
	s.mu.RLock()
	defer s.mu.RUnlock()
	loc, ok := s.apps[strings.ToLower(appID)]
	if !ok {
		return nil
	}
	var out []FederatedCredential
	for _, e := range s.tenants[loc.tenant].Federated[loc.objectID] {
		fc := FederatedCredential{Name: e.str("name"), Issuer: e.str("issuer"), Subject: e.str("subject")}
		auds, _ := e.Props["audiences"].([]any)
		for _, a := range auds {
			fc.Audiences = append(fc.Audiences, a.(string))
		}
		out = append(out, fc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// SetFederatedCredential creates or replaces the federatedIdentityCredential named name of
// the application whose appId is appID (the sandbox's own set-up, e.g. the operator app
// trusting the sandbox's GitHub Actions issuer, whose URL changes with the port).
func (s *Service) SetFederatedCredential(appID string, fc FederatedCredential) error {
	if !ficName.MatchString(fc.Name) || fc.Issuer == "" || fc.Subject == "" || len(fc.Audiences) != 1 {
		return &bodyError{"Request_BadRequest", "invalid federated identity credential " + fc.Name}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	loc, ok := s.apps[strings.ToLower(appID)]
	if !ok {
		return &bodyError{"Request_ResourceNotFound", "no application with appId " + appID}
	}
	t := s.tenants[loc.tenant]
	creds := t.Federated[loc.objectID]
	if creds == nil {
		creds = map[string]*entity{}
		t.Federated[loc.objectID] = creds
	}
	id := stableGUID(appID, "fic", fc.Name)
	if e := findFIC(creds, fc.Name); e != nil {
		id = e.str("id")
	}
	creds[id] = &entity{Props: object{"id": id, "name": fc.Name, "issuer": fc.Issuer, "subject": fc.Subject,
		"audiences": []any{fc.Audiences[0]}, "description": nil}, Created: s.opts.Now()}
	return nil
}
