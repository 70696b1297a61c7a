package google

import (
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/directorytest"
	"github.com/dirconn/dirconn/internal/directory/google/googlefake"
	"github.com/dirconn/dirconn/internal/httpx"
	"github.com/dirconn/dirconn/internal/httpx/httpxtest"
)

// testAccount is the service account every test signs with (an RSA key takes a moment to generate).
var testAccount = sync.OnceValue(func() *googlefake.ServiceAccount {
	sa, err := googlefake.NewServiceAccount("dirconn-sync@dirconn-test.iam.gserviceaccount.com", "104857600123456789012")
	if err != nil {
		panic(err)
	}
	return sa
})

// googleCaps are the fixture states a Google Workspace directory holds: no user without an email and no
// two users sharing one (primary emails are unique account-wide).
var googleCaps = directorytest.Caps{
	Disabled: true, Deleted: true, NestedGroups: true, GroupCycles: true, EmptyGroup: true, DanglingMember: true,
}

// env is a fake Google Workspace account seeded for a test, with the service account registered and
// authorized for the three read-only scopes.
type env struct {
	fake  *googlefake.Server
	sa    *googlefake.ServiceAccount
	sd    googlefake.Seeded
	clock *httpxtest.Clock
	// keyFile is the service account's JSON key, written in a temp dir.
	keyFile string
}

func newEnv(t *testing.T, o googlefake.Options, ds directorytest.Dataset) *env {
	t.Helper()
	e := &env{fake: googlefake.Start(t, o), sa: testAccount(), clock: httpxtest.NewClock()}
	e.fake.AddServiceAccount(e.sa)
	e.fake.Delegate(e.sa.ClientID, googlefake.ReadonlyScopes...)
	e.sd = e.fake.SeedDataset(ds, googlefake.SeedOptions{})
	e.keyFile = filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(e.keyFile, e.sa.JSONKey(e.fake.TokenURL()), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// values returns settings pointing at the fake with the key file, then the given key/value overrides
// (an empty value deletes the key).
func (e *env) values(kv ...string) directory.Values {
	v := directory.Values{
		optDomain:    "example.com",
		optAdminUser: e.sd.Admin,
		optKeyFile:   e.keyFile,
		optAPIURL:    e.fake.APIURL(),
		optTokenURL:  e.fake.TokenURL(),
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(v, kv[i])
		} else {
			v[kv[i]] = kv[i+1]
		}
	}
	return v
}

// source builds a Source from v whose retries wait on the env's fake clock.
func (e *env) source(t *testing.T, v directory.Values) *Source {
	t.Helper()
	return newTestSource(t, v, e.clock.Policy(httpx.Policy{}))
}

func newTestSource(t *testing.T, v directory.Values, p httpx.Policy) *Source {
	t.Helper()
	src, err := New(directory.Config{Values: directory.WithDefaults(Adapter().Options, v), BaseDir: t.TempDir()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s := src.(*Source)
	s.policy = p
	return s
}

// fetch reads src and fails the test on an error.
func fetch(t *testing.T, src directory.Source, req directory.FetchRequest) *directory.Snapshot {
	t.Helper()
	s, err := src.Fetch(t.Context(), req)
	if err != nil {
		t.Fatalf("Fetch(%+v): %v", req, err)
	}
	return s
}

var all = directory.FetchRequest{Users: true, Groups: true}

// emails returns the snapshot's users' emails, sorted, each marked (disabled) or (deleted).
func emails(s *directory.Snapshot) []string {
	var out []string
	for _, u := range s.Users {
		e := directorytest.NormalizeEmail(u.Email)
		switch {
		case u.Deleted:
			e += " (deleted)"
		case u.Disabled:
			e += " (disabled)"
		}
		out = append(out, e)
	}
	slices.Sort(out)
	return out
}

// groupNames returns the snapshot's group names, sorted.
func groupNames(s *directory.Snapshot) []string {
	var out []string
	for _, g := range s.Groups {
		out = append(out, g.Name)
	}
	slices.Sort(out)
	return out
}
