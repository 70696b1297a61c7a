package oktafake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory/directorytest"
	"github.com/dirconn/dirconn/internal/httpx/httpxtest"
)

type testServer struct {
	t     *testing.T
	s     *Server
	url   string
	hc    *http.Client
	clock *httpxtest.Clock
}

func start(t *testing.T, o Options) *testServer {
	t.Helper()
	clock := httpxtest.NewClock()
	if o.Now == nil {
		o.Now = clock.Now
	}
	s := New(o)
	ca := httpxtest.NewCA(t)
	srv := ca.NewTLSServer(t, s.Handler())
	hc := srv.Client()
	hc.Transport.(*http.Transport).TLSClientConfig.RootCAs = ca.Pool()
	return &testServer{t: t, s: s, url: srv.URL, hc: hc, clock: clock}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (ts *testServer) get(rawURL string, token string) reply {
	ts.t.Helper()
	if !strings.HasPrefix(rawURL, "https://") {
		rawURL = ts.url + rawURL
	}
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "SSWS "+token)
	}
	resp, err := ts.hc.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, body}
}

func (r reply) ids(t *testing.T) []string {
	t.Helper()
	var items []struct {
		ID      string            `json:"id"`
		Profile map[string]any    `json:"profile"`
		Links   map[string]any    `json:"_links"`
		Extra   map[string]string `json:"-"`
	}
	if err := json.Unmarshal(r.body, &items); err != nil {
		t.Fatalf("body is not a list: %v: %s", err, r.body)
	}
	var out []string
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func (r reply) errorCode(t *testing.T) string {
	t.Helper()
	var e struct {
		ErrorCode, ErrorSummary, ErrorLink, ErrorID string
		ErrorCauses                                 []any
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, r.body)
	}
	if e.ErrorSummary == "" || e.ErrorLink != e.ErrorCode || e.ErrorID == "" || e.ErrorCauses == nil {
		t.Errorf("error body %s lacks Okta's fields", r.body)
	}
	return e.ErrorCode
}

func links(h http.Header) map[string]string {
	out := map[string]string{}
	for _, v := range h.Values("Link") {
		target, rel, _ := strings.Cut(v, ">; rel=")
		out[strings.Trim(rel, `"`)] = strings.TrimPrefix(target, "<")
	}
	return out
}

func TestPagingWithTwoLinkHeaders(t *testing.T) {
	ts := start(t, Options{UsersMaxLimit: 2})
	var want []string
	for i := range 5 {
		want = append(want, ts.s.AddUser(User{Profile: map[string]string{"email": "u" + strconv.Itoa(i) + "@example.com"}}).ID)
	}
	var got []string
	next := "/api/v1/users?limit=200"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		r := ts.get(next, DefaultToken)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s = %d %s", next, r.status, r.body)
		}
		if n := len(r.header.Values("Link")); n < 1 || n > 2 {
			t.Errorf("page %d has %d Link headers, want self and (but the last) next as separate headers", pages+1, n)
		}
		l := links(r.header)
		if !strings.HasPrefix(l["self"], ts.url+"/api/v1/users") {
			t.Errorf("self link %q is not absolute on the server", l["self"])
		}
		got = append(got, r.ids(t)...)
		next = l["next"]
		if next != "" {
			u, _ := url.Parse(next)
			if !strings.HasPrefix(next, ts.url) || u.Query().Get("after") == "" || u.Query().Get("limit") != "2" {
				t.Errorf("next link %q is not an absolute link with an after cursor and the page size", next)
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("users over all pages (-want +got):\n%s", diff)
	}
}

func TestDeprovisionedUsersOnlyWhenAskedFor(t *testing.T) {
	ts := start(t, Options{})
	active := ts.s.AddUser(User{Profile: map[string]string{"email": "a@example.com"}}).ID
	suspended := ts.s.AddUser(User{Status: StatusSuspended, Profile: map[string]string{"email": "s@example.com"}}).ID
	gone := ts.s.AddUser(User{Status: StatusDeprovisioned, Profile: map[string]string{"email": "d@example.com"}}).ID
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"", []string{active, suspended}},
		{`status eq "DEPROVISIONED"`, []string{gone}},
		{`status eq "ACTIVE" or status eq "DEPROVISIONED"`, []string{active, gone}},
		{`profile.email eq "d@example.com"`, nil},
		{`(profile.email eq "d@example.com") and status eq "DEPROVISIONED"`, []string{gone}},
	} {
		r := ts.get("/api/v1/users?filter="+url.QueryEscape(tc.filter), DefaultToken)
		if diff := cmp.Diff(tc.want, r.ids(t)); diff != "" {
			t.Errorf("filter %q (-want +got):\n%s", tc.filter, diff)
		}
	}
}

