package graph

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"
)

var (
	permAppRead  = []string{"Application.Read.All", "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy", "Directory.Read.All", "Directory.ReadWrite.All"}
	permAppWrite = []string{"Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"}
)

var appList = listSpec{typ: "application", resource: "Application", context: "applications",
	filterable: map[string]bool{"id": true, "appId": true, "displayName": true, "uniqueName": true, "signInAudience": true, "publisherDomain": true, "identifierUris": true}}

// ownedByOnly reports whether the caller can reach only the applications it owns
// (app-only token whose sole application permission is Application.ReadWrite.OwnedBy).
func (c *ctx) ownedByOnly() bool {
	if c.ownedOnly == 0 {
		c.ownedOnly = -1
		if c.appOnly() && !c.has("Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All") {
			c.ownedOnly = 1
		}
	}
	return c.ownedOnly == 1
}

func (c *ctx) canSee(e *entity) bool {
	return c.visible(e) && (!c.ownedByOnly() || e.Owner == c.p.ObjectID)
}

// findApp resolves an application by key in the caller's tenant.
func (c *ctx) findApp(t *tenant, key, value string) *entity {
	switch key {
	case "id":
		if e := t.Apps[value]; e != nil && c.canSee(e) {
			return e
		}
		return nil
	case "appId":
		if loc, ok := c.s.apps[strings.ToLower(value)]; ok && loc.tenant == t.ID {
			if e := t.Apps[loc.objectID]; e != nil && c.canSee(e) {
				return e
			}
		}
		return nil
	}
	for _, e := range t.Apps {
		if strings.EqualFold(e.str(key), value) && c.canSee(e) {
			return e
		}
	}
	return nil
}

func (c *ctx) applications(key, keyValue string) {
	segs := c.segs
	if key == "" && len(segs) == 1 {
		c.serveCollection(collection{spec: appList, read: permAppRead, write: permAppWrite, location: true,
			entities: func(t *tenant) map[string]*entity { return t.Apps },
			seen:     (*ctx).canSee, create: (*ctx).createApp})
		return
	}
	rest := segs[1:]
	if key == "" {
		key, keyValue, rest = "id", segs[1], segs[2:]
	}
	if key == "id" {
		keyValue = strings.ToLower(keyValue)
	}
	if key != "id" && key != "appId" && key != "uniqueName" {
		c.badSegment(segs[0])
		return
	}
	if len(rest) == 0 {
		c.application(key, keyValue)
		return
	}
	if rest[0] == "appManagementPolicies" {
		c.appPolicies(key, keyValue, rest[1:])
		return
	}
	if nav, ficKey, ficValue := splitKey(rest[0]); nav == "federatedIdentityCredentials" {
		c.federatedCredentials(key, keyValue, ficKey, ficValue, rest[1:])
		return
	}
	if len(rest) > 1 {
		c.badSegment(rest[1])
		return
	}
	switch strings.TrimPrefix(rest[0], "microsoft.graph.") {
	case "addPassword":
		c.addPassword(key, keyValue)
	case "removePassword":
		c.removePassword(key, keyValue)
	default:
		c.badSegment(rest[0])
	}
}

func (c *ctx) application(key, keyValue string) {
	s := c.s
	switch c.r.Method {
	case http.MethodGet:
		c.getEntity(permAppRead, "application", "applications", keyValue, func(t *tenant) *entity { return c.findApp(t, key, keyValue) })
	case http.MethodPatch:
		body, ok := c.writeBody(permAppWrite, "application")
		if !ok {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		t := s.tenants[c.p.TenantID]
		e := c.findApp(t, key, keyValue)
		if e == nil {
			// Upsert: only the uniqueName key creates (learn.microsoft.com/graph/api/application-upsert).
			if key == "uniqueName" && preferCreate(c.r) {
				if u, ok := body["uniqueName"].(string); ok && u != keyValue {
					// UNCONFIRMED: the text for a body that contradicts the key.
					c.fail(http.StatusBadRequest, "Request_BadRequest", "The uniqueName in the request body does not match the key.")
					return
				}
				body["uniqueName"] = keyValue
				created, ok := c.createApp(t, body)
				if !ok {
					return
				}
				c.w.Header().Set("Location", c.base+"/applications/"+created.str("id"))
				c.json(http.StatusCreated, c.entityOut(created.Props, c.base+"/$metadata#applications/$entity", nil))
				return
			}
			c.notFound(keyValue)
			return
		}
		if c.updateApp(t, e, body) {
			c.noContent()
		}
	case http.MethodDelete:
		if !c.allow(permAppWrite) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		t := s.tenants[c.p.TenantID]
		e := c.findApp(t, key, keyValue)
		if e == nil {
			c.notFound(keyValue)
			return
		}
		appID, id := e.str("appId"), e.str("id")
		delete(t.Apps, id)
		delete(t.Secrets, id)
		delete(t.Federated, id)
		delete(s.apps, strings.ToLower(appID))
		// UNCONFIRMED: deleting the registration also removes its home-tenant service principal.
		if sp := t.spByAppID(appID); sp != nil {
			t.deleteSP(sp.str("id"))
		}
		c.noContent()
	default:
		c.methodNotAllowed()
	}
}

func preferCreate(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), "create-if-missing") {
				return true
			}
		}
	}
	return false
}

