package entra

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/applicationswithappid"
	"github.com/microsoftgraph/msgraph-sdk-go/applicationswithuniquename"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipalswithappid"

	"github.com/useitcloud/uicctl/pkg/plan"
)

// Query says how the spec finds a tenant's application and what else to read.
type Query struct {
	// UniqueName or AppID, exactly one: the application's alternate key in the spec
	// (AppID for an adopted app).
	UniqueName, AppID string
	// KnownAppID is the appId recorded in the secrets file (clientId), when known: with it
	// the whole tenant is read in one $batch.
	KnownAppID string
	// ResourceAppIDs are the appIds of the resource APIs the spec names.
	ResourceAppIDs []string
}

// What Observe selects: only the properties plan.Observed holds.
var (
	appSelect      = []string{"id", "appId", "displayName", "uniqueName", "signInAudience", "web", "requiredResourceAccess", "passwordCredentials"}
	spSelect       = []string{"id", "appId"}
	grantSelect    = []string{"id", "clientId", "resourceId", "consentType", "principalId", "scope"}
	assignSelect   = []string{"id", "principalId", "resourceId", "appRoleId"}
	memberOfSelect = []string{"id"}
	resourceSelect = []string{"id", "appId", "appRoles", "oauth2PermissionScopes"}
)

// adminAgentsFilter finds the Partner Center AdminAgents group, which the partner
// programme creates in every partner tenant.
const adminAgentsFilter = "displayName eq 'AdminAgents'"

// The operations of the observe batch, with the least-privileged application permission
// their Microsoft Learn pages list.
var (
	opReadApp      = operation{"read the application", "Application.Read.All"}
	opReadSP       = operation{"read the service principal", "Application.Read.All"}
	opReadGrants   = operation{"read the delegated permission grants", "Directory.Read.All"}
	opReadAssign   = operation{"read the app role assignments", "Application.Read.All"}
	opReadMemberOf = operation{"read the service principal's group memberships", "Application.Read.All"}
	opReadGroups   = operation{"find the AdminAgents group", "GroupMember.Read.All"}
	opReadResource = operation{"read a resource API's service principal", "Application.Read.All"}
	opBatch        = operation{"read the tenant", "Application.Read.All"}
)

type stepKind int

const (
	stepApp stepKind = iota
	stepSP
	stepGrants
	stepAssignments
	stepMemberOf
	stepGroups
	stepResource
)

// step is one request of an observe batch and, once sent, its answer.
type step struct {
	kind stepKind
	op   operation
	ri   *abs.RequestInformation

	resp   msgraphcore.BatchResponse
	id     string
	status int
}

// Observe reads tenantID's live state for q. When the appId is known (q.AppID or
// q.KnownAppID) that is one $batch; otherwise a first batch finds the app and, only if it
// exists, a second reads the rest. A missing app or service principal is not an error.
func (c *Client) Observe(ctx context.Context, tenantID string, q Query) (*plan.Observed, error) {
	if (q.UniqueName == "") == (q.AppID == "") {
		return nil, errors.New("observe: exactly one of UniqueName and AppID must be set")
	}
	a, err := c.adapter(tenantID)
	if err != nil {
		return nil, err
	}
	o := &observation{c: c, a: a, tenant: tenantID, out: &plan.Observed{TenantID: tenantID}}
	appID := q.AppID
	if appID == "" {
		appID = q.KnownAppID
	}

	var first []*step
	appStep, err := o.appStep(ctx, q)
	if err != nil {
		return nil, err
	}
	first = append(first, appStep)
	groupsStep, err := o.groupsStep(ctx)
	if err != nil {
		return nil, err
	}
	first = append(first, groupsStep)
	resources := map[string]*step{}
	for _, r := range uniqueSorted(q.ResourceAppIDs) {
		s, err := o.resourceStep(ctx, r)
		if err != nil {
			return nil, err
		}
		resources[r] = s
		first = append(first, s)
	}
	var spSteps []*step
	if appID != "" {
		if spSteps, err = o.spSteps(ctx, appID); err != nil {
			return nil, err
		}
		first = append(first, spSteps...)
	}
	if err := o.send(ctx, first); err != nil {
		return nil, err
	}

	if err := o.readApp(appStep); err != nil {
		return nil, err
	}
	if err := o.readGroups(groupsStep); err != nil {
		return nil, err
	}
	o.out.ResourceSPs = map[string]plan.ResourceSP{}
	for _, s := range resources {
		if err := o.readResource(s); err != nil {
			return nil, err
		}
	}
	if o.out.App == nil {
		if len(o.out.ResourceSPs) == 0 {
			o.out.ResourceSPs = nil
		}
		return o.out, nil
	}
	// The app found may not be the one the secrets file named (deleted and created again
	// under the same uniqueName): then its principal is read in a second batch.
	if live := o.out.App.AppID; live != appID {
		if spSteps, err = o.spSteps(ctx, live); err != nil {
			return nil, err
		}
		if err := o.send(ctx, spSteps); err != nil {
			return nil, err
		}
	}
	if err := o.readSP(ctx, spSteps); err != nil {
		return nil, err
	}
	if err := o.readUnnamedResources(ctx); err != nil {
		return nil, err
	}
	if len(o.out.ResourceSPs) == 0 {
		o.out.ResourceSPs = nil
	}
	return o.out, nil
}

