package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/applicationswithappid"
	"github.com/microsoftgraph/msgraph-sdk-go/applicationswithuniquename"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipalswithappid"

	"github.com/useitcloud/uicctl/internal/retry"
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
	// Operator reads the operator app (operator.yaml): its federated identity credentials
	// too, and no AdminAgents group (the home tenant is no partner's).
	Operator bool
}

// What Observe selects: only the properties plan.Observed holds.
var (
	appSelect      = []string{"id", "appId", "displayName", "uniqueName", "signInAudience", "web", "requiredResourceAccess", "passwordCredentials", "createdDateTime"}
	spSelect       = []string{"id", "appId"}
	grantSelect    = []string{"id", "clientId", "resourceId", "consentType", "principalId", "scope"}
	assignSelect   = []string{"id", "principalId", "resourceId", "appRoleId"}
	memberOfSelect = []string{"id"}
	resourceSelect = []string{"id", "appId", "appRoles", "oauth2PermissionScopes"}
)

// adminAgentsFilter finds the Partner Center AdminAgents group, which the partner
// programme creates in every partner tenant.
const adminAgentsFilter = "displayName eq 'AdminAgents'"

// The operations of the observe batch, with the operator permission (OperatorPermissions)
// that allows each. Their Microsoft Learn pages list narrower ones (Application.Read.All,
// Directory.Read.All for grants, GroupMember.Read.All), each implied by one the operator
// needs for apply anyway: requesting them too would only lengthen the consent.
var (
	opReadApp      = operation{"read the application", PermApplicationReadWriteAll}
	opReadSP       = operation{"read the service principal", PermApplicationReadWriteAll}
	opReadGrants   = operation{"read the delegated permission grants", PermDelegatedGrantReadWriteAll}
	opReadAssign   = operation{"read the app role assignments", PermApplicationReadWriteAll}
	opReadMemberOf = operation{"read the service principal's group memberships", PermApplicationReadWriteAll}
	opReadGroups   = operation{"find the AdminAgents group", PermGroupMemberReadWriteAll}
	opReadResource = operation{"read a resource API's service principal", PermApplicationReadWriteAll}
	opBatch        = operation{"read the tenant", PermApplicationReadWriteAll}
	opReadFIC      = operation{"read the application's federated credentials", PermApplicationReadWriteAll}
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
	stepFederated
	stepDefaultPolicy
	stepAppPolicy
)

