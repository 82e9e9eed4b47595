package report

import (
	"sort"

	"github.com/useitcloud/uicctl/pkg/verify"
)

// Change is what a notification says about a tenant: its status moved, or one of its
// deadlines crossed into a worse horizon, since the last state.
type Change struct {
	Tenant string
	Path   string
	// From is the status of the last state ("" when the state did not have the tenant), To
	// this run's.
	From, To verify.Status
	// Crossed are the deadlines whose horizon got worse (consent maxAge is left out: it is
	// the refresh token's warn horizon, crossed at the same time).
	Crossed []Deadline
	// Problems are the tenant's failed and warned checks in this run.
	Problems []verify.Check
}

// Kind says the change in a word: "failing", "warning", "recovered" or "deadline".
func (c Change) Kind() string {
	if c.From == c.To || (c.From == "" && c.To == verify.Pass) {
		return "deadline"
	}
	switch c.To {
	case verify.Fail:
		return "failing"
	case verify.Warn:
		return "warning"
	}
	return "recovered"
}

// Changes compares a run (next, built from r by NextState) with the last state: a tenant
// is listed when its status changed (a tenant new to the state only when it did not pass)
// or a deadline got to a worse horizon. The worst come first, then by name. Nothing changed:
// nil.
func Changes(prev, next *State, r *verify.Report) []Change {
	var out []Change
	for _, t := range r.Tenants {
		now := next.Tenants[key(&t)]
		old, seen := prev.Tenants[key(&t)]
		c := Change{Tenant: key(&t), Path: t.Path, To: now.Status}
		if seen {
			c.From = old.Status
		}
		statusMoved := (seen && old.Status != now.Status) || (!seen && now.Status != verify.Pass)
		for _, kind := range []string{DeadlineClientSecret, DeadlineRefreshToken} {
			d, ok := now.Deadlines[kind]
			if !ok {
				continue
			}
			was := HorizonOK
			if od, ok := old.Deadlines[kind]; ok && od.At.Equal(d.At) {
				was = od.Horizon
			}
			if d.Horizon.rank() > was.rank() {
				d.Kind = kind
				c.Crossed = append(c.Crossed, d)
			}
		}
		if !statusMoved && len(c.Crossed) == 0 {
			continue
		}
		for _, ch := range t.Checks {
			if ch.Status == verify.Fail || ch.Status == verify.Warn {
				c.Problems = append(c.Problems, ch)
			}
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if a, b := statusRank(out[i].To), statusRank(out[j].To); a != b {
			return a > b
		}
		return out[i].Tenant < out[j].Tenant
	})
	return out
}

func statusRank(s verify.Status) int {
	switch s {
	case verify.Fail:
		return 2
	case verify.Warn:
		return 1
	}
	return 0
}
