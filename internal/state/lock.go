package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LockName is the lock file's name in the data dir.
const LockName = "dirconn.lock"

// ErrLocked means another dirconn process is running a sync on this data dir.
var ErrLocked = errors.New("another dirconn sync is running")

// Lock is a held dirconn.lock.
type Lock struct {
	f *os.File
}

type holder struct {
	PID     int       `json:"pid"`
	Since   time.Time `json:"since"`
	Command string    `json:"command"`
}

// Acquire takes dirconn.lock in dir. When another process holds it, Acquire retries until wait has passed
// (0: fail at once) or ctx ends, then returns an error wrapping ErrLocked that says who holds it.
func Acquire(ctx context.Context, dir, command string, wait time.Duration) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	path := filepath.Join(dir, LockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	deadline := time.Now().Add(wait)
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			who := describeHolder(path)
			f.Close()
			return nil, fmt.Errorf("%w (%s); wait for it to finish or stop it", ErrLocked, who)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("%w (%s): %w", ErrLocked, describeHolder(path), ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	data, _ := json.Marshal(holder{PID: os.Getpid(), Since: time.Now().UTC(), Command: command})
	if err := f.Truncate(0); err == nil {
		f.WriteAt(data, 0)
		f.Sync()
	}
	return &Lock{f: f}, nil
}

func describeHolder(path string) string {
	data, err := os.ReadFile(path)
	var h holder
	if err != nil || json.Unmarshal(data, &h) != nil || h.PID == 0 {
		return "lock file " + path
	}
	cmd := strings.TrimSpace(h.Command)
	if cmd == "" {
		cmd = "dirconn"
	}
	return fmt.Sprintf("%s, pid %d, since %s", cmd, h.PID, h.Since.Local().Format(time.DateTime))
}

// Release unlocks. The file stays (removing it would race with a process waiting on it).
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	l.f.Truncate(0)
	err := unlock(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