// step is one request of an observe batch and, once sent, its answer.
type step struct {
	kind stepKind
	op   operation
	ri   *abs.RequestInformation

	status  int
	headers map[string]string
	body    json.RawMessage
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
	o := &observation{c: c, a: a, tenant: tenantID, out: &plan.Observed{TenantID: tenantID}, operator: q.Operator}
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
	var groupsStep, ficStep, defPolicy *step
	if q.Operator {
		ficStep = &step{kind: stepFederated, op: opReadFIC, ri: ficRequest(q, []string{"id", "name", "issuer", "subject", "audiences"})}
		first = append(first, ficStep)
	} else {
		if groupsStep, err = o.groupsStep(ctx); err != nil {
			return nil, err
		}
		first = append(first, groupsStep)
		// The policy that caps a new client secret's lifetime (the operator app has none).
		defPolicy = o.defaultPolicyStep()
		first = append(first, defPolicy)
	}
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
	if groupsStep != nil {
		if err := o.readGroups(groupsStep); err != nil {
			return nil, err
		}
	}
	if ficStep != nil {
		if err := o.readFederated(ctx, ficStep); err != nil {
			return nil, err
		}
	}
	now := time.Now()
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
		// A new application gets the tenant default policy.
		return o.out, o.readPolicies(nil, defPolicy, now)
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
	var appPolicy *step
	for _, s := range spSteps {
		if s.kind == stepAppPolicy {
			appPolicy = s
		}
	}
	if err := o.readPolicies(appPolicy, defPolicy, now); err != nil {
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
	// operator: the operator app (operator.yaml), which has no client secret, so no
	// password policy is read for it.
	operator bool
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
	// The SDK has no builders for navigations after the (appId='…') key, so these are built
	// here. serviceprincipal-list-oauth2permissiongrants documents
	// "GET /servicePrincipals(appId='{appId}')/oauth2PermissionGrants".
	steps := []*step{
		{kind: stepSP, op: opReadSP, ri: ri},
		{kind: stepGrants, op: opReadGrants, ri: navRequest(appID, "oauth2PermissionGrants", grantSelect)},
		// UNCONFIRMED: serviceprincipal-list-approleassignments lists the appId form, but a
		// Microsoft Q&A thread (answers/questions/1190134) reports it answering differently
		// from the id form; not checked against a live tenant.
		{kind: stepAssignments, op: opReadAssign, ri: navRequest(appID, "appRoleAssignments", assignSelect)},
		// UNCONFIRMED: the appId form of memberOf is documented for transitiveMemberOf; for
		// memberOf it was not seen on the page.
		{kind: stepMemberOf, op: opReadMemberOf, ri: navRequest(appID, "memberOf", memberOfSelect)},
	}
	if !o.operator {
		steps = append(steps, o.appPolicyStep(appID))
	}
	return steps, nil
}

// ficRequest lists the app's federated identity credentials through its alternate key
// (application-list-federatedidentitycredentials documents the uniqueName and appId forms).
func ficRequest(q Query, sel []string) *abs.RequestInformation {
	if q.AppID != "" {
		return keyedNav("applications", "appId", q.AppID, "federatedIdentityCredentials", sel)
	}
	return keyedNav("applications", "uniqueName", q.UniqueName, "federatedIdentityCredentials", sel)
}

// readFederated fills the app's federated identity credentials (none when it has no app).
func (o *observation) readFederated(ctx context.Context, s *step) error {
	type ficJSON struct {
		ID        string   `json:"id"`
		Name      string   `json:"name"`
		Issuer    string   `json:"issuer"`
		Subject   string   `json:"subject"`
		Audiences []string `json:"audiences"`
	}
	fics, err := collect[ficJSON](ctx, o, s)
	if err != nil {
		return err
	}
	for _, f := range fics {
		o.out.Federated = append(o.out.Federated, plan.FederatedCredential(f))
	}
	sort.Slice(o.out.Federated, func(i, j int) bool { return o.out.Federated[i].Name < o.out.Federated[j].Name })
	return nil
}

func navRequest(appID, nav string, sel []string) *abs.RequestInformation {
	return keyedNav("servicePrincipals", "appId", appID, nav, sel)
}

// keyedNav GETs the navigation nav of the entity of set whose alternate key is value.
func keyedNav(set, key, value, nav string, sel []string) *abs.RequestInformation {
	ri := abs.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abs.GET,
		"{+baseurl}/"+set+"("+key+"='{key}')/"+nav+"{?%24select}", map[string]string{"key": value})
	ri.AddQueryParameters(struct {
		Select []string `uriparametername:"%24select"`
	}{sel})
	ri.Headers.TryAdd("Accept", "application/json")
	return ri
}

// maxItemRounds bounds how often items answered 429/503/504 inside a $batch are sent (kiota
// retries the $batch request itself, not its items): the budget of a single request.
const maxItemRounds = 11

// batchErrors maps a failed $batch request (not an item) to Graph's error type.
var batchErrors = abs.ErrorMappings{
	"4XX": odataerrors.CreateODataErrorFromDiscriminatorValue,
	"5XX": odataerrors.CreateODataErrorFromDiscriminatorValue,
}

