package okta

import (
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory"
)

func TestAdapter(t *testing.T) {
	a := Adapter()
	if a.Name != "okta" || a.Title != "Okta" || a.Number != 3 {
		t.Errorf("Name, Title, Number = %q, %q, %d, want okta, Okta, 3", a.Name, a.Title, a.Number)
	}
	var names []string
	for _, o := range a.Options {
		names = append(names, o.Name)
		if o.Help == "" || o.Label == "" {
			t.Errorf("option %s lacks a label or help", o.Name)
		}
	}
	if diff := cmp.Diff([]string{"orgUrl", "token", "caFile", "timeout", "rateLimitReserve"}, names); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
	if o, _ := a.Option("token"); !o.Secret || !o.Required {
		t.Errorf("okta.token: Secret %v Required %v, want both (the anchor's secret setting)", o.Secret, o.Required)
	}
	if o, _ := a.Option("orgUrl"); !o.Required || o.Secret {
		t.Errorf("okta.orgUrl: Required %v Secret %v, want required and not secret", o.Required, o.Secret)
	}
	if a.UserFilterHelp == "" || a.GroupFilterHelp == "" || a.CheckFilters == nil {
		t.Error("the adapter must declare its user and group filters")
	}
}

func TestOrgURL(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "https://company.okta.com", want: "https://company.okta.com"},
		{in: " https://Company.Okta.com/ ", want: "https://company.okta.com"},
		{in: "company.okta.com", want: "https://company.okta.com"},
		{in: "https://login.company.com:8443/okta/", want: "https://login.company.com:8443/okta"},
		{in: "http://company.okta.com", err: "https://"},
		{in: "https://company-admin.okta.com/admin/dashboard", err: "https://company.okta.com"},
		{in: "https://company-admin.oktapreview.com", err: "https://company.oktapreview.com"},
		{in: "https://company.okta.com/?x=1", err: "query"},
		{in: "https://admin:pw@company.okta.com", err: "user name"},
		{in: "https://", err: "no host"},
	} {
		u, err := normalizeOrgURL(tc.in)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("normalizeOrgURL(%q) = %v, %v; want an error containing %q", tc.in, u, err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "pw") {
				t.Errorf("normalizeOrgURL(%q) error repeats the password: %v", tc.in, err)
			}
		case err != nil:
			t.Errorf("normalizeOrgURL(%q) = %v, want %s", tc.in, err, tc.want)
		case u.String() != tc.want:
			t.Errorf("normalizeOrgURL(%q) = %s, want %s", tc.in, u, tc.want)
		}
	}
}

func TestSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    directory.Values
		keys []string // keys of the expected errors
	}{
		{"missing", directory.Values{}, []string{"okta.orgUrl", "okta.token"}},
		{"ok", directory.Values{"orgUrl": "company.okta.com", "token": "00abc"}, nil},
		{"bad values", directory.Values{"orgUrl": "http://x", "token": "SSWS 00abc", "timeout": "-1s", "rateLimitReserve": "95"},
			[]string{"okta.orgUrl", "okta.token", "okta.timeout", "okta.rateLimitReserve"}},
	} {
		_, err := parseSettings(directory.Config{Values: tc.v})
		var got []string
		var ces directory.ConfigErrors
		if errors.As(err, &ces) {
			for _, e := range ces {
				got = append(got, e.Key)
			}
		}
		if diff := cmp.Diff(tc.keys, got); diff != "" {
			t.Errorf("%s: error keys (-want +got):\n%s\n%v", tc.name, diff, err)
		}
		if err != nil && !errors.Is(err, directory.ErrConfig) {
			t.Errorf("%s: %v does not wrap ErrConfig", tc.name, err)
		}
		if err != nil && strings.Contains(err.Error(), "00abc") {
			t.Errorf("%s: the error shows the token: %v", tc.name, err)
		}
	}
	s, err := parseSettings(directory.Config{BaseDir: "/data", Version: "1.2.3", Values: directory.Values{
		"orgUrl": "https://company.okta.com/", "token": "00abc", "caFile": "proxy-ca.pem", "timeout": "5s", "rateLimitReserve": "0"}})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{s.orgURL.String(), s.caFile, s.timeout.String(), s.userAgent}
	want := []string{"https://company.okta.com", filepath.Join("/data", "proxy-ca.pem"), "5s", "dirconn/1.2.3"}
	if diff := cmp.Diff(want, got); diff != "" || s.reserve != 0 {
		t.Errorf("settings (-want +got):\n%s reserve %d", diff, s.reserve)
	}
}

