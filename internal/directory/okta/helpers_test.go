package okta

import (
	"testing"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/okta/oktafake"
	"github.com/dirconn/dirconn/internal/httpx"
	"github.com/dirconn/dirconn/internal/httpx/httpxtest"
)

// org is a fake Okta organization over TLS with a fake clock shared by the fake and the adapter.
type org struct {
	fake   *oktafake.Server
	url    string
	caFile string
	clock  *httpxtest.Clock
}

func newOrg(t *testing.T, o oktafake.Options) *org {
	t.Helper()
	clock := httpxtest.NewClock()
	if o.Now == nil {
		o.Now = clock.Now
	}
	fake := oktafake.New(o)
	url, ca := oktafake.Start(t, fake)
	return &org{fake: fake, url: url, caFile: ca, clock: clock}
}

// source returns a Source for the org; settings are extra option name/value pairs.
func (o *org) source(t *testing.T, settings ...string) *Source {
	t.Helper()
	v := directory.Values{optOrgURL: o.url, optToken: oktafake.DefaultToken, optCAFile: o.caFile}
	for i := 0; i+1 < len(settings); i += 2 {
		v[settings[i]] = settings[i+1]
	}
	src, err := newSource(directory.Config{Values: directory.WithDefaults(Adapter().Options, v)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	src.policy = o.clock.Policy(httpx.Policy{})
	return src
}

func (o *org) fetch(t *testing.T, src *Source, req directory.FetchRequest) *directory.Snapshot {
	t.Helper()
	s, err := src.Fetch(t.Context(), req)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return s
}

var full = directory.FetchRequest{Users: true, Groups: true}