// batchAnswer is one item of a $batch response.
type batchAnswer struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// send runs steps as $batch requests of at most 20 and records each answer. Items that
// Graph throttled inside the batch are sent again after their Retry-After.
//
// The SDK builds the requests and the batch, and sends it through kiota's middleware; the
// answer is decoded with encoding/json into the few fields Observe selected, because
// kiota's parse of it (a node tree, then each item serialised and parsed again into
// models) took most of a tenant's CPU time.
func (o *observation) send(ctx context.Context, steps []*step) error {
	// A $batch of reads is safe to send again after a connection error.
	ctx = retry.Idempotent(ctx)
	op := retry.Start(ctx, "Graph")
	pending := steps
	for round := 0; len(pending) > 0; round++ {
		var wait time.Duration
		var again []*step
		for start := 0; start < len(pending); start += 20 {
			chunk := pending[start:min(start+20, len(pending))]
			batch := msgraphcore.NewBatchRequest(o.a)
			byID := make(map[string]*step, len(chunk))
			for _, s := range chunk {
				item, err := batch.AddBatchRequestStep(*s.ri)
				if err != nil {
					return fmt.Errorf("tenant %s: cannot build the Graph batch: %w", o.tenant, err)
				}
				byID[strOf(item.GetId())] = s
			}
			ri := abs.NewRequestInformation()
			ri.Method = abs.POST
			ri.UrlTemplate = "{+baseurl}/$batch"
			ri.Headers.TryAdd("Accept", "application/json")
			if err := ri.SetContentFromParsable(ctx, o.a, "application/json", batch); err != nil {
				return fmt.Errorf("tenant %s: cannot build the Graph batch: %w", o.tenant, err)
			}
			raw, err := o.a.SendPrimitive(ctx, ri, "[]byte", batchErrors)
			if err != nil {
				return classify(o.tenant, opBatch, 0, err)
			}
			var resp struct {
				Responses []batchAnswer `json:"responses"`
			}
			b, _ := raw.([]byte)
			if err := json.Unmarshal(b, &resp); err != nil {
				return fmt.Errorf("tenant %s: cannot read the Graph batch response: %w", o.tenant, err)
			}
			for _, a := range resp.Responses {
				if s := byID[a.ID]; s != nil {
					s.status, s.headers, s.body = a.Status, a.Headers, a.Body
					delete(byID, a.ID)
				}
			}
			if len(byID) > 0 {
				return fmt.Errorf("tenant %s: the Graph batch response lacks %d answers", o.tenant, len(byID))
			}
			for _, s := range chunk {
				if retryable(s.status) && round+1 < maxItemRounds {
					again = append(again, s)
					wait = max(wait, retryAfter(s.headers))
				}
			}
		}
		if len(again) == 0 {
			return nil
		}
		// Waiting for the longest Retry-After honours them all; past the budget the items
		// keep their 429 and decode makes it a ThrottledError.
		if err := op.Wait(ctx, retry.Throttled, http.StatusTooManyRequests, strconv.FormatFloat(wait.Seconds(), 'f', -1, 64), nil); err != nil {
			var ex *retry.Exhausted
			if errors.As(err, &ex) {
				return nil
			}
			return err
		}
		pending = again
	}
	return nil
}

// retryAfter reads a batch item's Retry-After (retry.Op caps it); without one, 2 s.
func retryAfter(h map[string]string) time.Duration {
	for k, v := range h {
		if strings.EqualFold(k, "Retry-After") {
			if d, ok := retry.ParseRetryAfter(v, time.Now()); ok {
				return d
			}
		}
	}
	return 2 * time.Second
}

// decode reads a step's answer into v. found is false for 404; other failures are typed
// errors.
func (o *observation) decode(s *step, v any) (found bool, err error) {
	if s.status == http.StatusNotFound {
		return false, nil
	}
	if s.status >= 400 {
		return false, classify(o.tenant, s.op, s.status, itemError(s.status, s.headers, s.body))
	}
	if err := json.Unmarshal(s.body, v); err != nil {
		return false, fmt.Errorf("tenant %s: cannot %s: unexpected answer: %w", o.tenant, s.op.what, err)
	}
	return true, nil
}

