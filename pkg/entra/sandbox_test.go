package entra

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
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
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/oauth2permissiongrants"
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
	sb, err := sandbox.Start(ctx, sandbox.Options{Tenants: 1, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()

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
	apps := applications.NewApplicationsRequestBuilderInternal(map[string]string{}, adapter)
	sps := serviceprincipals.NewServicePrincipalsRequestBuilderInternal(map[string]string{}, adapter)
	grants := oauth2permissiongrants.NewOauth2PermissionGrantsRequestBuilderInternal(map[string]string{}, adapter)

	// Create the app.
	app := models.NewApplication()
	app.SetDisplayName(ptr("uicctl acceptance"))
	app.SetSignInAudience(ptr("AzureADMultipleOrgs"))
	web := models.NewWebApplication()
	web.SetRedirectUris([]string{"http://localhost:8400/"})
	app.SetWeb(web)
	rra := models.NewRequiredResourceAccess()
	rra.SetResourceAppId(ptr(graph.PartnerCenterAppID))
	ra := models.NewResourceAccess()
	ra.SetId(uuidPtr(t, "1cebfa2a-fb4d-419e-b5f9-839b4383e05a"))
	ra.SetTypeEscaped(ptr("Scope"))
	rra.SetResourceAccess([]models.ResourceAccessable{ra})
	app.SetRequiredResourceAccess([]models.RequiredResourceAccessable{rra})
	created, err := apps.Post(ctx, app, nil)
	if err != nil {
		t.Fatalf("create application: %v", describe(err))
	}
	appObjectID, appID := deref(created.GetId()), deref(created.GetAppId())
	if appObjectID == "" || appID == "" {
		t.Fatalf("created application without ids: %q %q", appObjectID, appID)
	}

	// Add a password: the secret comes back once.
	pwBody := applications.NewItemAddPasswordPostRequestBody()
	pc := models.NewPasswordCredential()
	pc.SetDisplayName(ptr("uicctl"))
	pwBody.SetPasswordCredential(pc)
	pw, err := apps.ByApplicationId(appObjectID).AddPassword().Post(ctx, pwBody, nil)
	if err != nil {
		t.Fatalf("addPassword: %v", describe(err))
	}
	if s := deref(pw.GetSecretText()); len(s) < 16 || deref(pw.GetHint()) != s[:3] {
		t.Fatalf("addPassword returned a secret of %d characters with hint %q", len(s), deref(pw.GetHint()))
	}
	if _, ok := sb.Graph().VerifySecret(appID, deref(pw.GetSecretText())); !ok {
		t.Fatal("the sandbox does not accept the secret addPassword returned")
	}

	// Create the service principal and grant it Partner Center user_impersonation.
	sp := models.NewServicePrincipal()
	sp.SetAppId(&appID)
	createdSP, err := sps.Post(ctx, sp, nil)
	if err != nil {
		t.Fatalf("create service principal: %v", describe(err))
	}
	filter := "appId eq '" + graph.PartnerCenterAppID + "'"
	pcSPs, err := sps.Get(ctx, &serviceprincipals.ServicePrincipalsRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ServicePrincipalsRequestBuilderGetQueryParameters{
			Filter: &filter, Select: []string{"id", "appId", "oauth2PermissionScopes"}},
	})
	if err != nil || len(pcSPs.GetValue()) != 1 {
		t.Fatalf("find the Partner Center service principal: %v", describe(err))
	}
	pcSP := pcSPs.GetValue()[0]
	if scopes := pcSP.GetOauth2PermissionScopes(); len(scopes) == 0 || deref(scopes[0].GetValue()) != "user_impersonation" {
		t.Fatalf("Partner Center scopes: %v", scopes)
	}
	grant := models.NewOAuth2PermissionGrant()
	grant.SetClientId(createdSP.GetId())
	grant.SetResourceId(pcSP.GetId())
	grant.SetConsentType(ptr("AllPrincipals"))
	grant.SetScope(ptr("user_impersonation"))
	createdGrant, err := grants.Post(ctx, grant, nil)
	if err != nil {
		t.Fatalf("create grant: %v", describe(err))
	}

	// Read everything back.
	gotApp, err := apps.ByApplicationId(appObjectID).Get(ctx, nil)
	if err != nil {
		t.Fatalf("get application: %v", describe(err))
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
	if err != nil || len(gotSPs.GetValue()) != 1 || deref(gotSPs.GetValue()[0].GetId()) != deref(createdSP.GetId()) {
		t.Fatalf("service principal read back: %v", describe(err))
	}
	grantFilter := "clientId eq '" + deref(createdSP.GetId()) + "' and consentType eq 'AllPrincipals'"
	gotGrants, err := grants.Get(ctx, &oauth2permissiongrants.Oauth2PermissionGrantsRequestBuilderGetRequestConfiguration{
		QueryParameters: &oauth2permissiongrants.Oauth2PermissionGrantsRequestBuilderGetQueryParameters{Filter: &grantFilter}})
	if err != nil || len(gotGrants.GetValue()) != 1 || deref(gotGrants.GetValue()[0].GetId()) != deref(createdGrant.GetId()) {
		t.Fatalf("grant read back: %v", describe(err))
	}
	if got := deref(gotGrants.GetValue()[0].GetScope()); got != "user_impersonation" {
		t.Errorf("grant scope %q", got)
	}

	// A second identical grant is refused with a Graph error the SDK parses.
	_, err = grants.Post(ctx, grant, nil)
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) || oe.ResponseStatusCode != http.StatusConflict {
		t.Errorf("duplicate grant: %v", describe(err))
	}
}

func ptr[T any](v T) *T { return &v }

func uuidPtr(t *testing.T, s string) *uuid.UUID {
	t.Helper()
	u, err := uuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return &u
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// describe renders an error with the OData code and message when Graph sent one.
func describe(err error) string {
	if err == nil {
		return "<nil>"
	}
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) && oe.GetErrorEscaped() != nil {
		return err.Error() + ": " + deref(oe.GetErrorEscaped().GetCode()) + ": " + deref(oe.GetErrorEscaped().GetMessage())
	}
	return err.Error()
}
