// Package sandbox is a local emulation of the Microsoft cloud that uicctl talks to: Entra
// sign-in (login.microsoftonline.com), Microsoft Graph v1.0 (package graph), Partner Center
// v1 and the Partner API price sheet. It serves them over TLS on loopback with a CA it
// generates, keeps per-tenant state in memory (optionally persisted), generates a
// deterministic world of partner tenants, and injects the failures the real services show.
// It also stands in for GitHub Actions' OIDC token service, whose tokens the token endpoint
// accepts as client assertions when an app's federated identity credential trusts them
// (workload identity federation).
//
// Shapes, status codes and error bodies follow the documented requests and responses of the
// real services; behaviours the documentation does not pin down are marked UNCONFIRMED where
// they are implemented.
//
// The Go API is not stable; the HTTP surface and the env, cloud and world files are the
// contract (docs/sandbox.md).
package sandbox