// invalid writes the directory's 400 for a property value it refuses.
func (c *ctx) invalid(prop, resource string) {
	c.fail(http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Invalid value specified for property '%s' of resource '%s'.", prop, resource))
}

// createApp creates an application in t from a validated body; the caller holds s.mu.
func (c *ctx) createApp(t *tenant, body map[string]any) (*entity, bool) {
	if name, _ := body["displayName"].(string); strings.TrimSpace(name) == "" {
		// displayName is required (application-post-applications).
		// UNCONFIRMED: the exact text.
		c.invalid("displayName", "Application")
		return nil, false
	}
	if pc, _ := body["passwordCredentials"].([]any); len(pc) > 0 {
		// A password cannot be added on create; addPassword exists for that.
		// UNCONFIRMED: the exact status and text.
		c.invalid("passwordCredentials", "Application")
		return nil, false
	}
	props := defaults(types["application"])
	props["signInAudience"] = "AzureADMyOrg"
	props["verifiedPublisher"] = object{"displayName": nil, "verifiedPublisherId": nil, "addedDateTime": nil}
	props["parentalControlSettings"].(object)["legalAgeGroupRule"] = "Allow"
	props["web"].(object)["implicitGrantSettings"] = object{"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false}
	props["requestSignatureVerification"] = nil
	merge(types["application"], props, body)
	id := newGUID()
	props["id"] = id
	props["appId"] = newGUID()
	props["createdDateTime"] = c.now.Format(time.RFC3339)
	props["publisherDomain"] = t.Domain
	e := &entity{Props: props, Created: c.now}
	if c.appOnly() {
		e.Owner = c.p.ObjectID
	}
	if !c.checkApp(t, e) {
		return nil, false
	}
	t.Apps[id] = e
	c.s.apps[props["appId"].(string)] = appLoc{t.ID, id}
	return e, true
}

// updateApp applies a validated PATCH body; the caller holds s.mu.
func (c *ctx) updateApp(t *tenant, e *entity, body map[string]any) bool {
	if _, ok := body["passwordCredentials"]; ok {
		// passwordcredential.md: "Setting passwordCredentials through PATCH is not supported."
		// UNCONFIRMED: the status and text.
		c.invalid("passwordCredentials", "Application")
		return false
	}
	if u, ok := body["uniqueName"]; ok && e.Props["uniqueName"] != nil && u != e.Props["uniqueName"] {
		// uniqueName is immutable once set (application resource).
		// UNCONFIRMED: the text.
		c.invalid("uniqueName", "Application")
		return false
	}
	if n, ok := body["displayName"]; ok && (n == nil || strings.TrimSpace(n.(string)) == "") {
		c.invalid("displayName", "Application")
		return false
	}
	next := &entity{Props: cloneMap(e.Props), Created: e.Created, Owner: e.Owner}
	merge(types["application"], next.Props, body)
	if !c.checkApp(t, next) {
		return false
	}
	e.Props = next.Props
	return true
}

var audiences = map[string]bool{"AzureADMyOrg": true, "AzureADMultipleOrgs": true, "AzureADandPersonalMicrosoftAccount": true, "PersonalMicrosoftAccount": true}

// checkApp normalises and checks an application about to be stored: enums, redirect URIs,
// requiredResourceAccess limits and unique keys.
func (c *ctx) checkApp(t *tenant, e *entity) bool {
	p := e.Props
	if a, ok := p["signInAudience"].(string); !ok || !audiences[a] {
		c.invalid("signInAudience", "Application")
		return false
	}
	for _, part := range []string{"web", "spa", "publicClient"} {
		o, _ := p[part].(object)
		if o == nil {
			continue
		}
		uris, _ := o["redirectUris"].([]any)
		for i, u := range uris {
			norm, ok := normalizeRedirectURI(u.(string), part)
			if !ok {
				// UNCONFIRMED: the text.
				c.invalid(part+".redirectUris", "Application")
				return false
			}
			uris[i] = norm
		}
		if len(uris) > 256 {
			c.invalid(part+".redirectUris", "Application")
			return false
		}
	}
	if ids, _ := p["identifierUris"].([]any); len(ids) > 0 {
		for _, u := range ids {
			if !identifierURIAllowed(u.(string), t.Domain) {
				// The default app management policy since October 2021 requires a verified
				// domain for https identifier URIs.
				// UNCONFIRMED: the text; which schemes are allowed besides api:// and urn:.
				c.fail(http.StatusBadRequest, "Request_BadRequest",
					"Values of identifierUris property must use a verified domain of the organization or its subdomain: '"+u.(string)+"'")
				return false
			}
		}
	}
	rra, _ := p["requiredResourceAccess"].([]any)
	total := 0
	for _, r := range rra {
		r := r.(object)
		if _, ok := r["resourceAppId"].(string); !ok {
			c.invalid("requiredResourceAccess", "Application")
			return false
		}
		ra, _ := r["resourceAccess"].([]any)
		total += len(ra)
		for _, a := range ra {
			a := a.(object)
			if typ, _ := a["type"].(string); typ != "Scope" && typ != "Role" {
				c.invalid("requiredResourceAccess", "Application")
				return false
			}
			if _, ok := a["id"].(string); !ok {
				c.invalid("requiredResourceAccess", "Application")
				return false
			}
		}
	}
	if len(rra) > 50 || total > 400 {
		// At most 50 resource APIs and 400 permissions (application-update).
		// UNCONFIRMED: the text.
		c.invalid("requiredResourceAccess", "Application")
		return false
	}
	id := e.str("id")
	uniq, _ := p["uniqueName"].(string)
	uris, _ := p["identifierUris"].([]any)
	if uniq == "" && len(uris) == 0 {
		return true
	}
	for _, other := range t.Apps {
		if other.str("id") == id {
			continue
		}
		if uniq != "" && strings.EqualFold(other.str("uniqueName"), uniq) {
			c.fail(http.StatusBadRequest, "Request_MultipleObjectsWithSameKeyValue", "Another object with the same value for property uniqueName already exists.")
			return false
		}
		theirs, _ := other.Props["identifierUris"].([]any)
		for _, u := range uris {
			for _, v := range theirs {
				if strings.EqualFold(u.(string), v.(string)) {
					c.fail(http.StatusBadRequest, "Request_MultipleObjectsWithSameKeyValue", "Another object with the same value for property identifierUris already exists.")
					return false
				}
			}
		}
	}
	return true
}

// identifierURIAllowed: api:// and urn: URIs, or https on the tenant's (verified) domain or
// a subdomain of it. Sandbox tenants verify only their onmicrosoft.com domain.
func identifierURIAllowed(s, domain string) bool {
	u, err := url.Parse(s)
	if err != nil || len(s) > 255 {
		return false
	}
	switch u.Scheme {
	case "api", "urn":
		return true
	case "https":
		h := strings.ToLower(u.Hostname())
		d := strings.ToLower(domain)
		return h == d || strings.HasSuffix(h, "."+d)
	}
	return false
}

// normalizeRedirectURI applies the rules of reply-url.md: at most 256 characters, https
// except for loopback (and custom schemes for public clients), a bare host gains "/".
func normalizeRedirectURI(s, part string) (string, bool) {
	if s == "" || len(s) > 256 || strings.Contains(s, "*") {
		return "", false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return "", false
	}
	switch u.Scheme {
	case "https":
	case "http":
		h := u.Hostname()
		if h != "localhost" && h != "127.0.0.1" {
			return "", false
		}
	default:
		// urn:ietf:wg:oauth:2.0:oob and app schemes are allowed for public clients only.
		if part != "publicClient" {
			return "", false
		}
		return s, true
	}
	if u.Host == "" || strings.HasPrefix(u.Host, "[") {
		return "", false // IPv6 [::1] is not supported
	}
	if u.Path == "" && u.RawQuery == "" && u.Fragment == "" {
		return s + "/", true
	}
	return s, true
}

// secretAlphabet is what Entra client secrets are made of.
const secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~._-"

// newSecret returns a 40-character secret shaped like Entra's current ones: three
// characters, "8Q~", then 34 more.
// UNCONFIRMED: the "8Q~" marker is observed in real secrets, not documented.
func newSecret() string {
	b := make([]byte, 40)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(secretAlphabet))))
		if err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		b[i] = secretAlphabet[n.Int64()]
	}
	copy(b[3:6], "8Q~")
	return string(b)
}

