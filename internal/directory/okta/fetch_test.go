package okta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/okta/oktafake"
	"github.com/dirconn/dirconn/internal/httpx"
	"github.com/dirconn/dirconn/internal/httpx/httpxtest"
)

func emails(s *directory.Snapshot) []string {
	var out []string
	for _, u := range s.Users {
		out = append(out, strings.ToLower(strings.TrimSpace(u.Email)))
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

func addUsers(f *oktafake.Server, n int, status string) []string {
	var ids []string
	for i := range n {
		ids = append(ids, f.AddUser(oktafake.User{Status: status, Profile: map[string]string{
			"email": fmt.Sprintf("%s%02d@example.com", strings.ToLower(status), i), "login": fmt.Sprintf("%s%02d", strings.ToLower(status), i)}}).ID)
	}
	return ids
}

// TestPaging reads listings that span several pages and checks that every page was asked for with the
// cursor Okta's next link carried, and that the completeness record counts them.
func TestPaging(t *testing.T) {
	o := newOrg(t, oktafake.Options{UsersMaxLimit: 4, GroupsLimit: 2, MembersLimit: 3})
	active := addUsers(o.fake, 10, oktafake.StatusActive)
	addUsers(o.fake, 5, oktafake.StatusDeprovisioned)
	big := o.fake.AddGroup(oktafake.Group{Name: "Big", Members: active}) // 10 members: 4 pages of 3
	o.fake.AddGroup(oktafake.Group{Name: "Small", Members: active[:1]})
	o.fake.AddGroup(oktafake.Group{Name: "Third"})

	s := o.fetch(t, o.source(t), full)
	if len(s.Users) != 15 {
		t.Errorf("read %d users, want 15 (10 active + 5 deprovisioned)", len(s.Users))
	}
	for _, g := range s.Groups {
		if g.ID == big.ID && len(g.Users) != 10 {
			t.Errorf("group Big has %d members, want all 10", len(g.Users))
		}
	}
	var reads []string
	for _, r := range s.Completeness.Reads {
		reads = append(reads, fmt.Sprintf("%s: %d pages, %d entries, finished %v", r.What, r.Pages, r.Entries, r.Finished))
	}
	want := []string{
		"users: 3 pages, 10 entries, finished true",
		"deprovisioned users: 2 pages, 5 entries, finished true",
		"groups: 2 pages, 3 entries, finished true",
		"group members (3 groups): 6 pages, 11 entries, finished true", // 4 + 1 + 1 (an empty page)
	}
	if diff := cmp.Diff(want, reads); diff != "" {
		t.Errorf("completeness (-want +got):\n%s", diff)
	}
	// Every page after the first was asked for with the cursor of the page before: the next link, as sent.
	var users []string
	for _, r := range o.fake.Requests() {
		if r.Route == oktafake.RouteUsers {
			users = append(users, fmt.Sprintf("filter=%q after=\"%v\" limit=%s", r.Query.Get("filter"), r.Query.Get("after") != "", r.Query.Get("limit")))
		}
	}
	dep := `status eq "DEPROVISIONED"`
	want = []string{
		`filter="" after="false" limit=200`, `filter="" after="true" limit=4`, `filter="" after="true" limit=4`,
		fmt.Sprintf("filter=%q after=\"false\" limit=200", dep), fmt.Sprintf("filter=%q after=\"true\" limit=4", dep),
	}
	if diff := cmp.Diff(want, users); diff != "" {
		t.Errorf("user requests (-want +got):\n%s", diff)
	}
	for _, r := range o.fake.Requests() {
		if r.Auth != "SSWS "+oktafake.DefaultToken {
			t.Errorf("request %s carried Authorization %q, want SSWS <token>", r.Path, r.Auth)
		}
	}
}

func TestStatusMapping(t *testing.T) {
	o := newOrg(t, oktafake.Options{})
	statuses := []string{oktafake.StatusActive, oktafake.StatusStaged, oktafake.StatusProvisioned, oktafake.StatusRecovery,
		oktafake.StatusLockedOut, oktafake.StatusPasswordExpired, oktafake.StatusSuspended, oktafake.StatusDeprovisioned}
	for _, st := range statuses {
		o.fake.AddUser(oktafake.User{Status: st, Profile: map[string]string{"email": st + "@example.com", "login": "x." + st + "@login.example",
			"firstName": "F", "lastName": st}})
	}
	o.fake.AddUser(oktafake.User{Profile: map[string]string{"login": "noemail"}})
	s := o.fetch(t, o.source(t), directory.FetchRequest{Users: true})
	var got []string
	for _, u := range s.Users {
		got = append(got, fmt.Sprintf("%s prefix=%s name=%q disabled=%v deleted=%v", u.Email, u.EmailPrefix, u.DisplayName, u.Disabled, u.Deleted))
	}
	var want []string
	for _, st := range statuses {
		want = append(want, fmt.Sprintf("%s@example.com prefix=x.%s name=%q disabled=%v deleted=%v", st, st, "F "+st,
			st == oktafake.StatusSuspended, st == oktafake.StatusDeprovisioned))
	}
	want = slices.Insert(want, len(want)-1, ` prefix=noemail name="" disabled=false deleted=false`)
	// The deprovisioned user comes from the second query, after every user of the default listing.
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	for _, u := range s.Users {
		if u.ID == "" || u.ExternalID != "" {
			t.Errorf("user %q: ID %q ExternalID %q, want the Okta id as ID and externalId", u.Email, u.ID, u.ExternalID)
		}
	}
}

func TestFilters(t *testing.T) {
	o := newOrg(t, oktafake.Options{})
	ann := o.fake.AddUser(oktafake.User{Profile: map[string]string{"email": "Ann@Example.com", "firstName": "Ann"}}).ID
	bob := o.fake.AddUser(oktafake.User{Profile: map[string]string{"email": "bob@example.com", "firstName": "Bob"}}).ID
	cy := o.fake.AddUser(oktafake.User{Status: oktafake.StatusSuspended, Profile: map[string]string{"email": "cy@example.com", "firstName": "Cy"}}).ID
	o.fake.AddUser(oktafake.User{Status: oktafake.StatusDeprovisioned, Profile: map[string]string{"email": "dee@example.com", "firstName": "Dee"}})
	o.fake.AddUser(oktafake.User{Profile: map[string]string{"email": "eve@example.com", "firstName": "Eve"}})
	o.fake.AddGroup(oktafake.Group{Name: "Sales", Members: []string{ann, cy}})
	o.fake.AddGroup(oktafake.Group{Name: "IT", Type: "APP_GROUP", Members: []string{bob}})
	o.fake.AddGroup(oktafake.Group{Name: "Everyone", Type: "BUILT_IN", Members: []string{ann, bob, cy}})
	for _, tc := range []struct {
		name, user, group string
		removeDisabled    bool
		users, groups     []string
	}{
		{name: "none", users: []string{"ann@example.com", "bob@example.com", "cy@example.com", "dee@example.com", "eve@example.com"},
			groups: []string{"Everyone", "IT", "Sales"}},
		{name: "include emails, any case", user: "include: ANN@example.com , bob@example.com",
			users: []string{"ann@example.com", "bob@example.com"}, groups: []string{"Everyone", "IT", "Sales"}},
		{name: "exclude and an Okta expression", user: `exclude:bob@example.com | profile.firstName eq "Bob" or profile.firstName eq "Dee" or profile.firstName eq "Eve"`,
			users: []string{"dee@example.com", "eve@example.com"}, groups: []string{"Everyone", "IT", "Sales"}},
		{name: "group expression only does not limit users", group: `| type eq "APP_GROUP"`,
			users: []string{"ann@example.com", "bob@example.com", "cy@example.com", "dee@example.com", "eve@example.com"}, groups: []string{"IT"}},
		{name: "group set limits users; deleted stay", group: "include:sales",
			users: []string{"ann@example.com", "cy@example.com", "dee@example.com"}, groups: []string{"Sales"}},
		{name: "group set with removeDisabled keeps disabled", group: "include:IT", removeDisabled: true,
			users: []string{"bob@example.com", "cy@example.com", "dee@example.com"}, groups: []string{"IT"}},
		{name: "exclude groups", group: `exclude:Everyone, it`,
			users: []string{"ann@example.com", "cy@example.com", "dee@example.com"}, groups: []string{"Sales"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := o.fetch(t, o.source(t), directory.FetchRequest{Users: true, Groups: true, RemoveDisabled: tc.removeDisabled,
				Filters: directory.Filters{User: tc.user, Group: tc.group}})
			if diff := cmp.Diff(tc.users, emails(s)); diff != "" {
				t.Errorf("users (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.groups, groupNames(s)); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
		})
	}
	// The Okta expression reaches Okta in both user queries.
	var sent []string
	for _, r := range o.fake.Requests() {
		if f := r.Query.Get("filter"); r.Route == oktafake.RouteUsers && strings.Contains(f, "Bob") {
			sent = append(sent, f)
		}
	}
	want := []string{
		`profile.firstName eq "Bob" or profile.firstName eq "Dee" or profile.firstName eq "Eve"`,
		`(profile.firstName eq "Bob" or profile.firstName eq "Dee" or profile.firstName eq "Eve") and status eq "DEPROVISIONED"`,
	}
	if diff := cmp.Diff(want, sent); diff != "" {
		t.Errorf("filters sent (-want +got):\n%s", diff)
	}
}

func TestFilterErrors(t *testing.T) {
	o := newOrg(t, oktafake.Options{})
	o.fake.AddUser(oktafake.User{Profile: map[string]string{"email": "a@example.com"}})
	for _, tc := range []struct {
		name string
		f    directory.Filters
		want string
		sent bool // whether the read reached Okta
	}{
		{"parse error", directory.Filters{User: "includes:a@example.com"}, `unknown keyword "includes"`, false},
		{"expression syntax", directory.Filters{Group: `| type == "APP_GROUP"`}, `group filter: Okta expression`, false},
		{"refused by Okta", directory.Filters{User: `| profile.department eq "Sales"`}, `Okta refused the user filter's expression "profile.department eq \"Sales\"" (E0000031 Invalid search criteria.`, true},
		{"group expression refused", directory.Filters{Group: `| profile.name eq "Sales"`}, `Okta refused the group filter's expression`, true},
	} {
		before := o.fake.Count("")
		s, err := o.source(t).Fetch(t.Context(), directory.FetchRequest{Users: true, Groups: true, Filters: tc.f})
		if s != nil || !errors.Is(err, directory.ErrFilter) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Fetch = %v, %v; want no snapshot and a filter error containing %q", tc.name, s != nil, err, tc.want)
		}
		if sent := o.fake.Count("") > before; sent != tc.sent {
			t.Errorf("%s: reached Okta = %v, want %v", tc.name, sent, tc.sent)
		}
	}
}

// TestRateLimitRespected reads through a bucket far smaller than the read: dirconn waits for each
// window to reset before it runs out, so Okta never answers 429.
func TestRateLimitRespected(t *testing.T) {
	for _, tc := range []struct {
		reserve   int
		perWindow int // requests a window may see
	}{
		{reserve: 0, perWindow: 4},  // the whole limit
		{reserve: 50, perWindow: 2}, // waits once half is used: remaining 2 of 4
	} {
		t.Run(fmt.Sprint("reserve ", tc.reserve), func(t *testing.T) {
			o := newOrg(t, oktafake.Options{UsersMaxLimit: 1, RateLimits: map[string]int{oktafake.RouteUsers: 4}})
			o.clock.Advance(50 * time.Second) // 10 s before the first window resets
			addUsers(o.fake, 9, oktafake.StatusActive)
			s := o.fetch(t, o.source(t, optRateLimitReserve, fmt.Sprint(tc.reserve)), directory.FetchRequest{Users: true})
			if len(s.Users) != 9 {
				t.Errorf("read %d users, want 9", len(s.Users))
			}
			perWindow := map[time.Time]int{}
			for _, r := range o.fake.Requests() {
				if r.Status == http.StatusTooManyRequests {
					t.Errorf("Okta answered 429 to %s at %s: the limit was not respected", r.Path, r.Time)
				}
				perWindow[r.Time.Truncate(time.Minute)]++
			}
			for w, n := range perWindow {
				if n > tc.perWindow {
					t.Errorf("window %s saw %d requests, want at most %d", w, n, tc.perWindow)
				}
			}
			sleeps := o.clock.Sleeps()
			if len(sleeps) == 0 {
				t.Fatal("no wait for a window reset")
			}
			if first := sleeps[0]; first != 11*time.Second && tc.reserve == 0 {
				t.Errorf("first wait %s, want 11s (to X-Rate-Limit-Reset, 10 s away by the server's Date, plus 1 s)", first)
			}
			for _, d := range sleeps {
				if d > 61*time.Second {
					t.Errorf("a wait of %s is longer than a window", d)
				}
			}
		})
	}
}

// Test429WaitedOut: Okta answers 429 (E0000047), also without Date or X-Rate-Limit-Reset; the read waits
// and goes on instead of aborting as the Directory Connector does.
func Test429WaitedOut(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault oktafake.Fault
		waits []time.Duration
	}{
		{"with Date and reset", oktafake.Fault{Times: 2}, []time.Duration{61 * time.Second, 60 * time.Second}}, // to 12:01:00, then to 12:02:00
		{"no Date: our clock", oktafake.Fault{Times: 1, NoDate: true}, []time.Duration{61 * time.Second}},
		{"no reset: backoff", oktafake.Fault{Times: 1, NoReset: true}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newOrg(t, oktafake.Options{UsersMaxLimit: 2})
			addUsers(o.fake, 3, oktafake.StatusActive)
			f := tc.fault
			f.Route, f.AfterOnly, f.Status = oktafake.RouteUsers, true, http.StatusTooManyRequests
			o.fake.AddFault(f)
			s := o.fetch(t, o.source(t), directory.FetchRequest{Users: true})
			if len(s.Users) != 3 || !s.Completeness.Complete() {
				t.Errorf("read %d users, complete %v; want all 3", len(s.Users), s.Completeness.Complete())
			}
			sleeps := o.clock.Sleeps()
			if tc.waits == nil {
				if len(sleeps) != 1 || sleeps[0] > 2*time.Second {
					t.Errorf("waits %v, want one backoff of at most 1 s", sleeps)
				}
				return
			}
			if diff := cmp.Diff(tc.waits, sleeps); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
		})
	}
}

func Test429GivesUp(t *testing.T) {
	o := newOrg(t, oktafake.Options{})
	addUsers(o.fake, 1, oktafake.StatusActive)
	o.fake.AddFault(oktafake.Fault{Route: oktafake.RouteUsers, Status: http.StatusTooManyRequests})
	s, err := o.source(t).Fetch(t.Context(), full)
	if s != nil || err == nil || !strings.Contains(err.Error(), "E0000047") || !strings.Contains(err.Error(), "gave up after 5 attempts") {
		t.Fatalf("Fetch = %v, %v; want no snapshot and a rate-limit error after 5 attempts", s != nil, err)
	}
	if n := o.fake.Count(""); n != 5 {
		t.Errorf("%d requests, want 5 (no request after giving up)", n)
	}
}

// TestErrorsFailTheRead: any error on any page fails the whole read (the Directory Connector's OneLogin
// and, for 429, Okta reads keep partial lists), with a message that names what to fix.
func TestErrorsFailTheRead(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault oktafake.Fault
		is    error
		want  string
	}{
		{"token revoked mid-paging", oktafake.Fault{Route: oktafake.RouteUsers, AfterOnly: true, Status: 401},
			directory.ErrAuth, "okta users (page 2): Okta refused the API token (E0000011 Invalid token provided"},
		{"no admin rights", oktafake.Fault{Route: oktafake.RouteGroups, Status: 403},
			directory.ErrAuth, "Read-Only Administrator"},
		{"server error persists", oktafake.Fault{Route: oktafake.RouteMembers, AfterOnly: true, Status: 500},
			nil, "Okta answered HTTP 500 (E0000009 Internal Server Error, errorId"},
		{"malformed page", oktafake.Fault{Route: oktafake.RouteUsers, AfterOnly: true, Malformed: true},
			nil, "page 2 from https://127.0.0.1"},
		{"group deleted while read", oktafake.Fault{Route: oktafake.RouteMembers, Status: 404, Code: "E0000007"},
			nil, "okta members of group"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newOrg(t, oktafake.Options{UsersMaxLimit: 2, MembersLimit: 1})
			ids := addUsers(o.fake, 3, oktafake.StatusActive)
			o.fake.AddGroup(oktafake.Group{Name: "G", Members: ids})
			o.fake.AddFault(tc.fault)
			s, err := o.source(t).Fetch(t.Context(), full)
			if s != nil || err == nil {
				t.Fatalf("Fetch = snapshot %v, %v; want an error and no snapshot", s != nil, err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Fetch = %v, want it to wrap %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Fetch = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), oktafake.DefaultToken) {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
}

func TestTransientErrorsRetried(t *testing.T) {
	o := newOrg(t, oktafake.Options{UsersMaxLimit: 1})
	addUsers(o.fake, 2, oktafake.StatusActive)
	o.fake.AddFault(oktafake.Fault{Route: oktafake.RouteUsers, AfterOnly: true, Times: 2, Status: 503})
	s := o.fetch(t, o.source(t), directory.FetchRequest{Users: true})
	if len(s.Users) != 2 {
		t.Errorf("read %d users, want 2", len(s.Users))
	}
	if n := len(o.clock.Sleeps()); n != 2 {
		t.Errorf("%d waits, want 2 (one per 503)", n)
	}
}

func TestBadToken(t *testing.T) {
	o := newOrg(t, oktafake.Options{})
	src := o.source(t, optToken, "00wrong")
	s, err := src.Fetch(t.Context(), full)
	if s != nil || !errors.Is(err, directory.ErrAuth) || !strings.Contains(err.Error(), "E0000011") || !strings.Contains(err.Error(), "okta.token") {
		t.Errorf("Fetch with a bad token = %v, %v; want ErrAuth naming E0000011 and okta.token", s != nil, err)
	}
	if strings.Contains(err.Error(), "00wrong") {
		t.Errorf("the error shows the token: %v", err)
	}
	if n := o.fake.Count(""); n != 1 {
		t.Errorf("%d requests, want 1 (a refused token is not retried)", n)
	}
}

func TestConnectionErrors(t *testing.T) {
	o := newOrg(t, oktafake.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + ln.Addr().String()
	ln.Close()
	for _, tc := range []struct {
		name     string
		settings []string
		is       error
		want     string
	}{
		{"untrusted certificate", []string{optCAFile, ""}, directory.ErrUnreachable, "set okta.caFile"},
		{"nothing listening", []string{optOrgURL, closed}, directory.ErrUnreachable, "cannot reach " + strings.TrimPrefix(closed, "https://")},
		{"not an Okta URL", []string{optOrgURL, o.url + "/not-okta"}, directory.ErrConfig, "okta.orgUrl: " + o.url + "/not-okta answered 404"},
		{"CA file missing", []string{optCAFile, "/nonexistent/ca.pem"}, directory.ErrConfig, "okta.caFile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := o.source(t, tc.settings...)
			src.policy.MaxAttempts = 2
			s, err := src.Fetch(t.Context(), full)
			if s != nil || !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Fetch = %v, %v; want %v containing %q", s != nil, err, tc.is, tc.want)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	o := newOrg(t, oktafake.Options{})
	o.fake.AddFault(oktafake.Fault{Delay: 5 * time.Second})
	src := o.source(t, optTimeout, "50ms")
	src.policy.MaxAttempts = 1
	start := time.Now()
	_, err := src.Fetch(t.Context(), full)
	if !errors.Is(err, directory.ErrUnreachable) {
		t.Errorf("Fetch from a server that does not answer = %v, want ErrUnreachable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Fetch took %s, want about okta.timeout (50ms)", d)
	}
}

// linkRewriter serves h, rewriting the next links it sends with f.
func linkRewriter(h http.Handler, f func(next string) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Link")
		for _, l := range rec.Header().Values("Link") {
			if target, ok := strings.CutSuffix(l, `>; rel="next"`); ok {
				l = "<" + f(strings.TrimPrefix(target, "<")) + `>; rel="next"`
			}
			w.Header().Add("Link", l)
		}
		w.WriteHeader(rec.Code)
		_, _ = io.Copy(w, rec.Body)
	})
}

// TestNextLinks: a next link on another host is followed on the org's host (the token goes nowhere
// else), a relative one is resolved, and a link back to a page already read stops the read with an error.
func TestNextLinks(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rewrite func(base, next string) string
		err     string
	}{
		// Another host: a loopback address where nothing listens, should the link be followed there.
		{"other host", func(base, next string) string { return strings.Replace(next, base, "https://127.0.0.2:9", 1) }, ""},
		{"relative", func(base, next string) string { return strings.TrimPrefix(next, base) }, ""},
		{"loop", func(base, next string) string { return base + "/api/v1/users?limit=200" }, "already read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := httpxtest.NewClock()
			fake := oktafake.New(oktafake.Options{Now: clock.Now, UsersMaxLimit: 1})
			addUsers(fake, 3, oktafake.StatusActive)
			ca := httpxtest.NewCA(t)
			var base string
			srv := ca.NewTLSServer(t, linkRewriter(fake.Handler(), func(next string) string { return tc.rewrite(base, next) }))
			base = srv.URL
			src, err := newSource(directory.Config{Values: directory.Values{optOrgURL: srv.URL, optToken: oktafake.DefaultToken, optCAFile: ca.File(t)}})
			if err != nil {
				t.Fatal(err)
			}
			src.policy = clock.Policy(httpx.Policy{})
			s, err := src.Fetch(t.Context(), directory.FetchRequest{Users: true})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("Fetch = %v, want an error containing %q", err, tc.err)
				}
				return
			}
			if err != nil || len(s.Users) != 3 {
				t.Fatalf("Fetch = %v; want 3 users", err)
			}
		})
	}
}

func TestConcurrentFetches(t *testing.T) {
	o := newOrg(t, oktafake.Options{UsersMaxLimit: 2, MaxConcurrent: 100})
	addUsers(o.fake, 5, oktafake.StatusActive)
	src := o.source(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := src.Fetch(context.Background(), full)
			if err == nil && len(s.Users) != 5 {
				err = fmt.Errorf("read %d users, want 5", len(s.Users))
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
