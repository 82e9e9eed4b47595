// Package verify runs the nightly end-to-end checks of a tenant: the spec and secrets file,
// the client secret, a client-credentials token, the refresh token, Partner Center calls
// (or, for verify.usage: billing-export, Graph's partner billing export with the app's
// client-credentials token) and the Partner API token, each reported as pass, warn, fail or skip with a message, a hint
// and its duration; and writes the reports (text, JSON, JUnit XML).
//
// The Go API is not stable; the uicctl command line is the contract.
package verify
