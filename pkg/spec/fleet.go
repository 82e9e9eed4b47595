package spec

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// SpecFileName is the file name fleet discovery looks for in directories.
const SpecFileName = "partner.yaml"

// Discover expands PATH arguments: a file is taken as it is, a directory is searched
// recursively for partner.yaml (hidden folders such as .git are skipped). The result is
// sorted and free of duplicates.
//
// A partner.yaml is treated as secrets files are: a symlink is followed only when its
// target lies inside the fleet (the PATH searched; for a file named as a PATH, the folder
// that holds it), since the spec decides which app uicctl writes and which secrets file it
// replaces; and a partner.yaml that is not a regular file (a folder) is an error, not
// skipped.
func Discover(args []string) ([]string, error) {
	if len(args) == 0 {
		args = []string{"."}
	}
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if p = filepath.Clean(p); !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, arg := range args {
		info, err := os.Lstat(arg)
		if err != nil {
			return nil, &PathError{Path: arg, Err: err}
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			if info, err = os.Stat(arg); err != nil {
				return nil, &PathError{Path: arg, Err: err}
			}
			if !info.IsDir() {
				if err := checkSpecFile(arg, filepath.Dir(arg)); err != nil {
					return nil, err
				}
			}
		}
		if !info.IsDir() {
			if !info.Mode().IsRegular() {
				return nil, &PathError{Path: arg, Err: errNotAFile}
			}
			add(arg)
			continue
		}
		found := false
		// A directory gives its partner.yaml files, never operator.yaml: that one is planned
		// and applied only when named, signed in as the consultant. A fleet run (CI's plan
		// of .) signs in as the operator app itself, which holds no right in the home tenant
		// and so cannot widen its own permissions.
		err = filepath.WalkDir(arg, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.Name() == SpecFileName && p != arg {
				if err := checkSpecFile(p, arg); err != nil {
					return err
				}
				found = true
				add(p)
				return nil
			}
			if e.IsDir() && p != arg && strings.HasPrefix(e.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		})
		var pe *PathError
		if errors.As(err, &pe) {
			return nil, pe
		}
		if err != nil {
			return nil, &PathError{Path: arg, Err: err}
		}
		if !found {
			return nil, &PathError{Path: arg, Err: errNoSpec}
		}
	}
	sort.Strings(out)
	return out, nil
}

// checkSpecFile refuses a partner.yaml found at p (under root) that is not a regular
// file, or a symlink whose target lies outside root.
func checkSpecFile(p, root string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return &PathError{Path: p, Err: err}
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(p)
		if err != nil {
			return &PathError{Path: p, Err: err}
		}
		realRoot, err := filepath.EvalSymlinks(root)
		if err != nil {
			return &PathError{Path: root, Err: err}
		}
		target, _ = filepath.Abs(target)
		realRoot, _ = filepath.Abs(realRoot)
		if rel, err := filepath.Rel(realRoot, target); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return &PathError{Path: p, Err: errOutside}
		}
		if fi, err = os.Stat(target); err != nil {
			return &PathError{Path: p, Err: err}
		}
	}
	if !fi.Mode().IsRegular() {
		return &PathError{Path: p, Err: errNotAFile}
	}
	return nil
}

var (
	errNotAFile = errors.New("not a regular file")
	errOutside  = errors.New("a symlink to a file outside the fleet")
)

var errNoSpec = errors.New("no " + SpecFileName + " found")

// PathError is a PATH argument that cannot be used.
type PathError struct {
	Path string
	Err  error
}

func (e *PathError) Error() string {
	var pe *fs.PathError
	if errors.As(e.Err, &pe) {
		return fmt.Sprintf("cannot read %q: %v", e.Path, pe.Err)
	}
	return fmt.Sprintf("cannot read %q: %v", e.Path, e.Err)
}

func (e *PathError) Unwrap() error { return e.Err }

// Hint tells the user what a PATH argument should be.
func (e *PathError) Hint() string {
	switch {
	case errors.Is(e.Err, errNoSpec):
		return "a PATH is a partner.yaml or a folder with partner.yaml files below it; uicctl init DIR creates one"
	case errors.Is(e.Err, errOutside):
		return "a partner.yaml symlink must point inside the fleet (as a secrets file's must point inside its folder): copy the file instead"
	case errors.Is(e.Err, errNotAFile):
		return "partner.yaml must be a regular file; rename or remove what has its name"
	}
	return "a PATH is a partner.yaml or a folder with partner.yaml files below it"
}

