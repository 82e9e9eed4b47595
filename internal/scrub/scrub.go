package scrub

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Redacted replaces what Text removes. It is the text secrets.Value prints as.
const Redacted = "[redacted]"

// MinKnown is the shortest value Known registers: shorter ones (an empty flag, "true") would
// redact ordinary words, and no credential is that short.
const MinKnown = 8

var (
	mu    sync.RWMutex
	known = map[string]bool{}
	// bySuffix indexes every form of every known value by its last MinKnown bytes: Text
	// looks each position of a text up once, and Known adds to it without rebuilding
	// anything (a fleet run registers hundreds of tokens between errors). The end, not the
	// start: tokens of one issuer share long prefixes (a JWT's header), not ends.
	bySuffix = map[string][]string{}
	// suffixBits is a one-hash Bloom filter of bySuffix's keys: most positions of a text are
	// ruled out without a map lookup.
	suffixBits [suffixBitsLen / 64]uint64
)

const suffixBitsLen = 1 << 20

func suffixBit(k string) (word int, mask uint64) {
	h := binary.LittleEndian.Uint64([]byte(k[:MinKnown])) * 0x9E3779B97F4A7C15 >> (64 - 20)
	return int(h / 64), 1 << (h % 64)
}

// Known registers credentials this process holds, so that Text removes them in every form a
// service could reflect them in. Empty and very short values are ignored. Safe for
// concurrent use, and cheap: a value's forms are indexed once.
func Known(values ...string) {
	for _, v := range values {
		if len(v) < MinKnown {
			continue
		}
		mu.RLock()
		seen := known[v]
		mu.RUnlock()
		if seen {
			continue
		}
		fs := forms(v) // outside the lock: the encodings are the costly part
		mu.Lock()
		if !known[v] {
			known[v] = true
			for _, f := range fs {
				if len(f) < MinKnown {
					continue
				}
				k := f[len(f)-MinKnown:]
				w, m := suffixBit(k)
				suffixBits[w] |= m
				if !slices.Contains(bySuffix[k], f) {
					bySuffix[k] = append(bySuffix[k], f)
				}
			}
		}
		mu.Unlock()
	}
}

// replaceKnown replaces every known form in s; overlapping ones are removed as one.
func replaceKnown(s string) string {
	mu.RLock()
	defer mu.RUnlock()
	if len(bySuffix) == 0 {
		return s
	}
	var b strings.Builder
	last, start := 0, -1 // start: of the pending redaction, -1 when none
	redactUpTo := 0
	for j := MinKnown; j <= len(s); j++ {
		if w, m := suffixBit(s[j-MinKnown : j]); suffixBits[w]&m == 0 {
			continue
		}
		from := -1
		for _, f := range bySuffix[s[j-MinKnown:j]] {
			if len(f) <= j && s[j-len(f):j] == f && (from < 0 || j-len(f) < from) {
				from = j - len(f)
			}
		}
		if from < 0 {
			continue
		}
		switch {
		case start >= 0 && from <= redactUpTo:
			// Overlaps (or touches) the pending redaction: extend it (never back into what
			// is already written).
			start = max(min(start, from), last)
		default:
			if start >= 0 {
				b.WriteString(s[last:start])
				b.WriteString(Redacted)
				last = redactUpTo
			}
			start = max(from, last)
		}
		redactUpTo = j
	}
	if start < 0 {
		return s
	}
	b.WriteString(s[last:start])
	b.WriteString(Redacted)
	b.WriteString(s[redactUpTo:])
	return b.String()
}

// forms are the encodings a reflected credential takes: as sent in a form body or query
// (URL escaping), in a path, in a Basic header or a []byte JSON field (base64 at any byte
// alignment), in a JSON string and Go's %q.
func forms(v string) []string {
	out := []string{v, url.QueryEscape(v), url.PathEscape(v), strings.ReplaceAll(url.QueryEscape(v), "+", "%20")}
	for _, e := range out[1:4] {
		out = append(out, lowerEscapes(e))
	}
	if b, err := json.Marshal(v); err == nil {
		q := string(b[1 : len(b)-1])
		out = append(out, q, strings.ReplaceAll(q, "/", `\/`))
	}
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) == nil {
		q := strings.TrimSpace(sb.String())
		out = append(out, q[1:len(q)-1])
	}
	q := strconv.Quote(v)
	out = append(out, q[1:len(q)-1])
	out = append(out, hex.EncodeToString([]byte(v)), strings.ToUpper(hex.EncodeToString([]byte(v))))
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		out = append(out, base64Middles(e, v)...)
	}
	return out
}

// lowerEscapes writes the %XX escapes of s in lower case, as some servers do.
func lowerEscapes(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1] = toLowerHex(b[i+1])
			b[i+2] = toLowerHex(b[i+2])
		}
	}
	return string(b)
}

func toLowerHex(c byte) byte {
	if c >= 'A' && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
}

// base64Middles returns, for each of the three byte alignments v can have inside a longer
// encoded text ("client:secret" in a Basic header), the characters that encode only bytes
// of v. Removing them removes v, whatever surrounds it.
func base64Middles(e *base64.Encoding, v string) []string {
	var out []string
	for k := 0; k < 3; k++ {
		src := make([]byte, k, k+len(v))
		src = append(src, v...)
		enc := e.WithPadding(base64.NoPadding).EncodeToString(src)
		start := (8*k + 5) / 6      // first character with no prefix bit
		end := 8 * (k + len(v)) / 6 // characters after this one hold bits of what follows
		if end-start >= MinKnown {
			out = append(out, enc[start:end])
		}
	}
	return out
}

