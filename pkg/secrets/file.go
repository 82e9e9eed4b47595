package secrets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// testOnlyAfterTempWrite, when set, runs after the new content is in the temp file and
// before the rename; crash tests use it to widen the window a SIGKILL can hit.
var testOnlyAfterTempWrite func()

// LockTimeout bounds how long Update and Create wait for another process's lock.
const LockTimeout = 2 * time.Minute

// Read decrypts the secrets file at path with the keys available to sops and returns
// uicctl's keys. The file must be sops-encrypted, well-formed, and must not be a symlink
// leading outside its folder. ctx is checked before the work starts (sops's key services
// take no context).
func Read(ctx context.Context, path string) (*File, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d, err := open(path)
	if err != nil {
		return nil, err
	}
	if _, _, err := d.decrypt(); err != nil {
		return nil, err
	}
	f, problems := fromTree(d.tree.Branches[0], false)
	if len(problems) > 0 {
		return nil, &SchemaError{Path: path, Problems: d.problems(problems)}
	}
	return f, nil
}

// Inspection is what can be learned about a secrets file without any key.
type Inspection struct {
	// Recipients are the file's master keys as "type recipient".
	Recipients []string
	// Problems are schema violations visible without decrypting: wrong shapes, a secret
	// value stored in plaintext, a malformed plaintext date or GUID.
	Problems []Problem
}

// Inspect checks the secrets file at path without decrypting it: it must be sops-encrypted
// YAML with readable metadata and uicctl's keys in the documented shape, with the secret
// values encrypted. The returned error is one of this package's user errors.
func Inspect(path string) (*Inspection, error) {
	d, err := open(path)
	if err != nil {
		return nil, err
	}
	_, problems := fromTree(d.tree.Branches[0], true)
	return &Inspection{Recipients: d.recipients(), Problems: d.problems(problems)}, nil
}

// Check is Inspect and then, when that finds no problem, Read, on one reading of the file
// (what uicctl validate does for each tenant). err is Inspect's error, or Read's when the
// file was decrypted: a *NoKeyError means only the keyless checks ran.
func Check(ctx context.Context, path string) (*Inspection, *File, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	d, err := open(path)
	if err != nil {
		return nil, nil, err
	}
	_, problems := fromTree(d.tree.Branches[0], true)
	ins := &Inspection{Recipients: d.recipients(), Problems: d.problems(problems)}
	if len(problems) > 0 {
		return ins, nil, nil
	}
	if _, _, err := d.decrypt(); err != nil {
		return ins, nil, err
	}
	f, problems := fromTree(d.tree.Branches[0], false)
	if len(problems) > 0 {
		return ins, nil, &SchemaError{Path: path, Problems: d.problems(problems)}
	}
	return ins, f, nil
}

// Update changes the secrets file at path: under the file's lock it reads and decrypts the
// current content, hands uicctl's keys to fn, and writes back only the keys fn changed
// (recipients, data key, other keys and comments kept; MAC recomputed). Nothing is written
// when nothing changed. A missing file is created following the .sops.yaml creation rules,
// unless fn leaves the empty File empty. changed reports whether the file was written.
func Update(ctx context.Context, path string, fn func(*File) error) (changed bool, err error) {
	return modify(ctx, path, func(old *File) ([]change, error) {
		next := *old
		if err := fn(&next); err != nil {
			return nil, err
		}
		if err := validateFile(&next); err != nil {
			return nil, err
		}
		return diff(old, &next), nil
	})
}

// UpdateIf is Update with a compare-and-swap precondition: under the file's lock, still is
// asked whether the current content is what the caller's change was computed from (the
// refresh token it redeemed, the client secret it replaced). If not, another process
// updated the file in between: nothing is written, the newer content is kept, and the
// error is a *ConflictError naming what (as "the refresh token"). Every read-modify-write
// whose new value depends on the old one goes through here, so two uicctl processes never
// lose each other's updates.
func UpdateIf(ctx context.Context, path, what string, still func(cur *File) bool, fn func(*File) error) (changed bool, err error) {
	return Update(ctx, path, func(f *File) error {
		if !still(f) {
			return &ConflictError{Path: path, What: what}
		}
		return fn(f)
	})
}

