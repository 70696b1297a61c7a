package sambatest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// fileLock is the machine-wide flock on LockPath. The file also records who holds it and which samba
// that holder started, so a waiter can name the holder and a later holder can clean up after one that
// died without Stop.
type fileLock struct {
	f *os.File
}

// acquireLock waits (polling, so ctx can end the wait) for the exclusive flock on LockPath.
func acquireLock(ctx context.Context, o Options) (*fileLock, error) {
	f, err := os.OpenFile(LockPath, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", LockPath, err)
	}
	logged := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", LockPath, err)
		}
		if !logged {
			o.logf("sambatest: another Samba DC runs (%s); waiting for %s", holderInfo(f), LockPath)
			logged = true
		}
		select {
		case <-ctx.Done():
			h := holderInfo(f)
			f.Close()
			return nil, fmt.Errorf("waiting for %s (held by %s): %w", LockPath, h, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	l := &fileLock{f: f}
	l.cleanStale(o)
	return l, nil
}

// holderInfo describes the holder recorded in the lock file.
func holderInfo(f *os.File) string {
	rec := readRecord(f)
	if rec["pid"] == "" {
		return "an unknown process"
	}
	return fmt.Sprintf("pid %s (%s)", rec["pid"], rec["cmd"])
}

func readRecord(f *os.File) map[string]string {
	b := make([]byte, 4096)
	n, _ := f.ReadAt(b, 0)
	rec := map[string]string{}
	for _, line := range strings.Split(string(b[:n]), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			rec[k] = v
		}
	}
	return rec
}

// record writes the holder's pid, command line, samba's pid and the folder into the lock file.
func (l *fileLock) record(s *Server) error {
	cmd, _ := os.ReadFile("/proc/self/cmdline")
	var b strings.Builder
	fmt.Fprintf(&b, "pid=%d\ncmd=%s\ndir=%s\ntemp=%t\n", os.Getpid(),
		strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " ")), s.Dir, s.tempDir)
	if s.proc != nil {
		fmt.Fprintf(&b, "samba=%d\nsamba-start=%s\n", s.proc.pid, procStartTime(s.proc.pid))
	}
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	_, err := l.f.WriteAt([]byte(b.String()), 0)
	return err
}

// cleanStale kills a samba left behind by a holder that died without Stop (its lock went with it) and
// removes that holder's temporary folder. It touches only the process group the record names, and only
// if that process is still the samba recorded (same pid, same start time; samba renames itself
// "samba: root process", so its command line cannot tell).
func (l *fileLock) cleanStale(o Options) {
	rec := readRecord(l.f)
	pid, err := strconv.Atoi(rec["samba"])
	if err == nil && pid > 1 {
		cmd, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if strings.HasPrefix(string(cmd), "samba") && rec["samba-start"] != "" && procStartTime(pid) == rec["samba-start"] {
			o.logf("sambatest: killing samba (process group %d) left behind by pid %s", pid, rec["pid"])
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			deadline := time.Now().Add(10 * time.Second)
			for groupAlive(pid) && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	if rec["temp"] == "true" && strings.HasPrefix(filepath.Base(rec["dir"]), "dirconn-samba-") {
		os.RemoveAll(rec["dir"])
	}
	l.f.Truncate(0)
}

// release clears the record and unlocks.
func (l *fileLock) release() {
	l.f.Truncate(0)
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
}

// procStartTime returns the start time of process pid (field 22 of /proc/pid/stat), or "".
func procStartTime(pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return ""
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state)
	if len(f) < 20 {
		return ""
	}
	return f[19]
}
