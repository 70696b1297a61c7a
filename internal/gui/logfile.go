package gui

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// LogFile is an io.Writer to dir/name that keeps the log small: when the file would grow beyond max
// bytes it is renamed to name.1 (replacing the older one) and a new file is started. It is safe for
// concurrent use. Secrets never reach it: dirconn logs them as secret.Secret, which prints redacted.
type LogFile struct {
	mu   sync.Mutex
	path string
	max  int64
	f    *os.File
	size int64
}

// OpenLogFile opens (appends to) dir/name, creating dir with mode 0700.
func OpenLogFile(dir, name string, max int64) (*LogFile, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	l := &LogFile{path: filepath.Join(dir, name), max: max}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *LogFile) open() error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.size = f, fi.Size()
	return nil
}

// Path returns the current log file's path.
func (l *LogFile) Path() string { return l.path }

// Write appends p, rotating first when p would take the file past its size cap.
func (l *LogFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, fmt.Errorf("log %s is closed", l.path)
	}
	if l.size > 0 && l.size+int64(len(p)) > l.max {
		l.f.Close()
		os.Rename(l.path, l.path+".1")
		if err := l.open(); err != nil {
			l.f = nil
			return 0, err
		}
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

// Close closes the file.
func (l *LogFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
