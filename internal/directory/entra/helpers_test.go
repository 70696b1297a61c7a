package entra

import (
	"slices"
	"strings"
	"testing"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/entra/graphfake"
	"github.com/dirconn/dirconn/internal/httpx"
	"github.com/dirconn/dirconn/internal/httpx/httpxtest"
)

// tenant is a fake tenant served as one cloud on loopback, with a fake clock for retry waits.
type tenant struct {
	fake  *graphfake.Fake
	cloud graphfake.Cloud
	url   string
	clock *httpxtest.Clock
}

func newTenant(t *testing.T, c graphfake.Cloud) *tenant {
	t.Helper()
	f := graphfake.New(graphfake.Options{})
	return &tenant{fake: f, cloud: c, url: f.Serve(t, c), clock: httpxtest.NewClock()}
}

// authority returns the identityAuthority value of the tenant's cloud.
func authority(c graphfake.Cloud) string {
	switch c {
	case graphfake.USGov:
		return "login.microsoftonline.us"
	case graphfake.China:
		return "login.chinacloudapi.cn"
	}
	return "login.microsoftonline.com"
}

// values returns settings pointing at the fake; kv pairs override or add settings ("" deletes).
func (tn *tenant) values(kv ...string) directory.Values {
	o := tn.fake.Options()
	v := directory.Values{
		optIdentityAuthority: authority(tn.cloud),
		optTenant:            o.TenantDomain,
		optApplicationID:     o.ClientID,
		optKey:               o.Secret,
		optGraphURL:          tn.url,
		optAuthorityURL:      tn.url,
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

// source builds a Source on the fake whose retries wait on the tenant's fake clock.
func (tn *tenant) source(t *testing.T, kv ...string) *Source {
	t.Helper()
	return tn.sourceWith(t, httpx.Policy{}, kv...)
}

func (tn *tenant) sourceWith(t *testing.T, p httpx.Policy, kv ...string) *Source {
	t.Helper()
	src, err := newSource(directory.Config{Values: tn.values(kv...)}, tn.clock.Policy(p))
	if err != nil {
		t.Fatalf("newSource = %v", err)
	}
	return src
}

// fetch reads everything and fails t on an error.
func fetch(t *testing.T, src directory.Source, req directory.FetchRequest) *directory.Snapshot {
	t.Helper()
	s, err := src.Fetch(t.Context(), req)
	if err != nil {
		t.Fatalf("Fetch(%+v) = %v", req, err)
	}
	return s
}

var all = directory.FetchRequest{Users: true, Groups: true}

// userByID returns the snapshot's user with id.
func userByID(s *directory.Snapshot, id string) (directory.User, bool) {
	i := slices.IndexFunc(s.Users, func(u directory.User) bool { return u.ID == id })
	if i < 0 {
		return directory.User{}, false
	}
	return s.Users[i], true
}

func groupByName(s *directory.Snapshot, name string) (directory.Group, bool) {
	i := slices.IndexFunc(s.Groups, func(g directory.Group) bool { return g.Name == name })
	if i < 0 {
		return directory.Group{}, false
	}
	return s.Groups[i], true
}

// userIDs returns the sorted ids of the snapshot's users that keep says yes to (nil: all).
func userIDs(s *directory.Snapshot, keep func(directory.User) bool) []string {
	var out []string
	for _, u := range s.Users {
		if keep == nil || keep(u) {
			out = append(out, u.ID)
		}
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

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// routes returns "cloud route" for every request the fake got, in order.
func routes(f *graphfake.Fake) []string {
	var out []string
	for _, r := range f.Requests() {
		out = append(out, string(r.Cloud)+" "+r.Route)
	}
	return out
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
