package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/useitcloud/uicctl/pkg/spec"
)

// Input is everything Compute looks at. Now is passed in so that Compute is pure: the same
// input always gives the same plan.
type Input struct {
	Name, Path string
	Spec       *spec.Partner
	Secrets    Secrets
	Observed   *Observed
	// Vault is what was observed of the tenant's Key Vault (nil: no delivery.keyVault, or
	// not observed).
	Vault *Vault
	Now   time.Time
}

// ComputeError is a tenant that cannot be planned from what was observed.
type ComputeError struct{ Msg, HintText string }

func (e *ComputeError) Error() string { return e.Msg }
func (e *ComputeError) Hint() string  { return e.HintText }

// Compute returns the changes that bring the observed tenant to its spec. It does no I/O.
func Compute(in Input) (Tenant, error) {
	p, o := in.Spec, in.Observed
	t := Tenant{Name: in.Name, Path: in.Path, TenantID: p.TenantID}
	if o == nil {
		o = &Observed{TenantID: p.TenantID}
	}
	if o.App == nil && p.Application.AppID != "" {
		return t, &ComputeError{
			Msg:      fmt.Sprintf("application %s (application.appId) not found in tenant %s", p.Application.AppID, p.TenantID),
			HintText: "check the appId, or remove application.appId to let uicctl create the app by uniqueName",
		}
	}
	c := &computer{p: p, s: in.Secrets, o: o, now: in.Now, dir: in.Name}
	if in.Path != "" {
		c.dir = filepath.Dir(in.Path)
	}
	c.application()
	c.servicePrincipal()
	if p.IsOperator() {
		// The operator app: no secret (CI signs in by OIDC), no Partner Center side, and
		// its permissions are granted by each partner's admin, not here.
		c.federated()
	} else {
		c.resourceSPs()
		c.grants()
		c.appRoles()
		c.adminAgents()
		if err := c.clientSecret(); err != nil {
			return t, err
		}
		c.refreshToken()
		c.appManagement()
		c.vault(in.Vault)
	}
	sortChanges(c.out)
	t.Changes = c.out
	t.SpecDigest = digest(struct {
		Spec    *spec.Partner
		Secrets Secrets
	}{p, in.Secrets})
	if in.Vault != nil {
		t.ObservedDigest = digest(struct {
			Graph any
			Vault *Vault
		}{normalized(o), in.Vault})
	} else {
		t.ObservedDigest = digest(normalized(o))
	}
	return t, nil
}

type computer struct {
	dir string // the tenant's folder, as uicctl consent takes it
	p   *spec.Partner
	s   Secrets
	o   *Observed
	now time.Time
	out []Change
}

func (c *computer) add(ch Change) { c.out = append(c.out, ch) }

var objectOrder = []string{ObjApplication, ObjServicePrincipal, ObjFederated, ObjResourceSP, ObjGrant, ObjAppRole, ObjAdminAgents, ObjClientSecret, ObjRefreshToken, ObjAppManagement, ObjVaultSecret}

func sortChanges(cs []Change) {
	sort.SliceStable(cs, func(i, j int) bool {
		oi, oj := slices.Index(objectOrder, cs[i].Object), slices.Index(objectOrder, cs[j].Object)
		if oi != oj {
			return oi < oj
		}
		return cs[i].Address < cs[j].Address
	})
}

func ptr(s string) *string { return &s }

// scalarChanges lists the fields whose live value (second) differs from the spec's (third).
func scalarChanges(fields ...[3]string) []FieldChange {
	var out []FieldChange
	for _, f := range fields {
		if f[1] != f[2] {
			out = append(out, FieldChange{Path: f[0], Before: ptr(f[1]), After: ptr(f[2])})
		}
	}
	return out
}

// keepNote is what the plan says of a live item the spec does not name.
func (c *computer) keepNote() string {
	return "not in the spec; kept (prune: true removes it)"
}

