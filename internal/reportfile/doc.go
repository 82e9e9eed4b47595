// Package reportfile writes the files uicctl produces as reports (a JUnit file, a plan
// file, an HTML report, a state file) where the user names them, and refuses to replace
// anything else there: a partner.yaml, a secrets file, .sops.yaml, or a file that is not a
// report of the same kind. A mistyped --junit must not cost an uncommitted client secret.
// Files are written atomically (internal/atomicfile).
package reportfile