type observation struct {
	c      *Client
	a      *msgraphcore.GraphRequestAdapterBase
	tenant string
	out    *plan.Observed
}

func (o *observation) appStep(ctx context.Context, q Query) (*step, error) {
	var ri *abs.RequestInformation
	var err error
	if q.AppID != "" {
		ri, err = applicationswithappid.NewApplicationsWithAppIdRequestBuilderInternal(map[string]string{}, o.a, &q.AppID).
			ToGetRequestInformation(ctx, &applicationswithappid.ApplicationsWithAppIdRequestBuilderGetRequestConfiguration{
				QueryParameters: &applicationswithappid.ApplicationsWithAppIdRequestBuilderGetQueryParameters{Select: appSelect}})
	} else {
		ri, err = applicationswithuniquename.NewApplicationsWithUniqueNameRequestBuilderInternal(map[string]string{}, o.a, &q.UniqueName).
			ToGetRequestInformation(ctx, &applicationswithuniquename.ApplicationsWithUniqueNameRequestBuilderGetRequestConfiguration{
				QueryParameters: &applicationswithuniquename.ApplicationsWithUniqueNameRequestBuilderGetQueryParameters{Select: appSelect}})
	}
	return &step{kind: stepApp, op: opReadApp, ri: ri}, err
}

func (o *observation) groupsStep(ctx context.Context) (*step, error) {
	filter := adminAgentsFilter
	ri, err := groups.NewGroupsRequestBuilderInternal(map[string]string{}, o.a).ToGetRequestInformation(ctx,
		&groups.GroupsRequestBuilderGetRequestConfiguration{QueryParameters: &groups.GroupsRequestBuilderGetQueryParameters{
			Filter: &filter, Select: []string{"id"}}})
	return &step{kind: stepGroups, op: opReadGroups, ri: ri}, err
}

// resourceStep reads a resource API's service principal by its appId (alternate key).
// One keyed GET per resource rather than a filter with "in": a spec names two or three.
func (o *observation) resourceStep(ctx context.Context, appID string) (*step, error) {
	ri, err := serviceprincipalswithappid.NewServicePrincipalsWithAppIdRequestBuilderInternal(map[string]string{}, o.a, &appID).
		ToGetRequestInformation(ctx, &serviceprincipalswithappid.ServicePrincipalsWithAppIdRequestBuilderGetRequestConfiguration{
			QueryParameters: &serviceprincipalswithappid.ServicePrincipalsWithAppIdRequestBuilderGetQueryParameters{Select: resourceSelect}})
	return &step{kind: stepResource, op: opReadResource, ri: ri}, err
}

// spSteps reads the app's service principal and its navigations through the appId
// alternate key, so that they need not wait for the principal's object id.
func (o *observation) spSteps(ctx context.Context, appID string) ([]*step, error) {
	ri, err := serviceprincipalswithappid.NewServicePrincipalsWithAppIdRequestBuilderInternal(map[string]string{}, o.a, &appID).
		ToGetRequestInformation(ctx, &serviceprincipalswithappid.ServicePrincipalsWithAppIdRequestBuilderGetRequestConfiguration{
			QueryParameters: &serviceprincipalswithappid.ServicePrincipalsWithAppIdRequestBuilderGetQueryParameters{Select: spSelect}})
	if err != nil {
		return nil, err
	}
	// The SDK has no builders for navigations after the (appId='…') key; these are the
	// documented paths: serviceprincipal-list-oauth2permissiongrants,
	// serviceprincipal-list-approleassignments and serviceprincipal-list-memberof all list
	// "GET /servicePrincipals(appId='{appId}')/…".
	return []*step{
		{kind: stepSP, op: opReadSP, ri: ri},
		{kind: stepGrants, op: opReadGrants, ri: navRequest(appID, "oauth2PermissionGrants", grantSelect)},
		{kind: stepAssignments, op: opReadAssign, ri: navRequest(appID, "appRoleAssignments", assignSelect)},
		{kind: stepMemberOf, op: opReadMemberOf, ri: navRequest(appID, "memberOf", memberOfSelect)},
	}, nil
}