func TestCheckFilters(t *testing.T) {
	for _, tc := range []struct {
		user, group string
		err         string // "" when valid
	}{
		{user: "include:ann@company.com, Bob@Company.com"},
		{user: `exclude:joe@company.com | profile.firstName eq "John"`},
		{user: `| status eq "ACTIVE" and (lastUpdated gt "2026-01-01T00:00:00.000Z" or id eq "00u1")`},
		{user: `| not (profile.email pr) or profile.login sw "a\"b"`},
		{user: `| profile.employeeNumber eq 42 and profile.isAdmin eq true`},
		{group: `include:Sales,IT | type eq "APP_GROUP"`},
		{group: "include: Integration Test Group A, Integration Test Group B"},
		{user: "include", err: "expected keyword:values"},
		{user: "only:ann@company.com", err: `unknown keyword "only"`},
		{group: "include:", err: "has no values"},
		{user: `| profile.firstName = "John"`, err: `unexpected "="`},
		{user: `| profile.firstName eq 'John'`, err: "double quotes"},
		{user: `| profile.firstName eq John`, err: "must be in double quotes"},
		{user: `| (status eq "ACTIVE"`, err: "not closed"},
		{user: `| status eq "ACTIVE")`, err: "no matching ("},
		{user: `| status eq "ACTIVE`, err: "no closing"},
		{user: `| status eq "A" status eq "B"`, err: "expected and or or"},
		{user: `| status "ACTIVE"`, err: "expected an operator"},
		{user: `| status eq`, err: "expected a value"},
		{user: `| status eq "A" and`, err: "a condition is missing"},
		{group: `| eq "APP_GROUP"`, err: "expected an attribute name"},
	} {
		err := CheckFilters(directory.Filters{User: tc.user, Group: tc.group})
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("CheckFilters(%q, %q) = %v, want nil", tc.user, tc.group, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("CheckFilters(%q, %q) = %v, want an error containing %q", tc.user, tc.group, err, tc.err)
		case err != nil && !errors.Is(err, directory.ErrFilter):
			t.Errorf("CheckFilters(%q, %q) = %v, which does not wrap ErrFilter", tc.user, tc.group, err)
		case err != nil && tc.user != "" && !strings.Contains(err.Error(), "user filter"),
			err != nil && tc.group != "" && !strings.Contains(err.Error(), "group filter"):
			t.Errorf("CheckFilters(%q, %q) = %v, which does not name the filter", tc.user, tc.group, err)
		}
	}
}

func TestParseLinks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []string
		want   map[string]string
	}{
		{"separate headers", []string{`<https://o.okta.com/api/v1/users?limit=200>; rel="self"`,
			`<https://o.okta.com/api/v1/users?after=00u2&limit=200>; rel="next"`},
			map[string]string{"self": "https://o.okta.com/api/v1/users?limit=200", "next": "https://o.okta.com/api/v1/users?after=00u2&limit=200"}},
		{"joined with a comma", []string{`<https://o/a?x=1,2>; rel="self", <https://o/b>; rel="next"`},
			map[string]string{"self": "https://o/a?x=1,2", "next": "https://o/b"}},
		{"unquoted and listed relations", []string{`<https://o/b>;rel=next`, `<https://o/c>; title="a, b"; rel="prev last"`},
			map[string]string{"next": "https://o/b", "prev": "https://o/c", "last": "https://o/c"}},
		{"last page", []string{`<https://o/a>; rel="self"`}, map[string]string{"self": "https://o/a"}},
		{"garbage", []string{`https://o/a; rel="next"`, `<https://o/b`}, map[string]string{}},
		{"none", nil, map[string]string{}},
	} {
		if diff := cmp.Diff(tc.want, parseLinks(tc.values)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestBucketOf(t *testing.T) {
	for in, want := range map[string]string{
		"/api/v1/users":                    "/api/v1/users",
		"/api/v1/groups":                   "/api/v1/groups",
		"/api/v1/groups/00g1/users":        "/api/v1/groups/{id}/users",
		"/okta/api/v1/groups/00g2/users/":  "/api/v1/groups/{id}/users",
		"/somewhere/else":                  "/somewhere/else",
		"/api/v1/users/00u1/appLinks":      "/api/v1/users/{id}/appLinks",
		"/api/v1/groups/00g1/users?x=/y/z": "/api/v1/groups/{id}/users?x=/y/z",
	} {
		if got := bucketOf(in); got != want {
			t.Errorf("bucketOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUntilReset(t *testing.T) {
	clock := func(s string) http.Header {
		h := http.Header{}
		h.Set("X-Rate-Limit-Reset", "1787227260") // 2026-08-20T12:01:00Z
		if s != "" {
			h.Set("Date", s)
		}
		return h
	}
	now := mustTime(t, "2026-08-20T12:00:00Z")
	for _, tc := range []struct {
		date string
		want string
	}{
		{"Thu, 20 Aug 2026 12:00:15 GMT", "45s"}, // the server's clock counts, not ours
		{"", "1m0s"},                             // no Date: our clock
		{"Thu, 20 Aug 2026 12:02:00 GMT", "0s"},  // already reset
	} {
		d, ok := untilReset(clock(tc.date), now)
		if !ok || d.String() != tc.want {
			t.Errorf("untilReset(Date %q) = %v, %v, want %s", tc.date, d, ok, tc.want)
		}
	}
	if _, ok := untilReset(http.Header{}, now); ok {
		t.Error("untilReset without X-Rate-Limit-Reset reports a time")
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
