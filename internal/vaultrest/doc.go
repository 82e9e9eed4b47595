// Package vaultrest speaks to Azure Key Vault over plain REST, doing the challenge flow
// itself: a request without a token, the 401 challenge (authority and resource), a token
// for that tenant and resource, the request again. Tests use it to read what uicctl wrote
// without going through azsecrets, the client uicctl itself uses.
package vaultrest
