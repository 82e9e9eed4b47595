// Package canary plants recognisable fake secrets in tests and finds them again wherever a
// secret must never go: a command's stdout and stderr, its logs, and any file it writes other
// than the encrypted secrets file. A test plants canaries as the client secret and refresh
// token of a tenant, runs a command, and fails if any canary shows up, in clear or in one of
// the common encodings (base64, hex, URL or JSON escaping).
//
// It is a test helper; the uicctl testscript command "canary" (cmd/uicctl) is built on it.
// The Go API is not stable.
package canary
