//go:build integration

// The real Secret Service round trip. It needs a session bus with an unlocked keyring and fails (never
// skips) without one, so CI notices a missing keyring. Run it with scripts/keyring-test.sh, which starts a
// private bus and gnome-keyring:
//
//	XDG_DATA_HOME=$(mktemp -d) dbus-run-session -- sh -c \
//	  'printf ci | gnome-keyring-daemon --unlock >/dev/null && go test -tags integration ./internal/secret/'

package secret

import (
	"crypto/rand"
	"errors"
	"os"
	"runtime"
	"testing"
	"time"
)

func TestKeyringIntegration(t *testing.T) {
	if runtime.GOOS == "linux" && os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Fatal("DBUS_SESSION_BUS_ADDRESS is not set: run this test through scripts/keyring-test.sh")
	}
	// A fresh scope per run keeps this test from touching any real dirconn secret.
	scope := "integration-test-" + rand.Text()
	s := Open(t.TempDir(), scope, func(string) string { return "" })
	if _, ok := s.(*keyringStore); !ok {
		t.Fatalf("Open without %s = %s, want the OS keyring", PlaintextEnv, s.Name())
	}
	t.Cleanup(func() {
		for _, k := range []string{"ldap.password", "clientSecret", "google.privateKey"} {
			s.Delete(k)
		}
	})

	start := time.Now()
	testStore(t, s)

	other := Keyring(KeyringService, scope+"-other")
	if _, err := other.Get("clientSecret"); !errors.Is(err, ErrNotFound) {
		t.Errorf("another scope sees clientSecret: err = %v, want ErrNotFound", err)
	}

	t.Logf("Secret Service round trip through %s took %v", s.Name(), time.Since(start).Round(time.Millisecond))
}
