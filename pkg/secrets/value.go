package secrets

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/useitcloud/uicctl/internal/scrub"
)

// Redacted is what a Value prints as, whatever the formatting path: the text scrub puts
// where it removed a credential.
const Redacted = scrub.Redacted

// Value is a secret string: a client secret or a refresh token. Printing, logging or
// marshalling it yields [Redacted]; Reveal is the one way to get the text, so every place that
// needs the real value is easy to find and review.
//
// The text is captured in a closure: reflection-based printers (go-cmp's diff, which falls
// back to reflection when two String results are equal, or spew-like dumpers) can reach a
// struct field or a pointer, but not a closure's variables.
type Value struct {
	reveal func() string
}

// NewValue wraps s. The empty string is the zero Value. s is registered with scrub.Known:
// whatever a service echoes of it is removed before it is shown.
func NewValue(s string) Value {
	if s == "" {
		return Value{}
	}
	scrub.Known(s)
	return Value{reveal: func() string { return s }}
}

// Reveal returns the secret text. Call it only where the value leaves uicctl for its
// intended destination (an HTTP request body, the encrypted file).
func (v Value) Reveal() string {
	if v.reveal == nil {
		return ""
	}
	return v.reveal()
}

// IsZero reports whether the value is empty.
func (v Value) IsZero() bool { return v.reveal == nil }

// Equal compares in constant time. go-cmp uses it too, so tests compare Values without
// reaching into the unexported field.
func (v Value) Equal(o Value) bool {
	return subtle.ConstantTimeCompare([]byte(v.Reveal()), []byte(o.Reveal())) == 1
}

// String implements fmt.Stringer.
func (v Value) String() string { return Redacted }

// GoString implements fmt.GoStringer (%#v).
func (v Value) GoString() string { return "secrets.Value(" + strconv.Quote(Redacted) + ")" }

// Format implements fmt.Formatter so that every verb (%s, %v, %q, %x, %d, ...) and every
// flag yields the redacted text.
func (v Value) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprint(f, strconv.Quote(Redacted))
	case 'v':
		if f.Flag('#') {
			fmt.Fprint(f, v.GoString())
			return
		}
		fmt.Fprint(f, Redacted)
	default:
		fmt.Fprint(f, Redacted)
	}
}

// MarshalJSON implements json.Marshaler.
func (v Value) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(Redacted)), nil }

// MarshalText implements encoding.TextMarshaler (and so YAML keys, XML, flag printing).
func (v Value) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// AppendText implements encoding.TextAppender.
func (v Value) AppendText(b []byte) ([]byte, error) { return append(b, Redacted...), nil }

// MarshalYAML implements yaml.Marshaler (go.yaml.in/yaml/v3 and gopkg.in/yaml.v3).
func (v Value) MarshalYAML() (any, error) { return Redacted, nil }

// LogValue implements slog.LogValuer.
func (v Value) LogValue() slog.Value { return slog.StringValue(Redacted) }

// GobEncode refuses: a Value must not be serialised by accident.
func (v Value) GobEncode() ([]byte, error) {
	return nil, fmt.Errorf("secrets.Value cannot be gob-encoded")
}
