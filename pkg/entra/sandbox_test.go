package entra

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/google/uuid"
	abs "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	graphauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	kjson "github.com/microsoft/kiota-serialization-json-go"
	ktext "github.com/microsoft/kiota-serialization-text-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/applicationswithuniquename"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/models/partners/billing"
	"github.com/microsoftgraph/msgraph-sdk-go/oauth2permissiongrants"
	"github.com/microsoftgraph/msgraph-sdk-go/reports"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"

	"github.com/useitcloud/uicctl/pkg/sandbox"
	"github.com/useitcloud/uicctl/pkg/sandbox/graph"
)

// TestSandboxGraphSDK is acceptance point 1 of the sandbox: azidentity's client-secret
// credential gets a token from the sandbox's sign-in endpoints, and an msgraph-sdk-go
// subpackage client creates an app, adds a password, creates the service principal and a
// delegated grant, and reads them back.
func TestSandboxGraphSDK(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := startSDK(ctx, t)
	sb, adapter := env.sb, env.adapter
	apps := applications.NewApplicationsRequestBuilderInternal(map[string]string{}, adapter)
	sps := serviceprincipals.NewServicePrincipalsRequestBuilderInternal(map[string]string{}, adapter)
	grants := oauth2permissiongrants.NewOauth2PermissionGrantsRequestBuilderInternal(map[string]string{}, adapter)

	// Create the app.
	app := models.NewApplication()
	app.SetDisplayName(sdkPtr("uicctl acceptance"))
	app.SetSignInAudience(sdkPtr("AzureADMultipleOrgs"))
	web := models.NewWebApplication()
	web.SetRedirectUris([]string{"http://localhost:8400/"})
	app.SetWeb(web)
	rra := models.NewRequiredResourceAccess()
	rra.SetResourceAppId(sdkPtr(graph.PartnerCenterAppID))
	ra := models.NewResourceAccess()
	ra.SetId(sdkUUID(t, "1cebfa2a-fb4d-419e-b5f9-839b4383e05a"))
	ra.SetTypeEscaped(sdkPtr("Scope"))
	rra.SetResourceAccess([]models.ResourceAccessable{ra})
	app.SetRequiredResourceAccess([]models.RequiredResourceAccessable{rra})
	created, err := apps.Post(ctx, app, nil)
	if err != nil {
		t.Fatalf("create application: %v", describeGraphErr(err))
	}
	appObjectID, appID := sdkStr(created.GetId()), sdkStr(created.GetAppId())
	if appObjectID == "" || appID == "" {
		t.Fatalf("created application without ids: %q %q", appObjectID, appID)
	}

	// Add a password: the secret comes back once.
	pwBody := applications.NewItemAddPasswordPostRequestBody()
	pc := models.NewPasswordCredential()
	pc.SetDisplayName(sdkPtr("uicctl"))
	pwBody.SetPasswordCredential(pc)
	pw, err := apps.ByApplicationId(appObjectID).AddPassword().Post(ctx, pwBody, nil)
	if err != nil {
		t.Fatalf("addPassword: %v", describeGraphErr(err))
	}
	if s := sdkStr(pw.GetSecretText()); len(s) < 16 || sdkStr(pw.GetHint()) != s[:3] {
		t.Fatalf("addPassword returned a secret of %d characters with hint %q", len(s), sdkStr(pw.GetHint()))
	}
	if _, ok := sb.Graph().VerifySecret(appID, sdkStr(pw.GetSecretText())); !ok {
		t.Fatal("the sandbox does not accept the secret addPassword returned")
	}

	// Create the service principal and grant it Partner Center user_impersonation.
	sp := models.NewServicePrincipal()
	sp.SetAppId(&appID)
	createdSP, err := sps.Post(ctx, sp, nil)
	if err != nil {
		t.Fatalf("create service principal: %v", describeGraphErr(err))
	}
	filter := "appId eq '" + graph.PartnerCenterAppID + "'"
	pcSPs, err := sps.Get(ctx, &serviceprincipals.ServicePrincipalsRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ServicePrincipalsRequestBuilderGetQueryParameters{
			Filter: &filter, Select: []string{"id", "appId", "oauth2PermissionScopes"}},
	})
	if err != nil || len(pcSPs.GetValue()) != 1 {
		t.Fatalf("find the Partner Center service principal: %v", describeGraphErr(err))
	}
	pcSP := pcSPs.GetValue()[0]
	if scopes := pcSP.GetOauth2PermissionScopes(); len(scopes) == 0 || sdkStr(scopes[0].GetValue()) != "user_impersonation" {
		t.Fatalf("Partner Center scopes: %v", scopes)
	}
	grant := models.NewOAuth2PermissionGrant()
	grant.SetClientId(createdSP.GetId())
	grant.SetResourceId(pcSP.GetId())
	grant.SetConsentType(sdkPtr("AllPrincipals"))
	grant.SetScope(sdkPtr("user_impersonation"))
	createdGrant, err := grants.Post(ctx, grant, nil)
	if err != nil {
		t.Fatalf("create grant: %v", describeGraphErr(err))
	}

	// Read everything back.
	gotApp, err := apps.ByApplicationId(appObjectID).Get(ctx, nil)
	if err != nil {
		t.Fatalf("get application: %v", describeGraphErr(err))
	}
	if n := len(gotApp.GetPasswordCredentials()); n != 1 || gotApp.GetPasswordCredentials()[0].GetSecretText() != nil {
		t.Errorf("application has %d password credentials (secret text must not come back)", n)
	}
	if got := gotApp.GetWeb().GetRedirectUris(); len(got) != 1 || got[0] != "http://localhost:8400/" {
		t.Errorf("redirect URIs read back: %v", got)
	}
	spFilter := "appId eq '" + appID + "'"
	gotSPs, err := sps.Get(ctx, &serviceprincipals.ServicePrincipalsRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ServicePrincipalsRequestBuilderGetQueryParameters{Filter: &spFilter}})
	if err != nil || len(gotSPs.GetValue()) != 1 || sdkStr(gotSPs.GetValue()[0].GetId()) != sdkStr(createdSP.GetId()) {
		t.Fatalf("service principal read back: %v", describeGraphErr(err))
	}
	grantFilter := "clientId eq '" + sdkStr(createdSP.GetId()) + "' and consentType eq 'AllPrincipals'"
	gotGrants, err := grants.Get(ctx, &oauth2permissiongrants.Oauth2PermissionGrantsRequestBuilderGetRequestConfiguration{
		QueryParameters: &oauth2permissiongrants.Oauth2PermissionGrantsRequestBuilderGetQueryParameters{Filter: &grantFilter}})
	if err != nil || len(gotGrants.GetValue()) != 1 || sdkStr(gotGrants.GetValue()[0].GetId()) != sdkStr(createdGrant.GetId()) {
		t.Fatalf("grant read back: %v", describeGraphErr(err))
	}
	if got := sdkStr(gotGrants.GetValue()[0].GetScope()); got != "user_impersonation" {
		t.Errorf("grant scope %q", got)
	}

	// A second identical grant is refused with a Graph error the SDK parses.
	_, err = grants.Post(ctx, grant, nil)
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) || oe.ResponseStatusCode != http.StatusConflict {
		t.Errorf("duplicate grant: %v", describeGraphErr(err))
	}
}

