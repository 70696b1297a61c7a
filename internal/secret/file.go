package secret

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/dirconn/dirconn/internal/atomicfile"
)

// FileStore returns a store that keeps secrets as a JSON object {"key": "value"} in the file at path
// (secrets.json in the data directory), for headless machines that opt in with
// DIRCONN_PLAINTEXT_SECRETS=true. The file is written with mode 0600 by temp file + fsync + rename, and
// re-read on every call so several processes see each other's changes.
//
// It refuses to read a file that group or others may read (on Unix): such a file has already leaked, and
// a warning would go unseen in a service log. The error says how to fix the mode.
func FileStore(path string) Store { return &fileStore{path: path} }

type fileStore struct {
	mu   sync.Mutex // serializes read-modify-write within this process
	path string
}

func (s *fileStore) Name() string { return "file " + s.path }

func (s *fileStore) Get(key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.read()
	if err != nil {
		return "", err
	}
	v, ok := m[key]
	if !ok {
		return "", fmt.Errorf("%s: %w in %s", key, ErrNotFound, s.path)
	}
	return v, nil
}

func (s *fileStore) Set(key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.read()
	if err != nil {
		return err
	}
	m[key] = value
	return s.write(m)
}

func (s *fileStore) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.read()
	if err != nil {
		return err
	}
	if _, ok := m[key]; !ok {
		return fmt.Errorf("%s: %w in %s", key, ErrNotFound, s.path)
	}
	delete(m, key)
	return s.write(m)
}

// read returns the file's secrets; a missing file holds none.
func (s *fileStore) read() (map[string]string, error) {
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading secrets: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading secrets: %w", err)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("secrets file %s has mode %04o and may be read by other users; "+
			"refusing to use it: run chmod 600 %s (and consider rotating the secrets it holds)", s.path, perm, s.path)
	}
	m := map[string]string{}
	if err := json.NewDecoder(f).Decode(&m); err != nil {
		// Never quote the decoder's message: a syntax error names the offending character, which may be
		// part of a secret.
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("secrets file %s is not valid JSON (syntax error at byte %d)", s.path, se.Offset)
		}
		return nil, fmt.Errorf("secrets file %s is not a JSON object of strings", s.path)
	}
	if m == nil { // the file says null
		m = map[string]string{}
	}
	return m, nil
}

func (s *fileStore) write(m map[string]string) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("writing secrets: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("writing secrets: %w", err)
	}
	return atomicfile.WriteFile(s.path, append(data, '\n'), 0o600)
}