func navRequest(appID, nav string, sel []string) *abs.RequestInformation {
	ri := abs.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abs.GET,
		"{+baseurl}/servicePrincipals(appId='{appId}')/"+nav+"{?%24select}", map[string]string{"appId": appID})
	ri.AddQueryParameters(struct {
		Select []string `uriparametername:"%24select"`
	}{sel})
	ri.Headers.TryAdd("Accept", "application/json")
	return ri
}

// maxItemRounds bounds how often items answered 429/503/504 inside a $batch are sent again
// (kiota retries the $batch request itself, not its items).
const maxItemRounds = 4

// send runs steps as $batch requests of at most 20 and records each answer. Items that
// Graph throttled inside the batch are sent again after their Retry-After.
func (o *observation) send(ctx context.Context, steps []*step) error {
	pending := steps
	for round := 0; len(pending) > 0; round++ {
		var wait time.Duration
		var again []*step
		for start := 0; start < len(pending); start += 20 {
			chunk := pending[start:min(start+20, len(pending))]
			batch := msgraphcore.NewBatchRequest(o.a)
			ids := make([]string, len(chunk))
			for i, s := range chunk {
				item, err := batch.AddBatchRequestStep(*s.ri)
				if err != nil {
					return fmt.Errorf("tenant %s: cannot build the Graph batch: %w", o.tenant, err)
				}
				ids[i] = strOf(item.GetId())
			}
			resp, err := batch.Send(ctx, o.a)
			if err != nil {
				return classify(o.tenant, opBatch, 0, err)
			}
			codes := resp.GetStatusCodes()
			for i, s := range chunk {
				s.resp, s.id, s.status = resp, ids[i], int(codes[ids[i]])
				if retryable(s.status) && round+1 < maxItemRounds {
					again = append(again, s)
					wait = max(wait, retryAfter(resp.GetResponseById(ids[i])))
				}
			}
		}
		if len(again) == 0 {
			return nil
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		pending = again
	}
	return nil
}

// retryAfter reads a batch item's Retry-After (seconds); without one, 2 s.
func retryAfter(item msgraphcore.BatchItem) time.Duration {
	for k, v := range item.GetHeaders() {
		if strings.EqualFold(k, "Retry-After") {
			if s, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && s >= 0 {
				return min(time.Duration(s*float64(time.Second)), time.Minute)
			}
		}
	}
	return 2 * time.Second
}

// result parses a step's answer. found is false for 404; other failures are typed errors.
func result[T absser.Parsable](o *observation, s *step, ctor absser.ParsableFactory) (v T, found bool, err error) {
	if s.status == http.StatusNotFound {
		return v, false, nil
	}
	v, err = msgraphcore.GetBatchResponseById[T](s.resp, s.id, ctor)
	if err != nil || s.status >= 400 {
		if err == nil {
			err = fmt.Errorf("status %d", s.status)
		}
		return v, false, classify(o.tenant, s.op, s.status, err)
	}
	return v, true, nil
}

func (o *observation) readApp(s *step) error {
	app, found, err := result[models.Applicationable](o, s, models.CreateApplicationFromDiscriminatorValue)
	if err != nil || !found {
		return err
	}
	out := &plan.App{
		ObjectID:       strOf(app.GetId()),
		AppID:          strOf(app.GetAppId()),
		DisplayName:    strOf(app.GetDisplayName()),
		UniqueName:     strOf(app.GetUniqueName()),
		SignInAudience: strOf(app.GetSignInAudience()),
		RedirectURIs:   []string{},
	}
	if web := app.GetWeb(); web != nil && web.GetRedirectUris() != nil {
		out.RedirectURIs = append(out.RedirectURIs, web.GetRedirectUris()...)
	}
	out.RequiredResourceAccess = []plan.ResourceAccess{}
	for _, rra := range app.GetRequiredResourceAccess() {
		ra := plan.ResourceAccess{ResourceAppID: strOf(rra.GetResourceAppId())}
		for _, acc := range rra.GetResourceAccess() {
			if acc.GetId() == nil {
				continue
			}
			switch strOf(acc.GetTypeEscaped()) {
			case "Scope":
				ra.Scopes = append(ra.Scopes, acc.GetId().String())
			case "Role":
				ra.Roles = append(ra.Roles, acc.GetId().String())
			}
		}
		sort.Strings(ra.Scopes)
		sort.Strings(ra.Roles)
		out.RequiredResourceAccess = append(out.RequiredResourceAccess, ra)
	}
	sort.SliceStable(out.RequiredResourceAccess, func(i, j int) bool {
		return out.RequiredResourceAccess[i].ResourceAppID < out.RequiredResourceAccess[j].ResourceAppID
	})
	out.Passwords = []plan.Password{}
	for _, pc := range app.GetPasswordCredentials() {
		p := plan.Password{DisplayName: strOf(pc.GetDisplayName()), Hint: strOf(pc.GetHint())}
		if pc.GetKeyId() != nil {
			p.KeyID = pc.GetKeyId().String()
		}
		if t := pc.GetStartDateTime(); t != nil {
			p.StartDateTime = t.UTC()
		}
		if t := pc.GetEndDateTime(); t != nil {
			p.EndDateTime = t.UTC()
		}
		out.Passwords = append(out.Passwords, p)
	}
	sort.Slice(out.Passwords, func(i, j int) bool { return out.Passwords[i].KeyID < out.Passwords[j].KeyID })
	o.out.App = out
	return nil
}

func (o *observation) readGroups(s *step) error {
	res, _, err := result[models.GroupCollectionResponseable](o, s, models.CreateGroupCollectionResponseFromDiscriminatorValue)
	if err != nil || res == nil {
		return err
	}
	var ids []string
	for _, g := range res.GetValue() {
		ids = append(ids, strOf(g.GetId()))
	}
	sort.Strings(ids)
	if len(ids) > 0 {
		// UNCONFIRMED: a tenant has one AdminAgents group; with several, the lowest id wins.
		o.out.AdminAgents.GroupID = ids[0]
	}
	return nil
}

func (o *observation) readResource(s *step) error {
	sp, found, err := result[models.ServicePrincipalable](o, s, models.CreateServicePrincipalFromDiscriminatorValue)
	if err != nil || !found {
		return err
	}
	o.addResource(sp)
	return nil
}

func (o *observation) addResource(sp models.ServicePrincipalable) {
	r := plan.ResourceSP{ObjectID: strOf(sp.GetId()), AppID: strOf(sp.GetAppId())}
	for _, sc := range sp.GetOauth2PermissionScopes() {
		if sc.GetId() != nil {
			if r.Scopes == nil {
				r.Scopes = map[string]string{}
			}
			r.Scopes[sc.GetId().String()] = strOf(sc.GetValue())
		}
	}
	for _, role := range sp.GetAppRoles() {
		if role.GetId() != nil {
			if r.Roles == nil {
				r.Roles = map[string]string{}
			}
			r.Roles[role.GetId().String()] = strOf(role.GetValue())
		}
	}
	o.out.ResourceSPs[r.AppID] = r
}

// readSP fills the service principal, its grants, assignments and AdminAgents membership.
func (o *observation) readSP(ctx context.Context, steps []*step) error {
	var spStep, grantStep, assignStep, memberStep *step
	for _, s := range steps {
		switch s.kind {
		case stepSP:
			spStep = s
		case stepGrants:
			grantStep = s
		case stepAssignments:
			assignStep = s
		case stepMemberOf:
			memberStep = s
		}
	}
	sp, found, err := result[models.ServicePrincipalable](o, spStep, models.CreateServicePrincipalFromDiscriminatorValue)
	if err != nil || !found {
		return err
	}
	o.out.ServicePrincipal = &plan.ServicePrincipal{ObjectID: strOf(sp.GetId()), AppID: strOf(sp.GetAppId())}

	grants, _, err := result[models.OAuth2PermissionGrantCollectionResponseable](o, grantStep,
		models.CreateOAuth2PermissionGrantCollectionResponseFromDiscriminatorValue)
	if err != nil {
		return err
	}
	if grants != nil {
		all, err := collect[models.OAuth2PermissionGrantable](ctx, o, grants, grantStep.op, models.CreateOAuth2PermissionGrantCollectionResponseFromDiscriminatorValue)
		if err != nil {
			return err
		}
		for _, g := range all {
			scopes := strings.Fields(strOf(g.GetScope()))
			sort.Strings(scopes)
			if scopes == nil {
				scopes = []string{}
			}
			o.out.Grants = append(o.out.Grants, plan.Grant{ID: strOf(g.GetId()), ClientID: strOf(g.GetClientId()),
				ResourceID: strOf(g.GetResourceId()), ConsentType: strOf(g.GetConsentType()),
				PrincipalID: strOf(g.GetPrincipalId()), Scopes: scopes})
		}
		sort.Slice(o.out.Grants, func(i, j int) bool { return o.out.Grants[i].ID < o.out.Grants[j].ID })
	}

	assigns, _, err := result[models.AppRoleAssignmentCollectionResponseable](o, assignStep,
		models.CreateAppRoleAssignmentCollectionResponseFromDiscriminatorValue)
	if err != nil {
		return err
	}
	if assigns != nil {
		all, err := collect[models.AppRoleAssignmentable](ctx, o, assigns, assignStep.op, models.CreateAppRoleAssignmentCollectionResponseFromDiscriminatorValue)
		if err != nil {
			return err
		}
		for _, a := range all {
			ar := plan.AppRoleAssignment{ID: strOf(a.GetId())}
			if a.GetPrincipalId() != nil {
				ar.PrincipalID = a.GetPrincipalId().String()
			}
			if a.GetResourceId() != nil {
				ar.ResourceID = a.GetResourceId().String()
			}
			if a.GetAppRoleId() != nil {
				ar.AppRoleID = a.GetAppRoleId().String()
			}
			o.out.AppRoleAssignments = append(o.out.AppRoleAssignments, ar)
		}
		sort.Slice(o.out.AppRoleAssignments, func(i, j int) bool {
			return o.out.AppRoleAssignments[i].ID < o.out.AppRoleAssignments[j].ID
		})
	}

	member, _, err := result[models.DirectoryObjectCollectionResponseable](o, memberStep,
		models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue)
	if err != nil {
		return err
	}
	if member != nil && o.out.AdminAgents.GroupID != "" {
		all, err := collect[models.DirectoryObjectable](ctx, o, member, memberStep.op, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue)
		if err != nil {
			return err
		}
		for _, d := range all {
			if strings.EqualFold(strOf(d.GetId()), o.out.AdminAgents.GroupID) {
				o.out.AdminAgents.Member = true
			}
		}
	}
	return nil
}

// collect returns every item of a collection, following @odata.nextLink (more than one
// page is rare here: a page holds 100).
func collect[T any](ctx context.Context, o *observation, first absser.Parsable, op operation, ctor absser.ParsableFactory) ([]T, error) {
	it, err := msgraphcore.NewPageIterator[T](first, o.a, ctor)
	if err != nil {
		return nil, fmt.Errorf("tenant %s: cannot %s: %w", o.tenant, op.what, err)
	}
	var all []T
	err = it.Iterate(ctx, func(v T) bool {
		all = append(all, v)
		return true
	})
	if err != nil {
		return nil, classify(o.tenant, op, 0, err)
	}
	return all, nil
}

// readUnnamedResources reads the service principals that grants or assignments point at
// but the spec does not name, so that plan can show their permissions by value. It costs
// a round trip only when such items exist (drift).
func (o *observation) readUnnamedResources(ctx context.Context) error {
	known := map[string]bool{}
	for _, r := range o.out.ResourceSPs {
		known[r.ObjectID] = true
	}
	var ids []string
	for _, g := range o.out.Grants {
		ids = append(ids, g.ResourceID)
	}
	for _, a := range o.out.AppRoleAssignments {
		ids = append(ids, a.ResourceID)
	}
	var steps []*step
	for _, id := range uniqueSorted(ids) {
		if known[id] || id == "" {
			continue
		}
		ri, err := serviceprincipals.NewServicePrincipalsRequestBuilderInternal(map[string]string{}, o.a).ByServicePrincipalId(id).
			ToGetRequestInformation(ctx, &serviceprincipals.ServicePrincipalItemRequestBuilderGetRequestConfiguration{
				QueryParameters: &serviceprincipals.ServicePrincipalItemRequestBuilderGetQueryParameters{Select: resourceSelect}})
		if err != nil {
			return err
		}
		steps = append(steps, &step{kind: stepResource, op: opReadResource, ri: ri})
	}
	if len(steps) == 0 {
		return nil
	}
	if err := o.send(ctx, steps); err != nil {
		return err
	}
	for _, s := range steps {
		if err := o.readResource(s); err != nil {
			return err
		}
	}
	return nil
}

func uniqueSorted(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
