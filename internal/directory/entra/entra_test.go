package entra

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory"
)

func TestAdapterSchema(t *testing.T) {
	a := Adapter()
	if a.Name != "entra" || a.Number != 1 || a.Title != "Microsoft Entra ID" || a.New == nil || a.CheckFilters == nil {
		t.Errorf("Adapter() = %q %d %q, New/CheckFilters set: %v/%v", a.Name, a.Number, a.Title, a.New != nil, a.CheckFilters != nil)
	}
	if diff := cmp.Diff([]string{"azure"}, a.Aliases); diff != "" {
		t.Errorf("aliases (-want +got):\n%s", diff)
	}
	if a.UserFilterHelp == "" || a.GroupFilterHelp == "" {
		t.Error("filter help is empty: sync.userFilter/groupFilter would be refused")
	}
	// The Directory Connector's four names first (specs/anchor-dc.md 1.2), so import-bwdc carries them over.
	want := []string{"identityAuthority", "tenant", "applicationId", "key", "graphUrl", "authorityUrl", "caFile", "proxy", "timeout", "pageSize"}
	var got []string
	for _, o := range a.Options {
		got = append(got, o.Name)
		if o.Label == "" || o.Help == "" {
			t.Errorf("option %s lacks a label or help", o.Name)
		}
		if o.Default != "" {
			if n, err := o.Normalize(o.Default); err != nil || n != o.Default {
				t.Errorf("option %s: default %q normalizes to %q, %v; want itself", o.Name, o.Default, n, err)
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("options differ (-want +got):\n%s", diff)
	}
	key, _ := a.Option("key")
	if !key.Secret || !key.Required {
		t.Errorf("key: Secret %v Required %v, want both", key.Secret, key.Required)
	}
	if o, ok := a.Option("clientSecret"); !ok || o.Name != "key" {
		t.Error("clientSecret is not an alias of key")
	}
	auth, _ := a.Option("identityAuthority")
	if diff := cmp.Diff([]string{"login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn"}, auth.Choices); diff != "" {
		t.Errorf("identityAuthority choices (-want +got):\n%s", diff)
	}
	for name, want := range map[string]string{"identityAuthority": "login.microsoftonline.com", "timeout": "1m0s", "pageSize": "999"} {
		if o, _ := a.Option(name); o.Default != want {
			t.Errorf("option %s default = %q, want %q", name, o.Default, want)
		}
	}
	for _, name := range []string{"tenant", "applicationId"} {
		if o, _ := a.Option(name); !o.Required {
			t.Errorf("option %s is not required", name)
		}
	}
}

func TestOptionChecks(t *testing.T) {
	a := Adapter()
	tests := []struct {
		opt, value string
		ok         bool
	}{
		{"tenant", "contoso.onmicrosoft.com", true},
		{"tenant", "8d2f1a36-5c4b-4e0f-9a71-3b6c2d9e0f14", true},
		{"tenant", "https://login.microsoftonline.com/contoso", false},
		{"tenant", "contoso com", false},
		{"applicationId", "0c6c7a1e-2b3d-4f5e-8a9b-1c2d3e4f5a6b", true},
		{"applicationId", "0C6C7A1E-2B3D-4F5E-8A9B-1C2D3E4F5A6B", true},
		{"applicationId", "my-app", false},
		{"identityAuthority", "LOGIN.MICROSOFTONLINE.US", true},
		{"identityAuthority", "login.microsoftonline.de", false},
		{"graphUrl", "https://dod-graph.microsoft.us", true},
		{"graphUrl", "http://127.0.0.1:8080/graph", true},
		{"graphUrl", "http://graph.corp.example", false}, // secrets never over plain http beyond loopback
		{"graphUrl", "graph.microsoft.com", false},
		{"graphUrl", "https://graph.microsoft.com/v1.0?x=1", false},
		{"authorityUrl", "https://login.microsoftonline.us", true},
		{"authorityUrl", "ftp://login.example", false},
		{"proxy", "proxy.corp:3128", true},
		{"proxy", "socks5://127.0.0.1:1080", true},
		{"proxy", "ftp://proxy.corp", false},
		{"timeout", "30s", true},
		{"timeout", "0s", false},
		{"pageSize", "0", true},
		{"pageSize", "999", true},
		{"pageSize", "1000", false},
	}
	for _, tt := range tests {
		o, ok := a.Option(tt.opt)
		if !ok {
			t.Fatalf("no option %s", tt.opt)
		}
		_, err := o.Normalize(tt.value)
		if (err == nil) != tt.ok {
			t.Errorf("%s = %q: error %v, want ok=%v", tt.opt, tt.value, err, tt.ok)
		}
	}
}

func TestSettings(t *testing.T) {
	base := directory.Values{"tenant": "contoso.onmicrosoft.com", "applicationId": "0c6c7a1e-2b3d-4f5e-8a9b-1c2d3e4f5a6b", "key": "x"}
	with := func(kv ...string) directory.Values {
		v := directory.Values{}
		for k, x := range base {
			v[k] = x
		}
		for i := 0; i+1 < len(kv); i += 2 {
			v[kv[i]] = kv[i+1]
		}
		return v
	}
	type got struct{ Graph, Token, Scope string }
	tests := []struct {
		name string
		v    directory.Values
		want got
	}{
		{"global by default", with(), got{"https://graph.microsoft.com",
			"https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token", "https://graph.microsoft.com/.default"}},
		{"US government", with("identityAuthority", "login.microsoftonline.us"), got{"https://graph.microsoft.us",
			"https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token", "https://graph.microsoft.us/.default"}},
		{"China", with("identityAuthority", "login.chinacloudapi.cn"), got{"https://microsoftgraph.chinacloudapi.cn",
			"https://login.chinacloudapi.cn/contoso.onmicrosoft.com/oauth2/v2.0/token", "https://microsoftgraph.chinacloudapi.cn/.default"}},
		{"DoD through graphUrl", with("identityAuthority", "login.microsoftonline.us", "graphUrl", "https://dod-graph.microsoft.us/"), got{"https://dod-graph.microsoft.us",
			"https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token", "https://dod-graph.microsoft.us/.default"}},
		// A proxy or a test server keeps the cloud's resource: the token is still for Graph.
		{"proxy root keeps the cloud's scope", with("identityAuthority", "login.microsoftonline.us", "graphUrl", "https://graph-proxy.corp.example/ms/v1.0",
			"authorityUrl", "https://login-proxy.corp.example/"), got{"https://graph-proxy.corp.example/ms",
			"https://login-proxy.corp.example/contoso.onmicrosoft.com/oauth2/v2.0/token", "https://graph.microsoft.us/.default"}},
	}
	for _, tt := range tests {
		s, err := parseSettings(directory.Config{Values: tt.v})
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got{s.graphRoot, s.tokenURL, s.scope}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	s, err := parseSettings(directory.Config{Values: with("timeout", "15s", "pageSize", "0", "caFile", "ca.pem"), BaseDir: "/data"})
	if err != nil || s.timeout != 15*time.Second || s.pageSize != 0 || s.caFile != "/data/ca.pem" {
		t.Errorf("timeout, pageSize, caFile = %v, %d, %q, %v; want 15s, 0, /data/ca.pem", s.timeout, s.pageSize, s.caFile, err)
	}
}

func TestSettingsErrors(t *testing.T) {
	_, err := parseSettings(directory.Config{Values: directory.Values{"identityAuthority": "login.microsoftonline.de",
		"applicationId": "app", "graphUrl": "http://graph.example", "timeout": "-1s"}})
	if !errors.Is(err, directory.ErrConfig) {
		t.Fatalf("parseSettings = %v, want an ErrConfig", err)
	}
	for _, key := range []string{"entra.identityAuthority", "entra.tenant", "entra.applicationId", "entra.key", "entra.graphUrl", "entra.timeout"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("the error does not name %s: %v", key, err)
		}
	}
	// The secret is never quoted.
	_, err = parseSettings(directory.Config{Values: directory.Values{"tenant": "t", "applicationId": "bad", "key": "hunter2-secret"}})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("parseSettings = %v, want an error without the secret", err)
	}
}

func TestNewDoesNoIO(t *testing.T) {
	src, err := Adapter().New(directory.Config{Values: directory.Values{"tenant": "contoso.onmicrosoft.com",
		"applicationId": "0c6c7a1e-2b3d-4f5e-8a9b-1c2d3e4f5a6b", "key": "x", "caFile": "/does/not/exist.pem",
		"graphUrl": "https://graph.invalid"}})
	if err != nil || src == nil {
		t.Fatalf("New = %v, %v; want a source (files and hosts are only touched by Fetch)", src, err)
	}
	// The CA file is read by the first Fetch, and named in its error.
	_, err = src.Fetch(t.Context(), all)
	if !errors.Is(err, directory.ErrConfig) || !strings.Contains(err.Error(), "entra.caFile") {
		t.Errorf("Fetch with a missing CA file = %v, want an ErrConfig naming entra.caFile", err)
	}
}

func TestCheckFilters(t *testing.T) {
	const g1, g2 = "6f0e1b2c-3d4e-5f60-7182-93a4b5c6d7e8", "11111111-2222-3333-4444-555555555555"
	good := []directory.Filters{
		{},
		{User: "include:joe@company.com,bill@company.com"},
		{User: "EXCLUDE: joe@company.com"},
		{User: "includeGroup:" + g1 + "," + g2},
		{User: "excludegroup:" + g1},
		{User: "includeGroup:" + g1 + "|excludeGroup:" + g2 + "|excludeGroup:" + g2 + "|exclude:x@y.com"},
		{User: "includeGroup:" + strings.ToUpper(g1) + "\nexcludeGroup:" + g2 + "\r\nexclude:x@y.com"},
		{Group: "include:Sales,IT"},
		{Group: "exclude:Developers"},
		{Group: "includeAdministrativeUnit:" + g1},
		{Group: "EXCLUDEADMINISTRATIVEUNIT:" + g1 + "," + g2},
	}
	for _, f := range good {
		if err := CheckFilters(f); err != nil {
			t.Errorf("CheckFilters(%+v) = %v", f, err)
		}
	}
	bad := []struct {
		f    directory.Filters
		part string
	}{
		{directory.Filters{User: "joe@company.com"}, "keyword:values"},
		{directory.Filters{User: "inclde:joe@company.com"}, `unknown keyword "inclde"`},
		{directory.Filters{User: "include:"}, "has no values"},
		{directory.Filters{User: "includeGroup:Sales"}, `"Sales" is not a group object id`},
		{directory.Filters{User: "excludeGroup:" + g1 + ",nope"}, `"nope" is not a group object id`},
		{directory.Filters{User: "include:a@b.c|exclude:x@y.com"}, "only allowed after includeGroup"},
		{directory.Filters{User: "|excludeGroup:" + g1}, "need an includeGroup"},
		{directory.Filters{User: "includeGroup:" + g1 + "|includeGroup:" + g2}, `unknown keyword "includeGroup"`},
		{directory.Filters{User: "includeGroup:" + g1 + "|excludeGroup:Sales"}, `"Sales" is not a group object id`},
		{directory.Filters{User: "includeAdministrativeUnit:" + g1}, "unknown keyword"},
		{directory.Filters{Group: "includeGroup:" + g1}, "unknown keyword"},
		{directory.Filters{Group: "include:Sales|startswith(displayName,'J')"}, "takes no"},
		{directory.Filters{Group: "includeAdministrativeUnit:Europe"}, `"Europe" is not an administrative unit object id`},
		{directory.Filters{Group: "include:Sales:IT"}, ""}, // a value with ":" is kept as a value: no error
	}
	for _, tt := range bad {
		err := CheckFilters(tt.f)
		if tt.part == "" {
			if err != nil {
				t.Errorf("CheckFilters(%+v) = %v, want nil", tt.f, err)
			}
			continue
		}
		if !errors.Is(err, directory.ErrFilter) || !strings.Contains(err.Error(), tt.part) {
			t.Errorf("CheckFilters(%+v) = %v, want an ErrFilter mentioning %q", tt.f, err, tt.part)
		}
	}
	// Both filters are checked in one go.
	err := CheckFilters(directory.Filters{User: "nope", Group: "nope"})
	if err == nil || !strings.Contains(err.Error(), "user filter") || !strings.Contains(err.Error(), "group filter") {
		t.Errorf("CheckFilters(both bad) = %v, want both named", err)
	}
}