// sdkEnv is a running sandbox and a Graph request adapter signed in to a partner tenant of
// its world as the operator app.
type sdkEnv struct {
	sb      *sandbox.Sandbox
	adapter *msgraphcore.GraphRequestAdapterBase
	hc      *http.Client // trusts the sandbox CA, for blob downloads
}

func startSDK(ctx context.Context, t *testing.T) sdkEnv {
	t.Helper()
	// The export below is called as the operator, so it also holds PartnerBilling.Read.All
	// (uicctl's export uses the partner app's own token).
	roles := append(append([]string{}, graph.OperatorRoles...), "PartnerBilling.Read.All")
	sb, err := sandbox.Start(ctx, sandbox.Options{Tenants: 1, Dir: t.TempDir(), OperatorRoles: roles})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })

	pem, err := os.ReadFile(sb.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in the sandbox CA file")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	// Sign in to a partner tenant of the world, where the operator app has its service
	// principal and Graph app roles.
	_, clientID, secret := sb.Operator()
	tenantID := sb.World().Tenants[0].TenantID
	cc := sb.Cloud()
	cred, err := azidentity.NewClientSecretCredential(tenantID, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud:     azcloud.Configuration{ActiveDirectoryAuthorityHost: cc.Login},
			Transport: hc,
			Retry:     policy.RetryOptions{MaxRetries: -1},
		},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}})
	if err != nil {
		t.Fatalf("azidentity against the sandbox: %v", err)
	}
	if tok.Token == "" || time.Until(tok.ExpiresOn) < time.Minute {
		t.Fatalf("token expiring at %v", tok.ExpiresOn)
	}

	// The Graph adapter as uicctl builds it: subpackages only, default middleware (retry,
	// gzip compression of bodies, headers inspection) over the CA-trusting transport.
	auth, err := graphauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred,
		[]string{"https://graph.microsoft.com/.default"}, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	abs.RegisterDefaultSerializer(func() absser.SerializationWriterFactory { return kjson.NewJsonSerializationWriterFactory() })
	abs.RegisterDefaultSerializer(func() absser.SerializationWriterFactory { return ktext.NewTextSerializationWriterFactory() })
	abs.RegisterDefaultDeserializer(func() absser.ParseNodeFactory { return kjson.NewJsonParseNodeFactory() })
	abs.RegisterDefaultDeserializer(func() absser.ParseNodeFactory { return ktext.NewTextParseNodeFactory() })
	mw := msgraphcore.GetDefaultMiddlewaresWithOptions(&msgraphcore.GraphClientOptions{})
	ghc := &http.Client{Timeout: 30 * time.Second, Transport: khttp.NewCustomTransportWithParentTransport(tr, mw...)}
	adapter, err := msgraphcore.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		auth, msgraphcore.GraphClientOptions{}, nil, nil, ghc)
	if err != nil {
		t.Fatal(err)
	}
	adapter.SetBaseUrl(cc.Graph)
	return sdkEnv{sb: sb, adapter: adapter, hc: hc}
}

