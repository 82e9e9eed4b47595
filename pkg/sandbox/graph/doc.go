// Package graph emulates the parts of Microsoft Graph v1.0 that uicctl uses, and the partner
// billing usage export, for the sandbox.
//
// Shapes, status codes and error bodies come from the Graph documentation and the
// msgraph-sdk-go v1.89.0 models, never from what a client happens to send. Behaviours the
// documentation does not pin down are marked UNCONFIRMED where they are implemented.
//
// # What is served (paths after /v1.0)
//
//   - applications: list ($filter eq/ne/startswith/and/or and identifierUris/any(...),
//     $select, $top 1..999, $count with ConsistencyLevel: eventual, absolute
//     @odata.nextLink), create, get, PATCH (complex properties merge, collections are
//     replaced), delete; alternate keys (appId='…') and (uniqueName='…'); upsert by
//     uniqueName with Prefer: create-if-missing (201, then 204; 404 without the header);
//     addPassword (the secret is returned once and stored only as a hash) and removePassword;
//     federatedIdentityCredentials (list, create, get, PATCH, delete, by id or name; at most
//     20, name and issuer+subject unique, one audience), which the sign-in emulation trusts.
//   - servicePrincipals: list, create (from an application of this tenant, or of another
//     one when it is multi-tenant), get, PATCH, delete, (appId='…'); appRoleAssignedTo and
//     appRoleAssignments (list, create, get, delete); oauth2PermissionGrants and memberOf.
//   - oauth2PermissionGrants: list with $filter, create (duplicates are 409), get, PATCH of
//     scope, delete. Grant ids are derived from the GUIDs as Entra derives them.
//   - groups: list, get, members, members/$ref add and remove. Every tenant has the
//     AdminAgents, HelpdeskAgents and SalesAgents groups.
//   - directoryObjects/{id}, organization.
//   - $batch: at most 20 requests, ids unique regardless of case, dependsOn (424 when a
//     dependency failed), lower-case item header names, percent-encoded item URLs, item
//     responses with a Content-Type header of that exact case; per-item 429 through
//     Options.BatchItemThrottle.
//   - reports/partners/billing/{usage,reconciliation}/{billed,unbilled}/export (and the
//     SDK's microsoft.graph.partners.billing.export segment): 202 with Location; the
//     operation answers running with Retry-After on its first poll, then succeeded (or
//     failed with "No data available" when there are no rows); the manifest points at gzip
//     JSON Lines blobs that BlobHandler serves when the SAS token is right. Rows come from
//     Options.UsageRows (the sandbox's world), else they are generated.
//
// Every tenant also holds the service principals of the first-party APIs (Microsoft Graph
// with its app roles and delegated scopes, Microsoft Partner Center, Microsoft Partner,
// Azure Service Management, Azure AD Graph).
//
// # How requests are judged
//
// The token (Options.Authenticate) decides the tenant; its audience must be Graph. App-only
// tokens are judged by their roles, delegated ones by their scopes, against the documented
// least-privileged permissions of each call (403 Authorization_RequestDenied). Bodies may be
// gzip-compressed, as kiota sends them. A property the type does not declare, a read-only
// one, or a value of the wrong shape is a 400 with the OData error body
// {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}.
// With Options.ReplicationLag, objects younger than the lag are invisible to reads and
// references, as right after a create in Entra.
//
// The Go API is not stable; the HTTP surface is the contract.
package graph
