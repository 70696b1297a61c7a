// Package secret keeps dirconn's secrets (the Bitwarden client secret, directory passwords, keys and tokens)
// out of config.json, logs, errors and JSON output.
//
// It has three parts:
//   - Secret, a string type that prints, logs and marshals as "**redacted**"; only Reveal returns the value.
//   - Store, where secrets are kept: the OS keyring (Keyring), an opt-in 0600 file for headless machines
//     (FileStore, chosen by Open when DIRCONN_PLAINTEXT_SECRETS=true) and an in-memory map for tests (Memory).
//   - Resolve, which finds a secret's value at use time: an explicit reference (env:VAR or file:/path), a
//     systemd credential in $CREDENTIALS_DIRECTORY, a DIRCONN_<KEY> environment variable, then the store.
//
// Keys are dirconn's config key names ("clientSecret", "ldap.password"). No function of this package puts a
// secret's value into an error message. Stores are safe for concurrent use.
package secret

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// Redacted is what a Secret prints instead of its value.
const Redacted = "**redacted**"

// Secret is a secret value. It prints (fmt, every verb), logs (slog) and marshals (JSON, text) as
// "**redacted**"; Reveal returns the value. Two holes no method can close: fmt cannot see methods of
// unexported struct fields, and encoding/json writes string-kind map keys as they are. So keep a Secret in
// exported fields only, and never use one as a map key.
type Secret string

// Reveal returns the secret's value. Call it only where the value is sent to the service that needs it.
func (s Secret) Reveal() string { return string(s) }

// String returns "**redacted**".
func (s Secret) String() string { return Redacted }

// GoString returns "**redacted**", for %#v.
func (s Secret) GoString() string { return Redacted }

// Format prints "**redacted**" for every verb (quoted for %q), so no verb or flag can reveal the value.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", Redacted)
		return
	}
	fmt.Fprint(f, Redacted)
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON returns "**redacted**" as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText returns "**redacted**", for encoders that use encoding.TextMarshaler (map keys, XML, ...).
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// Store keeps secrets by key.
type Store interface {
	// Get returns the value stored under key, or an error wrapping ErrNotFound.
	Get(key string) (string, error)
	// Set stores value under key, replacing any earlier value.
	Set(key, value string) error
	// Delete removes key; it returns an error wrapping ErrNotFound when there was nothing to remove.
	Delete(key string) error
	// Name says where the store keeps secrets, for people ("OS keyring (Secret Service)", "file /x/secrets.json").
	Name() string
}

var (
	// ErrNotFound means no value is stored (or provided) for a key.
	ErrNotFound = errors.New("secret not found")
	// ErrNoKeyring means the OS keyring cannot be used: no D-Bus session, no Secret Service provider, a
	// locked collection, or no answer in time. Its errors say how to provide secrets without a keyring.
	ErrNoKeyring = errors.New("OS keyring unavailable")
)

// Memory returns an empty in-memory store, for tests.
func Memory() Store { return &memory{m: map[string]string{}} }

type memory struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *memory) Get(key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	if !ok {
		return "", fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	return v, nil
}

func (s *memory) Set(key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = value
	return nil
}

func (s *memory) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[key]; !ok {
		return fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	delete(s.m, key)
	return nil
}

func (s *memory) Name() string { return "memory" }
