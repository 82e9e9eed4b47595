package graph

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// object is a stored Graph entity as its JSON properties.
type object = map[string]any

// entity is a stored object with what the service knows about it beyond its properties.
type entity struct {
	Props   object    `json:"props"`
	Created time.Time `json:"created"`
	// Owner is the object ID of the service principal that created it with an app-only
	// token, for Application.ReadWrite.OwnedBy.
	Owner string `json:"owner,omitempty"`
}

func (e *entity) str(name string) string {
	s, _ := e.Props[name].(string)
	return s
}

// tenant is one directory.
type tenant struct {
	ID     string `json:"id"`
	Domain string `json:"domain"`

	Apps        map[string]*entity  `json:"apps"`        // by object id
	SPs         map[string]*entity  `json:"sps"`         // by object id
	Grants      map[string]*entity  `json:"grants"`      // by grant id
	Assignments map[string]*entity  `json:"assignments"` // appRoleAssignments by id
	Groups      map[string]*entity  `json:"groups"`      // by object id
	Members     map[string][]string `json:"members"`     // group id -> member object ids, in add order
	// Secrets holds SHA-256 hashes of password credentials: app object id -> keyId -> hash.
	// The secret itself is returned once by addPassword and never stored.
	Secrets map[string]map[string]string `json:"secrets"`
	// Federated holds the federatedIdentityCredentials of applications: app object id ->
	// credential id -> credential.
	Federated map[string]map[string]*entity `json:"federatedIdentityCredentials,omitempty"`

	// DefaultPolicy is the tenant default app management policy (nil: as it starts,
	// disabled); AppPolicies the appManagementPolicies by id; PolicyOf the policy assigned
	// to an application (app object id -> policy id; one per app).
	DefaultPolicy object            `json:"defaultAppManagementPolicy,omitempty"`
	AppPolicies   map[string]object `json:"appManagementPolicies,omitempty"`
	PolicyOf      map[string]string `json:"appManagementPolicyOf,omitempty"`

	Operations map[string]*operation `json:"operations"`
	Manifests  map[string]*manifest  `json:"manifests"`
}

func newTenant(id, domain string) *tenant {
	return &tenant{
		ID: id, Domain: domain,
		Apps: map[string]*entity{}, SPs: map[string]*entity{}, Grants: map[string]*entity{},
		Assignments: map[string]*entity{}, Groups: map[string]*entity{}, Members: map[string][]string{},
		Secrets: map[string]map[string]string{}, Federated: map[string]map[string]*entity{}, Operations: map[string]*operation{}, Manifests: map[string]*manifest{},
	}
}

// spByAppID returns the service principal of appID in t.
func (t *tenant) spByAppID(appID string) *entity {
	for _, sp := range t.SPs {
		if strings.EqualFold(sp.str("appId"), appID) {
			return sp
		}
	}
	return nil
}

// appLoc says where an application lives.
type appLoc struct{ tenant, objectID string }

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

func newGUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// snapshot is the persisted form of a Service.
type snapshot struct {
	Version int                `json:"version"`
	Tenants map[string]*tenant `json:"tenants"`
}

// Snapshot returns the JSON of all state, for --state FILE.
func (s *Service) Snapshot() ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, err := json.Marshal(snapshot{Version: 1, Tenants: s.tenants})
	if err != nil {
		return nil, fmt.Errorf("cannot encode graph state: %w", err)
	}
	return b, nil
}

// Restore replaces all state with a Snapshot.
func (s *Service) Restore(b []byte) error {
	var snap snapshot
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&snap); err != nil {
		return fmt.Errorf("cannot decode graph state: %w", err)
	}
	if snap.Version != 1 {
		return fmt.Errorf("cannot restore graph state of version %d (want 1)", snap.Version)
	}
	for id, t := range snap.Tenants {
		fresh := newTenant(t.ID, t.Domain)
		if t.ID != id {
			return fmt.Errorf("cannot restore graph state: tenant key %q holds tenant %q", id, t.ID)
		}
		// Fill maps a hand-edited or older file may lack.
		for _, m := range []*map[string]*entity{&t.Apps, &t.SPs, &t.Grants, &t.Assignments, &t.Groups} {
			if *m == nil {
				*m = map[string]*entity{}
			}
		}
		if t.Members == nil {
			t.Members = fresh.Members
		}
		if t.Secrets == nil {
			t.Secrets = fresh.Secrets
		}
		if t.Federated == nil {
			t.Federated = fresh.Federated
		}
		if t.Operations == nil {
			t.Operations = fresh.Operations
		}
		if t.Manifests == nil {
			t.Manifests = fresh.Manifests
		}
	}
	if snap.Tenants == nil {
		snap.Tenants = map[string]*tenant{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tenants = snap.Tenants
	s.reindex()
	return nil
}

// reindex rebuilds the appId index; the caller holds s.mu.
func (s *Service) reindex() {
	s.apps = map[string]appLoc{}
	for tid, t := range s.tenants {
		for oid, a := range t.Apps {
			s.apps[strings.ToLower(a.str("appId"))] = appLoc{tid, oid}
		}
	}
}