func TestFilterEvaluator(t *testing.T) {
	ts := start(t, Options{})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ann := ts.s.AddUser(User{LastUpdated: t0, Profile: map[string]string{"email": "ann@example.com", "firstName": "Ann", "login": "ann"}}).ID
	bob := ts.s.AddUser(User{LastUpdated: t0.Add(48 * time.Hour), Profile: map[string]string{"email": "bob@example.com", "firstName": "Bob", "login": "bob"}}).ID
	app := ts.s.AddGroup(Group{Name: "App", Type: "APP_GROUP"}).ID
	okta := ts.s.AddGroup(Group{Name: "Okta", LastMembershipUpdated: t0.Add(time.Hour)}).ID
	for _, tc := range []struct {
		path, filter string
		want         []string
		bad          bool
	}{
		{path: "/api/v1/users", filter: `profile.firstName eq "Ann"`, want: []string{ann}},
		{path: "/api/v1/users", filter: `PROFILE.firstName eq "Ann"`, bad: true},
		{path: "/api/v1/users", filter: `profile.firstName EQ "Bob" or id eq "` + ann + `"`, want: []string{ann, bob}},
		{path: "/api/v1/users", filter: `lastUpdated gt "2026-01-02T00:00:00.000Z"`, want: []string{bob}},
		{path: "/api/v1/users", filter: `lastUpdated le "2026-01-01T00:00:00.000Z" and (status eq "ACTIVE")`, want: []string{ann}},
		{path: "/api/v1/users", filter: `profile.department eq "Sales"`, bad: true},
		{path: "/api/v1/users", filter: `profile.firstName sw "A"`, bad: true},
		{path: "/api/v1/users", filter: `profile.firstName gt "A"`, bad: true},
		{path: "/api/v1/users", filter: `profile.firstName eq Ann`, bad: true},
		{path: "/api/v1/users", filter: `(status eq "ACTIVE"`, bad: true},
		{path: "/api/v1/users", filter: `status eq "ACTIVE" status eq "ACTIVE"`, bad: true},
		{path: "/api/v1/users", filter: `status eq "ACTIVE`, bad: true},
		{path: "/api/v1/users", filter: `lastUpdated gt "yesterday"`, bad: true},
		{path: "/api/v1/groups", filter: `type eq "APP_GROUP"`, want: []string{app}},
		{path: "/api/v1/groups", filter: `lastMembershipUpdated lt "2026-01-01T02:00:00.000Z"`, want: []string{okta}},
		{path: "/api/v1/groups", filter: `profile.name eq "App"`, bad: true},
	} {
		r := ts.get(tc.path+"?filter="+url.QueryEscape(tc.filter), DefaultToken)
		if tc.bad {
			if r.status != http.StatusBadRequest || r.errorCode(t) != "E0000031" {
				t.Errorf("%s filter %q = %d %s, want 400 E0000031", tc.path, tc.filter, r.status, r.body)
			}
			continue
		}
		if r.status != http.StatusOK {
			t.Errorf("%s filter %q = %d %s", tc.path, tc.filter, r.status, r.body)
			continue
		}
		if diff := cmp.Diff(tc.want, r.ids(t)); diff != "" {
			t.Errorf("%s filter %q (-want +got):\n%s", tc.path, tc.filter, diff)
		}
	}
}

func TestAuthAndErrors(t *testing.T) {
	ts := start(t, Options{Token: "right"})
	g := ts.s.AddGroup(Group{Name: "G"})
	for _, tc := range []struct {
		path, token string
		status      int
		code        string
	}{
		{"/api/v1/users", "", http.StatusUnauthorized, "E0000011"},
		{"/api/v1/users", "wrong", http.StatusUnauthorized, "E0000011"},
		{"/api/v1/groups/nope/users", "right", http.StatusNotFound, "E0000007"},
		{"/api/v1/apps", "right", http.StatusNotFound, "E0000022"},
	} {
		r := ts.get(tc.path, tc.token)
		if r.header.Get("X-Rate-Limit-Remaining") == "" || r.header.Get("Date") == "" {
			t.Errorf("GET %s: no rate-limit or Date headers on an error answer", tc.path)
		}
		if r.status != tc.status || r.errorCode(t) != tc.code {
			t.Errorf("GET %s with token %q = %d %s, want %d %s", tc.path, tc.token, r.status, r.body, tc.status, tc.code)
		}
	}
	if r := ts.get("/api/v1/groups/"+g.ID+"/users", "right"); r.status != http.StatusOK {
		t.Errorf("members of an existing group = %d %s", r.status, r.body)
	}
	ts.s.SetToken("rotated")
	if r := ts.get("/api/v1/users", "right"); r.status != http.StatusUnauthorized {
		t.Errorf("after SetToken the old token got %d, want 401", r.status)
	}
}

