package secrets

import (
	"fmt"
	"strings"
)

// The errors below are the ones a user can cause and fix. Each names the file and, where it
// helps, a position, never a value; each has a Hint that says what to do.

// NotFoundError: the secrets file does not exist.
type NotFoundError struct {
	Path string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("secrets file %q does not exist", e.Path)
}

// Hint implements the CLI's hint protocol.
func (e *NotFoundError) Hint() string {
	return "check the secrets: path in partner.yaml; uicctl apply creates the file when it stores a new client secret"
}

// NotEncryptedError: the file is YAML without sops metadata. uicctl never reads plaintext
// secrets, so that a secret committed in clear is noticed instead of silently used.
type NotEncryptedError struct {
	Path string
}

func (e *NotEncryptedError) Error() string {
	return fmt.Sprintf("secrets file %q is not encrypted with sops (no sops metadata); uicctl refuses plaintext secrets files", e.Path)
}

// Hint implements the CLI's hint protocol.
func (e *NotEncryptedError) Hint() string {
	return fmt.Sprintf("encrypt it in place with `sops encrypt -i %s` (the .sops.yaml creation rules pick the recipients); if it was ever committed in clear, rotate the client secret and redo the consent", e.Path)
}

// MalformedError: the file is not YAML, not a single mapping, or its sops metadata or its
// uicctl keys have the wrong shape.
type MalformedError struct {
	Path         string
	Line, Column int    // 0 when unknown
	KeyPath      string // dotted key path, "" for the whole file
	Reason       string // never contains a value from the file
}

