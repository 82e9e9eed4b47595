// Package cloud names the endpoint sets uicctl talks to: the public, US Government and China
// clouds, or a cloud file (JSON with login, graph, partnerCenter and partnerApi base URLs)
// such as the one the sandbox writes.
//
// The Go API is not stable; the cloud file format is the contract.
package cloud
