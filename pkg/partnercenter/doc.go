// Package partnercenter talks to the Partner Center and Partner APIs and to the token
// endpoints they need: client-credentials tokens with the app's secret and, for app+user
// calls, tokens redeemed from the Secure Application Model refresh token. It uses
// golang.org/x/oauth2 and never logs a secret or a token.
//
// The Go API is not stable; the CLI is the contract.
package partnercenter
