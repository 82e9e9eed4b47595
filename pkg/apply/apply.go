package apply

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/useitcloud/uicctl/pkg/cloud"
	"github.com/useitcloud/uicctl/pkg/entra"
	"github.com/useitcloud/uicctl/pkg/keyvault"
	"github.com/useitcloud/uicctl/pkg/partnercenter"
	"github.com/useitcloud/uicctl/pkg/plan"
	"github.com/useitcloud/uicctl/pkg/secrets"
	"github.com/useitcloud/uicctl/pkg/spec"
)

// Graph is what apply needs of Microsoft Graph; *entra.Client implements it. Every write
// must be safe to repeat (AddPassword excepted: Graph makes a new secret on each call).
type Graph interface {
	Observe(ctx context.Context, tenantID string, q entra.Query) (*plan.Observed, error)
	UpsertApplication(ctx context.Context, tenantID string, key entra.AppKey, a entra.AppSpec) (entra.AppRef, error)
	AddPassword(ctx context.Context, tenantID, appObjectID, displayName string, end time.Time) (entra.NewPassword, error)
	RemovePassword(ctx context.Context, tenantID, appObjectID, keyID string) error
	EnsureServicePrincipal(ctx context.Context, tenantID, appID string) (string, error)
	EnsureGrant(ctx context.Context, tenantID, clientSPID, resourceSPID string, scopes []string) (string, error)
	DeleteGrant(ctx context.Context, tenantID, grantID string) error
	EnsureAppRoleAssignment(ctx context.Context, tenantID, principalSPID, resourceSPID, appRoleID string) (string, error)
	DeleteAppRoleAssignment(ctx context.Context, tenantID, resourceSPID, assignmentID string) error
	AddGroupMember(ctx context.Context, tenantID, groupID, memberID string) error
	RemoveGroupMember(ctx context.Context, tenantID, groupID, memberID string) error
	EnsureFederatedCredential(ctx context.Context, tenantID, appObjectID string, fc entra.FederatedCredential) error
	DeleteFederatedCredential(ctx context.Context, tenantID, appObjectID, name string) error
}

// Options configure an Executor.
type Options struct {
	Cloud cloud.Cloud
	Graph Graph
	// Vault delivers the credentials of tenants whose spec has delivery.keyVault; nil when
	// no tenant has one.
	Vault *keyvault.Client
	// HTTP is the client for token requests that prove a new secret; nil: the default.
	HTTP *http.Client
	// Now is the clock plans are computed with; nil: time.Now.
	Now func() time.Time
	// Progress receives one line per step taken, for stderr.
	Progress func(tenant, step string)
	// ProveTimeout bounds how long a new client secret may take to be accepted by the token
	// endpoint (it replicates like any directory object). 0 means 2 minutes.
	ProveTimeout time.Duration
	// SettleTimeout bounds how long the writes may take to show in reads before apply calls
	// the result inconsistent. 0 means 60 s.
	SettleTimeout time.Duration
	// testOnlySecretsWrite, when set, replaces the secrets file write (tests of the
	// failure path).
	testOnlySecretsWrite func(ctx context.Context, path string, f func(*secrets.File)) error
}

// StaleError is a saved plan whose spec or observed state has changed since it was made.
type StaleError struct{ Tenant, What string }

func (e *StaleError) Error() string {
	return fmt.Sprintf("plan for %s is stale: the %s changed since the plan was made", e.Tenant, e.What)
}

// Hint says how to get a current plan.
func (e *StaleError) Hint() string {
	return "run uicctl plan --out FILE again, review it, and apply the new plan"
}

// InconsistentError: after the writes, the tenant still differs from its spec.
type InconsistentError struct {
	Tenant  string
	Changes []string
}

func (e *InconsistentError) Error() string {
	return fmt.Sprintf("apply produced an inconsistent result for %s: still pending after the writes: %s", e.Tenant, strings.Join(e.Changes, ", "))
}

// Hint says what to do about it.
func (e *InconsistentError) Hint() string {
	return "run uicctl apply again; if it persists, something else is changing the app (another tool or a policy)"
}