// The JSON shapes of what Observe selects.
type (
	appJSON struct {
		ID             string `json:"id"`
		AppID          string `json:"appId"`
		DisplayName    string `json:"displayName"`
		UniqueName     string `json:"uniqueName"`
		SignInAudience string `json:"signInAudience"`
		Web            *struct {
			RedirectURIs []string `json:"redirectUris"`
		} `json:"web"`
		RequiredResourceAccess []struct {
			ResourceAppID  string `json:"resourceAppId"`
			ResourceAccess []struct {
				ID   string `json:"id"`
				Type string `json:"type"`
			} `json:"resourceAccess"`
		} `json:"requiredResourceAccess"`
		CreatedDateTime     *time.Time `json:"createdDateTime"`
		PasswordCredentials []struct {
			KeyID         string     `json:"keyId"`
			DisplayName   string     `json:"displayName"`
			Hint          string     `json:"hint"`
			StartDateTime *time.Time `json:"startDateTime"`
			EndDateTime   *time.Time `json:"endDateTime"`
		} `json:"passwordCredentials"`
	}
	spJSON struct {
		ID                     string       `json:"id"`
		AppID                  string       `json:"appId"`
		AppRoles               []permission `json:"appRoles"`
		OAuth2PermissionScopes []permission `json:"oauth2PermissionScopes"`
	}
	permission struct {
		ID    string `json:"id"`
		Value string `json:"value"`
	}
	grantJSON struct {
		ID          string `json:"id"`
		ClientID    string `json:"clientId"`
		ResourceID  string `json:"resourceId"`
		ConsentType string `json:"consentType"`
		PrincipalID string `json:"principalId"`
		Scope       string `json:"scope"`
	}
	assignmentJSON struct {
		ID          string `json:"id"`
		PrincipalID string `json:"principalId"`
		ResourceID  string `json:"resourceId"`
		AppRoleID   string `json:"appRoleId"`
	}
	idJSON struct {
		ID string `json:"id"`
	}
)

