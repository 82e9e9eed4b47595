package secrets

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// lockPath is the lock file of a secrets file: hidden, next to it. It is never removed
// (removing a lock file others may hold open breaks the lock); `uicctl init` ignores it in
// .gitignore.
func lockPath(real string) string {
	return filepath.Join(filepath.Dir(real), "."+filepath.Base(real)+".lock")
}

// lock takes the exclusive lock of a secrets file, polling so ctx can cancel the wait. The
// operating system drops the lock when its holder dies, so a killed writer never leaves it
// stuck.
func lock(ctx context.Context, path, real string) (unlock func(), err error) {
	lp := lockPath(real)
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, &LockError{Path: path, Lock: lp, Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, LockTimeout)
	defer cancel()
	wait := time.Millisecond
	for {
		busy, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, &LockError{Path: path, Lock: lp, Err: err}
		}
		if !busy {
			return func() {
				unlockFile(f)
				f.Close()
			}, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, &LockError{Path: path, Lock: lp, Err: fmt.Errorf("still locked after waiting: %w", ctx.Err()), Timeout: true}
		case <-time.After(wait):
		}
		if wait < 50*time.Millisecond {
			wait *= 2
		}
	}
}