// Result is what apply did for one tenant.
type Result struct {
	Plan plan.Tenant   // the plan that was carried out
	Done []plan.Change // the changes made, in order
	Err  error
}

// Executor applies plans.
type Executor struct{ o Options }

// New makes an Executor.
func New(o Options) *Executor {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ProveTimeout <= 0 {
		o.ProveTimeout = 2 * time.Minute
	}
	if o.SettleTimeout <= 0 {
		o.SettleTimeout = 60 * time.Second
	}
	if o.Progress == nil {
		o.Progress = func(string, string) {}
	}
	return &Executor{o: o}
}

// Plan observes a tenant and computes its plan, as uicctl plan does.
func (x *Executor) Plan(ctx context.Context, t *spec.Tenant) (plan.Tenant, *plan.Observed, *secrets.File, error) {
	p := t.Partner
	var sf *secrets.File
	if !p.IsOperator() { // the operator app has no secret, hence no secrets file
		var err error
		sf, err = secrets.Read(ctx, t.SecretsPath)
		var nf *secrets.NotFoundError
		switch {
		case errors.As(err, &nf):
			sf = nil
		case err != nil:
			return plan.Tenant{}, nil, nil, err
		}
	}
	meta := Meta(sf)
	q := entra.Query{UniqueName: p.Application.UniqueName, AppID: p.Application.AppID, KnownAppID: meta.ClientID, Operator: p.IsOperator()}
	for _, perm := range p.Application.Permissions {
		q.ResourceAppIDs = append(q.ResourceAppIDs, perm.ResourceAppID)
	}
	obs, err := x.o.Graph.Observe(ctx, p.TenantID, q)
	if err != nil {
		return plan.Tenant{}, nil, nil, err
	}
	vault, err := x.observeVault(ctx, p, sf)
	if err != nil {
		return plan.Tenant{}, nil, nil, err
	}
	tp, err := plan.Compute(plan.Input{Name: p.Name, Path: t.Path, Spec: p, Secrets: meta, Observed: obs, Vault: vault, Now: x.o.Now()})
	return tp, obs, sf, err
}

// observeVault compares the tenant's vault with its secrets file (in memory; the plan only
// learns whether they differ). nil without delivery.keyVault.
func (x *Executor) observeVault(ctx context.Context, p *spec.Partner, sf *secrets.File) (*plan.Vault, error) {
	if p.Delivery == nil || p.Delivery.KeyVault == nil {
		return nil, nil
	}
	if x.o.Vault == nil {
		return nil, errors.New("delivery.keyVault is set but no Key Vault client was configured")
	}
	kv := p.Delivery.KeyVault
	return x.o.Vault.Observe(ctx, kv.URL, plan.VaultWants(p, Meta(sf)), keyvault.FileValues(p.TenantID, sf))
}

// Meta is what a plan may know of a secrets file: identifiers and dates, never a value.
func Meta(f *secrets.File) plan.Secrets {
	if f == nil {
		return plan.Secrets{}
	}
	return plan.Secrets{
		Found: true, ClientID: f.ClientID,
		SecretKeyID: f.ClientSecret.KeyID, SecretEnd: f.ClientSecret.EndDateTime,
		HasRefreshToken: !f.RefreshToken.Value.IsZero(), TokenIssued: f.RefreshToken.IssuedAt, TokenAccount: f.RefreshToken.Account,
	}
}

// Apply converges one tenant. With saved (the plan a person confirmed, or one from apply
// --plan), the tenant is only changed if a fresh plan has the same digests; otherwise a
// StaleError changes nothing. A tenant whose fresh plan has nothing pending gets no write.
func (x *Executor) Apply(ctx context.Context, t *spec.Tenant, saved *plan.Tenant) Result {
	tp, obs, sf, err := x.Plan(ctx, t)
	if err != nil {
		return Result{Err: err}
	}
	if err := CheckFresh(&tp, saved); err != nil {
		return Result{Plan: tp, Err: err}
	}
	return x.Execute(ctx, t, tp, obs, sf)
}

