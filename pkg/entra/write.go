package entra

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	abs "github.com/microsoft/kiota-abstractions-go"
	khttp "github.com/microsoft/kiota-http-go"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/applicationswithappid"
	"github.com/microsoftgraph/msgraph-sdk-go/applicationswithuniquename"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/oauth2permissiongrants"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipalswithappid"

	"github.com/useitcloud/uicctl/internal/retry"
	"github.com/useitcloud/uicctl/pkg/plan"
)

// Every write below is safe to call again after any failure, including one whose answer
// was lost: creates are upserts or find what a first try made, deletes of what is gone
// succeed. addPassword is the exception Graph imposes (each call makes a new secret): the
// caller records its keyId and removes what it cannot store.

var (
	opUpsertApp      = operation{"create or update the application", PermApplicationReadWriteAll}
	opAddPassword    = operation{"add a client secret", PermApplicationReadWriteAll}
	opRemovePassword = operation{"remove a client secret", PermApplicationReadWriteAll}
	opCreateSP       = operation{"create the service principal", PermApplicationReadWriteAll}
	opWriteGrant     = operation{"write a delegated permission grant", PermDelegatedGrantReadWriteAll}
	opWriteAssign    = operation{"write an app role assignment", PermAppRoleAssignmentReadWriteAll}
	opAddMember      = operation{"add the service principal to AdminAgents", PermGroupMemberReadWriteAll}
)

// AppKey is how the spec identifies the application: UniqueName (upserted with
// Prefer: create-if-missing) or AppID (an adopted app, updated only). Exactly one is set.
type AppKey struct{ UniqueName, AppID string }

// AppSpec is the desired application. Collections are written whole: what is not listed
// is removed from the app.
type AppSpec struct {
	DisplayName            string
	SignInAudience         string
	RedirectURIs           []string
	RequiredResourceAccess []plan.ResourceAccess
}

// AppRef identifies an application in a tenant.
type AppRef struct {
	ObjectID, AppID string
	Created         bool // this call created it
}

// UpsertApplication creates the application or brings its properties to a, in one PATCH
// by alternate key. A retried create cannot make a second app: the key is the identity.
func (c *Client) UpsertApplication(ctx context.Context, tenantID string, key AppKey, a AppSpec) (AppRef, error) {
	if (key.UniqueName == "") == (key.AppID == "") {
		return AppRef{}, errors.New("upsert application: exactly one of UniqueName and AppID must be set")
	}
	// A PATCH by alternate key is an upsert: sending it again after a lost answer is safe.
	ctx = retry.Idempotent(ctx)
	ad, err := c.adapter(tenantID)
	if err != nil {
		return AppRef{}, err
	}
	body := appBody(a)
	var res models.Applicationable
	if key.UniqueName != "" {
		h := abs.NewRequestHeaders()
		h.Add("Prefer", "create-if-missing")
		// settle: a 409 while a create by another run is still replicating.
		err = c.settle(ctx, func(ctx context.Context) error {
			var err error
			res, err = applicationswithuniquename.NewApplicationsWithUniqueNameRequestBuilderInternal(map[string]string{}, ad, &key.UniqueName).
				Patch(ctx, body, &applicationswithuniquename.ApplicationsWithUniqueNameRequestBuilderPatchRequestConfiguration{Headers: h})
			return err
		})
	} else {
		// An adopted app exists before uicctl sees it: a 404 means it is not there, not
		// that it is replicating.
		res, err = applicationswithappid.NewApplicationsWithAppIdRequestBuilderInternal(map[string]string{}, ad, &key.AppID).
			Patch(ctx, body, nil)
	}
	if err != nil {
		return AppRef{}, classify(tenantID, opUpsertApp, 0, err)
	}
	if res != nil { // 201: created, with the object
		return AppRef{ObjectID: strOf(res.GetId()), AppID: strOf(res.GetAppId()), Created: true}, nil
	}
	// 204: it existed and was updated; read its ids.
	var got models.Applicationable
	err = c.settle(ctx, func(ctx context.Context) error {
		var err error
		if key.UniqueName != "" {
			got, err = applicationswithuniquename.NewApplicationsWithUniqueNameRequestBuilderInternal(map[string]string{}, ad, &key.UniqueName).
				Get(ctx, &applicationswithuniquename.ApplicationsWithUniqueNameRequestBuilderGetRequestConfiguration{
					QueryParameters: &applicationswithuniquename.ApplicationsWithUniqueNameRequestBuilderGetQueryParameters{Select: []string{"id", "appId"}}})
		} else {
			got, err = applicationswithappid.NewApplicationsWithAppIdRequestBuilderInternal(map[string]string{}, ad, &key.AppID).
				Get(ctx, &applicationswithappid.ApplicationsWithAppIdRequestBuilderGetRequestConfiguration{
					QueryParameters: &applicationswithappid.ApplicationsWithAppIdRequestBuilderGetQueryParameters{Select: []string{"id", "appId"}}})
		}
		return err
	})
	if err != nil {
		return AppRef{}, classify(tenantID, opReadApp, 0, err)
	}
	return AppRef{ObjectID: strOf(got.GetId()), AppID: strOf(got.GetAppId())}, nil
}

