// Package entra talks to Microsoft Graph through msgraph-sdk-go (its subpackages only,
// with msgraph-sdk-go-core and kiota's retry middleware).
//
// NewCredential finds the operator identity (environment, workload identity, Azure CLI)
// and lets it sign in to any tenant; a Client asks it for one token per tenant and shares
// one HTTP client across tenants. Observe reads a partner tenant's app registration,
// service principal, consent and AdminAgents membership in one $batch; the write methods
// (UpsertApplication, AddPassword, EnsureServicePrincipal, EnsureGrant, ...) are each safe
// to call again after any failure, and retry writes refused because of Entra's
// replication lag.
//
// Errors users hit are typed and carry a Hint: PermissionError, SignInError,
// TenantNotFoundError, NoCredentialError, ThrottledError, GraphError. None of them
// includes a token or a secret.
//
// The Go API is not stable; the CLI is the contract.
package entra
