package ldap

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/ldap/sambatest"
	"github.com/dirconn/dirconn/internal/directory/ldap/slapdtest"
)

// The integration tests share one slapd and one Samba DC for the package, each started the first time a
// test needs it (so unit tests run alone stay fast) and stopped by TestMain. Tests that use a server run
// one after another (no t.Parallel) and seed it from a clean state.
var (
	slapdOnce sync.Once
	slapdSrv  *slapdtest.Server
	slapdErr  error

	sambaOnce sync.Once
	sambaSrv  *sambatest.Server
	sambaErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if slapdSrv != nil {
		if err := slapdSrv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop slapd:", err)
		}
	}
	if sambaSrv != nil {
		if err := sambaSrv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop samba:", err)
		}
	}
	os.Exit(code)
}

// skipReal skips t when real servers are switched off and the server is missing, as the helpers' StartT do.
func skipReal(t *testing.T, available error) {
	t.Helper()
	if available == nil {
		return
	}
	if os.Getenv(slapdtest.SkipEnv) == "1" {
		t.Skipf("%v (skipped because %s=1)", available, slapdtest.SkipEnv)
	}
	t.Fatalf("%v (set %s=1 to skip tests that need real directory servers)", available, slapdtest.SkipEnv)
}

// slapd returns the package's OpenLDAP server, reset to an empty tree.
func slapd(t *testing.T) *slapdtest.Server {
	t.Helper()
	skipReal(t, slapdtest.Available())
	slapdOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		slapdSrv, slapdErr = slapdtest.Start(ctx, slapdtest.Options{})
	})
	if slapdErr != nil {
		t.Fatalf("start slapd: %v", slapdErr)
	}
	if !slapdSrv.Running() {
		if err := slapdSrv.Restart(t.Context()); err != nil {
			t.Fatalf("restart slapd: %v", err)
		}
	}
	if err := slapdSrv.Reset(t.Context()); err != nil {
		t.Fatalf("reset slapd: %v", err)
	}
	return slapdSrv
}

// samba returns the package's Samba AD DC, reset to a freshly provisioned domain. It keeps Samba's default
// "ldap server require strong auth = yes", as a hardened Windows DC: password binds need TLS.
func samba(t *testing.T) *sambatest.Server {
	t.Helper()
	skipReal(t, sambatest.Available())
	sambaOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		sambaSrv, sambaErr = sambatest.Start(ctx, sambatest.Options{StrongAuth: true})
	})
	if sambaErr != nil {
		t.Fatalf("start samba: %v", sambaErr)
	}
	if err := sambaSrv.Reset(t.Context()); err != nil {
		t.Fatalf("reset samba: %v", err)
	}
	return sambaSrv
}

// testLogger sends the adapter's log to t (warnings and above, or everything with -v and DIRCONN_LDAP_DEBUG=1).
func testLogger(t *testing.T) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("DIRCONN_LDAP_DEBUG") == "1" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: level}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newSource builds a Source from key/value pairs.
func newSource(t *testing.T, v directory.Values) *Source {
	t.Helper()
	src, err := Adapter().New(directory.Config{Values: directory.WithDefaults(Adapter().Options, v), Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	return src.(*Source)
}

// with returns a copy of v with kv set.
func with(v directory.Values, kv ...string) directory.Values {
	out := directory.Values{}
	for k, x := range v {
		out[k] = x
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// fetchAll reads users and groups and fails t on an error.
func fetchAll(t *testing.T, src directory.Source, f directory.Filters) *directory.Snapshot {
	t.Helper()
	snap, err := src.Fetch(t.Context(), directory.FetchRequest{Users: true, Groups: true, Filters: f})
	if err != nil {
		t.Fatalf("Fetch = %v", err)
	}
	return snap
}

func emails(s *directory.Snapshot) []string {
	var out []string
	for _, u := range s.Users {
		e := strings.ToLower(strings.TrimSpace(u.Email))
		if e == "" {
			e = "username:" + u.EmailPrefix
		}
		out = append(out, e)
	}
	slices.Sort(out)
	return out
}

func groupNames(s *directory.Snapshot) []string {
	var out []string
	for _, g := range s.Groups {
		out = append(out, g.Name)
	}
	slices.Sort(out)
	return out
}