// Execute carries out a plan Plan just computed (no time for the tenant to change in
// between, as with --auto-approve), then observes until the tenant matches its spec.
//
// Graph throttling that outlasts the client's retry budget (each request is retried about
// ten times, but 429s and 5xx together can exceed that on a bad day) does not end the
// tenant: every write is idempotent, so after a pause the tenant is planned again and the
// rest of the same changes carried out, up to resumeAttempts times.
func (x *Executor) Execute(ctx context.Context, t *spec.Tenant, tp plan.Tenant, obs *plan.Observed, sf *secrets.File) Result {
	r := x.execute(ctx, t, tp, obs, sf)
	var th *entra.ThrottledError
	for attempt := 1; attempt <= resumeAttempts && errors.As(r.Err, &th); attempt++ {
		x.o.Progress(t.Partner.Name, "Graph is still throttling; resuming after a pause")
		select {
		case <-ctx.Done():
			return r
		case <-time.After(time.Duration(attempt) * 5 * time.Second):
		}
		tp2, obs2, sf2, err := x.Plan(ctx, t)
		if err != nil {
			r.Err = err
			continue
		}
		next := x.execute(ctx, t, tp2, obs2, sf2)
		r.Done, r.Err = append(r.Done, next.Done...), next.Err
	}
	return r
}

// pendingObject reports whether the plan has a pending change of object.
func pendingObject(tp plan.Tenant, object string) bool {
	for _, c := range tp.Changes {
		if c.Object == object && c.Action.Pending() && c.Action != plan.Delete {
			return true
		}
	}
	return false
}

// resumeAttempts bounds how often a throttled tenant is planned and applied again.
const resumeAttempts = 2

func (x *Executor) execute(ctx context.Context, t *spec.Tenant, tp plan.Tenant, obs *plan.Observed, sf *secrets.File) Result {
	r := Result{Plan: tp}
	if !tp.Pending() {
		return r
	}
	// Before the first write: a client secret Graph returns once must have somewhere to go.
	// (testOnlySecretsWrite replaces the store, and with it this check.)
	if x.o.testOnlySecretsWrite == nil && pendingObject(tp, plan.ObjClientSecret) {
		if err := secrets.Preflight(ctx, t.SecretsPath); err != nil {
			r.Err = fmt.Errorf("nothing was changed: the new client secret could not be stored: %w", err)
			return r
		}
	}
	run := &tenantRun{x: x, t: t, p: t.Partner, obs: obs, sf: sf, res: &r}
	if err := run.execute(ctx); err != nil {
		r.Err = err
		return r
	}
	r.Err = x.settled(ctx, t)
	return r
}