// Fleet is the result of loading every tenant: tenants in path order and all diagnostics,
// grouped by file in the same order.
type Fleet struct {
	Tenants     []Tenant
	Diagnostics []Diagnostic
}

// Errors counts error diagnostics.
func (f *Fleet) Errors() int {
	n := 0
	for _, d := range f.Diagnostics {
		if d.Severity == SeverityError {
			n++
		}
	}
	return n
}

// LoadFleet loads every file (at most parallelism at once, bounded by the CPUs: loading is
// CPU work) and checks what spans files: names unique in the
// fleet, and no two specs managing the same app in the same tenant.
func LoadFleet(files []string, parallelism int) *Fleet {
	type result struct {
		p     *Partner
		diags []Diagnostic
	}
	results := make([]result, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(max(parallelism, 1), runtime.GOMAXPROCS(0), max(len(files), 1)) {
		wg.Go(func() {
			for i := range next {
				p, diags := Load(files[i])
				results[i] = result{p, diags}
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()

	f := &Fleet{}
	byName := map[string]int{}
	byApp := map[string]int{}
	vaultNames := map[string]string{}
	for i, file := range files {
		r := results[i]
		t := Tenant{Path: file, Dir: filepath.Dir(file), Partner: r.p}
		if r.p != nil && !r.p.IsOperator() {
			t.SecretsPath = filepath.Join(t.Dir, filepath.FromSlash(r.p.Secrets))
		}
		if r.p != nil {
			t.SecretsPos = r.p.PosOf("secrets")
			if prev, dup := byName[r.p.Name]; dup {
				at := r.p.PosOf("name")
				r.diags = append(r.diags, Diagnostic{File: file, Line: at.Line, Column: at.Column, Path: "name", Severity: SeverityError,
					Message: fmt.Sprintf("name %q is also used by %s", r.p.Name, files[prev]),
					Hint:    "names are unique in the fleet; rename one of the tenants"})
				t.Partner = nil
			} else {
				byName[r.p.Name] = i
			}
			app := r.p.TenantID + "/" + r.p.Application.UniqueName + r.p.Application.AppID
			if prev, dup := byApp[app]; dup && t.Partner != nil {
				at := r.p.PosOf("tenantId")
				r.diags = append(r.diags, Diagnostic{File: file, Line: at.Line, Column: at.Column, Path: "tenantId", Severity: SeverityError,
					Message: fmt.Sprintf("the same application of tenant %s is managed by %s", r.p.TenantID, files[prev]),
					Hint:    "one partner.yaml manages one app; remove one or give it another uniqueName"})
				t.Partner = nil
			} else if !dup {
				byApp[app] = i
			}
			if t.Partner != nil {
				for _, msg := range vaultNameConflicts(r.p, vaultNames) {
					kp, text, _ := strings.Cut(msg, ": ")
					at := r.p.PosOf(kp)
					if at.Line == 0 {
						at = r.p.PosOf("delivery.keyVault.url")
					}
					r.diags = append(r.diags, Diagnostic{File: file, Line: at.Line, Column: at.Column, Path: kp, Severity: SeverityError,
						Message: text, Hint: "secret names are unique per vault in the fleet; name them under delivery.keyVault.names"})
					t.Partner = nil
				}
			}
		}
		f.Tenants = append(f.Tenants, t)
		f.Diagnostics = append(f.Diagnostics, r.diags...)
	}
	return f
}

// Shard is a K/N selection of a fleet.
type Shard struct{ K, N int }

// ParseShard reads "K/N" with 1 <= K <= N.
func ParseShard(s string) (Shard, error) {
	k, n, ok := strings.Cut(s, "/")
	ki, err1 := strconv.Atoi(k)
	ni, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || ni < 1 || ki < 1 || ki > ni {
		return Shard{}, fmt.Errorf("invalid shard %q: want K/N with 1 <= K <= N, such as 2/4", s)
	}
	return Shard{ki, ni}, nil
}

// Contains reports whether a tenant belongs to the shard. The key is the tenant's name (or,
// for a spec that failed to load, its folder name), hashed, so adding a tenant never moves
// another one to a different shard.
func (s Shard) Contains(key string) bool {
	if s.N <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return int(h.Sum64()%uint64(s.N)) == s.K-1
}

// ShardKey is the key Contains is asked about for a tenant.
func ShardKey(t Tenant) string {
	if t.Partner != nil {
		return t.Partner.Name
	}
	return filepath.Base(t.Dir)
}
