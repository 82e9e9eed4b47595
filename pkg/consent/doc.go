// Package consent runs the Secure Application Model sign-in: the v2 authorization code flow
// with PKCE for a partner tenant, answered on a loopback-only listener (or pasted back by
// hand), and the exchange of the code for a refresh token that must come from an MFA
// sign-in.
//
// The Go API is not stable; the CLI (uicctl consent) is the contract.
package consent