func (c *computer) application() {
	a, live := c.p.Application, c.o.App
	wantPerms := c.desiredPermLabels()
	if live == nil {
		c.add(Change{Object: ObjApplication, Address: "application", Action: Create,
			Reason: fmt.Sprintf("no application with uniqueName %q in the tenant", a.UniqueName),
			Fields: []FieldChange{
				{Path: "displayName", After: ptr(a.DisplayName)},
				{Path: "uniqueName", After: ptr(a.UniqueName)},
				{Path: "signInAudience", After: ptr(a.SignInAudience)},
				{Path: "web.redirectUris", Add: sorted(a.RedirectURIs)},
				{Path: "requiredResourceAccess", Add: wantPerms},
			}})
		return
	}
	fields := scalarChanges([3]string{"displayName", live.DisplayName, a.DisplayName}, [3]string{"signInAudience", live.SignInAudience, a.SignInAudience})
	liveURIs := make([]string, 0, len(live.RedirectURIs))
	for _, u := range live.RedirectURIs {
		if n, msg, _ := spec.NormalizeRedirectURI(u); msg == "" {
			u = n
		}
		liveURIs = append(liveURIs, u)
	}
	if f, ok := c.setField("web.redirectUris", a.RedirectURIs, liveURIs); ok {
		fields = append(fields, f)
	}
	if f, ok := c.setField("requiredResourceAccess", wantPerms, c.livePermLabels()); ok {
		fields = append(fields, f)
	}
	if len(fields) == 0 {
		return
	}
	action, reason := NoOp, "live settings the spec does not name"
	for _, f := range fields {
		if f.Before != nil || f.After != nil || len(f.Add) > 0 || len(f.Remove) > 0 {
			action, reason = Update, "live settings differ from the spec"
		}
	}
	c.add(Change{Object: ObjApplication, Address: "application", Action: action, Reason: reason, Fields: fields})
}

