package onelogin

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/onelogin/oneloginfake"
	"github.com/dirconn/dirconn/internal/httpx"
	"github.com/dirconn/dirconn/internal/httpx/httpxtest"
)

// env is one test's OneLogin: the fake over TLS on loopback, the settings that point the adapter at it,
// and a fake clock shared by the fake (tokens, rate-limit windows) and the adapter's retries.
type env struct {
	t     *testing.T
	fake  *oneloginfake.Server
	clock *httpxtest.Clock
	vals  directory.Values
}

// newEnv starts a fake holding o (its Now is replaced by the shared clock).
func newEnv(t *testing.T, o oneloginfake.Options) *env {
	t.Helper()
	clock := httpxtest.NewClock()
	o.Now = clock.Now
	fake := oneloginfake.New(o)
	root, caFile := fake.StartTLS(t)
	return &env{t: t, fake: fake, clock: clock, vals: directory.Values{
		optClientID:     fake.ClientID(),
		optClientSecret: fake.ClientSecret(),
		optAPIURL:       root,
		optCAFile:       caFile,
	}}
}

// source builds a Source from the env's settings plus the given key/value pairs, retrying on the fake
// clock (1 ms base backoff keeps the recorded waits small).
func (e *env) source(kv ...string) *Source {
	e.t.Helper()
	vals := directory.Values{}
	for k, v := range e.vals {
		vals[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		vals[kv[i]] = kv[i+1]
	}
	a := Adapter()
	src, err := a.New(directory.Config{Values: directory.WithDefaults(a.Options, vals), Version: "test"})
	if err != nil {
		e.t.Fatalf("New = %v", err)
	}
	s := src.(*Source)
	s.policy = e.clock.Policy(httpx.Policy{BaseDelay: 1e6, MaxDelay: 1e6})
	return s
}

// fetch reads users and groups (and the given filters), failing the test on an error.
func (e *env) fetch(src *Source, req directory.FetchRequest) *directory.Snapshot {
	e.t.Helper()
	snap, err := src.Fetch(context.Background(), req)
	if err != nil {
		e.t.Fatalf("Fetch(%+v) = %v", req, err)
	}
	return snap
}

// people returns n active users with ids from 1000, emails user0000@example.com..., all holding role 1
// and every third one role 2.
func people(n int) []oneloginfake.User {
	out := make([]oneloginfake.User, n)
	for i := range out {
		roles := []int64{1}
		if i%3 == 0 {
			roles = append(roles, 2)
		}
		out[i] = oneloginfake.User{ID: int64(1000 + i), Email: fmt.Sprintf("user%04d@example.com", i),
			Username: fmt.Sprintf("user%04d", i), Firstname: "User", Lastname: fmt.Sprint(i),
			Status: oneloginfake.StatusActive, State: 1, RoleIDs: roles}
	}
	return out
}

var threeRoles = []oneloginfake.Role{{ID: 1, Name: "Everyone"}, {ID: 2, Name: "Engineering"}, {ID: 3, Name: "Nobody"}}

// apiRequests returns the fake's requests of route as "METHOD URL auth -> status" lines.
func apiRequests(f *oneloginfake.Server, route string) []string {
	var out []string
	for _, r := range f.Requests() {
		if r.Route == route {
			out = append(out, r.String())
		}
	}
	return out
}

func userIDs(s *directory.Snapshot) []string {
	var out []string
	for _, u := range s.Users {
		out = append(out, u.ID)
	}
	return out
}

func groupNames(s *directory.Snapshot) []string {
	var out []string
	for _, g := range s.Groups {
		out = append(out, g.Name)
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

// startPrefixed serves the env's fake under path prefix on a TLS server of its own (a reverse proxy that
// forwards <prefix>/... to OneLogin) and points the env's CA file at that server's CA. It returns the API
// root to configure.
func startPrefixed(t *testing.T, e *env, prefix string) string {
	t.Helper()
	ca := httpxtest.NewCA(t)
	srv := ca.NewTLSServer(t, http.StripPrefix(prefix, e.fake.Handler()))
	e.vals[optCAFile] = ca.File(t)
	return srv.URL + prefix
}

// loopServer is a OneLogin whose users page links to itself. It returns its root URL (plain HTTP on
// loopback).
func loopServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == tokenPath {
			_, _ = io.WriteString(w, `{"access_token":"t","token_type":"bearer","expires_in":36000}`)
			return
		}
		self := "http://" + r.Host + r.URL.RequestURI()
		_, _ = fmt.Fprintf(w, `{"status":{"error":false,"code":200,"type":"success","message":"Success"},`+
			`"pagination":{"before_cursor":null,"after_cursor":"a","previous_link":null,"next_link":%q},"data":[{"id":1,"email":"a@x.com"}]}`, self)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