func appBody(a AppSpec) models.Applicationable {
	app := models.NewApplication()
	app.SetDisplayName(&a.DisplayName)
	if a.SignInAudience != "" {
		app.SetSignInAudience(&a.SignInAudience)
	}
	web := models.NewWebApplication()
	web.SetRedirectUris(append([]string{}, a.RedirectURIs...))
	app.SetWeb(web)
	rras := []models.RequiredResourceAccessable{}
	for _, r := range a.RequiredResourceAccess {
		rra := models.NewRequiredResourceAccess()
		rra.SetResourceAppId(&r.ResourceAppID)
		acc := []models.ResourceAccessable{}
		for _, set := range []struct {
			typ string
			ids []string
		}{{"Scope", r.Scopes}, {"Role", r.Roles}} {
			for _, id := range set.ids {
				u, err := uuid.Parse(id)
				if err != nil {
					continue // the spec validated permission ids; an unparsable one cannot be sent
				}
				ra := models.NewResourceAccess()
				ra.SetId(&u)
				typ := set.typ
				ra.SetTypeEscaped(&typ)
				acc = append(acc, ra)
			}
		}
		rra.SetResourceAccess(acc)
		rras = append(rras, rra)
	}
	app.SetRequiredResourceAccess(rras)
	return app
}

// NewPassword is a client secret addPassword created. Secret is its value, returned once
// by Graph: store it, never log it.
type NewPassword struct {
	KeyID                      string
	Secret                     string
	Hint                       string
	StartDateTime, EndDateTime time.Time
}

// AddPassword adds a client secret to the application (object id) ending at end (zero:
// Graph's default, two years). Not idempotent: each call creates a secret.
func (c *Client) AddPassword(ctx context.Context, tenantID, appObjectID, displayName string, end time.Time) (NewPassword, error) {
	ad, err := c.adapter(tenantID)
	if err != nil {
		return NewPassword{}, err
	}
	body := applications.NewItemAddPasswordPostRequestBody()
	pc := models.NewPasswordCredential()
	pc.SetDisplayName(&displayName)
	if !end.IsZero() {
		e := end.UTC()
		pc.SetEndDateTime(&e)
	}
	body.SetPasswordCredential(pc)
	var res models.PasswordCredentialable
	// A 504 may come after Graph made the secret: sending the request again would make a
	// second one, known to nobody. 429 and 503 are answered before acting, so retryHandler may
	// retry those; the 404 of an app created moments ago means nothing was made either.
	cfg := &applications.ItemAddPasswordRequestBuilderPostRequestConfiguration{Options: []abs.RequestOption{
		&khttp.RetryHandlerOptions{MaxRetries: c.maxRetries,
			ShouldRetry: func(_ time.Duration, _ int, _ *http.Request, res *http.Response) bool {
				return res.StatusCode != http.StatusGatewayTimeout
			}},
	}}
	err = c.settle(ctx, func(ctx context.Context) error {
		var err error
		res, err = applications.NewApplicationsRequestBuilderInternal(map[string]string{}, ad).
			ByApplicationId(appObjectID).AddPassword().Post(ctx, body, cfg)
		if retry.Transient(err) {
			// The connection broke: Graph may have made the secret, whose value nobody will
			// ever see again. Observe instead of guessing: remove what this call may have
			// made (its display name and end date), then make it again.
			if rerr := c.removeLostPasswords(ctx, ad, appObjectID, displayName, end); rerr != nil {
				return fmt.Errorf("%w (and checking for a secret it may have made failed: %w)", err, rerr)
			}
			return errLostAnswer
		}
		return err
	})
	if err != nil {
		return NewPassword{}, classify(tenantID, opAddPassword, 0, err)
	}
	out := NewPassword{Secret: strOf(res.GetSecretText()), Hint: strOf(res.GetHint())}
	if res.GetKeyId() != nil {
		out.KeyID = res.GetKeyId().String()
	}
	if t := res.GetStartDateTime(); t != nil {
		out.StartDateTime = t.UTC()
	}
	if t := res.GetEndDateTime(); t != nil {
		out.EndDateTime = t.UTC()
	}
	if out.KeyID == "" || out.Secret == "" {
		return NewPassword{}, fmt.Errorf("tenant %s: cannot %s: Graph returned no keyId or secret", tenantID, opAddPassword.what)
	}
	return out, nil
}