// page is a collection response.
type page[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"@odata.nextLink"`
}

func (o *observation) readApp(s *step) error {
	var app appJSON
	found, err := o.decode(s, &app)
	if err != nil || !found {
		return err
	}
	out := &plan.App{
		ObjectID:       app.ID,
		AppID:          app.AppID,
		DisplayName:    app.DisplayName,
		UniqueName:     app.UniqueName,
		SignInAudience: app.SignInAudience,
		RedirectURIs:   []string{},
	}
	if app.CreatedDateTime != nil {
		out.CreatedDateTime = app.CreatedDateTime.UTC()
	}
	if app.Web != nil {
		out.RedirectURIs = append(out.RedirectURIs, app.Web.RedirectURIs...)
	}
	out.RequiredResourceAccess = []plan.ResourceAccess{}
	for _, rra := range app.RequiredResourceAccess {
		ra := plan.ResourceAccess{ResourceAppID: strings.ToLower(rra.ResourceAppID)}
		for _, acc := range rra.ResourceAccess {
			switch acc.Type {
			case "Scope":
				ra.Scopes = append(ra.Scopes, strings.ToLower(acc.ID))
			case "Role":
				ra.Roles = append(ra.Roles, strings.ToLower(acc.ID))
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
	for _, pc := range app.PasswordCredentials {
		p := plan.Password{KeyID: strings.ToLower(pc.KeyID), DisplayName: pc.DisplayName, Hint: pc.Hint}
		if pc.StartDateTime != nil {
			p.StartDateTime = pc.StartDateTime.UTC()
		}
		if pc.EndDateTime != nil {
			p.EndDateTime = pc.EndDateTime.UTC()
		}
		out.Passwords = append(out.Passwords, p)
	}
	sort.Slice(out.Passwords, func(i, j int) bool { return out.Passwords[i].KeyID < out.Passwords[j].KeyID })
	o.out.App = out
	return nil
}

func (o *observation) readGroups(s *step) error {
	var res page[idJSON]
	if _, err := o.decode(s, &res); err != nil {
		return err
	}
	var ids []string
	for _, g := range res.Value {
		ids = append(ids, g.ID)
	}
	sort.Strings(ids)
	if len(ids) > 0 {
		// UNCONFIRMED: a tenant has one AdminAgents group; with several, the lowest id wins.
		o.out.AdminAgents.GroupID = ids[0]
	}
	return nil
}

func (o *observation) readResource(s *step) error {
	var sp spJSON
	found, err := o.decode(s, &sp)
	if err != nil || !found {
		return err
	}
	r := plan.ResourceSP{ObjectID: sp.ID, AppID: strings.ToLower(sp.AppID)}
	for _, sc := range sp.OAuth2PermissionScopes {
		if r.Scopes == nil {
			r.Scopes = map[string]string{}
		}
		r.Scopes[strings.ToLower(sc.ID)] = sc.Value
	}
	for _, role := range sp.AppRoles {
		if r.Roles == nil {
			r.Roles = map[string]string{}
		}
		r.Roles[strings.ToLower(role.ID)] = role.Value
	}
	o.out.ResourceSPs[r.AppID] = r
	return nil
}

// stepOf returns the step of steps of that kind.
func stepOf(steps []*step, kind stepKind) *step {
	for _, s := range steps {
		if s.kind == kind {
			return s
		}
	}
	return nil
}

// readSP fills the service principal, its grants, assignments and AdminAgents membership.
func (o *observation) readSP(ctx context.Context, steps []*step) error {
	spStep, grantStep := stepOf(steps, stepSP), stepOf(steps, stepGrants)
	assignStep, memberStep := stepOf(steps, stepAssignments), stepOf(steps, stepMemberOf)
	var sp spJSON
	found, err := o.decode(spStep, &sp)
	if err != nil || !found {
		return err
	}
	o.out.ServicePrincipal = &plan.ServicePrincipal{ObjectID: sp.ID, AppID: sp.AppID}

	grants, err := collect[grantJSON](ctx, o, grantStep)
	if err != nil {
		return err
	}
	for _, g := range grants {
		scopes := strings.Fields(g.Scope)
		sort.Strings(scopes)
		if scopes == nil {
			scopes = []string{}
		}
		o.out.Grants = append(o.out.Grants, plan.Grant{ID: g.ID, ClientID: g.ClientID, ResourceID: g.ResourceID,
			ConsentType: g.ConsentType, PrincipalID: g.PrincipalID, Scopes: scopes})
	}
	sort.Slice(o.out.Grants, func(i, j int) bool { return o.out.Grants[i].ID < o.out.Grants[j].ID })

	assigns, err := collect[assignmentJSON](ctx, o, assignStep)
	if err != nil {
		return err
	}
	for _, a := range assigns {
		o.out.AppRoleAssignments = append(o.out.AppRoleAssignments, plan.AppRoleAssignment{ID: a.ID,
			PrincipalID: strings.ToLower(a.PrincipalID), ResourceID: strings.ToLower(a.ResourceID), AppRoleID: strings.ToLower(a.AppRoleID)})
	}
	sort.Slice(o.out.AppRoleAssignments, func(i, j int) bool {
		return o.out.AppRoleAssignments[i].ID < o.out.AppRoleAssignments[j].ID
	})

	groups, err := collect[idJSON](ctx, o, memberStep)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if o.out.AdminAgents.GroupID != "" && strings.EqualFold(g.ID, o.out.AdminAgents.GroupID) {
			o.out.AdminAgents.Member = true
		}
	}
	return nil
}

// collect returns every item of a collection step, following @odata.nextLink (more than
// one page is rare here: a page holds 100). A 404 (no service principal) is no items.
func collect[T any](ctx context.Context, o *observation, s *step) ([]T, error) {
	var p page[T]
	found, err := o.decode(s, &p)
	if err != nil || !found {
		return nil, err
	}
	all := p.Value
	for next := p.NextLink; next != ""; next = p.NextLink {
		u, err := url.Parse(next)
		if err != nil {
			return nil, fmt.Errorf("tenant %s: cannot %s: bad next link: %w", o.tenant, s.op.what, err)
		}
		ri := abs.NewRequestInformation()
		ri.Method = abs.GET
		ri.SetUri(*u)
		ri.Headers.TryAdd("Accept", "application/json")
		raw, err := o.a.SendPrimitive(ctx, ri, "[]byte", batchErrors)
		if err != nil {
			return nil, classify(o.tenant, s.op, 0, err)
		}
		b, _ := raw.([]byte)
		p = page[T]{}
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("tenant %s: cannot %s: unexpected answer: %w", o.tenant, s.op.what, err)
		}
		all = append(all, p.Value...)
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
