// Package spec reads partner.yaml files strictly: every unknown key, wrong type or invalid
// value is reported with its file:line:col and key path, all errors of a file together, and
// the defaults reproduce the documented manual onboarding so that a minimal spec is just a
// name and a tenant ID. It also discovers the tenants of a fleet and shards them.
//
// The Go API is not stable; the CLI and the partner.yaml format are the contract.
package spec