func TestRateLimitHeadersAndBuckets(t *testing.T) {
	ts := start(t, Options{RateLimits: map[string]int{RouteUsers: 3}})
	reset := ts.clock.Now().Truncate(time.Minute).Add(time.Minute).Unix()
	for i := 1; i <= 4; i++ {
		r := ts.get("/api/v1/users", DefaultToken)
		wantStatus, wantRemaining := http.StatusOK, strconv.Itoa(3-i)
		if i == 4 {
			wantStatus, wantRemaining = http.StatusTooManyRequests, "0"
			if code := r.errorCode(t); code != "E0000047" {
				t.Errorf("429 body code %s, want E0000047", code)
			}
		}
		got := []string{strconv.Itoa(r.status), r.header.Get("X-Rate-Limit-Limit"), r.header.Get("X-Rate-Limit-Remaining"),
			r.header.Get("X-Rate-Limit-Reset"), strconv.FormatBool(r.header.Get("Date") != "")}
		want := []string{strconv.Itoa(wantStatus), "3", wantRemaining, strconv.FormatInt(reset, 10), "true"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("request %d: status, limit, remaining, reset, has Date (-want +got):\n%s", i, diff)
		}
	}
	// Another bucket is not affected; the window resets with the clock.
	if r := ts.get("/api/v1/groups", DefaultToken); r.status != http.StatusOK || r.header.Get("X-Rate-Limit-Remaining") != "599" {
		t.Errorf("groups bucket: %d remaining %s, want 200 and 599", r.status, r.header.Get("X-Rate-Limit-Remaining"))
	}
	ts.clock.Advance(time.Minute)
	if r := ts.get("/api/v1/users", DefaultToken); r.status != http.StatusOK || r.header.Get("X-Rate-Limit-Remaining") != "2" {
		t.Errorf("after the window: %d remaining %s, want 200 and 2", r.status, r.header.Get("X-Rate-Limit-Remaining"))
	}
}

func TestFaults(t *testing.T) {
	ts := start(t, Options{UsersMaxLimit: 1})
	ts.s.AddUser(User{})
	ts.s.AddUser(User{})
	ts.s.AddFault(Fault{Route: RouteUsers, AfterOnly: true, Times: 1, Status: http.StatusTooManyRequests, NoDate: true, NoReset: true})
	ts.s.AddFault(Fault{Route: RouteGroups, Malformed: true})
	first := ts.get("/api/v1/users", DefaultToken)
	if first.status != http.StatusOK {
		t.Fatalf("first page = %d, want 200 (the fault is for later pages)", first.status)
	}
	next := links(first.header)["next"]
	r := ts.get(next, DefaultToken)
	if r.status != http.StatusTooManyRequests || r.header.Get("Date") != "" || r.header.Get("X-Rate-Limit-Reset") != "" {
		t.Errorf("second page = %d with Date %q and reset %q, want 429 without both", r.status, r.header.Get("Date"), r.header.Get("X-Rate-Limit-Reset"))
	}
	if r := ts.get(next, DefaultToken); r.status != http.StatusOK {
		t.Errorf("second page again = %d, want 200 (Times: 1)", r.status)
	}
	if r := ts.get("/api/v1/groups", DefaultToken); r.status != http.StatusOK || json.Valid(r.body) {
		t.Errorf("malformed groups page = %d %s, want 200 and broken JSON", r.status, r.body)
	}
	if got := ts.s.Count(RouteUsers); got != 3 {
		t.Errorf("Count(users) = %d, want 3", got)
	}
}

func TestSeedDataset(t *testing.T) {
	ts := start(t, Options{})
	ds := directorytest.Fixture()
	ids := ts.s.SeedDataset(ds)
	r := ts.get("/api/v1/users?filter="+url.QueryEscape(`status eq "DEPROVISIONED"`), DefaultToken)
	if diff := cmp.Diff([]string{ids["eve"]}, r.ids(t)); diff != "" {
		t.Errorf("deprovisioned users (-want +got):\n%s", diff)
	}
	r = ts.get("/api/v1/groups/"+ids["partners"]+"/users", DefaultToken)
	got := r.ids(t)
	want := []string{ids["finn"], ids["sam1"]} // the dangling member cannot exist in Okta
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Partners members (-want +got):\n%s", diff)
	}
}

func TestConcurrencyCap(t *testing.T) {
	ts := start(t, Options{MaxConcurrent: 1})
	ts.s.AddFault(Fault{Route: RouteGroups, Times: 1, Delay: 100 * time.Millisecond})
	done := make(chan int)
	go func() { done <- ts.get("/api/v1/groups", DefaultToken).status }()
	// Wait until the slow request is in flight.
	for deadline := time.Now().Add(2 * time.Second); ts.s.Count(RouteGroups) == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	r := ts.get("/api/v1/users", DefaultToken)
	if r.status != http.StatusTooManyRequests || r.errorCode(t) != "E0000047" {
		t.Errorf("a second request in flight = %d %s, want 429 E0000047", r.status, r.body)
	}
	if got := <-done; got != http.StatusOK {
		t.Errorf("the slow request = %d, want 200", got)
	}
	if r := ts.get("/api/v1/users", DefaultToken); r.status != http.StatusOK {
		t.Errorf("after the slow request = %d, want 200", r.status)
	}
}