func (e *MalformedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "secrets file %q", e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, " column %d", e.Column)
		}
	}
	b.WriteString(" is malformed: ")
	if e.KeyPath != "" {
		b.WriteString(e.KeyPath + ": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Hint implements the CLI's hint protocol.
func (e *MalformedError) Hint() string {
	return fmt.Sprintf("restore it from git, or fix it with `sops edit %s`; the format is described in docs/secrets.md", e.Path)
}

// NoKeyError: none of the keys available in this environment can decrypt the file's data
// key.
type NoKeyError struct {
	Path string
	// Recipients are the file's master keys as "type recipient" (e.g. "age age1...").
	Recipients []string
	// Looked lists where sops looked for keys, for the key types the file uses.
	Looked []string
	// Detail is sops's own per-key report (which key failed and why), without colours.
	Detail string
}

func (e *NoKeyError) Error() string {
	return fmt.Sprintf("cannot decrypt secrets file %q: no key available here matches one of its recipients (%s)",
		e.Path, strings.Join(e.Recipients, ", "))
}

// Hint implements the CLI's hint protocol.
func (e *NoKeyError) Hint() string {
	where := "the places the sops CLI uses"
	if len(e.Looked) > 0 {
		where = strings.Join(e.Looked, ", ")
	}
	return "keys were looked for in " + where + "; make the private key of one recipient available there " +
		"(for age: SOPS_AGE_KEY_FILE or $XDG_CONFIG_HOME/sops/age/keys.txt), " +
		"or ask someone who can decrypt to add your key to .sops.yaml and run `sops updatekeys " + e.Path + "`"
}

// MalformedKeyError: an age key source is set but holds no key that parses (a truncated CI
// secret, quotes around it, the public key pasted instead of the private one). It is said
// as such rather than as "no key matches": the key may well be the right one, mangled.
type MalformedKeyError struct {
	Path   string
	Source string // "SOPS_AGE_KEY", or "SOPS_AGE_KEY_FILE (path)"
	// Unreadable: the key file named by SOPS_AGE_KEY_FILE cannot be read at all.
	Unreadable bool
}

func (e *MalformedKeyError) Error() string {
	if e.Unreadable {
		return fmt.Sprintf("cannot decrypt secrets file %q: %s cannot be read", e.Path, e.Source)
	}
	return fmt.Sprintf("cannot decrypt secrets file %q: %s is malformed: it is not a list of age private keys", e.Path, e.Source)
}

// Hint implements the CLI's hint protocol. It never quotes the key.
func (e *MalformedKeyError) Hint() string {
	if e.Unreadable {
		return "point SOPS_AGE_KEY_FILE at the age key file (age-keygen -o FILE writes one), or unset it"
	}
	return "it must hold age private keys, one per line, each starting AGE-SECRET-KEY-1 (the lines of an age key file; # comments allowed): check the CI secret for truncation, surrounding quotes, or a public key (age1...) pasted instead"
}

// IntegrityError: the file decrypts but its content does not match its MAC, or a value does
// not decrypt: the file was edited as text instead of through sops.
type IntegrityError struct {
	Path string
	// MAC is true for a MAC mismatch, false when a value itself failed to decrypt.
	MAC bool
}

func (e *IntegrityError) Error() string {
	if e.MAC {
		return fmt.Sprintf("secrets file %q failed its integrity check (MAC mismatch): it was changed without sops", e.Path)
	}
	return fmt.Sprintf("secrets file %q has a value that does not decrypt: it was changed without sops", e.Path)
}

// Hint implements the CLI's hint protocol.
func (e *IntegrityError) Hint() string {
	return fmt.Sprintf("restore it with `git checkout -- %s` and change it only with `sops edit` or uicctl; "+
		"if the hand edit was intended, review it with `sops decrypt --ignore-mac %s` and re-create the file with sops",
		e.Path, e.Path)
}

// OutsideError: the path is a symlink whose target lies outside the folder that holds the
// path, where uicctl would read or replace a file the tenant does not own.
type OutsideError struct {
	Path   string
	Folder string
}

func (e *OutsideError) Error() string {
	return fmt.Sprintf("secrets file %q is a symlink that leads outside its folder %q", e.Path, e.Folder)
}

// Hint implements the CLI's hint protocol.
func (e *OutsideError) Hint() string {
	return "replace the symlink with the file itself, or point it at a file inside the tenant folder"
}

// NoCreationRuleError: a new file cannot be created because no .sops.yaml applies to it.
type NoCreationRuleError struct {
	Path   string
	Config string // the .sops.yaml consulted, "" when none was found
}

func (e *NoCreationRuleError) Error() string {
	if e.Config == "" {
		return fmt.Sprintf("cannot create secrets file %q: no .sops.yaml found in its folder or any parent folder", e.Path)
	}
	return fmt.Sprintf("cannot create secrets file %q: no creation rule in %q matches it", e.Path, e.Config)
}

// Hint implements the CLI's hint protocol.
func (e *NoCreationRuleError) Hint() string {
	return "add a creation rule whose path_regex matches this file to .sops.yaml (`uicctl init` writes one); see docs/secrets.md"
}

// LockError: the lock file cannot be created, or another process held the lock for longer
// than we waited.
type LockError struct {
	Path    string
	Lock    string
	Err     error
	Timeout bool
}

func (e *LockError) Error() string {
	return fmt.Sprintf("cannot lock secrets file %q: %v", e.Path, e.Err)
}

func (e *LockError) Unwrap() error { return e.Err }

// Hint implements the CLI's hint protocol.
func (e *LockError) Hint() string {
	if !e.Timeout {
		return "uicctl writes a lock file next to the secrets file; the folder must be writable"
	}
	return fmt.Sprintf("another uicctl process is updating it; wait for it to finish (the lock is %s and is released when that process exits)", e.Lock)
}

// ConflictError is an UpdateIf whose precondition failed: the file changed since the
// caller read it, and the newer content was kept.
type ConflictError struct {
	Path string
	What string // "the refresh token"
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("secrets file %q: %s changed since it was read (another uicctl run or an edit); the newer one was kept", e.Path, e.What)
}

// Hint says nothing was lost.
func (e *ConflictError) Hint() string {
	return "nothing to do: the file holds the newer value; run the command again to use it"
}