const passwordTime = "2006-01-02T15:04:05.0000000Z"

func (c *ctx) addPassword(key, keyValue string) {
	if !c.action(permAppWrite) {
		return
	}
	body, ok := c.optionalBody()
	if !ok {
		return
	}
	pc := object{}
	for k, v := range body {
		if k == "passwordCredential" {
			m, ok := v.(map[string]any)
			if !ok && v != nil {
				c.fail(http.StatusBadRequest, "BadRequest", "Cannot convert the literal to the expected type 'microsoft.graph.passwordCredential'.")
				return
			}
			if m != nil {
				pc = m
			}
			continue
		}
		c.fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("The parameter '%s' in the request payload is not a valid parameter for the operation 'addPassword'.", k))
		return
	}
	if err := validate(types["passwordCredential"], pc, false); err != nil {
		be := err.(*bodyError)
		c.fail(http.StatusBadRequest, be.code, be.msg)
		return
	}
	start := c.now
	if v, ok := pc["startDateTime"].(string); ok {
		start, _ = parseTime(v)
	}
	end := start.AddDate(2, 0, 0) // default: start + 2 years (application-addpassword)
	if v, ok := pc["endDateTime"].(string); ok {
		end, _ = parseTime(v)
	}
	if !end.After(start) {
		// UNCONFIRMED: the text.
		c.invalid("endDateTime", "PasswordCredential")
		return
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenants[c.p.TenantID]
	e := c.findApp(t, key, keyValue)
	if e == nil {
		c.notFound(keyValue)
		return
	}
	if !c.checkPassword(t, e, start, end) {
		return
	}
	secret := newSecret()
	keyID := newGUID()
	cred := object{
		"customKeyIdentifier": nil, "displayName": pc["displayName"], "endDateTime": end.UTC().Format(passwordTime),
		"hint": secret[:3], "keyId": keyID, "secretText": nil, "startDateTime": start.UTC().Format(passwordTime),
	}
	list, _ := e.Props["passwordCredentials"].([]any)
	e.Props["passwordCredentials"] = append(append([]any{}, list...), cred)
	if t.Secrets[e.str("id")] == nil {
		t.Secrets[e.str("id")] = map[string]string{}
	}
	t.Secrets[e.str("id")][keyID] = hashSecret(secret)
	out := cloneMap(cred)
	out["secretText"] = secret
	out["@odata.context"] = c.base + "/$metadata#microsoft.graph.passwordCredential"
	c.json(http.StatusOK, out)
}

