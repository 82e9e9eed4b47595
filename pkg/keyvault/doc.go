// Package keyvault delivers a tenant's four credentials (tenant ID, client ID, client secret,
// refresh token) to the Azure Key Vault its spec names, through Microsoft's azsecrets client
// with the operator's azidentity credential and Key Vault's challenge-based authentication
// as the SDK does it (the challenge resource must match the vault host: the check stays on).
//
// The secrets file is the source of truth: Observe compares the vault's latest versions with
// it in memory and reports only whether they differ (plan.VaultSecret never holds a value);
// Deliver writes a new version where they differ and fixes attributes that drifted. Every
// request goes through the one retry policy (internal/retry); every error text from the
// vault goes through the scrubber before it is shown, and errors carry hints for the usual
// causes: a missing role (403 ForbiddenByRbac), a missing secret or vault (404), a
// soft-deleted name (409 ObjectIsDeletedButRecoverable), throttling (429) and the network.
//
// It does not import Graph: the operator's credential comes in from the caller.
package keyvault
