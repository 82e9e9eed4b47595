package main

import (
	"fmt"

	"github.com/useitcloud/uicctl/pkg/spec"
)

// loadFleet discovers and loads the tenants named by PATH arguments and keeps the ones of
// the selected shard. Diagnostics of tenants outside the shard are dropped with them.
func loadFleet(app *App, paths []string) (*spec.Fleet, error) {
	shard := spec.Shard{K: 1, N: 1}
	if app.Shard != "" {
		s, err := spec.ParseShard(app.Shard)
		if err != nil {
			return nil, usageError{err}
		}
		shard = s
	}
	if app.Parallelism < 1 {
		return nil, usageError{fmt.Errorf("--parallelism must be at least 1")}
	}
	files, err := spec.Discover(paths)
	if err != nil {
		return nil, err
	}
	f := spec.LoadFleet(files, app.Parallelism)
	app.Log.Debug("loaded fleet", "files", len(files))
	if shard.N == 1 {
		return f, nil
	}
	kept := &spec.Fleet{}
	in := map[string]bool{}
	for _, t := range f.Tenants {
		if shard.Contains(spec.ShardKey(t)) {
			kept.Tenants = append(kept.Tenants, t)
			in[t.Path] = true
		}
	}
	for _, d := range f.Diagnostics {
		if in[d.File] {
			kept.Diagnostics = append(kept.Diagnostics, d)
		}
	}
	app.Log.Debug("selected shard", "shard", app.Shard, "tenants", len(kept.Tenants))
	return kept, nil
}

// withoutOperator drops the operator's spec (operator.yaml) from a fleet, for the commands
// that work on partners only (verify, consent, operator consent-url and check).
func withoutOperator(f *spec.Fleet) *spec.Fleet {
	out := &spec.Fleet{Diagnostics: f.Diagnostics}
	for _, t := range f.Tenants {
		if t.Partner == nil || !t.Partner.IsOperator() {
			out.Tenants = append(out.Tenants, t)
		}
	}
	return out
}
