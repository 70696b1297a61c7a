package secret

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/zalando/go-keyring"
)

// KeyringService is the service name dirconn's secrets carry in the OS keyring.
const KeyringService = "dirconn"

// keyringTimeout bounds every keyring call: a Secret Service waiting on an unlock prompt nobody answers
// would otherwise block forever.
const keyringTimeout = 10 * time.Second

// Keyring returns a store over the OS keyring (Secret Service on Linux and BSD, Keychain on macOS,
// Credential Manager on Windows). Each secret is an item of service with account "<scope>/<key>". scope is
// the installation's random secretScope from config.json, so two data directories never share secrets; an
// empty scope stores the bare key.
//
// Errors that mean the keyring cannot be used wrap ErrNoKeyring and say how to provide secrets without one.
// A call that gets no answer within 10 seconds (an unlock prompt nobody sees) fails the same way; the
// abandoned call finishes, or not, in the background, and until it does every further call fails at once
// instead of piling up behind the same prompt.
func Keyring(service, scope string) Store {
	return &keyringStore{
		service: service,
		scope:   scope,
		timeout: keyringTimeout,
		get:     keyring.Get,
		set:     keyring.Set,
		del:     keyring.Delete,
	}
}

type keyringStore struct {
	service, scope string
	timeout        time.Duration
	// The go-keyring functions, replaced in tests that need a keyring that hangs.
	get func(service, user string) (string, error)
	set func(service, user, password string) error
	del func(service, user string) error

	mu    sync.Mutex
	stuck int // calls abandoned after the timeout that have not returned yet
}

func (k *keyringStore) account(key string) string {
	if k.scope == "" {
		return key
	}
	return k.scope + "/" + key
}

func (k *keyringStore) Get(key string) (string, error) {
	var v string
	err := k.call("reading", key, func() error {
		var err error
		v, err = k.get(k.service, k.account(key))
		return err
	})
	if err != nil {
		return "", err
	}
	return v, nil
}

func (k *keyringStore) Set(key, value string) error {
	return k.call("storing", key, func() error { return k.set(k.service, k.account(key), value) })
}

func (k *keyringStore) Delete(key string) error {
	return k.call("deleting", key, func() error { return k.del(k.service, k.account(key)) })
}

func (k *keyringStore) Name() string {
	switch runtime.GOOS {
	case "darwin":
		return "OS keyring (macOS Keychain)"
	case "windows":
		return "OS keyring (Windows Credential Manager)"
	}
	return "OS keyring (Secret Service)"
}

// call runs f with the store's timeout and maps go-keyring's errors to ours.
func (k *keyringStore) call(op, key string, f func() error) error {
	k.mu.Lock()
	stuck := k.stuck
	k.mu.Unlock()
	if stuck > 0 {
		return &keyringError{op: op, key: key, cause: "an earlier request to the keyring is still unanswered; " +
			"it may be locked and waiting for an unlock prompt nobody can see"}
	}
	done := make(chan error, 1)
	var finished, abandoned bool // guarded by k.mu
	go func() {
		err := f()
		k.mu.Lock()
		finished = true
		if abandoned {
			k.stuck--
		}
		k.mu.Unlock()
		done <- err
	}()
	timer := time.NewTimer(k.timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return k.mapError(op, key, err)
	case <-timer.C:
		k.mu.Lock()
		if finished { // it answered as the timer fired
			k.mu.Unlock()
			return k.mapError(op, key, <-done)
		}
		abandoned = true
		k.stuck++
		k.mu.Unlock()
		return &keyringError{op: op, key: key, cause: fmt.Sprintf(
			"no answer within %s; the keyring may be locked and waiting for an unlock prompt nobody can see", k.timeout)}
	}
}

func (k *keyringStore) mapError(op, key string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keyring.ErrNotFound):
		return fmt.Errorf("%s: %w in the OS keyring", key, ErrNotFound)
	case errors.Is(err, keyring.ErrSetDataTooBig):
		return fmt.Errorf("%s %s in the OS keyring: the value is too big for it", op, key)
	}
	return &keyringError{op: op, key: key, cause: keyringCause(err), err: err}
}

// keyringCause explains in plain words the go-keyring failures seen on Linux (see specs/fyne-notes.md §5).
// The messages come from go-keyring and godbus and never contain a secret.
func keyringCause(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "dbus-launch"), strings.Contains(msg, "DBUS_SESSION_BUS_ADDRESS"),
		strings.Contains(msg, "session bus"), strings.Contains(msg, "dial unix"):
		return "no D-Bus session bus (is this a login session with a desktop?)"
	case strings.Contains(msg, "org.freedesktop.secrets"), strings.Contains(msg, "ServiceUnknown"):
		return "no Secret Service provider is running (such as gnome-keyring or KeePassXC)"
	case strings.Contains(msg, "failed to unlock"):
		return "the keyring is locked (unlock it, for example by logging in to the desktop)"
	}
	return "the keyring refused the request"
}

// keyringError is an unusable keyring. Its text ends with the ways to provide the secret without one.
type keyringError struct {
	op, key, cause string
	err            error // go-keyring's error; nil on timeout
}

func (e *keyringError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s: %s", e.op, e.key, ErrNoKeyring, e.cause)
	if e.err != nil {
		fmt.Fprintf(&b, " (%v)", e.err)
	}
	b.WriteString("; ")
	b.WriteString(NoKeyringHelp(e.key))
	return b.String()
}

func (e *keyringError) Unwrap() []error {
	if e.err == nil {
		return []error{ErrNoKeyring}
	}
	return []error{ErrNoKeyring, e.err}
}

// NoKeyringHelp says how to give dirconn the secret key on a machine without a usable OS keyring.
func NoKeyringHelp(key string) string {
	if key == "" {
		key = "KEY"
	}
	return fmt.Sprintf("without a keyring, provide the secret from an environment variable "+
		"(dirconn config set %[1]s --from-env VAR, or set %[2]s), from a file "+
		"(dirconn config set %[1]s --from-file FILE; a systemd LoadCredential=%[1]s:FILE is read from "+
		"$CREDENTIALS_DIRECTORY automatically), or opt in to a 0600 secrets.json in the data directory "+
		"with DIRCONN_PLAINTEXT_SECRETS=true", key, EnvVar(key))
}
