// Package scrub makes text that came from outside (a token endpoint's error_description,
// a Graph or Partner Center error message, a storage error, a consent callback's error
// parameters) safe to show: on a terminal, in a report, a log, a plan file or a web page.
//
// An endpoint or a proxy may reflect the request it got into its error: the client secret,
// the refresh token, the PKCE verifier, the bearer token. [Text] removes every credential the
// process registered with [Known] (in clear, URL-escaped, base64 and JSON- or Go-quoted
// form), anything shaped like a credential ([Shape]: JWTs, Entra client secrets, refresh
// tokens, private keys, the values of credential parameters and Authorization headers), and
// escapes control characters so remote text cannot drive the terminal. AADSTS codes, HTTP
// statuses, request and correlation ids and GUIDs are kept: they are what a user needs to
// report the failure.
package scrub