func sdkPtr[T any](v T) *T { return &v }

func sdkUUID(t *testing.T, s string) *uuid.UUID {
	t.Helper()
	u, err := uuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return &u
}

func sdkStr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// describe renders an error with the OData code and message when Graph sent one.
func describeGraphErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) && oe.GetErrorEscaped() != nil {
		return err.Error() + ": " + sdkStr(oe.GetErrorEscaped().GetCode()) + ": " + sdkStr(oe.GetErrorEscaped().GetMessage())
	}
	return err.Error()
}

// TestSandboxGraphSDKBatchUpsertExport drives the rest of what uicctl sends through the
// SDK: an upsert by uniqueName, a $batch with a failing item, and the partner billing
// export from its 202 to the blobs.
func TestSandboxGraphSDKBatchUpsertExport(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := startSDK(ctx, t)
	adapter := env.adapter

	// Upsert: 201 with the object, then 204 and nil.
	name := "uicctl-partner-center"
	up := applicationswithuniquename.NewApplicationsWithUniqueNameRequestBuilderInternal(map[string]string{}, adapter, &name)
	h := abs.NewRequestHeaders()
	h.Add("Prefer", "create-if-missing")
	app := models.NewApplication()
	app.SetDisplayName(sdkPtr("uicctl"))
	cfg := &applicationswithuniquename.ApplicationsWithUniqueNameRequestBuilderPatchRequestConfiguration{Headers: h}
	created, err := up.Patch(ctx, app, cfg)
	if err != nil || created == nil || sdkStr(created.GetUniqueName()) != name {
		t.Fatalf("first upsert: %v, %v", created, describeGraphErr(err))
	}
	again, err := up.Patch(ctx, app, cfg)
	if err != nil || again != nil {
		t.Fatalf("second upsert: %v, %v", again, describeGraphErr(err))
	}
	missing := "missing"
	_, err = applicationswithuniquename.NewApplicationsWithUniqueNameRequestBuilderInternal(map[string]string{}, adapter, &missing).
		Patch(ctx, app, nil)
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) || oe.ResponseStatusCode != http.StatusNotFound {
		t.Errorf("upsert without Prefer: %v", describeGraphErr(err))
	}

	// $batch: three GETs, one of them a 404, parsed by the SDK's batch support.
	msgraphcore.RegisterError(msgraphcore.BatchRequestErrorRegistryKey, abs.ErrorMappings{
		"4XX": odataerrors.CreateODataErrorFromDiscriminatorValue, "5XX": odataerrors.CreateODataErrorFromDiscriminatorValue})
	filter := "uniqueName eq '" + name + "'"
	ri1, err := applications.NewApplicationsRequestBuilderInternal(map[string]string{}, adapter).ToGetRequestInformation(ctx,
		&applications.ApplicationsRequestBuilderGetRequestConfiguration{
			QueryParameters: &applications.ApplicationsRequestBuilderGetQueryParameters{Filter: &filter}})
	if err != nil {
		t.Fatal(err)
	}
	ri2, err := serviceprincipals.NewServicePrincipalsRequestBuilderInternal(map[string]string{}, adapter).ToGetRequestInformation(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	ri3, err := applicationswithuniquename.NewApplicationsWithUniqueNameRequestBuilderInternal(map[string]string{}, adapter, &missing).
		ToGetRequestInformation(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	batch := msgraphcore.NewBatchRequest(adapter)
	var ids []string
	for _, ri := range []*abs.RequestInformation{ri1, ri2, ri3} {
		item, err := batch.AddBatchRequestStep(*ri)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, *item.GetId())
	}
	res, err := batch.Send(ctx, adapter)
	if err != nil {
		t.Fatalf("batch: %v", describeGraphErr(err))
	}
	codes := res.GetStatusCodes()
	if codes[ids[0]] != 200 || codes[ids[1]] != 200 || codes[ids[2]] != 404 {
		t.Errorf("batch statuses %v", codes)
	}
	apps, err := msgraphcore.GetBatchResponseById[models.ApplicationCollectionResponseable](res, ids[0],
		models.CreateApplicationCollectionResponseFromDiscriminatorValue)
	if err != nil || len(apps.GetValue()) != 1 {
		t.Errorf("batch item 1: %v", describeGraphErr(err))
	}
	_, err = msgraphcore.GetBatchResponseById[models.Applicationable](res, ids[2], models.CreateApplicationFromDiscriminatorValue)
	if !errors.As(err, &oe) || sdkStr(oe.GetErrorEscaped().GetCode()) != "Request_ResourceNotFound" {
		t.Errorf("batch item 3: %v", describeGraphErr(err))
	}

	// Partner billing export: 202 + Location, operations, manifest, blobs.
	rep := reports.NewReportsRequestBuilderInternal(map[string]string{}, adapter)
	body := reports.NewPartnersBillingUsageUnbilledMicrosoftGraphPartnersBillingExportExportPostRequestBody()
	period, full := billing.CURRENT_BILLINGPERIOD, billing.FULL_ATTRIBUTESET
	body.SetBillingPeriod(&period)
	body.SetAttributeSet(&full)
	body.SetCurrencyCode(sdkPtr("USD"))
	hi := khttp.NewHeadersInspectionOptions()
	hi.InspectResponseHeaders = true
	op, err := rep.Partners().Billing().Usage().Unbilled().MicrosoftGraphPartnersBillingExport().Post(ctx, body,
		&reports.PartnersBillingUsageUnbilledMicrosoftGraphPartnersBillingExportRequestBuilderPostRequestConfiguration{
			Options: []abs.RequestOption{hi}})
	if err != nil || op != nil {
		t.Fatalf("export: %v, %v", op, describeGraphErr(err))
	}
	loc := hi.GetResponseHeaders().Get("Location")
	if len(loc) != 1 {
		t.Fatalf("export Location: %v", loc)
	}
	opID := loc[0][strings.LastIndex(loc[0], "/")+1:]
	var manifestID string
	for polls := 0; manifestID == ""; polls++ {
		if polls > 3 {
			t.Fatal("export never finished")
		}
		got, err := rep.Partners().Billing().Operations().ByOperationId(opID).Get(ctx, nil)
		if err != nil {
			t.Fatalf("operation: %v", describeGraphErr(err))
		}
		// RunningOperationable adds nothing to Operationable, so every operation satisfies it:
		// look for the richer types first.
		switch o := got.(type) {
		case billing.ExportSuccessOperationable:
			link, _ := o.GetAdditionalData()["resourceLocation@odata.navigationLink"].(*string)
			if link == nil {
				t.Fatalf("succeeded operation without a manifest link: %v", o.GetAdditionalData())
			}
			manifestID = (*link)[strings.LastIndex(*link, "/")+1:]
		case billing.FailedOperationable:
			t.Fatalf("export failed: %v", o.GetError())
		default:
			if st := got.GetStatus(); st == nil || *st != models.RUNNING_LONGRUNNINGOPERATIONSTATUS {
				t.Fatalf("operation of type %T, status %v", got, st)
			}
		}
	}
	m, err := rep.Partners().Billing().Manifests().ByManifestId(manifestID).Get(ctx, nil)
	if err != nil {
		t.Fatalf("manifest: %v", describeGraphErr(err))
	}
	if int(*m.GetBlobCount()) != len(m.GetBlobs()) || len(m.GetBlobs()) == 0 {
		t.Fatalf("manifest with %d blobs, blobCount %d", len(m.GetBlobs()), *m.GetBlobCount())
	}
	blobURL := sdkStr(m.GetRootDirectory()) + "/" + sdkStr(m.GetBlobs()[0].GetName()) + "?" + sdkStr(m.GetSasToken())
	resp, err := env.hc.Get(blobURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatalf("blob %d is not gzip: %v", resp.StatusCode, err)
	}
	first, err := bufio.NewReader(zr).ReadBytes('\n')
	if err != nil {
		t.Fatal(err)
	}
	var row map[string]any
	if err := json.Unmarshal(first, &row); err != nil || row["partnerId"] == nil {
		t.Errorf("first line of the blob: %s (%v)", first, err)
	}
}
