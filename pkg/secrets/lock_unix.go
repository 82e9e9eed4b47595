//go:build unix

package secrets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockPath is the lock file of a secrets file: hidden, next to it. It is never removed
// (removing a lock file others may hold open breaks the lock); `uicctl init` ignores it in
// .gitignore.
func lockPath(real string) string {
	return filepath.Join(filepath.Dir(real), "."+filepath.Base(real)+".lock")
}

// lock takes an exclusive flock on the lock file, polling so ctx can cancel the wait. The
// kernel drops the lock when the holder dies, so a SIGKILLed writer never leaves it stuck.
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
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, &LockError{Path: path, Lock: lp, Err: err}
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

// syncDir makes a rename durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
