// Package apply converges tenants on their specs: it plans again from the live state,
// refuses a saved plan that has gone stale, and carries out the pending changes in
// dependency order through idempotent Graph writes. A client secret Graph creates is in the
// sops secrets file before anything else happens; after the writes the tenant is observed
// again and must match its spec.
//
// The Go API is not stable; the CLI is the contract.
package apply
