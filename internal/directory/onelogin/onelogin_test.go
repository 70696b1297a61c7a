package onelogin

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory"
)

func TestAdapter(t *testing.T) {
	a := Adapter()
	if a.Name != "onelogin" || a.Title != "OneLogin" || a.Number != 4 {
		t.Errorf("Adapter() = %q, %q, %d; want onelogin, OneLogin, 4", a.Name, a.Title, a.Number)
	}
	var names []string
	for _, o := range a.Options {
		names = append(names, o.Name)
		if o.Help == "" || o.Label == "" {
			t.Errorf("option %q lacks a label or help", o.Name)
		}
	}
	want := []string{"clientId", "clientSecret", "region", "apiUrl", "caFile", "timeout", "maxWait"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
	// The Directory Connector's CLI sets the secret as onelogin.secret.
	o, ok := a.Option("secret")
	if !ok || o.Name != optClientSecret || !o.Secret || !o.Required {
		t.Errorf("Option(\"secret\") = %+v, %v; want the required secret clientSecret", o, ok)
	}
	region, _ := a.Option(optRegion)
	if region.Default != "us" || !cmp.Equal(region.Choices, []string{"us", "eu"}) {
		t.Errorf("region = default %q, choices %q; want us of us, eu", region.Default, region.Choices)
	}
	if v, err := region.Normalize("EU"); err != nil || v != "eu" {
		t.Errorf("region.Normalize(EU) = %q, %v; want eu", v, err)
	}
	for _, o := range a.Options {
		if o.Default == "" {
			continue
		}
		if v, err := o.Normalize(o.Default); err != nil || v != o.Default {
			t.Errorf("option %q: default %q normalizes to %q, %v; want itself", o.Name, o.Default, v, err)
		}
	}
	if a.UserFilterHelp == "" || a.GroupFilterHelp == "" || a.CheckFilters == nil {
		t.Error("the adapter declares no filter help or check")
	}
}

func TestSettings(t *testing.T) {
	base := directory.Values{optClientID: "id", optClientSecret: "s3cret"}
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
	tests := []struct {
		name     string
		vals     directory.Values
		wantRoot string
		wantKeys []string // keys of the ConfigErrors, in order
	}{
		{"defaults", base, "https://api.us.onelogin.com", nil},
		{"eu", with(optRegion, "eu"), "https://api.eu.onelogin.com", nil},
		{"apiUrl wins over region", with(optRegion, "eu", optAPIURL, "https://acme.onelogin.com/"), "https://acme.onelogin.com", nil},
		{"apiUrl with a path", with(optAPIURL, "https://proxy.corp/onelogin/"), "https://proxy.corp/onelogin", nil},
		{"http on loopback", with(optAPIURL, "http://127.0.0.1:8080"), "http://127.0.0.1:8080", nil},
		{"http elsewhere", with(optAPIURL, "http://proxy.corp"), "", []string{"onelogin.apiUrl"}},
		{"not a URL", with(optAPIURL, "api.us.onelogin.com"), "", []string{"onelogin.apiUrl"}},
		{"bad region", with(optRegion, "ap"), "", []string{"onelogin.region"}},
		{"nothing", directory.Values{}, "", []string{"onelogin.clientId", "onelogin.clientSecret"}},
		{"bad timeout", with(optTimeout, "0s"), "", []string{"onelogin.timeout"}},
		{"bad maxWait", with(optMaxWait, "-1m"), "", []string{"onelogin.maxWait"}},
		{"maxWait 0", with(optMaxWait, "0s"), "https://api.us.onelogin.com", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseSettings(directory.Config{Values: tt.vals})
			var keys []string
			var ces directory.ConfigErrors
			if errors.As(err, &ces) {
				for _, e := range ces {
					keys = append(keys, e.Key)
				}
			} else if err != nil {
				t.Fatalf("parseSettings = %v, want ConfigErrors", err)
			}
			if diff := cmp.Diff(tt.wantKeys, keys); diff != "" {
				t.Errorf("error keys (-want +got):\n%s\n%v", diff, err)
			}
			if err != nil {
				if !errors.Is(err, directory.ErrConfig) {
					t.Errorf("error %v does not wrap ErrConfig", err)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error %q shows the secret", err)
				}
				return
			}
			if got := s.root.String(); got != tt.wantRoot {
				t.Errorf("root = %q, want %q", got, tt.wantRoot)
			}
		})
	}
}