// shapePatterns are what a credential looks like, known or not. Shape matches them against
// a whole value (pkg/spec refuses such values in partner.yaml, secrets set in readable keys);
// Text removes them anywhere in a text.
var shapePatterns = []struct {
	kind string
	re   string // unanchored
	// open means the pattern matches a value's prefix (a JWT's signature part is optional
	// for recognising it): Shape does not anchor its end.
	open bool
}{
	// Entra client secrets since 2021: three characters, a digit, "Q~", then 31-34 more.
	{"an Entra client secret", `[A-Za-z0-9_\-.~]{3}[0-9]Q~[A-Za-z0-9_\-.~]{31,34}`, false},
	// A JWT (access or ID token), signature included when Text removes it.
	{"a token", `eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`, true},
	// Entra v2 refresh tokens start with "0.A" or "1.A" and run to hundreds of characters.
	{"a refresh token", `[01]\.A[A-Za-z0-9_\-.*]{80,}`, false},
	{"an age private key", `AGE-SECRET-KEY-1[0-9A-Z]{58}`, false},
	{"a private key", `-----BEGIN [A-Z ]*PRIVATE KEY-----`, true},
}

var (
	shapeWhole = func() []*regexp.Regexp {
		out := make([]*regexp.Regexp, len(shapePatterns))
		for i, p := range shapePatterns {
			re := `^(?:` + p.re + `)`
			if !p.open {
				re += `$`
			}
			out[i] = regexp.MustCompile(re)
		}
		return out
	}()
	// shapeAnywhere is every shape in one alternation, plus a private key block to its end
	// and the Base64 of a JWT header and payload a proxy may have re-encoded.
	shapeAnywhere = func() *regexp.Regexp {
		alts := []string{`-----BEGIN [A-Z ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z ]*PRIVATE KEY-----|\z)`}
		for _, p := range shapePatterns {
			alts = append(alts, p.re)
		}
		return regexp.MustCompile(strings.Join(alts, "|"))
	}()
	// credentialParam is a credential parameter in a form body, a query, JSON or a header
	// echo: its value goes whatever it is. "code" only after ? or &: an authorization code
	// in a callback URL, not "error code=" prose.
	credentialParam = regexp.MustCompile(`(?i)((?:\b(?:client_secret|refresh_token|access_token|id_token|code_verifier|client_assertion|assertion|password|passwd|otc|sig|secret|secretText|token)|[?&]code)(?:"\s*:\s*"|\\"\s*:\s*\\"|=|%3D))([^&\s"'\\<>,;]+)`)
	// authHeader is an Authorization header's credentials.
	authHeader = regexp.MustCompile(`(?i)\b(?:bearer|basic|pop)[ \t]+[A-Za-z0-9._~+/=-]{8,}`)
)

// shapeLiterals are in every match of shapeAnywhere; headerLiterals (lower case) in every
// match of authHeader.
var (
	shapeLiterals  = []string{"Q~", "eyJ", ".A", "AGE-SECRET-KEY-1", "PRIVATE KEY"}
	headerLiterals = []string{"bearer", "basic", "pop"}
)

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// Shape reports whether value, as a whole, looks like a credential, and which kind.
func Shape(value string) (kind string, ok bool) {
	for i, re := range shapeWhole {
		if re.MatchString(value) {
			return shapePatterns[i].kind, true
		}
	}
	return "", false
}

// Text returns s with every known credential and anything credential-shaped replaced by
// [Redacted], and control characters escaped (\x1b, \u009b, ...; "\r\n" becomes "\n", tabs
// and newlines stay). It is cheap on the short texts errors are.
func Text(s string) string {
	// Each regular expression runs only when a literal it needs is there: most error texts
	// have none, and Text runs on every error.
	//
	// Shapes first: a known value inside a token (a tenant ID's Base64 in a JWT's payload)
	// replaced first would break the token's shape and leave its signature showing.
	if containsAny(s, shapeLiterals) {
		s = shapeAnywhere.ReplaceAllLiteralString(s, Redacted)
	}
	s = replaceKnown(s)
	lower := ""
	if strings.ContainsAny(s, "=:%") {
		lower = strings.ToLower(s)
		if strings.Contains(s, "=") || strings.Contains(s, "\":") || strings.Contains(lower, "%3d") {
			s = credentialParam.ReplaceAllString(s, "${1}"+Redacted)
		}
	}
	if lower == "" {
		lower = strings.ToLower(s)
	}
	if containsAny(lower, headerLiterals) {
		s = authHeader.ReplaceAllStringFunc(s, func(m string) string {
			i := strings.LastIndexAny(m, " \t")
			// "Basic authentication" is prose: a credential has a digit or punctuation.
			if !strings.ContainsAny(m[i+1:], "0123456789._~+/=-") {
				return m
			}
			return m[:i+1] + Redacted
		})
	}
	return escapeControls(s)
}

// escapeControls escapes C0 and C1 controls, DEL, and the Unicode bidirectional overrides
// (which reorder what the terminal shows); invalid UTF-8 becomes U+FFFD.
func escapeControls(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteRune(utf8.RuneError)
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x`)
			b.WriteString(hex.EncodeToString([]byte{byte(r)}))
		case (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f:
			b.WriteString(strconv.QuoteRuneToASCII(r)[1 : len(strconv.QuoteRuneToASCII(r))-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// Line is Text for a one-line context (a JUnit attribute, a table cell, a log value):
// newlines and tabs are escaped too.
func Line(s string) string {
	s = Text(s)
	if !strings.ContainsAny(s, "\n\t") {
		return s
	}
	return strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(s)
}