// Preflight checks, writing nothing, that an Update of path can store a value: an existing
// file decrypts (an update keeps its data key and recipients); a missing one has a
// .sops.yaml creation rule whose keys encrypt (a dry encrypt of a one-key document). apply
// runs it before its first write, so a run that could not store the client secret fails
// before the app exists.
func Preflight(ctx context.Context, path string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	real, err := resolve(path)
	var nf *NotFoundError
	if errors.As(err, &nf) {
		if real, err = newPath(path); err != nil {
			return err
		}
		_, err = newDoc(path, real, branchOf([]change{{path: []string{"clientId"}, text: "preflight"}}))
		return err
	}
	if err != nil {
		return err
	}
	d, err := open(path)
	if err != nil {
		return err
	}
	_, _, err = d.decrypt()
	return err
}

// modify is Update on key paths: under the lock, it re-reads the file, asks compute which
// keys to set or remove given the current content, and writes only if there are any.
func modify(ctx context.Context, path string, compute func(old *File) ([]change, error)) (changed bool, err error) {
	real, err := resolve(path)
	var nf *NotFoundError
	missing := errors.As(err, &nf)
	if err != nil && !missing {
		return false, err
	}
	if missing {
		if real, err = newPath(path); err != nil {
			return false, err
		}
	}
	unlock, err := lock(ctx, path, real)
	if err != nil {
		return false, err
	}
	defer unlock()

	raw, err := readLimited(path, real)
	if errors.Is(err, fs.ErrNotExist) {
		changes, err := compute(&File{})
		if err != nil || len(changes) == 0 {
			return false, err
		}
		out, err := newDoc(path, real, branchOf(changes))
		if err != nil {
			return false, err
		}
		return true, writeAtomic(real, out)
	}
	if err != nil {
		return false, fmt.Errorf("cannot read secrets file %q: %w", path, err)
	}
	d, err := parse(path, real, raw)
	if err != nil {
		return false, err
	}
	key, cipher, err := d.decrypt()
	if err != nil {
		return false, err
	}
	old, problems := fromTree(d.tree.Branches[0], false)
	if len(problems) > 0 {
		return false, &SchemaError{Path: path, Problems: d.problems(problems)}
	}
	changes, err := compute(old)
	if err != nil || len(changes) == 0 {
		return false, err
	}
	if err := d.apply(changes); err != nil {
		return false, err
	}
	out, err := d.encrypt(key, cipher)
	if err != nil {
		return false, err
	}
	return true, writeAtomic(real, out)
}

// Create writes a new secrets file at path holding f, encrypted for the recipients of the
// first .sops.yaml creation rule that matches it. It refuses to replace an existing file.
func Create(ctx context.Context, path string, f *File) error {
	if _, err := resolve(path); err == nil {
		return fmt.Errorf("cannot create secrets file %q: %w", path, fs.ErrExist)
	} else if nf := (*NotFoundError)(nil); !errors.As(err, &nf) {
		return err
	}
	real, err := newPath(path)
	if err != nil {
		return err
	}
	if err := validateFile(f); err != nil {
		return err
	}
	unlock, err := lock(ctx, path, real)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Lstat(real); err == nil {
		return fmt.Errorf("cannot create secrets file %q: %w", path, fs.ErrExist)
	}
	out, err := newDoc(path, real, branchOf(diff(&File{}, f)))
	if err != nil {
		return err
	}
	return writeAtomic(real, out)
}

// open resolves path and reads and structure-checks the file.
func open(path string) (*doc, error) {
	real, err := resolve(path)
	if err != nil {
		return nil, err
	}
	return load(path, real)
}

// load reads and structure-checks an existing file.
func load(path, real string) (*doc, error) {
	raw, err := readLimited(path, real)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &NotFoundError{Path: path}
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read secrets file %q: %w", path, err)
	}
	return parse(path, real, raw)
}