// setField compares a desired set with a live one.
func (c *computer) setField(path string, want, have []string) (FieldChange, bool) {
	f := FieldChange{Path: path, Add: minus(want, have)}
	extra := minus(have, want)
	if c.p.Application.Prune {
		f.Remove = extra
	} else {
		f.Keep = extra
	}
	return f, len(f.Add)+len(f.Remove)+len(f.Keep) > 0
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

func sorted(in []string) []string {
	out := slices.Clone(in)
	sort.Strings(out)
	return out
}

// permLabel names a permission for people: "partner-center user_impersonation (delegated)".
func (c *computer) permLabel(resourceAppID, id string, role bool) string {
	kind := "delegated"
	if role {
		kind = "application"
	}
	return c.resourceName(resourceAppID) + " " + c.permValue(resourceAppID, id, role) + " (" + kind + ")"
}

func (c *computer) resourceName(appID string) string { return spec.AliasFor(appID) }

func (c *computer) permValue(resourceAppID, id string, role bool) string {
	return PermissionValue(c.o, resourceAppID, id, role)
}

// PermissionValue finds a permission's value in the alias table or in what the resource's
// service principal publishes; it falls back to the ID.
func PermissionValue(o *Observed, resourceAppID, id string, role bool) string {
	if k, ok := spec.LookupAPI(resourceAppID); ok {
		list := k.Delegated
		if role {
			list = k.Application
		}
		for _, ps := range list {
			if ps.ID == id {
				return ps.Value
			}
		}
	}
	if rs, ok := o.ResourceSPs[resourceAppID]; ok {
		m := rs.Scopes
		if role {
			m = rs.Roles
		}
		if v, ok := m[id]; ok {
			return v
		}
	}
	return id
}

func (c *computer) desiredPermLabels() []string {
	var out []string
	for _, perm := range c.p.Application.Permissions {
		for _, ps := range perm.Delegated {
			out = append(out, c.permLabel(perm.ResourceAppID, ps.ID, false))
		}
		for _, ps := range perm.Application {
			out = append(out, c.permLabel(perm.ResourceAppID, ps.ID, true))
		}
	}
	sort.Strings(out)
	return out
}

func (c *computer) livePermLabels() []string {
	var out []string
	for _, ra := range c.o.App.RequiredResourceAccess {
		for _, id := range ra.Scopes {
			out = append(out, c.permLabel(strings.ToLower(ra.ResourceAppID), strings.ToLower(id), false))
		}
		for _, id := range ra.Roles {
			out = append(out, c.permLabel(strings.ToLower(ra.ResourceAppID), strings.ToLower(id), true))
		}
	}
	sort.Strings(out)
	return out
}

// federated plans the operator app's federated identity credentials, by name: the GitHub
// Actions subjects that may sign in as it. Live ones the spec does not name are kept
// (shown as notes) unless prune.
func (c *computer) federated() {
	live := map[string]FederatedCredential{}
	for _, f := range c.o.Federated {
		live[f.Name] = f
	}
	for _, want := range c.p.Federated {
		addr := "federatedCredential[" + want.Name + "]"
		have, ok := live[want.Name]
		delete(live, want.Name)
		if !ok || c.o.App == nil {
			c.add(Change{Object: ObjFederated, Address: addr, Action: Create, Reason: "a GitHub Actions job of this subject signs in as the operator (OIDC)",
				Fields: []FieldChange{{Path: "issuer", After: ptr(want.Issuer)}, {Path: "subject", After: ptr(want.Subject)}, {Path: "audiences", Add: []string{want.Audience}}}})
			continue
		}
		fields := scalarChanges([3]string{"issuer", have.Issuer, want.Issuer}, [3]string{"subject", have.Subject, want.Subject})
		if !slices.Equal(sorted(have.Audiences), []string{want.Audience}) {
			fields = append(fields, FieldChange{Path: "audiences", Add: minus([]string{want.Audience}, have.Audiences), Remove: minus(have.Audiences, []string{want.Audience})})
		}
		if len(fields) > 0 {
			c.add(Change{Object: ObjFederated, Address: addr, Action: Update, Reason: "the credential differs from the spec", Fields: fields})
		}
	}
	for _, name := range sortedKeys(live) {
		f := live[name]
		if c.p.Application.Prune {
			c.add(Change{Object: ObjFederated, Address: "federatedCredential[" + name + "]", Action: Delete, Reason: "not in the spec (prune)",
				Fields: []FieldChange{{Path: "subject", Before: ptr(f.Subject)}}})
			continue
		}
		c.add(Change{Object: ObjFederated, Address: "federatedCredential[" + name + "]", Action: NoOp, Reason: "a federated credential the spec does not name",
			Notes: []string{f.Subject + ": " + c.keepNote()}})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (c *computer) servicePrincipal() {
	switch {
	case c.o.App == nil:
		c.add(Change{Object: ObjServicePrincipal, Address: "servicePrincipal", Action: Create, Reason: "the new application needs a service principal in the tenant"})
	case c.o.ServicePrincipal == nil:
		c.add(Change{Object: ObjServicePrincipal, Address: "servicePrincipal", Action: Create, Reason: "the application has no service principal in the tenant"})
	}
}

func (c *computer) resourceSPs() {
	if !c.p.Application.AdminConsent {
		return
	}
	for _, perm := range c.p.Application.Permissions {
		if _, ok := c.o.ResourceSPs[perm.ResourceAppID]; !ok {
			c.add(Change{Object: ObjResourceSP, Address: "resourceServicePrincipal[" + perm.API + "]", Action: Create,
				Reason: "the resource API has no service principal in the tenant; admin consent needs one"})
		}
	}
}

// spID is the object ID of the app's service principal, or "" when it is still to be made.
func (c *computer) spID() string {
	if c.o.App == nil || c.o.ServicePrincipal == nil {
		return ""
	}
	return c.o.ServicePrincipal.ObjectID
}

func (c *computer) grants() {
	sp := c.spID()
	managed := map[string]bool{}
	if c.p.Application.AdminConsent {
		for _, perm := range c.p.Application.Permissions {
			if len(perm.Delegated) == 0 {
				continue
			}
			addr := "grant[" + perm.API + "]"
			var want []string
			for _, ps := range perm.Delegated {
				want = append(want, c.permValue(perm.ResourceAppID, ps.ID, false))
			}
			sort.Strings(want)
			rs, hasRS := c.o.ResourceSPs[perm.ResourceAppID]
			if hasRS {
				managed[rs.ObjectID] = true
			}
			g := c.findGrant(sp, rs.ObjectID, hasRS)
			if g == nil {
				c.add(Change{Object: ObjGrant, Address: addr, Action: Create, Reason: "admin consent for the delegated permissions (AllPrincipals)",
					Fields: []FieldChange{{Path: "scope", Add: want}}})
				continue
			}
			f, diff := c.setField("scope", want, g.Scopes)
			if !diff {
				continue
			}
			action, reason := NoOp, "the grant has scopes the spec does not name"
			if len(f.Add)+len(f.Remove) > 0 {
				action, reason = Update, "the admin consent grant's scopes differ from the spec"
			}
			c.add(Change{Object: ObjGrant, Address: addr, Action: action, Reason: reason, Fields: []FieldChange{f}})
		}
	}
	if sp == "" {
		return
	}
	for _, g := range c.o.Grants {
		if g.ClientID != sp || g.ConsentType != "AllPrincipals" || managed[g.ResourceID] {
			continue
		}
		addr := "grant[" + c.resourceNameByObjectID(g.ResourceID) + "]"
		if c.p.Application.Prune {
			c.add(Change{Object: ObjGrant, Address: addr, Action: Delete, Reason: "not in the spec (prune: true)",
				Fields: []FieldChange{{Path: "scope", Remove: sorted(g.Scopes)}}})
		} else {
			c.add(Change{Object: ObjGrant, Address: addr, Action: NoOp, Reason: c.keepNote(),
				Fields: []FieldChange{{Path: "scope", Keep: sorted(g.Scopes)}}})
		}
	}
}

func (c *computer) findGrant(sp, resourceID string, hasRS bool) *Grant {
	if sp == "" || !hasRS {
		return nil
	}
	for i, g := range c.o.Grants {
		if g.ClientID == sp && g.ResourceID == resourceID && g.ConsentType == "AllPrincipals" {
			return &c.o.Grants[i]
		}
	}
	return nil
}

func (c *computer) resourceNameByObjectID(id string) string {
	for appID, rs := range c.o.ResourceSPs {
		if rs.ObjectID == id {
			return c.resourceName(appID)
		}
	}
	return id
}

func (c *computer) resourceAppIDByObjectID(id string) string {
	for appID, rs := range c.o.ResourceSPs {
		if rs.ObjectID == id {
			return appID
		}
	}
	return ""
}

func (c *computer) appRoles() {
	sp := c.spID()
	wanted := map[string]bool{} // resourceID/appRoleID of desired assignments
	if c.p.Application.AdminConsent {
		for _, perm := range c.p.Application.Permissions {
			rs, hasRS := c.o.ResourceSPs[perm.ResourceAppID]
			for _, ps := range perm.Application {
				addr := "appRoleAssignment[" + perm.API + "/" + c.permValue(perm.ResourceAppID, ps.ID, true) + "]"
				if hasRS {
					wanted[rs.ObjectID+"/"+ps.ID] = true
				}
				found := false
				if sp != "" && hasRS {
					for _, a := range c.o.AppRoleAssignments {
						if a.PrincipalID == sp && a.ResourceID == rs.ObjectID && strings.EqualFold(a.AppRoleID, ps.ID) {
							found = true
						}
					}
				}
				if !found {
					c.add(Change{Object: ObjAppRole, Address: addr, Action: Create, Reason: "admin consent for the application permission"})
				}
			}
		}
	}
	if sp == "" {
		return
	}
	for _, a := range c.o.AppRoleAssignments {
		if a.PrincipalID != sp || wanted[a.ResourceID+"/"+strings.ToLower(a.AppRoleID)] {
			continue
		}
		appID := c.resourceAppIDByObjectID(a.ResourceID)
		name := c.resourceNameByObjectID(a.ResourceID) + "/" + c.permValue(appID, strings.ToLower(a.AppRoleID), true)
		ch := Change{Object: ObjAppRole, Address: "appRoleAssignment[" + name + "]", Action: NoOp, Reason: c.keepNote()}
		if c.p.Application.Prune {
			ch.Action, ch.Reason = Delete, "not in the spec (prune: true)"
		}
		c.add(ch)
	}
}

func (c *computer) adminAgents() {
	aa := c.o.AdminAgents
	switch {
	case c.p.Application.Preconsent && aa.GroupID == "":
		c.add(Change{Object: ObjAdminAgents, Address: "adminAgents", Action: Manual,
			Reason: "preconsent needs the AdminAgents group, and the tenant has none: is it a CSP partner tenant?"})
	case c.p.Application.Preconsent && (!aa.Member || c.spID() == ""):
		c.add(Change{Object: ObjAdminAgents, Address: "adminAgents", Action: Create,
			Reason: "preconsent: add the service principal to the AdminAgents group"})
	case !c.p.Application.Preconsent && aa.Member && c.spID() != "":
		ch := Change{Object: ObjAdminAgents, Address: "adminAgents", Action: NoOp,
			Reason: "the service principal is an AdminAgents member and preconsent is false; kept (prune: true removes it)"}
		if c.p.Application.Prune {
			ch.Action, ch.Reason = Delete, "preconsent is false (prune: true): remove the service principal from AdminAgents"
		}
		c.add(ch)
	}
}

func days(d time.Duration) int { return int(d / (24 * time.Hour)) }

func (c *computer) clientSecret() error {
	cs, live := c.p.Application.ClientSecret, c.o.App
	life, note, lifeErr := SecretLifetime(cs, c.o.PasswordPolicy)
	var notes []string
	if note != "" {
		notes = []string{note}
	}
	lifetime := spec.Duration(life).String()
	pending := false // a new secret is to be made: its lifetime must be possible
	create := func(reason string) {
		pending = true
		c.add(Change{Object: ObjClientSecret, Address: "clientSecret", Action: Create, Reason: reason,
			Fields: []FieldChange{{Path: "displayName", After: ptr(cs.DisplayName)}, {Path: "lifetime", After: ptr(lifetime)}}, Notes: notes})
	}
	var current *Password
	switch {
	case live == nil:
		create("the new application needs a client secret; its value goes straight into the secrets file")
	case c.s.ClientID != "" && !strings.EqualFold(c.s.ClientID, live.AppID):
		create(fmt.Sprintf("the secrets file belongs to another application (clientId %s)", c.s.ClientID))
	case c.s.SecretKeyID == "":
		if n := c.adoptedSecrets(); n != "" && !c.p.Application.Prune {
			// A partner onboarded by hand already has a secret that Use IT Cloud uses: making
			// another would change the live app although nobody asked for it.
			c.add(Change{Object: ObjClientSecret, Address: "clientSecret", Action: Manual,
				Reason: fmt.Sprintf("the adopted application has %s made outside uicctl and the secrets file records none: "+
					"record the one in use with uicctl secrets set %s clientSecret (and clientSecret.keyId, clientSecret.endDateTime), "+
					"or set prune: true to have apply replace them with a secret of its own", n, path.Join(filepath.ToSlash(c.dir), c.p.Secrets))})
			break
		}
		create("the secrets file holds no client secret")
	default:
		for i, pw := range live.Passwords {
			if strings.EqualFold(pw.KeyID, c.s.SecretKeyID) {
				current = &live.Passwords[i]
			}
		}
		if current == nil {
			create(fmt.Sprintf("client secret %s of the secrets file is no longer on the application", c.s.SecretKeyID))
			break
		}
		left := current.EndDateTime.Sub(c.now)
		renew := time.Duration(cs.RenewBefore)
		replace := func(reason string) {
			pending = true
			c.add(Change{Object: ObjClientSecret, Address: "clientSecret", Action: Replace, Reason: reason,
				Fields: []FieldChange{{Path: "keyId", Before: ptr(current.KeyID), After: ptr("(known after apply)")},
					{Path: "endDateTime", Before: ptr(current.EndDateTime.UTC().Format(time.RFC3339)), After: ptr("(apply time + " + lifetime + ")")}}, Notes: notes})
		}
		switch {
		case left <= 0:
			replace(fmt.Sprintf("client secret expired %s ago", ageText(-left)))
		case left < renew:
			replace(fmt.Sprintf("client secret expires in %s, renewBefore is %s", ageText(left), cs.RenewBefore))
		}
	}
	if pending && lifeErr != nil {
		return lifeErr
	}
	if live == nil {
		return nil
	}
	for _, pw := range live.Passwords {
		if current != nil && pw.KeyID == current.KeyID {
			continue
		}
		name := pw.DisplayName
		if name == "" {
			name = "(no name)"
		}
		addr := "clientSecret[" + pw.KeyID + "]"
		desc := fmt.Sprintf("password credential %q ending %s is not the one in the secrets file", name, pw.EndDateTime.UTC().Format("2006-01-02"))
		if pw.DisplayName == cs.DisplayName {
			// It carries the name uicctl gives its secrets, but its value is not in the secrets
			// file: left by an interrupted apply or a rotation. Nobody can use it.
			c.add(Change{Object: ObjClientSecret, Address: addr, Action: Delete,
				Reason: desc + "; uicctl made it and its value is lost (an interrupted apply or rotation)"})
			continue
		}
		if c.p.Application.Prune {
			c.add(Change{Object: ObjClientSecret, Address: addr, Action: Delete, Reason: desc + " (prune: true)"})
		} else {
			c.add(Change{Object: ObjClientSecret, Address: addr, Action: NoOp, Reason: desc + "; kept (prune: true removes it)"})
		}
	}
	return nil
}

// adoptedSecrets describes the password credentials of an adopted application that were made
// outside uicctl and stay valid beyond renewBefore ("1 client secret (keyId ..., ends ...)"),
// or "" when there are none: those are what a secret recorded by hand can be.
func (c *computer) adoptedSecrets() string {
	cs, live := c.p.Application.ClientSecret, c.o.App
	if c.p.Application.AppID == "" || live == nil {
		return ""
	}
	var ids []string
	for _, pw := range live.Passwords {
		if pw.DisplayName == cs.DisplayName || pw.EndDateTime.Sub(c.now) < time.Duration(cs.RenewBefore) {
			continue
		}
		ids = append(ids, fmt.Sprintf("keyId %s, ends %s", pw.KeyID, pw.EndDateTime.UTC().Format(time.DateOnly)))
	}
	switch len(ids) {
	case 0:
		return ""
	case 1:
		return "a client secret (" + ids[0] + ")"
	}
	sort.Strings(ids)
	return fmt.Sprintf("%d client secrets (%s)", len(ids), strings.Join(ids, "; "))
}

// ageText renders a duration in days (to the nearest day, so a secret made for 12 days reads
// "12 days" a second later), or hours below a day.
func ageText(d time.Duration) string {
	if n := days(d + 12*time.Hour); d >= 24*time.Hour {
		if n == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", n)
	}
	h := int(d / time.Hour)
	if h == 1 {
		return "1 hour"
	}
	return fmt.Sprintf("%d hours", h)
}

func (c *computer) refreshToken() {
	consent := c.p.PartnerCenter.Consent
	cmd := "run uicctl consent " + c.dir
	switch {
	case !c.s.HasRefreshToken:
		c.add(Change{Object: ObjRefreshToken, Address: "refreshToken", Action: Manual, Reason: "no refresh token in the secrets file: " + cmd})
	case c.now.Sub(c.s.TokenIssued) > time.Duration(consent.MaxAge):
		c.add(Change{Object: ObjRefreshToken, Address: "refreshToken", Action: Manual,
			Reason: fmt.Sprintf("the refresh token is %s old, maxAge is %s: %s", ageText(c.now.Sub(c.s.TokenIssued)), consent.MaxAge, cmd)})
	}
}

func (c *computer) appManagement() {
	appID := "(known after apply)"
	if c.o.App != nil {
		appID = c.o.App.AppID
	}
	step := fmt.Sprintf("in Partner Center > Account settings > App management, add the app with Application ID %s (there is no API for this step)", appID)
	switch {
	case c.p.PartnerCenter.AppManagement == "unregistered":
		c.add(Change{Object: ObjAppManagement, Address: "appManagement", Action: Manual, Reason: "declared unregistered: " + step + "; then set partnerCenter.appManagement: registered"})
	case c.o.App == nil:
		c.add(Change{Object: ObjAppManagement, Address: "appManagement", Action: Manual, Reason: "a new application must be registered: " + step})
	}
}

// digest is a SHA-256 over the canonical JSON of v.
func digest(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain data
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// normalized returns a copy of o with every list sorted, so the digest does not depend on
// the order Graph returned things in.
func normalized(o *Observed) Observed {
	n := *o
	if o.App != nil {
		a := *o.App
		a.RedirectURIs = sorted(a.RedirectURIs)
		a.RequiredResourceAccess = slices.Clone(a.RequiredResourceAccess)
		for i := range a.RequiredResourceAccess {
			ra := &a.RequiredResourceAccess[i]
			ra.Scopes, ra.Roles = sorted(ra.Scopes), sorted(ra.Roles)
		}
		sort.Slice(a.RequiredResourceAccess, func(i, j int) bool {
			return a.RequiredResourceAccess[i].ResourceAppID < a.RequiredResourceAccess[j].ResourceAppID
		})
		a.Passwords = slices.Clone(a.Passwords)
		sort.Slice(a.Passwords, func(i, j int) bool { return a.Passwords[i].KeyID < a.Passwords[j].KeyID })
		n.App = &a
	}
	n.Grants = slices.Clone(o.Grants)
	for i := range n.Grants {
		n.Grants[i].Scopes = sorted(n.Grants[i].Scopes)
	}
	sort.Slice(n.Grants, func(i, j int) bool { return n.Grants[i].ID < n.Grants[j].ID })
	n.AppRoleAssignments = slices.Clone(o.AppRoleAssignments)
	sort.Slice(n.AppRoleAssignments, func(i, j int) bool { return n.AppRoleAssignments[i].ID < n.AppRoleAssignments[j].ID })
	return n
}
