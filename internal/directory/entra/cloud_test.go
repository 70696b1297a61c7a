package entra

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/entra/graphfake"
	"github.com/dirconn/dirconn/internal/httpx"
	"github.com/dirconn/dirconn/internal/httpx/httpxtest"
)

// TestCloudEndpointsThroughProxy runs the adapter with no endpoint override at all: only the cloud
// setting. The real host names of both clouds are served by the fake over TLS behind a forward proxy that
// alone knows where they live, so the test sees exactly which hosts the adapter contacts — the token
// request included — and exercises entra.proxy and entra.caFile on the way.
func TestCloudEndpointsThroughProxy(t *testing.T) {
	ca := httpxtest.NewCA(t)
	f := graphfake.New(graphfake.Options{})
	std := f.SeedStandard()
	hosts := map[graphfake.Cloud][]string{
		graphfake.Global: {"graph.microsoft.com", "login.microsoftonline.com"},
		graphfake.USGov:  {"graph.microsoft.us", "login.microsoftonline.us"},
	}
	backends := map[string]string{}
	for c, names := range hosts {
		srv := ca.NewTLSServer(t, f.Handler(c), names...)
		for _, n := range names {
			backends[n] = srv.Listener.Addr().String()
		}
	}
	proxy := httpxtest.NewProxy(t, backends)
	o := f.Options()
	values := directory.Values{
		optIdentityAuthority: "login.microsoftonline.us",
		optTenant:            o.TenantID,
		optApplicationID:     o.ClientID,
		optKey:               o.Secret,
		optProxy:             proxy.URL,
		optCAFile:            ca.File(t),
	}
	src, err := newSource(directory.Config{Values: values}, httpxtest.NewClock().Policy(httpx.Policy{}))
	if err != nil {
		t.Fatal(err)
	}
	s1 := fetch(t, src, all)
	if !strings.HasPrefix(s1.Cursor, "https://graph.microsoft.us/v1.0/users/delta?") {
		t.Errorf("cursor = %q, want a delta link on graph.microsoft.us", s1.Cursor)
	}
	f.DeleteUser(std.Active[0], false)
	s2 := fetch(t, src, directory.FetchRequest{Users: true, Groups: true, Cursor: s1.Cursor,
		Filters: directory.Filters{User: "includeGroup:" + std.Eng, Group: "includeAdministrativeUnit:" + std.AU}})
	if diff := cmp.Diff([]string{std.Active[0]}, deletedIDs(s2)); diff != "" {
		t.Errorf("deleted users (-want +got):\n%s", diff)
	}

	routes := map[string]bool{}
	for _, r := range f.Requests() {
		routes[r.Route] = true
		if r.Cloud != graphfake.USGov || !slices.Contains(hosts[graphfake.USGov], r.Host) {
			t.Errorf("%s %s went to %s (the %s cloud), want the US-government hosts", r.Method, r.Path, r.Host, r.Cloud)
		}
	}
	if len(routes) != 7 {
		t.Errorf("routes called: %v, want all 7 (token, users, delta, groups, members, transitive members, AU members)", routes)
	}
	tunnels := map[string]bool{}
	for _, r := range proxy.Requests() {
		tunnels[r] = true
	}
	want := map[string]bool{"CONNECT graph.microsoft.us:443": true, "CONNECT login.microsoftonline.us:443": true}
	if diff := cmp.Diff(want, tunnels); diff != "" {
		t.Errorf("proxy requests (-want +got):\n%s", diff)
	}

	// Without the CA file the proxy's certificate is not trusted, and the error says where to put it.
	delete(values, optCAFile)
	src, err = newSource(directory.Config{Values: values}, httpx.Policy{MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Fetch(t.Context(), all)
	if !errors.Is(err, directory.ErrUnreachable) || !strings.Contains(err.Error(), "entra.caFile") {
		t.Errorf("Fetch without the CA = %v, want ErrUnreachable naming entra.caFile", err)
	}
}
