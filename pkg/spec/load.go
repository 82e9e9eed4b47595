package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds what Load reads: a partner.yaml is a few hundred bytes, and a bound
// keeps a hostile or mistaken file (a log, a binary) from costing memory.
const MaxFileSize = 256 << 10

// Defaults that reproduce the documented manual onboarding.
const (
	DefaultDisplayName   = "Partner Center Web App"
	DefaultRedirectURI   = "http://localhost:8400/"
	DefaultAudience      = "AzureADMultipleOrgs"
	DefaultSecretName    = "uicctl"
	DefaultSecretsFile   = "secrets.sops.yaml"
	DefaultAppManagement = "registered"
	DefaultUsage         = "auto"
	DefaultCurrency      = "USD"
)

var (
	// DefaultLifetime and friends are durations in days.
	DefaultLifetime    = days(180)
	DefaultRenewBefore = days(30)
	DefaultConsentAge  = days(60)
	// MaxLifetime is the longest client secret the Entra portal offers (24 months).
	MaxLifetime = days(730)
	// MaxConsentAge: a refresh token unused for 90 days is dead, so an older one is useless.
	MaxConsentAge = days(90)
)

// Value patterns; the JSON Schema uses the same expressions.
const (
	namePattern       = `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`
	guidPattern       = `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`
	uniqueNamePattern = `^[A-Za-z0-9._-]{1,120}$`
	durationPattern   = `^[0-9]+(d|h)$`
	currencyPattern   = `^[A-Z]{3}$`
	accountPattern    = `^[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`
)

var (
	nameRE       = regexp.MustCompile(namePattern)
	guidRE       = regexp.MustCompile(guidPattern)
	uniqueNameRE = regexp.MustCompile(uniqueNamePattern)
	durationRE   = regexp.MustCompile(durationPattern)
	currencyRE   = regexp.MustCompile(currencyPattern)
	accountRE    = regexp.MustCompile(accountPattern)
)

// Enumerations; the JSON Schema uses the same lists.
var (
	SignInAudiences = []string{"AzureADMyOrg", "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount", "PersonalMicrosoftAccount"}
	AppManagements  = []string{"registered", "unregistered"}
	UsageKinds      = []string{"auto", "unbilled", "azure-utilization", "billing-export"}
)

// Load reads and validates one partner.yaml. The Partner is nil when any error was found;
// diagnostics may hold warnings either way.
func Load(path string) (*Partner, []Diagnostic) {
	f, err := os.Open(path)
	if err != nil {
		return nil, []Diagnostic{fileError(path, "cannot read file: "+errText(err), "")}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, []Diagnostic{fileError(path, "cannot read file: "+errText(err), "")}
	}
	if filepath.Base(path) == OperatorFileName {
		return ParseOperator(path, data)
	}
	return Parse(path, data)
}

func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func fileError(file, msg, hint string) Diagnostic {
	return Diagnostic{File: file, Severity: SeverityError, Message: msg, Hint: hint}
}

// Parse validates partner.yaml content; file names it in diagnostics.
func Parse(file string, data []byte) (*Partner, []Diagnostic) {
	return parseWith(file, data, (*decoder).partner)
}

// parseWith parses one YAML document strictly and decodes it with decode (partner.yaml or
// operator.yaml), with positions, key paths and every problem found at once.
func parseWith(file string, data []byte, decode func(*decoder, *yaml.Node) *Partner) (*Partner, []Diagnostic) {
	if diags := precheck(file, data); len(diags) > 0 {
		return nil, diags
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, []Diagnostic{{File: file, Line: 1, Column: 1, Severity: SeverityError, Message: "file is empty", Hint: "a minimal spec is apiVersion, kind, name and tenantId; see uicctl init"}}
		}
		return nil, []Diagnostic{yamlError(file, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			return nil, []Diagnostic{yamlError(file, err)}
		}
		return nil, []Diagnostic{{File: file, Line: line, Column: 1, Severity: SeverityError, Message: "more than one YAML document", Hint: "keep one partner per partner.yaml; remove the extra --- section"}}
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	d := &decoder{file: file, pos: map[string]Pos{}}
	if isNull(doc) {
		d.add(doc, "(document)", "a minimal spec is apiVersion, kind, name and tenantId; see uicctl init", "file has no content")
		return nil, d.diags
	}
	if d.scanSecrets(doc, "") {
		return nil, d.diags // aliases: the tree is not what it looks like; stop here
	}
	p := decode(d, doc)
	p.Positions = d.pos
	sort.SliceStable(d.diags, func(i, j int) bool {
		a, b := d.diags[i], d.diags[j]
		return a.Line < b.Line || a.Line == b.Line && a.Column < b.Column
	})
	if hasErrors(d.diags) {
		return nil, d.diags
	}
	return p, d.diags
}

func hasErrors(diags []Diagnostic) bool {
	for _, d := range diags {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}

// precheck refuses what is not a small YAML text before the parser sees it.
func precheck(file string, data []byte) []Diagnostic {
	if len(data) > MaxFileSize {
		return []Diagnostic{fileError(file, fmt.Sprintf("file is larger than %d KiB", MaxFileSize>>10), "a partner.yaml is a few hundred bytes; is this the right file?")}
	}
	if at := firstBinary(data); at >= 0 {
		line := 1 + bytes.Count(data[:at], []byte("\n"))
		col := 1 + at - (bytes.LastIndexByte(data[:at], '\n') + 1)
		return []Diagnostic{{File: file, Line: line, Column: col, Severity: SeverityError,
			Message: "file is not UTF-8 text", Hint: "is this the right file? partner.yaml must be UTF-8 YAML"}}
	}
	var diags []Diagnostic
	for i, line := range bytes.Split(data, []byte("\n")) {
		indent := line[:len(line)-len(bytes.TrimLeft(line, " \t"))]
		if j := bytes.IndexByte(indent, '\t'); j >= 0 {
			diags = append(diags, Diagnostic{File: file, Line: i + 1, Column: j + 1, Severity: SeverityError,
				Message: "tab character in indentation", Hint: "YAML indents with spaces only; replace the tab with spaces"})
		}
	}
	return diags
}

// firstBinary returns the offset of the first NUL byte or invalid UTF-8 sequence, or -1.
func firstBinary(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == 0 || (r == utf8.RuneError && size == 1) {
			return i
		}
		i += size
	}
	return -1
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns a parser error into a diagnostic with the line the parser names.
func yamlError(file string, err error) Diagnostic {
	msg := err.Error()
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	d := Diagnostic{File: file, Severity: SeverityError, Message: "invalid YAML: " + msg, Hint: "check the indentation and quoting around this line"}
	if line > 0 {
		d.Line, d.Column = line, 1
	}
	return d
}

// ValidName reports whether s can be a tenant name.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// ValidAccount reports whether s is a user principal name (partnerCenter.consent.account,
// and the account a secrets file names for its refresh token).
func ValidAccount(s string) bool { return accountRE.MatchString(s) }

// ValidGUID reports whether s is a GUID.
func ValidGUID(s string) bool { return guidRE.MatchString(s) }