// removeLostPasswords removes the application's password credentials that an addPassword
// whose answer was lost may have made: those with its display name and end date (apply
// sets the end to the second, so an older secret of the same name does not match).
func (c *Client) removeLostPasswords(ctx context.Context, ad abs.RequestAdapter, appObjectID, displayName string, end time.Time) error {
	if end.IsZero() {
		return errors.New("no end date to recognise the secret by")
	}
	ctx = retry.Idempotent(ctx)
	app, err := applications.NewApplicationsRequestBuilderInternal(map[string]string{}, ad).ByApplicationId(appObjectID).
		Get(ctx, &applications.ApplicationItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &applications.ApplicationItemRequestBuilderGetQueryParameters{Select: []string{"passwordCredentials"}}})
	if err != nil {
		return err
	}
	for _, pc := range app.GetPasswordCredentials() {
		if strOf(pc.GetDisplayName()) != displayName || pc.GetEndDateTime() == nil || pc.GetKeyId() == nil ||
			!pc.GetEndDateTime().UTC().Truncate(time.Second).Equal(end.UTC().Truncate(time.Second)) {
			continue
		}
		body := applications.NewItemRemovePasswordPostRequestBody()
		body.SetKeyId(pc.GetKeyId())
		err := applications.NewApplicationsRequestBuilderInternal(map[string]string{}, ad).
			ByApplicationId(appObjectID).RemovePassword().Post(ctx, body, nil)
		if f, ok := failureOf(err); ok && f.status == http.StatusBadRequest {
			continue // removed already
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// RemovePassword removes the client secret keyID from the application. A secret that is
// already gone is not an error.
func (c *Client) RemovePassword(ctx context.Context, tenantID, appObjectID, keyID string) error {
	ad, err := c.adapter(tenantID)
	if err != nil {
		return err
	}
	k, err := uuid.Parse(keyID)
	if err != nil {
		return fmt.Errorf("remove password: keyId %q is not a GUID", keyID)
	}
	body := applications.NewItemRemovePasswordPostRequestBody()
	body.SetKeyId(&k)
	ctx = retry.Idempotent(ctx) // a second removal finds it gone, which is no error
	err = c.settle(ctx, func(ctx context.Context) error {
		err := applications.NewApplicationsRequestBuilderInternal(map[string]string{}, ad).
			ByApplicationId(appObjectID).RemovePassword().Post(ctx, body, nil)
		if f, ok := failureOf(err); ok && f.status == http.StatusBadRequest && strings.Contains(strings.ToLower(f.message), "keyid") {
			return nil // "No password credential found with keyId": removed already
		}
		return err
	})
	if err != nil {
		return classify(tenantID, opRemovePassword, 0, err)
	}
	return nil
}

// EnsureServicePrincipal creates the application's service principal in the tenant, or
// finds the one that exists, and returns its object id.
func (c *Client) EnsureServicePrincipal(ctx context.Context, tenantID, appID string) (string, error) {
	ad, err := c.adapter(tenantID)
	if err != nil {
		return "", err
	}
	sp := models.NewServicePrincipal()
	sp.SetAppId(&appID)
	ctx = retry.Idempotent(ctx) // a second create answers 409, which is resolved below
	var id string
	err = c.settle(ctx, func(ctx context.Context) error {
		res, err := serviceprincipals.NewServicePrincipalsRequestBuilderInternal(map[string]string{}, ad).Post(ctx, sp, nil)
		if err == nil {
			id = strOf(res.GetId())
			return nil
		}
		if f, ok := failureOf(err); !ok || f.status != http.StatusConflict {
			return err
		}
		// 409: it exists (a first try whose answer was lost, or another run). Read it; a
		// 404 now means it has not replicated to this replica yet, which settle retries.
		got, err := serviceprincipalswithappid.NewServicePrincipalsWithAppIdRequestBuilderInternal(map[string]string{}, ad, &appID).
			Get(ctx, &serviceprincipalswithappid.ServicePrincipalsWithAppIdRequestBuilderGetRequestConfiguration{
				QueryParameters: &serviceprincipalswithappid.ServicePrincipalsWithAppIdRequestBuilderGetQueryParameters{Select: []string{"id"}}})
		if err != nil {
			return err
		}
		id = strOf(got.GetId())
		return nil
	})
	if err != nil {
		return "", classify(tenantID, opCreateSP, 0, err)
	}
	return id, nil
}

// EnsureGrant makes the AllPrincipals delegated grant of client (service principal id) on
// resource (service principal id) carry exactly scopes, creating it if needed, and returns
// its id.
func (c *Client) EnsureGrant(ctx context.Context, tenantID, clientSPID, resourceSPID string, scopes []string) (string, error) {
	ad, err := c.adapter(tenantID)
	if err != nil {
		return "", err
	}
	scope := joinScopes(scopes)
	g := models.NewOAuth2PermissionGrant()
	g.SetClientId(&clientSPID)
	g.SetResourceId(&resourceSPID)
	consent := "AllPrincipals"
	g.SetConsentType(&consent)
	g.SetScope(&scope)
	builder := oauth2permissiongrants.NewOauth2PermissionGrantsRequestBuilderInternal(map[string]string{}, ad)
	ctx = retry.Idempotent(ctx) // a second create answers 409, which is resolved below
	var id string
	err = c.settle(ctx, func(ctx context.Context) error {
		res, err := builder.Post(ctx, g, nil)
		if err == nil {
			id = strOf(res.GetId())
			return nil
		}
		if f, ok := failureOf(err); !ok || f.status != http.StatusConflict {
			return err
		}
		// "Permission entry already exists": find it and set its scope.
		filter := fmt.Sprintf("clientId eq '%s' and consentType eq 'AllPrincipals' and resourceId eq '%s'", clientSPID, resourceSPID)
		list, err := builder.Get(ctx, &oauth2permissiongrants.Oauth2PermissionGrantsRequestBuilderGetRequestConfiguration{
			QueryParameters: &oauth2permissiongrants.Oauth2PermissionGrantsRequestBuilderGetQueryParameters{Filter: &filter}})
		if err != nil {
			return err
		}
		if len(list.GetValue()) == 0 {
			return errNotReplicated
		}
		existing := list.GetValue()[0]
		id = strOf(existing.GetId())
		if joinScopes(strings.Fields(strOf(existing.GetScope()))) == scope {
			return nil
		}
		return c.patchGrant(ctx, ad, id, scope)
	})
	if err != nil {
		return "", classify(tenantID, opWriteGrant, 0, err)
	}
	return id, nil
}

// UpdateGrant sets the scopes of the grant id.
func (c *Client) UpdateGrant(ctx context.Context, tenantID, grantID string, scopes []string) error {
	ad, err := c.adapter(tenantID)
	if err != nil {
		return err
	}
	scope := joinScopes(scopes)
	ctx = retry.Idempotent(ctx) // a PATCH of the scope
	if err := c.settle(ctx, func(ctx context.Context) error { return c.patchGrant(ctx, ad, grantID, scope) }); err != nil {
		return classify(tenantID, opWriteGrant, 0, err)
	}
	return nil
}

func (c *Client) patchGrant(ctx context.Context, ad abs.RequestAdapter, id, scope string) error {
	g := models.NewOAuth2PermissionGrant()
	g.SetScope(&scope)
	_, err := oauth2permissiongrants.NewOauth2PermissionGrantsRequestBuilderInternal(map[string]string{}, ad).
		ByOAuth2PermissionGrantId(id).Patch(ctx, g, nil)
	return err
}

// DeleteGrant deletes the grant id; one that is gone already is not an error.
func (c *Client) DeleteGrant(ctx context.Context, tenantID, grantID string) error {
	ad, err := c.adapter(tenantID)
	if err != nil {
		return err
	}
	err = oauth2permissiongrants.NewOauth2PermissionGrantsRequestBuilderInternal(map[string]string{}, ad).
		ByOAuth2PermissionGrantId(grantID).Delete(ctx, nil)
	if f, ok := failureOf(err); ok && f.status == http.StatusNotFound {
		return nil
	}
	if err != nil {
		return classify(tenantID, opWriteGrant, 0, err)
	}
	return nil
}

// EnsureAppRoleAssignment grants the app role appRoleID of resource (service principal
// id) to principal (service principal id), or finds the assignment that exists, and
// returns its id.
func (c *Client) EnsureAppRoleAssignment(ctx context.Context, tenantID, principalSPID, resourceSPID, appRoleID string) (string, error) {
	ad, err := c.adapter(tenantID)
	if err != nil {
		return "", err
	}
	pid, err1 := uuid.Parse(principalSPID)
	rid, err2 := uuid.Parse(resourceSPID)
	role, err3 := uuid.Parse(appRoleID)
	if err := errors.Join(err1, err2, err3); err != nil {
		return "", fmt.Errorf("app role assignment: %w", err)
	}
	a := models.NewAppRoleAssignment()
	a.SetPrincipalId(&pid)
	a.SetResourceId(&rid)
	a.SetAppRoleId(&role)
	sps := serviceprincipals.NewServicePrincipalsRequestBuilderInternal(map[string]string{}, ad)
	var id string
	err = c.settle(ctx, func(ctx context.Context) error {
		// Find first: Graph refuses a duplicate with a 400 whose text is not documented.
		// The principal's own assignments are few (one per application permission).
		list, err := sps.ByServicePrincipalId(principalSPID).AppRoleAssignments().Get(ctx, nil)
		if err != nil {
			return err
		}
		for _, x := range list.GetValue() {
			if x.GetAppRoleId() != nil && *x.GetAppRoleId() == role && x.GetResourceId() != nil && *x.GetResourceId() == rid {
				id = strOf(x.GetId())
				return nil
			}
		}
		res, err := sps.ByServicePrincipalId(resourceSPID).AppRoleAssignedTo().Post(ctx, a, nil)
		if retry.Transient(err) {
			// The answer was lost, not necessarily the assignment: a duplicate is refused
			// with an undocumented 400, so look again (the list above) before posting.
			return errLostAnswer
		}
		if err != nil {
			return err
		}
		id = strOf(res.GetId())
		return nil
	})
	if err != nil {
		return "", classify(tenantID, opWriteAssign, 0, err)
	}
	return id, nil
}

// DeleteAppRoleAssignment removes the assignment id from resource (service principal
// id); one that is gone already is not an error.
func (c *Client) DeleteAppRoleAssignment(ctx context.Context, tenantID, resourceSPID, assignmentID string) error {
	ad, err := c.adapter(tenantID)
	if err != nil {
		return err
	}
	err = serviceprincipals.NewServicePrincipalsRequestBuilderInternal(map[string]string{}, ad).ByServicePrincipalId(resourceSPID).
		AppRoleAssignedTo().ByAppRoleAssignmentId(assignmentID).Delete(ctx, nil)
	// Gone already: 404, or the directory's 400 "EntitlementGrant being updated or deleted
	// is not found".
	if f, ok := failureOf(err); ok && (f.status == http.StatusNotFound ||
		f.status == http.StatusBadRequest && strings.Contains(strings.ToLower(f.message), "not found")) {
		return nil
	}
	if err != nil {
		return classify(tenantID, opWriteAssign, 0, err)
	}
	return nil
}

// AddGroupMember adds the directory object memberID to the group groupID (AdminAgents);
// a member already there is not an error.
func (c *Client) AddGroupMember(ctx context.Context, tenantID, groupID, memberID string) error {
	ad, err := c.adapter(tenantID)
	if err != nil {
		return err
	}
	ref := models.NewReferenceCreate()
	odataID := c.cloud.Graph + "/directoryObjects/" + memberID
	ref.SetOdataId(&odataID)
	ctx = retry.Idempotent(ctx) // a second add answers "already exist", which is no error
	err = c.settle(ctx, func(ctx context.Context) error {
		err := groups.NewGroupsRequestBuilderInternal(map[string]string{}, ad).ByGroupId(groupID).Members().Ref().Post(ctx, ref, nil)
		if f, ok := failureOf(err); ok && f.status == http.StatusBadRequest &&
			strings.Contains(f.message, "added object references already exist") {
			return nil
		}
		return err
	})
	if err != nil {
		return classify(tenantID, opAddMember, 0, err)
	}
	return nil
}

// joinScopes is the scope value of a grant: space-separated, sorted, without repeats.
func joinScopes(scopes []string) string {
	return strings.Join(uniqueSorted(scopes), " ")
}

var opWriteFIC = operation{"write a federated credential of the application", PermApplicationReadWriteAll}

// FederatedCredential is a federated identity credential of an application.
type FederatedCredential struct{ Name, Issuer, Subject, Audience string }

// EnsureFederatedCredential creates the credential named fc.Name on the application, or
// brings it to fc when it exists (a retried create answered 409). Its name is its identity.
func (c *Client) EnsureFederatedCredential(ctx context.Context, tenantID, appObjectID string, fc FederatedCredential) error {
	ad, err := c.adapter(tenantID)
	if err != nil {
		return err
	}
	body := models.NewFederatedIdentityCredential()
	body.SetName(&fc.Name)
	body.SetIssuer(&fc.Issuer)
	body.SetSubject(&fc.Subject)
	body.SetAudiences([]string{fc.Audience})
	fics := applications.NewApplicationsRequestBuilderInternal(map[string]string{}, ad).ByApplicationId(appObjectID).FederatedIdentityCredentials()
	// settle: the application may have been created moments ago (404 until it replicates).
	err = c.settle(ctx, func(ctx context.Context) error {
		_, err := fics.Post(ctx, body, nil)
		if f, ok := failureOf(err); ok && f.status == http.StatusConflict {
			update := models.NewFederatedIdentityCredential()
			update.SetIssuer(&fc.Issuer)
			update.SetSubject(&fc.Subject)
			update.SetAudiences([]string{fc.Audience})
			_, err = fics.ByFederatedIdentityCredentialId(fc.Name).Patch(ctx, update, nil)
		}
		return err
	})
	if err != nil {
		return classify(tenantID, opWriteFIC, 0, err)
	}
	return nil
}

// DeleteFederatedCredential removes the credential named name; one already gone is no error.
func (c *Client) DeleteFederatedCredential(ctx context.Context, tenantID, appObjectID, name string) error {
	ad, err := c.adapter(tenantID)
	if err != nil {
		return err
	}
	err = applications.NewApplicationsRequestBuilderInternal(map[string]string{}, ad).ByApplicationId(appObjectID).
		FederatedIdentityCredentials().ByFederatedIdentityCredentialId(name).Delete(ctx, nil)
	if f, ok := failureOf(err); ok && f.status == http.StatusNotFound {
		return nil
	}
	if err != nil {
		return classify(tenantID, opWriteFIC, 0, err)
	}
	return nil
}
