package graph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/useitcloud/uicctl/internal/isoduration"
)

// App management policies restrict the credentials of applications: the tenant default
// (tenantAppManagementPolicy, one object that always exists and is disabled by default)
// and policies assigned to single apps (appManagementPolicy, which the app "adopts over the
// tenant-wide tenantAppManagementPolicy setting"; one per app).
// https://learn.microsoft.com/graph/api/resources/applicationauthenticationmethodpolicy
// https://learn.microsoft.com/graph/api/resources/tenantappmanagementpolicy
// https://learn.microsoft.com/graph/api/resources/appmanagementpolicy
// https://learn.microsoft.com/graph/api/resources/passwordcredentialconfiguration
var (
	// Reads: Policy.Read.All is the least privileged (policy-list, tenantappmanagementpolicy-get).
	permPolicyRead  = []string{"Policy.Read.All", "Policy.ReadWrite.ApplicationConfiguration"}
	permPolicyWrite = []string{"Policy.ReadWrite.ApplicationConfiguration"}
)

// defaultPolicyID is the tenant default policy's id.
// UNCONFIRMED: the id the service gives it; the docs' example shows it as a string.
const defaultPolicyID = "00000000-0000-0000-0000-000000000000"

// passwordRestrictionTypes are the appCredentialRestrictionType values for passwords
// (passwordCredentialConfiguration.restrictionType).
var passwordRestrictionTypes = []string{"passwordAddition", "passwordLifetime", "symmetricKeyAddition", "symmetricKeyLifetime", "customPasswordAddition"}

// newDefaultPolicy is the tenant default as it exists before anyone changes it.
func newDefaultPolicy() object {
	return object{
		"id": defaultPolicyID, "displayName": "Default app management tenant policy",
		"description":                  "Default tenant policy that enforces app management restrictions on applications and service principals.",
		"isEnabled":                    false,
		"applicationRestrictions":      object{"passwordCredentials": []any{}, "keyCredentials": []any{}},
		"servicePrincipalRestrictions": object{"passwordCredentials": []any{}, "keyCredentials": []any{}},
	}
}

func (t *tenant) defaultPolicy() object {
	if t.DefaultPolicy == nil {
		t.DefaultPolicy = newDefaultPolicy()
	}
	return t.DefaultPolicy
}

// checkRestrictions validates a restrictions object (appManagementConfiguration) of a
// request body; "" when it is valid.
func checkRestrictions(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return "Cannot convert the literal to the expected type 'microsoft.graph.appManagementConfiguration'."
	}
	list, _ := m["passwordCredentials"].([]any)
	seen := map[string]bool{}
	for _, it := range list {
		r, ok := it.(map[string]any)
		if !ok {
			return "Cannot convert the literal to the expected type 'microsoft.graph.passwordCredentialConfiguration'."
		}
		typ, _ := r["restrictionType"].(string)
		if !contains(passwordRestrictionTypes, typ) {
			return fmt.Sprintf("Invalid restrictionType '%s'.", typ)
		}
		if seen[typ] {
			// "Each value of restrictionType can be used only once per policy."
			return fmt.Sprintf("restrictionType '%s' is used more than once.", typ)
		}
		seen[typ] = true
		if typ == "passwordLifetime" || typ == "symmetricKeyLifetime" {
			// "This property is required when restrictionType is set to passwordLifetime."
			ml, _ := r["maxLifetime"].(string)
			if d, err := isoduration.Parse(ml); err != nil || d <= 0 {
				return "maxLifetime is required for restrictionType " + typ + " and must be an ISO 8601 duration."
			}
		}
	}
	return ""
}

// policies serves /policies/defaultAppManagementPolicy and /policies/appManagementPolicies.
func (c *ctx) policies() {
	segs := c.segs
	if len(segs) < 2 {
		c.badSegment(segs[0])
		return
	}
	switch {
	case segs[1] == "defaultAppManagementPolicy" && len(segs) == 2:
		c.defaultAppManagementPolicy()
	case segs[1] == "appManagementPolicies" && len(segs) == 2:
		c.appManagementPolicies()
	case segs[1] == "appManagementPolicies" && len(segs) == 3:
		c.appManagementPolicy(segs[2])
	case segs[1] == "appManagementPolicies" && len(segs) == 4 && segs[3] == "appliesTo":
		c.policyAppliesTo(segs[2])
	default:
		c.badSegment(segs[len(segs)-1])
	}
}