func (c *ctx) removePassword(key, keyValue string) {
	if !c.action(permAppWrite) {
		return
	}
	body, ok := c.body()
	if !ok {
		return
	}
	keyID, _ := body["keyId"].(string)
	for k := range body {
		if k != "keyId" {
			c.fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("The parameter '%s' in the request payload is not a valid parameter for the operation 'removePassword'.", k))
			return
		}
	}
	if !isGUID(keyID) {
		c.invalid("keyId", "PasswordCredential")
		return
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenants[c.p.TenantID]
	e := c.findApp(t, key, keyValue)
	if e == nil {
		c.notFound(keyValue)
		return
	}
	list, _ := e.Props["passwordCredentials"].([]any)
	kept := make([]any, 0, len(list))
	for _, pc := range list {
		if !strings.EqualFold(pc.(object)["keyId"].(string), keyID) {
			kept = append(kept, pc)
		}
	}
	if len(kept) == len(list) {
		// UNCONFIRMED: status and text for an unknown keyId.
		c.fail(http.StatusBadRequest, "Request_BadRequest", "No password credential found with keyId '"+keyID+"'.")
		return
	}
	e.Props["passwordCredentials"] = kept
	delete(t.Secrets[e.str("id")], strings.ToLower(keyID))
	delete(t.Secrets[e.str("id")], keyID)
	c.noContent()
}
