package plan

import (
	"time"
)

// FormatVersion is the version of the plan JSON and plan file. Bump it when their shape
// changes (docs/plan-json.md).
const FormatVersion = "1"

// Action says what apply does with a change. Before/After of the fields by action: Create
// has only After; Update both; Delete only Before; Replace both (a new object replaces the
// old one, created before the old one is removed); NoOp carries only notes about live items
// the spec does not name; Manual is a step uicctl cannot take (it is shown, never applied,
// and never counts as pending).
type Action string

const (
	Create  Action = "create"
	Update  Action = "update"
	Delete  Action = "delete"
	Replace Action = "replace"
	NoOp    Action = "no-op"
	Manual  Action = "manual"
)

// Pending reports whether the action is a change apply would make.
func (a Action) Pending() bool { return a == Create || a == Update || a == Delete || a == Replace }

// Object kinds, in the order apply works on them.
const (
	ObjApplication      = "application"
	ObjServicePrincipal = "servicePrincipal"
	ObjFederated        = "federatedCredential" // the operator app's (operator.yaml)
	ObjResourceSP       = "resourceServicePrincipal"
	ObjGrant            = "grant"
	ObjAppRole          = "appRoleAssignment"
	ObjAdminAgents      = "adminAgents"
	ObjClientSecret     = "clientSecret"
	ObjRefreshToken     = "refreshToken"
	ObjAppManagement    = "appManagement"
)

// Change is one planned operation on one object of a tenant.
type Change struct {
	Object string `json:"object"`
	// Address names the object within the tenant, such as grant[partner-center]; it is
	// unique in a tenant plan and stable across runs.
	Address string        `json:"address"`
	Action  Action        `json:"action"`
	Reason  string        `json:"reason,omitempty"`
	Fields  []FieldChange `json:"fields,omitempty"`
	// Notes are live items the spec does not name and that stay (no prune), or other facts
	// the reader should know; they never make the change pending.
	Notes []string `json:"notes,omitempty"`
}

// FieldChange is one field's difference. Scalars use Before/After; sets use Add/Remove
// (and Keep for live members the spec does not name that stay without prune).
type FieldChange struct {
	Path   string   `json:"path"`
	Before *string  `json:"before,omitempty"`
	After  *string  `json:"after,omitempty"`
	Add    []string `json:"add,omitempty"`
	Remove []string `json:"remove,omitempty"`
	Keep   []string `json:"keep,omitempty"`
}

// Tenant is the plan of one tenant.
type Tenant struct {
	Name     string   `json:"name"`
	Path     string   `json:"path"`
	TenantID string   `json:"tenantId"`
	Changes  []Change `json:"changes"`
	// Error is set when the tenant could not be planned; Changes is then empty.
	Error string `json:"error,omitempty"`
	Hint  string `json:"hint,omitempty"`
	// SpecDigest and ObservedDigest bind a saved plan to what it was computed from, so a
	// stale plan is refused by apply.
	SpecDigest     string `json:"specDigest,omitempty"`
	ObservedDigest string `json:"observedDigest,omitempty"`
}

// Counts tallies a tenant's changes by action.
func (t *Tenant) Counts() Summary {
	var s Summary
	for _, c := range t.Changes {
		s.add(c.Action)
	}
	return s
}

// Pending reports whether the tenant has any change apply would make.
func (t *Tenant) Pending() bool {
	for _, c := range t.Changes {
		if c.Action.Pending() {
			return true
		}
	}
	return false
}

// Plan is the plan of a fleet, tenants in path order.
type Plan struct {
	FormatVersion string   `json:"format_version"`
	Tenants       []Tenant `json:"tenants"`
	Summary       Summary  `json:"summary"`
}

// Summary counts changes by action over a plan.
type Summary struct {
	Create  int `json:"create"`
	Update  int `json:"update"`
	Delete  int `json:"delete"`
	Replace int `json:"replace"`
	Manual  int `json:"manual"`
	Errors  int `json:"errors"`
}

func (s *Summary) add(a Action) {
	switch a {
	case Create:
		s.Create++
	case Update:
		s.Update++
	case Delete:
		s.Delete++
	case Replace:
		s.Replace++
	case Manual:
		s.Manual++
	}
}

// New assembles a fleet plan and its summary.
func New(tenants []Tenant) *Plan {
	p := &Plan{FormatVersion: FormatVersion, Tenants: tenants}
	if p.Tenants == nil {
		p.Tenants = []Tenant{}
	}
	for i := range p.Tenants {
		t := &p.Tenants[i]
		if t.Changes == nil {
			t.Changes = []Change{}
		}
		if t.Error != "" {
			p.Summary.Errors++
		}
		for _, c := range t.Changes {
			p.Summary.add(c.Action)
		}
	}
	return p
}

// Pending reports whether any tenant has a change apply would make.
func (p *Plan) Pending() bool {
	for i := range p.Tenants {
		if p.Tenants[i].Pending() {
			return true
		}
	}
	return false
}

// Secrets is what the plan needs to know of a tenant's secrets file: metadata only, never a
// value (plan cannot reach one: this type has no field for it).
type Secrets struct {
	// Found is false when the secrets file does not exist yet.
	Found    bool
	ClientID string
	// SecretKeyID and SecretEnd describe the client secret the file holds; SecretKeyID is
	// empty when it holds none.
	SecretKeyID string
	SecretEnd   time.Time
	// HasRefreshToken, TokenIssued and TokenAccount describe the refresh token.
	HasRefreshToken bool
	TokenIssued     time.Time
	TokenAccount    string
}
