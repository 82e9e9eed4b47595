package entra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/useitcloud/uicctl/internal/retry"
	"github.com/useitcloud/uicctl/internal/scrub"
	"github.com/useitcloud/uicctl/pkg/cloud"
)

// testOnlyTransport, when set by tests, carries every request of the credential and of
// the Graph client (it trusts the sandbox CA without touching the process environment).
var testOnlyTransport http.RoundTripper

// testOnlyLookPath replaces exec.LookPath in tests, to decide whether the Azure CLI exists.
var testOnlyLookPath func(string) (string, error)

// allTenants lets one operator identity get a token for any tenant it is consented in:
// the per-tenant wrapper sets TokenRequestOptions.TenantID.
var allTenants = []string{"*"}

// NewCredential returns the operator credential for cloud c: the first available of
//
//   - environment: AZURE_TENANT_ID and AZURE_CLIENT_ID with AZURE_CLIENT_SECRET, or with
//     AZURE_CLIENT_CERTIFICATE_PATH (and AZURE_CLIENT_CERTIFICATE_PASSWORD);
//   - GitHub Actions workload identity federation: AZURE_TENANT_ID and AZURE_CLIENT_ID with
//     ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN (a job with
//     `id-token: write`): a fresh GitHub OIDC token (audience api://AzureADTokenExchange,
//     or UICCTL_OIDC_AUDIENCE) is fetched whenever the last is within a minute of expiry, so
//     sign-ins late in a long run still work;
//   - workload identity with a token file: AZURE_FEDERATED_TOKEN_FILE (Kubernetes, which
//     keeps the file fresh);
//   - the Azure CLI's signed-in account (az login).
//
// Each may get a token for any tenant (one multi-tenant operator app, or one consultant,
// serves the whole fleet). The environment sources sign in at c.Login; AZURE_AUTHORITY_HOST
// is not read, the cloud decides.
func NewCredential(c cloud.Cloud) (azcore.TokenCredential, error) {
	return newCredential(c, os.Getenv)
}

