// Package entra talks to Microsoft Graph through msgraph-sdk-go (its subpackages only,
// with msgraph-sdk-go-core and kiota's middleware, whose retry handler it replaces: retryHandler).
//
// NewCredential finds the operator identity (environment, GitHub Actions OIDC, workload
// identity token file, Azure CLI) and lets it sign in to any tenant. In a GitHub Actions job
// it asks GitHub for a fresh OIDC token whenever the last is within a minute of expiry,
// because a run signs in to each tenant as it reaches it, long after the first token (which
// lives minutes) has expired; a Client asks it for one token per tenant and shares
// one HTTP client across tenants. Observe reads a partner tenant's app registration,
// service principal, consent and AdminAgents membership in one $batch; the write methods
// (UpsertApplication, AddPassword, EnsureServicePrincipal, EnsureGrant, ...) are each safe
// to call again after any failure, and retry writes refused because of Entra's
// replication lag.
//
// ExportUnbilledUsage runs the partner billing export (POST, then the operation polled as
// its Retry-After says, the manifest, one blob streamed through gzip with the manifest's SAS
// token and no Graph token). NewWithToken makes a Client for a token the caller already has
// (verify's app-only token of the partner's own app). The export goes through the SDK's
// reports subpackage: measured, it adds about 4 s (5 s CPU) to a cold go build ./... of
// 5 to 6 minutes, within the noise of two cold builds.
//
// Errors users hit are typed and carry a Hint: PermissionError, SignInError,
// TenantNotFoundError, NoCredentialError, GitHubTokenError, ThrottledError, GraphError, ExportFailedError,
// ExportPendingError, BlobError. None of them includes a token, a secret or a SAS URL.
//
// The Go API is not stable; the CLI is the contract.
package entra