func TestSettingsValues(t *testing.T) {
	a := Adapter()
	vals := directory.WithDefaults(a.Options, directory.Values{optClientID: " id ", optClientSecret: "secret",
		optCAFile: "ca.pem", optTimeout: "10s", optMaxWait: "1h"})
	s, err := parseSettings(directory.Config{Values: vals, BaseDir: "/data", Version: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	got := []any{s.clientID, s.caFile, s.timeout, s.maxWait, s.userAgent, s.rootKey}
	want := []any{"id", filepath.Join("/data", "ca.pem"), 10 * time.Second, time.Hour, "dirconn/1.2.3", "onelogin.region"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
	// The defaults: a minute per request, five minutes of waiting per read.
	s, _ = parseSettings(directory.Config{Values: directory.WithDefaults(a.Options, directory.Values{optClientID: "i", optClientSecret: "s"})})
	if s.timeout != DefaultTimeout || s.maxWait != DefaultMaxWait {
		t.Errorf("default timeout, maxWait = %v, %v; want %v, %v", s.timeout, s.maxWait, DefaultTimeout, DefaultMaxWait)
	}
}

func TestNewDoesNoIO(t *testing.T) {
	// A CA file that does not exist is only found by the first read, which names the setting.
	src, err := New(directory.Config{Values: directory.Values{optClientID: "id", optClientSecret: "s",
		optCAFile: filepath.Join(t.TempDir(), "missing.pem")}})
	if err != nil {
		t.Fatalf("New = %v, want no error (New does no I/O)", err)
	}
	_, err = src.Fetch(t.Context(), directory.FetchRequest{Users: true})
	if !errors.Is(err, directory.ErrConfig) || !strings.Contains(err.Error(), "onelogin.caFile") {
		t.Errorf("Fetch with a missing CA file = %v, want ErrConfig naming onelogin.caFile", err)
	}
}

func TestCheckFilters(t *testing.T) {
	tests := []struct {
		name    string
		f       directory.Filters
		wantErr string // "" = valid
		// user and group: the native queries as they will be sent
		user, group string
	}{
		{name: "empty"},
		{name: "sets", f: directory.Filters{User: "include: a@x.com, b@x.com", Group: "EXCLUDE: Integration Test Role"}},
		{name: "queries", f: directory.Filters{User: "|email=*@company.com", Group: "|name=Eng*"},
			user: "email=*@company.com", group: "name=Eng*"},
		{name: "set and query", f: directory.Filters{User: "exclude: test@x.com | directory_id=123&firstname=A*"},
			user: "directory_id=123&firstname=A*"},
		{name: "question mark dropped", f: directory.Filters{User: "|?username=bob"}, user: "username=bob"},
		{name: "spaces escaped", f: directory.Filters{Group: "|name=Eng Team"}, group: "name=Eng%20Team"},
		{name: "escapes and plus kept", f: directory.Filters{User: "|email=a%2Bb+c@x.com"}, user: "email=a%2Bb+c@x.com"},
		{name: "second pipe kept", f: directory.Filters{Group: "|name=A|B"}, group: "name=A%7CB"},
		{name: "unknown keyword", f: directory.Filters{User: "includeGroup: x"}, wantErr: `user filter "includeGroup: x": unknown keyword`},
		{name: "no values", f: directory.Filters{Group: "include: ,"}, wantErr: "group filter"},
		{name: "no keyword", f: directory.Filters{User: "a@x.com"}, wantErr: "expected keyword:values"},
		{name: "fields", f: directory.Filters{User: "|fields=email"}, wantErr: "fields would leave out"},
		{name: "cursor", f: directory.Filters{Group: "|after_cursor=abc"}, wantErr: "after_cursor is set by dirconn"},
		{name: "not field=value", f: directory.Filters{User: "|email"}, wantErr: `"email" is not field=value`},
		{name: "bad escape", f: directory.Filters{User: "|email=%zz"}, wantErr: "is not a query string"},
		{name: "both bad", f: directory.Filters{User: "x", Group: "y"}, wantErr: "group filter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckFilters(tt.f)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, directory.ErrFilter) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("CheckFilters(%+v) = %v, want an ErrFilter containing %q", tt.f, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("CheckFilters(%+v) = %v", tt.f, err)
			}
			f, _ := parseFilters(tt.f)
			if f.user.Native != tt.user || f.group.Native != tt.group {
				t.Errorf("queries = %q, %q; want %q, %q", f.user.Native, f.group.Native, tt.user, tt.group)
			}
		})
	}
}
