//go:build !integration

// These tests swap go-keyring's process-global provider for its mock, which cannot be undone; they are
// left out of integration builds so the real round trip runs against the real Secret Service. None of
// them may call t.Parallel.

package secret

import (
	"errors"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"
)

func TestKeyringMock(t *testing.T) {
	keyring.MockInit()
	testStore(t, Keyring(KeyringService, "scope-a"))

	// Two scopes (two data directories) never see each other's secrets.
	a, b := Keyring(KeyringService, "scope-a"), Keyring(KeyringService, "scope-b")
	if err := a.Set("ldap.password", value); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get("ldap.password"); !errors.Is(err, ErrNotFound) {
		t.Errorf("scope-b Get of scope-a's secret: err = %v, want ErrNotFound", err)
	}
	if got, err := keyring.Get(KeyringService, "scope-a/ldap.password"); err != nil || got != value {
		t.Errorf("keyring item dirconn / scope-a/ldap.password = %q, %v; want the value", got, err)
	}
}

func TestKeyringMockErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"no session bus", errors.New(`exec: "dbus-launch": executable file not found in $PATH`), "no D-Bus session bus"},
		{"no secret service", errors.New("The name org.freedesktop.secrets was not provided by any .service files"),
			"no Secret Service provider"},
		{"locked", errors.New("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'"),
			"keyring is locked"},
		{"other login password", errors.New("failed to unlock correct collection '/org/freedesktop/secrets/collection/login'"),
			"keyring is locked"},
		{"anything else", errors.New("org.freedesktop.DBus.Error.NoReply"), "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keyring.MockInitWithError(tt.err)
			s := Keyring(KeyringService, "scope")
			errs := map[string]error{"Set": s.Set("ldap.password", value), "Delete": s.Delete("ldap.password")}
			_, errs["Get"] = s.Get("ldap.password")
			for op, err := range errs {
				if !errors.Is(err, ErrNoKeyring) {
					t.Errorf("%s: err = %v, want ErrNoKeyring", op, err)
					continue
				}
				if errors.Is(err, ErrNotFound) {
					t.Errorf("%s: err = %v also matches ErrNotFound", op, err)
				}
				msg := err.Error()
				for _, w := range []string{tt.want, tt.err.Error(), "ldap.password",
					"dirconn config set ldap.password --from-env VAR", "DIRCONN_LDAP_PASSWORD",
					"--from-file FILE", "LoadCredential=", "$CREDENTIALS_DIRECTORY", "DIRCONN_PLAINTEXT_SECRETS=true"} {
					if !strings.Contains(msg, w) {
						t.Errorf("%s: err = %q, want it to contain %q", op, msg, w)
					}
				}
				if strings.Contains(msg, value) {
					t.Errorf("%s: err reveals the secret", op)
				}
			}
		})
	}

	keyring.MockInitWithError(keyring.ErrSetDataTooBig)
	if err := Keyring(KeyringService, "s").Set("google.privateKey", value); err == nil ||
		errors.Is(err, ErrNoKeyring) || !strings.Contains(err.Error(), "too big") || strings.Contains(err.Error(), value) {
		t.Errorf("Set too big: err = %v, want a plain 'too big' error", err)
	}
	keyring.MockInit()
}
