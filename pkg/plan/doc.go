// Package plan holds the observed state of a tenant and computes, without any I/O, the
// changes that bring it to its spec: typed, field by field, each with a reason. Renderers
// turn a plan into text, JSON or markdown; they never decide anything.
//
// The Go API is not stable; the CLI, the plan JSON and the plan file are the contract.
package plan