func (c *ctx) defaultAppManagementPolicy() {
	s := c.s
	switch c.r.Method {
	case http.MethodGet:
		if !c.allow(permPolicyRead) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		out := cloneMap(s.tenants[c.p.TenantID].defaultPolicy())
		out["@odata.context"] = c.base + "/$metadata#policies/defaultAppManagementPolicy/$entity"
		c.json(http.StatusOK, out)
	case http.MethodPatch:
		body, ok := c.policyBody(defaultPolicyKeys)
		if !ok {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		p := s.tenants[c.p.TenantID].defaultPolicy()
		for k, v := range body {
			p[k] = v
		}
		c.noContent()
	default:
		c.methodNotAllowed()
	}
}

// policyBody is writeBody for policies: the write permission, then a body whose keys and
// restrictions patchPolicy accepts (policies are not in the schema validBody checks).
func (c *ctx) policyBody(keys []string) (map[string]any, bool) {
	if !c.allow(permPolicyWrite) {
		return nil, false
	}
	body, ok := c.body()
	if !ok {
		return nil, false
	}
	if msg := patchPolicy(body, keys); msg != "" {
		c.fail(http.StatusBadRequest, "BadRequest", msg)
		return nil, false
	}
	return body, true
}

// patchPolicy checks a policy body's keys and restrictions; "" when it is valid.
func patchPolicy(body map[string]any, keys []string) string {
	for k, v := range body {
		if !contains(keys, k) {
			return fmt.Sprintf("Invalid property '%s'.", k)
		}
		switch k {
		case "isEnabled":
			if _, ok := v.(bool); !ok {
				return "isEnabled must be a Boolean."
			}
		case "applicationRestrictions", "servicePrincipalRestrictions", "restrictions":
			if msg := checkRestrictions(v); msg != "" {
				return msg
			}
		}
	}
	return ""
}

var (
	policyKeys        = []string{"displayName", "description", "isEnabled", "restrictions"}
	defaultPolicyKeys = []string{"isEnabled", "displayName", "description", "applicationRestrictions", "servicePrincipalRestrictions"}
)

func (c *ctx) appManagementPolicies() {
	s := c.s
	switch c.r.Method {
	case http.MethodGet:
		if !c.allow(permPolicyRead) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		c.json(http.StatusOK, object{"@odata.context": c.base + "/$metadata#policies/appManagementPolicies", "value": policyList(s.tenants[c.p.TenantID], nil)})
	case http.MethodPost:
		body, ok := c.policyBody(policyKeys)
		if !ok {
			return
		}
		if name, _ := body["displayName"].(string); name == "" {
			c.fail(http.StatusBadRequest, "BadRequest", "displayName is required.")
			return
		}
		p := object{"id": newGUID(), "description": nil, "isEnabled": true,
			"restrictions": object{"passwordCredentials": []any{}, "keyCredentials": []any{}}}
		for k, v := range body {
			p[k] = v
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		t := s.tenants[c.p.TenantID]
		if t.AppPolicies == nil {
			t.AppPolicies = map[string]object{}
		}
		t.AppPolicies[p["id"].(string)] = p
		out := cloneMap(p)
		out["@odata.context"] = c.base + "/$metadata#policies/appManagementPolicies/$entity"
		c.w.Header().Set("Location", c.base+"/policies/appManagementPolicies/"+p["id"].(string))
		c.json(http.StatusCreated, out)
	default:
		c.methodNotAllowed()
	}
}

// policyList renders the policies of ids (all of t's when ids is nil), sorted by id.
func policyList(t *tenant, ids []string) []any {
	if ids == nil {
		for id := range t.AppPolicies {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	out := []any{}
	for _, id := range ids {
		if p := t.AppPolicies[id]; p != nil {
			out = append(out, cloneMap(p))
		}
	}
	return out
}

func (c *ctx) appManagementPolicy(id string) {
	s := c.s
	var body map[string]any
	switch c.r.Method {
	case http.MethodGet:
		if !c.allow(permPolicyRead) {
			return
		}
	case http.MethodPatch:
		var ok bool
		if body, ok = c.policyBody(policyKeys); !ok {
			return
		}
	default:
		if !c.allow(permPolicyWrite) {
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenants[c.p.TenantID]
	p := t.AppPolicies[strings.ToLower(id)]
	if p == nil {
		c.notFound(id)
		return
	}
	switch c.r.Method {
	case http.MethodGet:
		out := cloneMap(p)
		out["@odata.context"] = c.base + "/$metadata#policies/appManagementPolicies/$entity"
		c.json(http.StatusOK, out)
	case http.MethodPatch:
		for k, v := range body {
			p[k] = v
		}
		c.noContent()
	case http.MethodDelete:
		delete(t.AppPolicies, strings.ToLower(id))
		for app, pid := range t.PolicyOf {
			if pid == strings.ToLower(id) {
				delete(t.PolicyOf, app)
			}
		}
		c.noContent()
	default:
		c.methodNotAllowed()
	}
}

func (c *ctx) policyAppliesTo(id string) {
	if c.r.Method != http.MethodGet {
		c.methodNotAllowed()
		return
	}
	// appmanagementpolicy-list-appliesto: Application.Read.All and Policy.Read.All.
	if !c.allow(permPolicyRead) || !c.allow(permAppRead) {
		return
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenants[c.p.TenantID]
	if t.AppPolicies[strings.ToLower(id)] == nil {
		c.notFound(id)
		return
	}
	var apps []string
	for app, pid := range t.PolicyOf {
		if pid == strings.ToLower(id) {
			apps = append(apps, app)
		}
	}
	sort.Strings(apps)
	out := []any{}
	for _, app := range apps {
		if e := t.Apps[app]; e != nil && c.canSee(e) {
			o := cloneMap(e.Props)
			o["@odata.type"] = "#microsoft.graph.application"
			out = append(out, o)
		}
	}
	c.json(http.StatusOK, object{"@odata.context": c.base + "/$metadata#directoryObjects", "value": out})
}

// appPolicies serves /applications/{key}/appManagementPolicies (GET: the policy assigned,
// a list of at most one) and .../appManagementPolicies/$ref (POST: assign one).
// https://learn.microsoft.com/graph/api/application-post-appmanagementpolicies
// UNCONFIRMED: the appId alternate key on this navigation (documented for the application
// itself; uicctl reads the policy of an app it knows by appId).
func (c *ctx) appPolicies(key, keyValue string, rest []string) {
	s := c.s
	switch {
	case len(rest) == 0 && c.r.Method == http.MethodGet:
		if !c.allow(permPolicyRead) || !c.allow(permAppRead) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		t, e := c.appOr404(key, keyValue)
		if e == nil {
			return
		}
		var ids []string
		if pid, ok := t.PolicyOf[e.str("id")]; ok {
			ids = []string{pid}
		}
		c.json(http.StatusOK, object{"@odata.context": c.base + "/$metadata#policies/appManagementPolicies", "value": policyList(t, ids)})
	case len(rest) == 1 && rest[0] == "$ref" && c.r.Method == http.MethodPost:
		if !c.allow(permPolicyWrite) {
			return
		}
		body, ok := c.body()
		if !ok {
			return
		}
		ref, _ := body["@odata.id"].(string)
		i := strings.LastIndex(ref, "/appManagementPolicies/")
		if i < 0 {
			c.fail(http.StatusBadRequest, "BadRequest", "Invalid @odata.id: it must name an appManagementPolicy.")
			return
		}
		pid := strings.ToLower(ref[i+len("/appManagementPolicies/"):])
		s.mu.Lock()
		defer s.mu.Unlock()
		t, e := c.appOr404(key, keyValue)
		if e == nil {
			return
		}
		if t.AppPolicies[pid] == nil {
			c.notFound(pid)
			return
		}
		if cur, ok := t.PolicyOf[e.str("id")]; ok && cur != pid {
			// "Only one policy object can be assigned to an application or service principal."
			// UNCONFIRMED: the status and text.
			c.fail(http.StatusBadRequest, "Request_BadRequest", "An appManagementPolicy is already assigned to the application.")
			return
		}
		if t.PolicyOf == nil {
			t.PolicyOf = map[string]string{}
		}
		t.PolicyOf[e.str("id")] = pid
		c.noContent()
	default:
		c.methodNotAllowed()
	}
}

// appOr404 finds the application of the request's key in the caller's tenant (the store
// locked), or writes the 404 and returns nil.
func (c *ctx) appOr404(key, keyValue string) (*tenant, *entity) {
	t := c.s.tenants[c.p.TenantID]
	e := c.findApp(t, key, keyValue)
	if e == nil {
		c.notFound(keyValue)
	}
	return t, e
}

// passwordPolicy is the password restriction that applies to app e when a password is
// added: the assigned policy when it is enabled, else the tenant default when it is
// enabled. A restriction applies when its state is enabled and the app was created after
// its restrictForAppsCreatedAfterDateTime (when set).
type passwordPolicy struct {
	id          string
	blocked     bool
	maxLifetime time.Duration // 0: no limit
}

func (t *tenant) passwordPolicy(e *entity) passwordPolicy {
	var pol passwordPolicy
	var list []any
	if pid, ok := t.PolicyOf[e.str("id")]; ok && t.AppPolicies[pid] != nil && t.AppPolicies[pid]["isEnabled"] == true {
		p := t.AppPolicies[pid]
		pol.id = pid
		r, _ := p["restrictions"].(map[string]any)
		list, _ = r["passwordCredentials"].([]any)
	} else if d := t.defaultPolicy(); d["isEnabled"] == true {
		pol.id = defaultPolicyID
		r, _ := d["applicationRestrictions"].(map[string]any)
		list, _ = r["passwordCredentials"].([]any)
	}
	created, _ := parseTime(e.str("createdDateTime"))
	for _, it := range list {
		r, _ := it.(map[string]any)
		if st, ok := r["state"].(string); ok && st != "enabled" {
			continue
		}
		if after, ok := r["restrictForAppsCreatedAfterDateTime"].(string); ok && after != "" {
			if at, err := parseTime(after); err == nil && !created.IsZero() && created.Before(at) {
				continue
			}
		}
		switch r["restrictionType"] {
		case "passwordAddition":
			pol.blocked = true
		case "passwordLifetime":
			ml, _ := r["maxLifetime"].(string)
			if d, err := isoduration.Parse(ml); err == nil {
				pol.maxLifetime = d
			}
		}
	}
	return pol
}

// checkPassword refuses a password the policy of app e does not allow, writing the error;
// false when refused.
func (c *ctx) checkPassword(t *tenant, e *entity, start, end time.Time) bool {
	pol := t.passwordPolicy(e)
	switch {
	case pol.blocked:
		// UNCONFIRMED: the code and text of a blocked password addition.
		msg := fmt.Sprintf("Credential type not allowed as per assigned policy '%s'.", pol.id)
		c.fail(http.StatusBadRequest, "CredentialTypeNotAllowedAsPerAppPolicy", msg, errorItem{Code: "InvalidCredentialType", Target: "PasswordCredentials"})
		return false
	case pol.maxLifetime > 0 && end.Sub(start) > pol.maxLifetime:
		// The code, text and detail as a real tenant answers them (reported in
		// OfficeDev/microsoft-365-agents-toolkit#10998). UNCONFIRMED: the status (400).
		msg := fmt.Sprintf("Credential lifetime exceeds the max value allowed as per assigned policy '%s'.", pol.id)
		c.fail(http.StatusBadRequest, "CredentialInvalidLifetimeAsPerAppPolicy", msg, errorItem{Code: "InvalidKeyEndDate", Message: msg, Target: "EndDate"})
		return false
	}
	return true
}

// SetDefaultAppManagementPolicy replaces the tenant default policy's isEnabled and
// applicationRestrictions with those of policy (tenantAppManagementPolicy JSON), for the
// admin API and tests.
func (s *Service) SetDefaultAppManagementPolicy(tenantID string, policy []byte) error {
	var body map[string]any
	if err := json.Unmarshal(policy, &body); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	if msg := patchPolicy(body, defaultPolicyKeys); msg != "" {
		return fmt.Errorf("invalid policy: %s", msg)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenantID]
	if !ok {
		return fmt.Errorf("unknown tenant %s", tenantID)
	}
	p := newDefaultPolicy()
	for k, v := range body {
		p[k] = v
	}
	t.DefaultPolicy = p
	return nil
}

// AssignAppManagementPolicy creates an appManagementPolicy from policy (its JSON) and
// assigns it to the application appID of the tenant, for tests; it returns the policy id.
func (s *Service) AssignAppManagementPolicy(tenantID, appID string, policy []byte) (string, error) {
	var body map[string]any
	if err := json.Unmarshal(policy, &body); err != nil {
		return "", fmt.Errorf("invalid JSON: %w", err)
	}
	if msg := patchPolicy(body, policyKeys); msg != "" {
		return "", fmt.Errorf("invalid policy: %s", msg)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenantID]
	loc, found := s.apps[strings.ToLower(appID)]
	if !ok || !found || loc.tenant != tenantID {
		return "", fmt.Errorf("no application %s in tenant %s", appID, tenantID)
	}
	p := object{"id": newGUID(), "displayName": "policy", "description": nil, "isEnabled": true,
		"restrictions": object{"passwordCredentials": []any{}, "keyCredentials": []any{}}}
	for k, v := range body {
		p[k] = v
	}
	if t.AppPolicies == nil {
		t.AppPolicies = map[string]object{}
	}
	if t.PolicyOf == nil {
		t.PolicyOf = map[string]string{}
	}
	id := p["id"].(string)
	t.AppPolicies[id] = p
	t.PolicyOf[loc.objectID] = id
	return id, nil
}