// MaxFileSize bounds a secrets file (1 MiB): uicctl's keys take a few kilobytes, and a
// larger file is not read into memory (and decrypted) at all.
const MaxFileSize = 1 << 20

// readLimited reads a secrets file of at most MaxFileSize bytes.
func readLimited(path, real string) ([]byte, error) {
	f, err := os.Open(real)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > MaxFileSize {
		return nil, &MalformedError{Path: path, Reason: fmt.Sprintf("larger than %d KiB", MaxFileSize>>10)}
	}
	return raw, nil
}

// resolve returns the real path of an existing secrets file. A symlink is followed only
// when its target lies inside the folder that holds the link: uicctl replaces the file it
// writes, and must not replace (or read) a file another tenant or the system owns.
func resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("cannot resolve secrets file %q: %w", path, err)
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if errors.Is(err, fs.ErrNotExist) {
		return "", &NotFoundError{Path: path}
	}
	if err != nil {
		return "", fmt.Errorf("cannot resolve secrets file %q: %w", path, err)
	}
	link := filepath.Join(dir, filepath.Base(abs))
	fi, err := os.Lstat(link)
	if errors.Is(err, fs.ErrNotExist) {
		return link, &NotFoundError{Path: path}
	}
	if err != nil {
		return "", fmt.Errorf("cannot read secrets file %q: %w", path, err)
	}
	real := link
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(link)
		if err != nil {
			// A dangling link: judge where it points without following it.
			t, rerr := os.Readlink(link)
			if rerr == nil && !filepath.IsAbs(t) {
				t = filepath.Join(dir, t)
			}
			if rerr == nil && !inside(dir, filepath.Clean(t)) {
				return "", &OutsideError{Path: path, Folder: filepath.Dir(path)}
			}
			return "", &NotFoundError{Path: path}
		}
		if !inside(dir, target) {
			return "", &OutsideError{Path: path, Folder: filepath.Dir(path)}
		}
		real = target
		if fi, err = os.Stat(real); err != nil {
			return "", fmt.Errorf("cannot read secrets file %q: %w", path, err)
		}
	}
	if !fi.Mode().IsRegular() {
		return "", &MalformedError{Path: path, Reason: "not a regular file"}
	}
	return real, nil
}

// newPath returns where a new file for path goes: its folder must exist, and a dangling
// symlink is refused rather than replaced.
func newPath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("cannot resolve secrets file %q: %w", path, err)
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return "", fmt.Errorf("cannot create secrets file %q: its folder: %w", path, err)
	}
	real := filepath.Join(dir, filepath.Base(abs))
	if fi, err := os.Lstat(real); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return "", fmt.Errorf("cannot create secrets file %q: it is a symlink to a missing file", path)
	}
	return real, nil
}

func inside(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// tempPrefix names the temp files of real; only a lock holder creates them, so any found
// under the lock were left by a writer that died.
func tempPrefix(real string) string { return "." + filepath.Base(real) + ".tmp-" }

// writeAtomic replaces real with data: a temp file in the same folder (mode 0600), fsync,
// rename, then fsync of the folder, so a crash leaves either the old or the new file.
func writeAtomic(real string, data []byte) (err error) {
	dir := filepath.Dir(real)
	if olds, _ := filepath.Glob(filepath.Join(dir, tempPrefix(real)+"*")); len(olds) > 0 {
		for _, o := range olds {
			os.Remove(o)
		}
	}
	tmp, err := os.CreateTemp(dir, tempPrefix(real)+"*")
	if err != nil {
		return fmt.Errorf("cannot write secrets file %q: %w", real, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("cannot write secrets file %q: %w", real, err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("cannot write secrets file %q: %w", real, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("cannot write secrets file %q: %w", real, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("cannot write secrets file %q: %w", real, err)
	}
	if testOnlyAfterTempWrite != nil {
		testOnlyAfterTempWrite()
	}
	if err = os.Rename(tmp.Name(), real); err != nil {
		return fmt.Errorf("cannot write secrets file %q: %w", real, err)
	}
	syncDir(dir)
	return nil
}
