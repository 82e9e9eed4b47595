package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/useitcloud/uicctl/pkg/verify"
)

// StateVersion is the state file's format; a file of another version is refused rather
// than misread.
const StateVersion = 1

// State is what verify remembers between runs (--state FILE): per tenant the last status of
// each check and since when, and the deadlines seen. It holds no secret and no hash of one,
// so it can be committed. Maps keep the JSON's keys sorted, so the same run writes the same
// bytes.
type State struct {
	Version int                    `json:"version"`
	Tenants map[string]TenantState `json:"tenants"`
}

// TenantState is one tenant's entry, keyed by its name.
type TenantState struct {
	Checks    map[string]CheckState `json:"checks"`
	Deadlines map[string]Deadline   `json:"deadlines,omitempty"`
	Path      string                `json:"path"`
	// RefreshTokenLastUse is the later of the refresh token's issue and last use.
	RefreshTokenLastUse *time.Time    `json:"refreshTokenLastUse,omitempty"`
	Since               time.Time     `json:"since"`
	Status              verify.Status `json:"status"`
}

// CheckState is a check's last status and the first run that saw it.
type CheckState struct {
	Since  time.Time     `json:"since"`
	Status verify.Status `json:"status"`
}

// ReadState reads a state file; a file that does not exist is an empty state (the first
// run).
func ReadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &State{Version: StateVersion, Tenants: map[string]TenantState{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the state file: %w", err)
	}
	var s State
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s is not a verify state file: %w", path, err)
	}
	if s.Version != StateVersion {
		return nil, fmt.Errorf("%s is a verify state file of version %d; this uicctl reads version %d", path, s.Version, StateVersion)
	}
	if s.Tenants == nil {
		s.Tenants = map[string]TenantState{}
	}
	for _, t := range s.Tenants {
		for k, d := range t.Deadlines {
			d.Kind = k
			t.Deadlines[k] = d
		}
	}
	return &s, nil
}

// IsState reports whether b is a state file (of any version), so that --state replaces
// only a state file.
func IsState(b []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(b, &top) != nil {
		return false
	}
	_, v := top["version"]
	_, t := top["tenants"]
	return v && t && len(top) == 2
}

// key names a tenant in the state, the to-do list and the reports: its name, or its path
// when its spec is too broken to have one.
func key(t *verify.Tenant) string {
	if t.Name != "" {
		return t.Name
	}
	return t.Path
}

// NextState is the state after a run at now: each status keeps its since while it stays
// the same. Tenants of prev that this run did not check (another shard's, or removed ones)
// are left out: each state file belongs to one set of tenants.
func NextState(prev *State, r *verify.Report, now time.Time) *State {
	now = now.UTC().Truncate(time.Second)
	next := &State{Version: StateVersion, Tenants: map[string]TenantState{}}
	for _, t := range r.Tenants {
		old, seen := prev.Tenants[key(&t)]
		ts := TenantState{Path: t.Path, Status: t.Worst(), Since: now, Checks: map[string]CheckState{}}
		if seen && old.Status == ts.Status {
			ts.Since = old.Since
		}
		for _, c := range t.Checks {
			cs := CheckState{Status: c.Status, Since: now}
			if oc, ok := old.Checks[c.Name]; ok && oc.Status == c.Status {
				cs.Since = oc.Since
			}
			ts.Checks[c.Name] = cs
		}
		if lu := t.Expiry.RefreshTokenLastUse; !lu.IsZero() {
			lu = lu.UTC().Truncate(time.Second)
			ts.RefreshTokenLastUse = &lu
		}
		for _, d := range Deadlines(t.Expiry, now) {
			if ts.Deadlines == nil {
				ts.Deadlines = map[string]Deadline{}
			}
			ts.Deadlines[d.Kind] = d
		}
		next.Tenants[key(&t)] = ts
	}
	return next
}

// Encode is the state file's bytes: indented JSON, keys sorted, a final newline.
func (s *State) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
