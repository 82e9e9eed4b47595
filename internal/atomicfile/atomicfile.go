// Package atomicfile writes files so that a reader, or the next run after a crash, sees the
// complete old content or the complete new content, never a mix.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile replaces path with data: a temporary file in the same folder, fsync, rename,
// then fsync of the folder so the rename itself survives a crash.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	tmp, err := write(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cannot write %q: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// CreateNew writes path only if it does not exist yet; created is false when it did. The
// content is complete before the name appears (a hard link of the temporary file).
func CreateNew(path string, data []byte, perm fs.FileMode) (created bool, err error) {
	if _, err := os.Lstat(path); err == nil {
		return false, nil
	}
	tmp, err := write(path, data, perm)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("cannot create %q: %w", path, err)
	}
	return true, syncDir(filepath.Dir(path))
}

func write(path string, data []byte, perm fs.FileMode) (string, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cannot create folder %q: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("cannot write in %q: %w", dir, err)
	}
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(f.Name())
		return "", fmt.Errorf("cannot write %q: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("cannot write %q: %w", path, err)
	}
	return f.Name(), nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil // best effort: some platforms cannot open folders
	}
	defer d.Close()
	_ = d.Sync()
	return nil
}
