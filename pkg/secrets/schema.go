package secrets

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/getsops/sops/v3"

	"github.com/useitcloud/uicctl/internal/scrub"
	"github.com/useitcloud/uicctl/pkg/spec"
)

// File is what uicctl knows of a secrets file. Keys it does not know are kept in the file
// untouched: an update only sets the keys whose values changed.
type File struct {
	// ClientID is the appId of the partner's app registration (not a secret; kept here so the
	// file is complete on its own).
	ClientID     string
	ClientSecret ClientSecret
	RefreshToken RefreshToken
}

// ClientSecret is the app's password credential. Microsoft shows its value exactly once.
type ClientSecret struct {
	Value Value
	// KeyID is the passwordCredential's keyId, used to find it on the app when rotating.
	KeyID string
	// EndDateTime is when Entra stops accepting it.
	EndDateTime time.Time
}

// RefreshToken is the Secure Application Model token from the partner's consent.
type RefreshToken struct {
	Value Value
	// IssuedAt is when the consent (or the last redemption) produced this token.
	IssuedAt time.Time
	// LastUsedAt is when uicctl last redeemed it; Microsoft expires it after 90 days unused.
	LastUsedAt time.Time
	// Account is the partner user who consented (a UPN).
	Account string
}

// Problem is one schema violation. Message never contains a value from the file.
type Problem struct {
	KeyPath      string // dotted, e.g. "clientSecret.endDateTime"
	Line, Column int
	Message      string
}

// SchemaError: the file decrypts but uicctl's keys have the wrong type or format.
type SchemaError struct {
	Path     string
	Problems []Problem
}

func (e *SchemaError) Error() string {
	p := e.Problems[0]
	msg := fmt.Sprintf("secrets file %q", e.Path)
	if p.Line > 0 {
		msg += fmt.Sprintf(" line %d column %d", p.Line, p.Column)
	}
	msg += fmt.Sprintf(": %s: %s", p.KeyPath, p.Message)
	if n := len(e.Problems) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more problem(s); uicctl validate lists them all)", n)
	}
	return msg
}

// Hint implements the CLI's hint protocol.
func (e *SchemaError) Hint() string {
	return fmt.Sprintf("fix the value with `sops edit %s`; the format is described in docs/secrets.md", e.Path)
}

type fieldKind int

const (
	kindGUID fieldKind = iota
	kindTime
	kindSecret
	kindUPN
)

// field maps one known key path to its File member. Values cross between the tree and File
// as canonical text, so "changed" means "canonical text differs".
type field struct {
	path []string
	kind fieldKind
	get  func(*File) string
	set  func(*File, string)
}

var fields = []field{
	{[]string{"clientId"}, kindGUID,
		func(f *File) string { return f.ClientID },
		func(f *File, s string) { f.ClientID = s }},
	{[]string{"clientSecret", "value"}, kindSecret,
		func(f *File) string { return f.ClientSecret.Value.Reveal() },
		func(f *File, s string) { f.ClientSecret.Value = NewValue(s) }},
	{[]string{"clientSecret", "keyId"}, kindGUID,
		func(f *File) string { return f.ClientSecret.KeyID },
		func(f *File, s string) { f.ClientSecret.KeyID = s }},
	{[]string{"clientSecret", "endDateTime"}, kindTime,
		func(f *File) string { return formatTime(f.ClientSecret.EndDateTime) },
		func(f *File, s string) { f.ClientSecret.EndDateTime = mustTime(s) }},
	{[]string{"refreshToken", "value"}, kindSecret,
		func(f *File) string { return f.RefreshToken.Value.Reveal() },
		func(f *File, s string) { f.RefreshToken.Value = NewValue(s) }},
	{[]string{"refreshToken", "issuedAt"}, kindTime,
		func(f *File) string { return formatTime(f.RefreshToken.IssuedAt) },
		func(f *File, s string) { f.RefreshToken.IssuedAt = mustTime(s) }},
	{[]string{"refreshToken", "lastUsedAt"}, kindTime,
		func(f *File) string { return formatTime(f.RefreshToken.LastUsedAt) },
		func(f *File, s string) { f.RefreshToken.LastUsedAt = mustTime(s) }},
	{[]string{"refreshToken", "account"}, kindUPN,
		func(f *File) string { return f.RefreshToken.Account },
		func(f *File, s string) { f.RefreshToken.Account = s }},
}

// sections are the known keys whose value must be a mapping.
var sections = []string{"clientSecret", "refreshToken"}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func mustTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic("secrets: time text not validated before set: " + err.Error())
	}
	return t
}

var encRE = regexp.MustCompile(`^ENC\[AES256_GCM,data:.+,iv:.+,tag:.+,type:.+\]$`)

func isEncrypted(v any) bool {
	s, ok := v.(string)
	return ok && encRE.MatchString(s)
}

// lookup finds the item at path in a branch; found is false when a key is missing.
func lookup(b sops.TreeBranch, path []string) (v any, found bool) {
	var cur any = b
	for _, k := range path {
		br, ok := cur.(sops.TreeBranch)
		if !ok {
			return nil, false
		}
		found = false
		for _, it := range br {
			if key, ok := it.Key.(string); ok && key == k {
				cur, found = it.Value, true
				break
			}
		}
		if !found {
			return nil, false
		}
	}
	return cur, true
}