// settled observes the tenant again until its plan has nothing pending. Graph reads lag
// behind writes (a grant made a second ago may not be listed yet), so a difference is
// looked at again with growing pauses until SettleTimeout; only a difference that outlasts
// it is an inconsistent result.
func (x *Executor) settled(ctx context.Context, t *spec.Tenant) error {
	deadline := time.Now().Add(x.o.SettleTimeout)
	wait := 250 * time.Millisecond
	for {
		after, _, _, err := x.Plan(ctx, t)
		if err != nil {
			return fmt.Errorf("cannot observe %s after the writes: %w", t.Partner.Name, err)
		}
		if !after.Pending() {
			return nil
		}
		if time.Now().Add(wait).After(deadline) {
			var left []string
			for _, c := range after.Changes {
				if c.Action.Pending() {
					left = append(left, string(c.Action)+" "+c.Address)
				}
			}
			return &InconsistentError{Tenant: t.Partner.Name, Changes: left}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		// Capped at 500 ms: the objects of the last writes appear one replication lag after
		// them, and every moment of overshoot is one the consultant waits.
		wait = min(2*wait, 500*time.Millisecond)
	}
}

// CheckFresh refuses a saved plan whose digests differ from a fresh one.
func CheckFresh(fresh, saved *plan.Tenant) error {
	if saved == nil {
		return nil
	}
	switch {
	case saved.SpecDigest != fresh.SpecDigest:
		return &StaleError{Tenant: fresh.Name, What: "spec or secrets file"}
	case saved.ObservedDigest != fresh.ObservedDigest:
		return &StaleError{Tenant: fresh.Name, What: "live state of the tenant"}
	}
	return nil
}

// tenantRun carries out one tenant's plan.
type tenantRun struct {
	x   *Executor
	t   *spec.Tenant
	p   *spec.Partner
	obs *plan.Observed
	sf  *secrets.File
	res *Result

	appObjectID, appID, spID string
}

func (r *tenantRun) pending(object string) []plan.Change {
	var out []plan.Change
	for _, c := range r.res.Plan.Changes {
		if c.Object == object && c.Action.Pending() {
			out = append(out, c)
		}
	}
	return out
}

func (r *tenantRun) done(c plan.Change, step string) {
	r.res.Done = append(r.res.Done, c)
	r.x.o.Progress(r.p.Name, step)
}

func (r *tenantRun) execute(ctx context.Context) error {
	steps := []func(context.Context) error{r.application, r.servicePrincipal, r.federated, r.resourceSPs, r.grants, r.appRoles, r.adminAgents, r.clientSecret, r.vault, r.removals}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (r *tenantRun) application(ctx context.Context) error {
	if app := r.obs.App; app != nil {
		r.appObjectID, r.appID = app.ObjectID, app.AppID
	}
	cs := r.pending(plan.ObjApplication)
	if len(cs) == 0 {
		return nil
	}
	a := r.p.Application
	want := entra.AppSpec{DisplayName: a.DisplayName, SignInAudience: a.SignInAudience,
		RedirectURIs: slices.Clone(a.RedirectURIs), RequiredResourceAccess: desiredAccess(a)}
	if live := r.obs.App; live != nil && !a.Prune {
		// Collections are written whole: keep what the spec does not name.
		for _, u := range live.RedirectURIs {
			if n, msg, _ := spec.NormalizeRedirectURI(u); msg == "" && !slices.Contains(want.RedirectURIs, n) {
				want.RedirectURIs = append(want.RedirectURIs, u)
			}
		}
		want.RequiredResourceAccess = mergeAccess(want.RequiredResourceAccess, live.RequiredResourceAccess)
	}
	key := entra.AppKey{UniqueName: a.UniqueName, AppID: a.AppID}
	ref, err := r.x.o.Graph.UpsertApplication(ctx, r.p.TenantID, key, want)
	if err != nil {
		return err
	}
	r.appObjectID, r.appID = ref.ObjectID, ref.AppID
	verb := "updated"
	if ref.Created {
		verb = "created"
	}
	r.done(cs[0], fmt.Sprintf("%s application %s (appId %s)", verb, a.UniqueName+a.AppID, ref.AppID))
	return nil
}

// desiredAccess is the spec's requiredResourceAccess.
func desiredAccess(a spec.Application) []plan.ResourceAccess {
	var out []plan.ResourceAccess
	for _, perm := range a.Permissions {
		ra := plan.ResourceAccess{ResourceAppID: perm.ResourceAppID}
		for _, ps := range perm.Delegated {
			ra.Scopes = append(ra.Scopes, ps.ID)
		}
		for _, ps := range perm.Application {
			ra.Roles = append(ra.Roles, ps.ID)
		}
		out = append(out, ra)
	}
	return out
}

// mergeAccess adds the live permissions the desired list does not name.
func mergeAccess(want, live []plan.ResourceAccess) []plan.ResourceAccess {
	out := slices.Clone(want)
	for _, l := range live {
		i := slices.IndexFunc(out, func(w plan.ResourceAccess) bool { return strings.EqualFold(w.ResourceAppID, l.ResourceAppID) })
		if i < 0 {
			out = append(out, l)
			continue
		}
		for _, id := range l.Scopes {
			if !containsFold(out[i].Scopes, id) {
				out[i].Scopes = append(out[i].Scopes, id)
			}
		}
		for _, id := range l.Roles {
			if !containsFold(out[i].Roles, id) {
				out[i].Roles = append(out[i].Roles, id)
			}
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

func (r *tenantRun) servicePrincipal(ctx context.Context) error {
	if r.obs.ServicePrincipal != nil && r.obs.App != nil {
		r.spID = r.obs.ServicePrincipal.ObjectID
	}
	cs := r.pending(plan.ObjServicePrincipal)
	if len(cs) == 0 {
		return nil
	}
	id, err := r.x.o.Graph.EnsureServicePrincipal(ctx, r.p.TenantID, r.appID)
	if err != nil {
		return err
	}
	r.spID = id
	r.done(cs[0], "created service principal "+id)
	return nil
}

// resourceSP returns the object id of a resource API's service principal.
func (r *tenantRun) resourceSP(ctx context.Context, appID string) (string, error) {
	if rs, ok := r.obs.ResourceSPs[appID]; ok {
		return rs.ObjectID, nil
	}
	id, err := r.x.o.Graph.EnsureServicePrincipal(ctx, r.p.TenantID, appID)
	if err != nil {
		return "", err
	}
	if r.obs.ResourceSPs == nil {
		r.obs.ResourceSPs = map[string]plan.ResourceSP{}
	}
	r.obs.ResourceSPs[appID] = plan.ResourceSP{ObjectID: id, AppID: appID}
	return id, nil
}

func (r *tenantRun) resourceSPs(ctx context.Context) error {
	for _, c := range r.pending(plan.ObjResourceSP) {
		alias := strings.TrimSuffix(strings.TrimPrefix(c.Address, "resourceServicePrincipal["), "]")
		appID := alias
		if k, ok := spec.LookupAPI(alias); ok {
			appID = k.AppID
		}
		id, err := r.resourceSP(ctx, appID)
		if err != nil {
			return err
		}
		r.done(c, "created service principal "+id+" of resource API "+alias)
	}
	return nil
}

// scopeValue is a delegated permission's value (grants carry values, not IDs).
func (r *tenantRun) scopeValue(resourceAppID string, ps spec.PermScope) string {
	if ps.Value != "" {
		return ps.Value
	}
	if v, ok := r.obs.ResourceSPs[resourceAppID].Scopes[ps.ID]; ok {
		return v
	}
	return ps.ID
}

func (r *tenantRun) grants(ctx context.Context) error {
	byAddr := map[string]plan.Change{}
	for _, c := range r.pending(plan.ObjGrant) {
		byAddr[c.Address] = c
	}
	if len(byAddr) == 0 {
		return nil
	}
	for _, perm := range r.p.Application.Permissions {
		c, ok := byAddr["grant["+perm.API+"]"]
		if !ok || c.Action == plan.Delete {
			continue
		}
		rsID, err := r.resourceSP(ctx, perm.ResourceAppID)
		if err != nil {
			return err
		}
		var scopes []string
		for _, ps := range perm.Delegated {
			scopes = append(scopes, r.scopeValue(perm.ResourceAppID, ps))
		}
		if !r.p.Application.Prune {
			for _, g := range r.obs.Grants {
				if g.ClientID == r.spID && g.ResourceID == rsID && g.ConsentType == "AllPrincipals" {
					for _, s := range g.Scopes {
						if !slices.Contains(scopes, s) {
							scopes = append(scopes, s)
						}
					}
				}
			}
		}
		sort.Strings(scopes)
		if _, err := r.x.o.Graph.EnsureGrant(ctx, r.p.TenantID, r.spID, rsID, scopes); err != nil {
			return err
		}
		r.done(c, fmt.Sprintf("granted admin consent on %s: %s", perm.API, strings.Join(scopes, " ")))
	}
	return nil
}

func (r *tenantRun) appRoles(ctx context.Context) error {
	for _, c := range r.pending(plan.ObjAppRole) {
		if c.Action != plan.Create {
			continue
		}
		for _, perm := range r.p.Application.Permissions {
			for _, ps := range perm.Application {
				addr := "appRoleAssignment[" + perm.API + "/" + roleName(perm.ResourceAppID, ps, r.obs) + "]"
				if addr != c.Address {
					continue
				}
				rsID, err := r.resourceSP(ctx, perm.ResourceAppID)
				if err != nil {
					return err
				}
				if _, err := r.x.o.Graph.EnsureAppRoleAssignment(ctx, r.p.TenantID, r.spID, rsID, ps.ID); err != nil {
					return err
				}
				r.done(c, "granted application permission "+strings.TrimSuffix(strings.TrimPrefix(c.Address, "appRoleAssignment["), "]"))
			}
		}
	}
	return nil
}

func roleName(resourceAppID string, ps spec.PermScope, obs *plan.Observed) string {
	if ps.Value != "" {
		return ps.Value
	}
	return plan.PermissionValue(obs, resourceAppID, ps.ID, true)
}

func (r *tenantRun) adminAgents(ctx context.Context) error {
	for _, c := range r.pending(plan.ObjAdminAgents) {
		if c.Action != plan.Create {
			continue
		}
		if err := r.x.o.Graph.AddGroupMember(ctx, r.p.TenantID, r.obs.AdminAgents.GroupID, r.spID); err != nil {
			return err
		}
		r.done(c, "added the service principal to AdminAgents")
	}
	return nil
}

// clientSecret creates a client secret and stores it before anything else happens: if the
// secrets file cannot be written, the new secret is removed from the app again. A
// replacement is proven (a token with it) before the old secret is removed.
func (r *tenantRun) clientSecret(ctx context.Context) error {
	var c *plan.Change
	for _, ch := range r.pending(plan.ObjClientSecret) {
		if ch.Address == "clientSecret" {
			c = &ch
		}
	}
	if c == nil {
		return nil
	}
	cs := r.p.Application.ClientSecret
	// The lifetime the plan showed: capped by the tenant's app management policy.
	life, _, err := plan.SecretLifetime(cs, r.obs.PasswordPolicy)
	if err != nil {
		return err
	}
	end := r.x.o.Now().Add(life).UTC().Truncate(time.Second)
	np, err := r.x.o.Graph.AddPassword(ctx, r.p.TenantID, r.appObjectID, cs.DisplayName, end)
	if err != nil {
		return err
	}
	if !np.EndDateTime.IsZero() {
		end = np.EndDateTime.UTC()
	}
	oldKeyID := ""
	if r.sf != nil {
		oldKeyID = r.sf.ClientSecret.KeyID
	}
	store := func(f *secrets.File) {
		f.ClientID = r.appID
		f.ClientSecret = secrets.ClientSecret{Value: secrets.NewValue(np.Secret), KeyID: np.KeyID, EndDateTime: end}
	}
	// Compare and swap: if another run stored a different client secret since this one
	// read the file, that one is kept and this new secret is taken off the app below.
	still := func(cur *secrets.File) bool { return strings.EqualFold(cur.ClientSecret.KeyID, oldKeyID) }
	if err := r.writeSecrets(ctx, still, store); err != nil {
		// Without its value the secret is useless and a liability: take it off the app.
		if rmErr := r.x.o.Graph.RemovePassword(context.WithoutCancel(ctx), r.p.TenantID, r.appObjectID, np.KeyID); rmErr != nil {
			return fmt.Errorf("cannot store the new client secret (%w), and removing it from the app again failed too (%v): remove password credential %s by hand", err, rmErr, np.KeyID)
		}
		return fmt.Errorf("cannot store the new client secret, so it was removed from the app again: %w", err)
	}
	r.done(*c, fmt.Sprintf("created client secret %s (ends %s), stored in %s", np.KeyID, end.Format("2006-01-02"), r.t.SecretsPath))
	if c.Action == plan.Replace && oldKeyID != "" {
		if err := r.prove(ctx, np.Secret); err != nil {
			return fmt.Errorf("the new client secret is stored but does not work yet, so the old one was kept: %w", err)
		}
		if err := r.x.o.Graph.RemovePassword(ctx, r.p.TenantID, r.appObjectID, oldKeyID); err != nil {
			return err
		}
		r.x.o.Progress(r.p.Name, "proved the new client secret and removed the old one "+oldKeyID)
	}
	r.sf = &secrets.File{ClientID: r.appID, ClientSecret: secrets.ClientSecret{KeyID: np.KeyID, EndDateTime: end}}
	return nil
}

// vault delivers the credentials to the tenant's Key Vault once the secrets file holds them
// (the file is the source of truth, read again here: it has the client secret this run
// created). With prune: true, older versions of a secret are disabled once the new one is
// proven: a client secret by a token got with the value read back from the vault.
func (r *tenantRun) vault(ctx context.Context) error {
	changes := r.pending(plan.ObjVaultSecret)
	if len(changes) == 0 {
		return nil
	}
	sf, err := secrets.Read(ctx, r.t.SecretsPath)
	if err != nil {
		return fmt.Errorf("cannot read the secrets file to deliver it to the vault: %w", err)
	}
	kv := r.p.Delivery.KeyVault
	written, err := r.x.o.Vault.Deliver(ctx, kv.URL, plan.VaultWants(r.p, Meta(sf)), keyvault.FileValues(r.p.TenantID, sf))
	for _, w := range written {
		c := plan.Change{Object: plan.ObjVaultSecret, Address: "vaultSecret[" + w.Key + "]", Action: plan.Update}
		for _, ch := range changes {
			if ch.Address == c.Address {
				c = ch
			}
		}
		what := "wrote a new version " + keyvault.ShortVersion(w.Version) + " of"
		if !w.NewVersion {
			what = "updated the attributes of"
		}
		r.done(c, fmt.Sprintf("%s secret %s in %s", what, w.Name, kv.URL))
	}
	if err != nil || !r.p.Application.Prune {
		return err
	}
	for _, w := range written {
		if !w.NewVersion {
			continue
		}
		if w.Key == "clientSecret" {
			val, _, err := r.x.o.Vault.Get(ctx, kv.URL, w.Name)
			if err != nil {
				return err
			}
			if err := r.prove(ctx, val.Reveal()); err != nil {
				return fmt.Errorf("the client secret in the vault does not work yet, so its older versions stay enabled: %w", err)
			}
		}
		n, err := r.x.o.Vault.DisableOlder(ctx, kv.URL, w.Name, w.Version)
		if err != nil {
			return err
		}
		if n > 0 {
			r.x.o.Progress(r.p.Name, fmt.Sprintf("disabled %d older version(s) of secret %s (prune: true)", n, w.Name))
		}
	}
	return nil
}

func (r *tenantRun) writeSecrets(ctx context.Context, still func(*secrets.File) bool, set func(*secrets.File)) error {
	if w := r.x.o.testOnlySecretsWrite; w != nil {
		return w(ctx, r.t.SecretsPath, set)
	}
	// UpdateIf creates the file (per .sops.yaml) when it does not exist yet.
	_, err := secrets.UpdateIf(ctx, r.t.SecretsPath, "the client secret", still, func(f *secrets.File) error { set(f); return nil })
	return err
}

// prove gets a client-credentials token with the new secret, retrying while the token
// endpoint does not know it yet (a new secret replicates like any directory object).
func (r *tenantRun) prove(ctx context.Context, secret string) error {
	deadline := time.Now().Add(r.x.o.ProveTimeout)
	wait := 250 * time.Millisecond
	for {
		err := partnercenter.ClientCredentials(ctx, r.x.o.HTTP, r.x.o.Cloud, r.p.TenantID, r.appID, secret, r.x.o.Cloud.GraphAudience)
		var se *partnercenter.SignInError
		if err == nil || !errors.As(err, &se) || (se.AADSTS != "7000215" && se.AADSTS != "700016" && se.Status < 500) {
			return err
		}
		if time.Now().Add(wait).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// removals carries out deletions last: pruned grants, assignments and membership, and
// password credentials that are not the one in the secrets file (orphans of an interrupted
// apply, or live ones the spec prunes).
// federated creates or updates the operator app's federated identity credentials.
func (r *tenantRun) federated(ctx context.Context) error {
	for _, c := range r.pending(plan.ObjFederated) {
		if c.Action != plan.Create && c.Action != plan.Update {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(c.Address, "federatedCredential["), "]")
		i := slices.IndexFunc(r.p.Federated, func(f spec.FederatedCredential) bool { return f.Name == name })
		if i < 0 {
			continue
		}
		f := r.p.Federated[i]
		if err := r.x.o.Graph.EnsureFederatedCredential(ctx, r.p.TenantID, r.appObjectID, entra.FederatedCredential(f)); err != nil {
			return err
		}
		verb := "created"
		if c.Action == plan.Update {
			verb = "updated"
		}
		r.done(c, fmt.Sprintf("%s federated credential %s (subject %s)", verb, f.Name, f.Subject))
	}
	return nil
}

func (r *tenantRun) removals(ctx context.Context) error {
	for _, c := range r.res.Plan.Changes {
		if c.Action != plan.Delete {
			continue
		}
		var err error
		switch c.Object {
		case plan.ObjGrant:
			err = r.deleteGrant(ctx, c)
		case plan.ObjAppRole:
			err = r.deleteAppRole(ctx, c)
		case plan.ObjAdminAgents:
			err = r.x.o.Graph.RemoveGroupMember(ctx, r.p.TenantID, r.obs.AdminAgents.GroupID, r.spID)
		case plan.ObjFederated:
			name := strings.TrimSuffix(strings.TrimPrefix(c.Address, "federatedCredential["), "]")
			err = r.x.o.Graph.DeleteFederatedCredential(ctx, r.p.TenantID, r.appObjectID, name)
		case plan.ObjClientSecret:
			keyID := strings.TrimSuffix(strings.TrimPrefix(c.Address, "clientSecret["), "]")
			if r.sf != nil && strings.EqualFold(keyID, r.sf.ClientSecret.KeyID) {
				continue // never remove the secret the file holds
			}
			err = r.x.o.Graph.RemovePassword(ctx, r.p.TenantID, r.appObjectID, keyID)
		default:
			continue
		}
		if err != nil {
			return err
		}
		r.done(c, "removed "+c.Address)
	}
	return nil
}

func (r *tenantRun) deleteGrant(ctx context.Context, c plan.Change) error {
	name := strings.TrimSuffix(strings.TrimPrefix(c.Address, "grant["), "]")
	for _, g := range r.obs.Grants {
		if g.ClientID == r.spID && g.ConsentType == "AllPrincipals" && resourceName(r.obs, g.ResourceID) == name {
			return r.x.o.Graph.DeleteGrant(ctx, r.p.TenantID, g.ID)
		}
	}
	return nil
}

func (r *tenantRun) deleteAppRole(ctx context.Context, c plan.Change) error {
	name := strings.TrimSuffix(strings.TrimPrefix(c.Address, "appRoleAssignment["), "]")
	for _, a := range r.obs.AppRoleAssignments {
		appID := ""
		for id, rs := range r.obs.ResourceSPs {
			if rs.ObjectID == a.ResourceID {
				appID = id
			}
		}
		if a.PrincipalID == r.spID && resourceName(r.obs, a.ResourceID)+"/"+roleName(appID, spec.PermScope{ID: strings.ToLower(a.AppRoleID)}, r.obs) == name {
			return r.x.o.Graph.DeleteAppRoleAssignment(ctx, r.p.TenantID, a.ResourceID, a.ID)
		}
	}
	return nil
}

func resourceName(obs *plan.Observed, objectID string) string {
	for appID, rs := range obs.ResourceSPs {
		if rs.ObjectID == objectID {
			return spec.AliasFor(appID)
		}
	}
	return objectID
}
