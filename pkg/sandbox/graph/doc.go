// Package graph emulates the parts of Microsoft Graph v1.0 that uicctl uses (applications,
// service principals, delegated and application permission grants, the AdminAgents group,
// $batch) and the partner billing usage export, for the sandbox.
//
// Shapes, status codes and error bodies come from the Graph documentation and the
// msgraph-sdk-go models, never from what a client happens to send. Behaviours the
// documentation does not pin down are marked UNCONFIRMED where they are implemented.
//
// The Go API is not stable; the HTTP surface is the contract.
package graph
