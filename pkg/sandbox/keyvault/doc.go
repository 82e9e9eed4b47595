// Package keyvault emulates the Azure Key Vault data plane for the sandbox: secrets (set,
// get by version or latest, list, versions, update attributes, soft delete, deleted
// secrets, recover, purge) and RSA keys (create, get, encrypt, decrypt, wrapKey, unwrapKey
// with RSA-OAEP-256, done with crypto/rsa). One vault per partner tenant, reached at its
// real name (https://NAME.vault.azure.net/) through the sandbox's CONNECT proxy.
//
// Requests are authenticated as Key Vault does: a request without a bearer token gets the
// 401 challenge naming the authority and the resource (the Azure SDKs' challenge policy
// reads them), and a token is checked for its audience, lifetime and tenant. Access is by
// Azure RBAC on the vault: a caller without a data-plane role gets 403 ForbiddenByRbac.
// The shapes follow the Key Vault REST reference (learn.microsoft.com/rest/api/keyvault);
// what it leaves open is marked UNCONFIRMED where it is implemented.
package keyvault