// canonical turns a tree leaf into the field's canonical text, or explains why it cannot.
// encrypted says the tree is still encrypted: an ENC[...] leaf is then accepted unread.
func canonical(fl field, v any, encrypted bool) (text string, problem string) {
	if v == nil {
		return "", "" // "key:" with no value is the same as absent
	}
	if encrypted && isEncrypted(v) {
		return "", ""
	}
	if fl.kind == kindSecret && encrypted {
		if s, ok := v.(string); ok && s == "" {
			return "", ""
		}
		return "", "is stored in plaintext: it must be encrypted by sops (check the encrypted_regex of the creation rule, see docs/secrets.md)"
	}
	if s, ok := v.(string); ok && s != "" {
		if p := valueProblem(fl.kind, s); p != "" {
			return "", p
		}
	}
	switch fl.kind {
	case kindTime:
		switch t := v.(type) {
		case time.Time:
			return formatTime(t), ""
		case string:
			if t == "" {
				return "", ""
			}
			parsed, _ := time.Parse(time.RFC3339, t) // valueProblem checked it
			return formatTime(parsed), ""
		}
		return "", "must be an RFC 3339 date-time such as 2026-05-01T00:00:00Z"
	case kindGUID:
		s, ok := v.(string)
		if !ok {
			return "", "must be a GUID string"
		}
		return strings.ToLower(s), ""
	default:
		s, ok := v.(string)
		if !ok {
			return "", "must be a string"
		}
		return s, ""
	}
}

// valueProblem says what is wrong with s as the text of a field of kind, or "" when nothing
// is. It never repeats s.
func valueProblem(kind fieldKind, s string) string {
	if strings.ContainsAny(s, "\r\n") {
		return "must be one line"
	}
	if kind == kindSecret {
		return ""
	}
	// Only the value keys are encrypted (.sops.yaml's encrypted_regex): a credential in any
	// other key would be committed in clear.
	if shape, ok := scrub.Shape(s); ok {
		return "looks like " + shape + ", and this key is stored in clear: secrets belong in clientSecret.value or refreshToken.value"
	}
	switch kind {
	case kindGUID:
		if !spec.ValidGUID(s) {
			return "must be a GUID such as 00000000-0000-0000-0000-000000000000"
		}
	case kindTime:
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return "must be an RFC 3339 date-time such as 2026-05-01T00:00:00Z"
		}
	case kindUPN:
		if !spec.ValidAccount(s) {
			return "must be the user principal name of the account that consented, such as admin@contoso.onmicrosoft.com"
		}
	}
	return ""
}

// ValueError is a value secrets set refuses for a key. It never contains the value.
type ValueError struct {
	Key, Problem string
}

func (e *ValueError) Error() string { return e.Key + " " + e.Problem }

// Hint says where the right value is found.
func (e *ValueError) Hint() string {
	switch {
	case e.Problem == "must be one line":
		return "give the value on one line: uicctl secrets set stores exactly one line from stdin"
	case strings.HasPrefix(e.Problem, "looks like"):
		return "check that the key is the one you meant (uicctl secrets set FILE refreshToken for the token itself); if the value was pasted somewhere shared, revoke it"
	case strings.HasSuffix(e.Key, "Id"):
		return "copy it from the Entra portal > App registrations"
	case strings.HasSuffix(e.Key, "account"):
		return "the partner account that signed in at consent (uicctl secrets status shows the one stored)"
	}
	return "such as 2026-05-01T00:00:00Z (the portal shows the secret's expiry date)"
}

// CheckValue checks value for key as secrets set names keys (clientId, clientSecret,
// clientSecret.keyId, refreshToken.account, ...): one line, the key's format, and no
// credential in a key stored in clear. It is the check validate applies to a file's keys.
func CheckValue(key, value string) error {
	for _, fl := range fields {
		p := strings.Join(fl.path, ".")
		if p == key || p == key+".value" {
			if problem := valueProblem(fl.kind, value); problem != "" {
				return &ValueError{Key: key, Problem: problem}
			}
			return nil
		}
	}
	return fmt.Errorf("unknown key %q", key)
}

// fromTree reads the known keys of b into a File and lists every schema problem.
func fromTree(b sops.TreeBranch, encrypted bool) (*File, []Problem) {
	f := &File{}
	var problems []Problem
	for _, s := range sections {
		if v, ok := lookup(b, []string{s}); ok && v != nil {
			if _, isBranch := v.(sops.TreeBranch); !isBranch && !(encrypted && isEncrypted(v)) {
				problems = append(problems, Problem{KeyPath: s, Message: "must be a mapping (see docs/secrets.md)"})
			}
		}
	}
	for _, fl := range fields {
		v, ok := lookup(b, fl.path)
		if !ok {
			continue
		}
		text, problem := canonical(fl, v, encrypted)
		if problem != "" {
			problems = append(problems, Problem{KeyPath: strings.Join(fl.path, "."), Message: problem})
			continue
		}
		if text != "" {
			fl.set(f, text)
		}
	}
	return f, problems
}

// validateFile checks the File a caller wants to write, before anything touches disk.
func validateFile(f *File) error {
	for _, fl := range fields {
		text := fl.get(f)
		if text == "" {
			continue
		}
		if _, problem := canonical(fl, text, false); problem != "" {
			return fmt.Errorf("cannot write %s: %s", strings.Join(fl.path, "."), problem)
		}
	}
	return nil
}

// change is one key to set (text != "") or remove (text == "").
type change struct {
	path []string
	text string
}

// diff lists the known keys whose canonical text differs between old and new.
func diff(old, new *File) []change {
	var out []change
	for _, fl := range fields {
		if a, b := fl.get(old), fl.get(new); a != b {
			if fl.kind == kindGUID {
				if strings.EqualFold(a, b) {
					continue
				}
			}
			out = append(out, change{path: fl.path, text: b})
		}
	}
	return out
}