func newCredential(c cloud.Cloud, getenv func(string) string) (azcore.TokenCredential, error) {
	// azidentity's credentials retry with azcore's policy; its cap on a Retry-After is ours
	// (internal/retry.MaxWait), so no sign-in sleeps longer than any other request.
	co := azcore.ClientOptions{Cloud: azcloud.Configuration{ActiveDirectoryAuthorityHost: c.Login},
		Retry: policy.RetryOptions{MaxRetryDelay: retry.MaxWait}}
	if testOnlyTransport != nil {
		co.Transport = &http.Client{Transport: testOnlyTransport}
	}
	// Instance discovery asks login.microsoftonline.com about the authority: right for the
	// Microsoft clouds, impossible for the sandbox or any private endpoint.
	noDiscovery := !knownAuthority(c.Login)
	var sources []azcore.TokenCredential
	var errs []error

	tenant, client := getenv("AZURE_TENANT_ID"), getenv("AZURE_CLIENT_ID")
	secret, certPath := getenv("AZURE_CLIENT_SECRET"), getenv("AZURE_CLIENT_CERTIFICATE_PATH")
	oidcURL, oidcToken := getenv("ACTIONS_ID_TOKEN_REQUEST_URL"), getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	// Token requests follow the one retry policy; each try is bounded by a minute.
	var base http.RoundTripper = fleetTransport()
	if testOnlyTransport != nil {
		base = testOnlyTransport
	}
	hc := &http.Client{Transport: &retry.Transport{Base: base, Service: "sign-in", AttemptTimeout: time.Minute}}
	switch {
	case tenant != "" && client != "" && secret != "":
		// Not azidentity's ClientSecretCredential: see secretCredential for the round trip it saves.
		sources = append(sources, newSecretCredential(c.Login, tenant, client, secret, hc))
	case tenant != "" && client != "" && certPath != "":
		cred, err := certificateCredential(tenant, client, certPath, getenv("AZURE_CLIENT_CERTIFICATE_PASSWORD"),
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: co, AdditionallyAllowedTenants: allTenants,
				DisableInstanceDiscovery: noDiscovery, SendCertificateChain: getenv("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN") == "true"})
		if err != nil {
			errs = append(errs, fmt.Errorf("AZURE_CLIENT_CERTIFICATE_PATH: %w", err))
			break
		}
		sources = append(sources, cred)
	case tenant != "" && client != "" && oidcURL != "" && oidcToken != "":
		src := newGitHubAssertion(oidcURL, oidcToken, getenv("UICCTL_OIDC_AUDIENCE"), hc)
		cred, err := azidentity.NewClientAssertionCredential(tenant, client, src.get, &azidentity.ClientAssertionCredentialOptions{
			ClientOptions: co, AdditionallyAllowedTenants: allTenants, DisableInstanceDiscovery: noDiscovery})
		if err != nil {
			errs = append(errs, fmt.Errorf("GitHub Actions OIDC: %w", err))
			break
		}
		sources = append(sources, &githubCredential{cred: cred, src: src})
	}

	if tokenFile := getenv("AZURE_FEDERATED_TOKEN_FILE"); tokenFile != "" && client != "" && tenant != "" {
		cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: co, ClientID: client, TenantID: tenant, TokenFilePath: tokenFile,
			AdditionallyAllowedTenants: allTenants, DisableInstanceDiscovery: noDiscovery})
		if err != nil {
			errs = append(errs, fmt.Errorf("AZURE_FEDERATED_TOKEN_FILE: %w", err))
		} else {
			sources = append(sources, cred)
		}
	}

	lookPath := exec.LookPath
	if testOnlyLookPath != nil {
		lookPath = testOnlyLookPath
	}
	if _, err := lookPath("az"); err == nil {
		// The Azure CLI signs in to the cloud it is configured for (az cloud set).
		cred, err := azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{AdditionallyAllowedTenants: allTenants})
		if err != nil {
			errs = append(errs, fmt.Errorf("Azure CLI: %w", err))
		} else {
			sources = append(sources, cred)
		}
	}

	if len(sources) == 0 {
		return nil, &NoCredentialError{err: errors.Join(errs...)}
	}
	if len(sources) == 1 {
		return sources[0], nil
	}
	return azidentity.NewChainedTokenCredential(sources, nil)
}

func certificateCredential(tenant, client, path, password string, opts *azidentity.ClientCertificateCredentialOptions) (azcore.TokenCredential, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pw []byte
	if password != "" {
		pw = []byte(password)
	}
	certs, key, err := azidentity.ParseCertificates(b, pw)
	if err != nil {
		return nil, err
	}
	return azidentity.NewClientCertificateCredential(tenant, client, certs, key, opts)
}

// knownAuthority reports whether login is the authority host of a Microsoft cloud.
func knownAuthority(login string) bool {
	for _, c := range []cloud.Cloud{cloud.Public, cloud.USGov, cloud.China} {
		if strings.EqualFold(strings.TrimSuffix(login, "/"), strings.TrimSuffix(c.Login, "/")) {
			return true
		}
	}
	return false
}

// tenantCredential asks the shared credential for a token of one tenant: kiota's token
// provider never sets TokenRequestOptions.TenantID itself.
type tenantCredential struct {
	cred   azcore.TokenCredential
	tenant string
	log    *slog.Logger // nil: no debug records
}

func (t tenantCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	o.TenantID = t.tenant
	start := time.Now()
	tok, err := t.cred.GetToken(ctx, o)
	if err != nil {
		err = newSignInError(t.tenant, err)
		if t.log != nil {
			t.log.Debug("token", "tenant", t.tenant, "ms", time.Since(start).Milliseconds(), "error", err.Error())
		}
		return tok, err
	}
	// Whatever credential issued it (secret, workload identity, az login), the access token
	// is known to the scrubber before Graph can echo it.
	scrub.Known(tok.Token)
	if t.log != nil {
		t.log.Debug("token", "tenant", t.tenant, "ms", time.Since(start).Milliseconds())
	}
	return tok, nil
}
