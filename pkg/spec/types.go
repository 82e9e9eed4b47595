package spec

import (
	"fmt"
	"strconv"
	"time"
)

// APIVersion and Kind are the only values partner.yaml v1 accepts for its header keys.
const (
	APIVersion = "uicctl/v1"
	Kind       = "Partner"
)

// Partner is one partner tenant's desired configuration, with every default filled in.
type Partner struct {
	APIVersion    string        `json:"apiVersion"`
	Kind          string        `json:"kind"`
	Name          string        `json:"name"`
	TenantID      string        `json:"tenantId"`
	Application   Application   `json:"application"`
	PartnerCenter PartnerCenter `json:"partnerCenter"`
	Verify        Verify        `json:"verify"`
	// Delivery is where else the credentials go (nil: only the secrets file).
	Delivery *Delivery `json:"delivery,omitempty"`
	// Secrets is the secrets file path as written, relative to the partner.yaml folder.
	Secrets string `json:"secrets"`
	// Federated are the federated identity credentials of the operator app (kind Operator,
	// operator.yaml); a partner's app has none.
	Federated []FederatedCredential `json:"federatedCredentials,omitempty"`
	// Positions maps key paths ("application.redirectUris") to where their values stand.
	Positions map[string]Pos `json:"-"`
}

// PosOf returns where a key path's value stands, or the zero Pos for a default.
func (p *Partner) PosOf(path string) Pos { return p.Positions[path] }

// Application is the Entra app registration Use IT Cloud signs in with.
type Application struct {
	DisplayName string `json:"displayName"`
	// UniqueName is the Graph alternate key the app is upserted by. Empty when AppID adopts
	// an existing app.
	UniqueName     string       `json:"uniqueName,omitempty"`
	AppID          string       `json:"appId,omitempty"`
	SignInAudience string       `json:"signInAudience"`
	RedirectURIs   []string     `json:"redirectUris"` // normalised the way Entra stores them
	Permissions    []Permission `json:"permissions"`
	AdminConsent   bool         `json:"adminConsent"`
	Preconsent     bool         `json:"preconsent"`
	ClientSecret   ClientSecret `json:"clientSecret"`
	// Prune removes live items the spec does not name (redirect URIs, permissions,
	// password credentials).
	Prune bool `json:"prune"`
}

// Permission is the resolved set of permissions on one resource API.
type Permission struct {
	// API is the alias as written (partner-center, ...) or the resource appId.
	API           string      `json:"api"`
	ResourceAppID string      `json:"resourceAppId"`
	Delegated     []PermScope `json:"delegated,omitempty"`   // resourceAccess type Scope
	Application   []PermScope `json:"application,omitempty"` // resourceAccess type Role
}

// PermScope is one permission: its ID and, for well-known APIs, its value.
type PermScope struct {
	ID    string `json:"id"`
	Value string `json:"value,omitempty"`
}

// ClientSecret is the password credential uicctl keeps on the app.
type ClientSecret struct {
	DisplayName string   `json:"displayName"`
	Lifetime    Duration `json:"lifetime"`
	RenewBefore Duration `json:"renewBefore"`
}

// PartnerCenter holds what cannot be configured through Graph.
type PartnerCenter struct {
	// AppManagement is declared by the consultant (no API exists): "registered" or
	// "unregistered".
	AppManagement string  `json:"appManagement"`
	Consent       Consent `json:"consent"`
}

// Consent describes the Secure Application Model sign-in.
type Consent struct {
	Account string   `json:"account,omitempty"`
	MaxAge  Duration `json:"maxAge"`
}

// Verify chooses what the nightly end-to-end check calls.
type Verify struct {
	Usage    string `json:"usage"`
	Currency string `json:"currency"`
}

// Duration is a span written as "180d" (days) or as a Go duration ("36h").
type Duration time.Duration

// Days reports the duration in whole days, rounded down.
func (d Duration) Days() int { return int(time.Duration(d) / (24 * time.Hour)) }

// String renders whole days as "Nd" and anything else as a Go duration.
func (d Duration) String() string {
	if time.Duration(d)%(24*time.Hour) == 0 {
		return strconv.Itoa(d.Days()) + "d"
	}
	return time.Duration(d).String()
}

// MarshalText renders the duration the way partner.yaml accepts it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Pos is a position in a file, 1-based. The zero Pos means "the whole file".
type Pos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// Severity of a Diagnostic.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Diagnostic is one finding about a file: where, which key, what and how to fix it. It never
// carries a value from the file that could be a secret.
type Diagnostic struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Path     string `json:"path"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Hint     string `json:"hint,omitempty"`
}

// String renders the diagnostic as "file:line:col: path: message".
func (d Diagnostic) String() string {
	loc := d.File
	if d.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", d.File, d.Line, d.Column)
	}
	if d.Path != "" {
		return fmt.Sprintf("%s: %s: %s", loc, d.Path, d.Message)
	}
	return fmt.Sprintf("%s: %s", loc, d.Message)
}

// Tenant is one partner.yaml of a fleet with where it lives.
type Tenant struct {
	// Path is the partner.yaml path as discovered (relative paths stay relative).
	Path string
	// Dir is the folder of Path.
	Dir string
	// Partner is nil when the file could not be loaded.
	Partner *Partner
	// SecretsPath is the secrets file joined with Dir; SecretsPos is where the spec names it
	// (zero when it is the default).
	SecretsPath string
	SecretsPos  Pos
}
