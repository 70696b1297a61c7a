package google

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/directorytest"
	"github.com/dirconn/dirconn/internal/directory/google/googlefake"
	"github.com/dirconn/dirconn/internal/httpx"
	"github.com/dirconn/dirconn/internal/httpx/httpxtest"
)

// bigDataset has 1,203 users (three pages of 500), 450 groups (three pages of 200) and a group "All" of
// 450 members (three pages of 200).
func bigDataset() directorytest.Dataset {
	var ds directorytest.Dataset
	for i := range 1203 {
		ds.Users = append(ds.Users, directorytest.DatasetUser{Key: fmt.Sprintf("u%04d", i), Email: fmt.Sprintf("user%04d@example.com", i)})
	}
	all := directorytest.DatasetGroup{Key: "all", Name: "All"}
	for i := range 449 {
		ds.Groups = append(ds.Groups, directorytest.DatasetGroup{Key: fmt.Sprintf("g%03d", i), Name: fmt.Sprintf("Group %03d", i), Users: []string{fmt.Sprintf("u%04d", i)}})
		all.Users = append(all.Users, fmt.Sprintf("u%04d", i))
	}
	all.Users = append(all.Users, "u1202")
	ds.Groups = append(ds.Groups, all)
	return ds
}

// TestPagingToTheEnd reads a directory larger than one page of every listing with Google's real page
// sizes and checks that every page was read, with the page sizes and fields dirconn asks for.
func TestPagingToTheEnd(t *testing.T) {
	ds := bigDataset()
	e := newEnv(t, googlefake.Options{}, ds)
	s := fetch(t, e.source(t, e.values()), all)
	if len(s.Users) != 1203 || len(s.Groups) != 450 {
		t.Fatalf("read %d users and %d groups, want 1203 and 450", len(s.Users), len(s.Groups))
	}
	for _, g := range s.Groups {
		if g.Name == "All" && len(g.Users) != 450 {
			t.Errorf("group All has %d members, want 450", len(g.Users))
		}
	}
	if !s.Completeness.Complete() {
		t.Errorf("incomplete: %q", s.Completeness.Incomplete())
	}
	// Users: 3 pages of active users, 1 of deleted; groups: 3 pages; members: 449 groups of one page,
	// All in 3.
	want := map[googlefake.Route]int{googlefake.RouteUsers: 4, googlefake.RouteGroups: 3, googlefake.RouteMembers: 449 + 3}
	for r, n := range want {
		if got := e.fake.Count(r); got != n {
			t.Errorf("%s requests = %d, want %d", r, got, n)
		}
	}
	pagesByRead := map[string]int{}
	for _, r := range s.Completeness.Reads {
		pagesByRead[r.What] = r.Pages
	}
	if diff := cmp.Diff(map[string]int{"users": 3, "deleted users": 1, "groups": 3, "group members": 452}, pagesByRead); diff != "" {
		t.Errorf("pages per read (-want +got):\n%s", diff)
	}
	wantParams := map[googlefake.Route][2]string{
		googlefake.RouteUsers:   {"500", "nextPageToken,users(id,primaryEmail,name/fullName,suspended,archived)"},
		googlefake.RouteGroups:  {"200", "nextPageToken,groups(id,name,email)"},
		googlefake.RouteMembers: {"200", "nextPageToken,members(id,email,type,status)"},
	}
	for _, r := range e.fake.Requests() {
		w := wantParams[r.Route]
		if got := [2]string{r.Query.Get("maxResults"), r.Query.Get("fields")}; got != w {
			t.Errorf("%s sent maxResults, fields = %q, want %q", r.Route, got, w)
		}
	}
}

// TestAssertion checks the JWT assertion: the service account as issuer, the admin user as subject,
// exactly the three read-only scopes, Google's token URL as audience (whatever google.tokenUrl is), at most an hour of validity; and that
// one token serves the whole read.
func TestAssertion(t *testing.T) {
	e := newEnv(t, googlefake.Options{PageLimit: 2}, directorytest.Expected(googleCaps))
	fetch(t, e.source(t, e.values()), all)
	as := e.fake.Assertions()
	if len(as) != 1 {
		t.Fatalf("the token endpoint got %d assertions, want 1 for the whole read", len(as))
	}
	a := as[0]
	got := struct{ Iss, Sub, Aud, KeyID, Result string }{a.Iss, a.Sub, a.Aud, a.KeyID, a.Result}
	want := struct{ Iss, Sub, Aud, KeyID, Result string }{e.sa.Email, "ann.lee@example.com", "https://oauth2.googleapis.com/token", e.sa.KeyID, "ok"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("assertion (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Scopes, a.Scopes()); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
	if d := a.Exp - a.Iat; d <= 0 || d > 3600 {
		t.Errorf("exp - iat = %d s, want 1..3600", d)
	}
	for _, r := range e.fake.Requests() {
		if r.Subject != "ann.lee@example.com" {
			t.Errorf("%s ran as %q, want the impersonated admin", r.Route, r.Subject)
			break
		}
	}
}

// TestDirectKey authenticates with google.clientEmail and google.privateKey (the anchor's fields), the
// key written with \n escapes as the Directory Connector stores it.
func TestDirectKey(t *testing.T) {
	e := newEnv(t, googlefake.Options{}, directorytest.Expected(googleCaps))
	escaped := strings.ReplaceAll(e.sa.PEM(), "\n", `\n`)
	s := fetch(t, e.source(t, e.values(optKeyFile, "", optClientEmail, e.sa.Email, optPrivateKey, escaped)), all)
	if len(s.Users) != 10 {
		t.Errorf("read %d users, want 10", len(s.Users))
	}
	if a := e.fake.Assertions(); len(a) != 1 || a[0].Iss != e.sa.Email || a[0].KeyID != "" {
		t.Errorf("assertions = %+v, want one from %s without a key id", a, e.sa.Email)
	}
}

// TestAuthErrors checks each way Google refuses: the error wraps directory.ErrAuth, says what to fix,
// returns no snapshot and never holds the key.
func TestAuthErrors(t *testing.T) {
	other, err := googlefake.NewServiceAccount("dirconn-sync@dirconn-test.iam.gserviceaccount.com", "999")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		setup  func(e *env)
		values []string
		now    time.Duration // the fake's clock offset
		want   []string
		// apiCalls is how many API requests the read makes before failing.
		apiCalls int
	}{
		{name: "NoDelegation", setup: func(e *env) { e.fake.Delegate(e.sa.ClientID) },
			want: []string{"unauthorized_client", "domain-wide delegation or scopes missing for client id 104857600123456789012",
				"admin.directory.group.member.readonly"}},
		{name: "ScopeMissing", setup: func(e *env) {
			e.fake.Delegate(e.sa.ClientID, googlefake.ScopeUserReadonly, googlefake.ScopeGroupReadonly)
		},
			want: []string{"unauthorized_client", "client id 104857600123456789012"}},
		{name: "UnknownAdmin", values: []string{optAdminUser, "nobody@example.com"},
			want: []string{"invalid_grant", "google.adminUser nobody@example.com is not an active user"}},
		{name: "WrongKey", values: []string{optKeyFile, "", optClientEmail, other.Email, optPrivateKey, other.PEM()},
			want: []string{"invalid_grant", "Invalid JWT Signature", "private key does not belong to"}},
		{name: "UnknownAccount", values: []string{optKeyFile, "", optClientEmail, "gone@dirconn-test.iam.gserviceaccount.com", optPrivateKey, other.PEM()},
			want: []string{"account not found", "gone@dirconn-test.iam.gserviceaccount.com does not exist"}},
		{name: "Clock", now: 2 * time.Hour, want: []string{"invalid_grant", "clock"}},
		{name: "NotAdmin", values: []string{optAdminUser, "bob.stone@example.com"}, apiCalls: 1,
			want: []string{"HTTP 403 forbidden", "google.adminUser bob.stone@example.com must be an administrator"}},
		{name: "WrongDomain", values: []string{optDomain, "other.org"}, apiCalls: 1,
			want: []string{"HTTP 403 forbidden", "google.domain other.org must belong"}},
		{name: "InsufficientScopes", setup: func(e *env) {
			e.fake.Fail(googlefake.RouteGroups, googlefake.Fault{Status: 403, Reason: "insufficientPermissions"})
		}, apiCalls: 4, want: []string{"insufficientPermissions", "authorize client ID 104857600123456789012"}},
		{name: "TokenRevokedMidPaging", setup: func(e *env) {
			e.fake.Fail(googlefake.RouteUsers, googlefake.Fault{Status: 401, Reason: "authError", Skip: 1})
		}, apiCalls: 2, want: []string{"HTTP 401 authError", "refused the access token"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := func() time.Time { return time.Now().Add(tc.now) }
			e := newEnv(t, googlefake.Options{Now: now, PageLimit: 5}, directorytest.Expected(googleCaps))
			if tc.setup != nil {
				tc.setup(e)
			}
			s, err := e.source(t, e.values(tc.values...)).Fetch(t.Context(), all)
			if err == nil || s != nil {
				t.Fatalf("Fetch = %v, %v; want an error and no snapshot", s, err)
			}
			t.Logf("error: %v", err)
			if !errors.Is(err, directory.ErrAuth) {
				t.Errorf("error %q does not wrap directory.ErrAuth", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, secret := range []string{"PRIVATE KEY", keyBody(e.sa.PEM()), keyBody(other.PEM()), "ya29."} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q holds secret material", err)
				}
			}
			n := 0
			for _, r := range []googlefake.Route{googlefake.RouteUsers, googlefake.RouteGroups, googlefake.RouteMembers} {
				n += e.fake.Count(r)
			}
			if n != tc.apiCalls {
				t.Errorf("the read made %d API requests, want %d (no retry of a refusal)", n, tc.apiCalls)
			}
		})
	}
}

// keyBody returns a line from the middle of a PEM key.
func keyBody(pem string) string {
	lines := strings.Split(pem, "\n")
	return lines[len(lines)/2]
}

// TestThrottling: each throttling answer Google gives is retried, waiting Retry-After when there is
// one and a capped backoff otherwise, and the read then completes.
func TestThrottling(t *testing.T) {
	tests := []struct {
		name  string
		route googlefake.Route
		fault googlefake.Fault
		// wantWait is the wait before each retry, or 0 for a backoff (at most 1 s then 2 s).
		wantWait time.Duration
		// first makes the route's first request of the read fail (else its second).
		first bool
	}{
		{"UserRateLimit", googlefake.RouteUsers, googlefake.RateLimited(), 0, false},
		{"RateLimit403", googlefake.RouteGroups, googlefake.Fault{Status: 403, Reason: "rateLimitExceeded"}, 0, false},
		{"QuotaExceeded", googlefake.RouteMembers, googlefake.QuotaExceeded(), 0, false},
		{"TooManyRequests", googlefake.RouteUsers, googlefake.TooManyRequests("7"), 7 * time.Second, false},
		{"TooManyRequestsNoHeader", googlefake.RouteMembers, googlefake.TooManyRequests(""), 0, false},
		{"BackendError", googlefake.RouteGroups, googlefake.BackendError(), 0, false},
		{"BackendErrorRetryAfter", googlefake.RouteUsers, googlefake.Fault{Status: 503, Reason: "backendError", RetryAfter: "3"}, 3 * time.Second, false},
		{"TokenEndpoint500", googlefake.RouteToken, googlefake.Fault{Status: 500}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, googlefake.Options{PageLimit: 4}, directorytest.Expected(googleCaps))
			base := fetch(t, e.source(t, e.values()), all)
			before := e.fake.Count(tc.route)
			f := tc.fault
			f.Skip, f.Times = 1, 2 // the second request of the route fails twice
			if tc.first {
				f.Skip = 0
			}
			e.fake.Fail(tc.route, f)
			s := fetch(t, e.source(t, e.values()), all)
			if diff := cmp.Diff(directorytest.SnapshotView(base), directorytest.SnapshotView(s)); diff != "" {
				t.Errorf("read after retries differs (-clean +throttled):\n%s", diff)
			}
			if got := e.fake.Count(tc.route) - before; got != before+2 {
				t.Errorf("%s got %d requests, want %d (the same as a clean read, plus 2 retries)", tc.route, got, before+2)
			}
			waits := e.clock.Sleeps()
			if len(waits) != 2 {
				t.Fatalf("waited %v, want 2 waits", waits)
			}
			for i, w := range waits {
				max := time.Second << i
				if tc.wantWait != 0 && w != tc.wantWait || tc.wantWait == 0 && (w <= 0 || w > max) {
					t.Errorf("wait %d = %v, want %v (Retry-After) or a backoff up to %v", i, w, tc.wantWait, max)
				}
			}
		})
	}
}

// TestThrottlingGivesUp: throttling that does not lift fails the read after the policy's attempts, with
// no request after giving up; a Retry-After beyond the total wait limit fails at once.
func TestThrottlingGivesUp(t *testing.T) {
	tests := []struct {
		name         string
		route        googlefake.Route
		fault        googlefake.Fault
		wantRequests int
		want         string
	}{
		{"RateLimit", googlefake.RouteUsers, googlefake.RateLimited(), 5, "quota did not recover (gave up after 5 attempts"},
		{"Backend", googlefake.RouteMembers, googlefake.BackendError(), 5, "HTTP 503 backendError"},
		{"RetryAfterTooLong", googlefake.RouteGroups, googlefake.TooManyRequests("3600"), 1, "more than the"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, googlefake.Options{}, directorytest.Expected(googleCaps))
			e.fake.Fail(tc.route, tc.fault)
			src := e.source(t, e.values())
			src.workers = 1 // one members.list at a time, so the count is exact
			s, err := src.Fetch(t.Context(), all)
			if err == nil || s != nil {
				t.Fatalf("Fetch = %v, %v; want an error and no snapshot", s, err)
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if got := e.fake.Count(tc.route); got != tc.wantRequests {
				t.Errorf("%s got %d requests, want %d", tc.route, got, tc.wantRequests)
			}
			var total time.Duration
			for _, w := range e.clock.Sleeps() {
				total += w
			}
			if total > httpx.DefaultPolicy().MaxWait {
				t.Errorf("waited %v in total, more than the %v limit", total, httpx.DefaultPolicy().MaxWait)
			}
		})
	}
}

// TestNotRetried: refusals that waiting cannot fix are sent once.
func TestNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault googlefake.Fault
		is    error
	}{
		{"Forbidden", googlefake.Fault{Status: 403, Reason: "forbidden"}, directory.ErrAuth},
		{"BadRequest", googlefake.Fault{Status: 400, Reason: "invalid"}, directory.ErrConfig},
		{"Malformed", googlefake.Malformed(), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, googlefake.Options{PageLimit: 3}, directorytest.Expected(googleCaps))
			f := tc.fault
			f.Skip = 1 // the second page
			e.fake.Fail(googlefake.RouteUsers, f)
			s, err := e.source(t, e.values()).Fetch(t.Context(), all)
			if err == nil || s != nil {
				t.Fatalf("Fetch = %v, %v; want an error and no snapshot", s, err)
			}
			t.Logf("error: %v", err)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q does not wrap %v", err, tc.is)
			}
			if got := e.fake.Count(googlefake.RouteUsers); got != 2 {
				t.Errorf("users.list got %d requests, want 2 (page 1, then the failed page once)", got)
			}
		})
	}
}

// TestDeletedAndSuspended: suspended and archived users are disabled, deleted users come from the
// showDeleted=true listing, which returns only them; a user in both listings is returned once.
func TestDeletedAndSuspended(t *testing.T) {
	e := newEnv(t, googlefake.Options{}, directorytest.Expected(googleCaps))
	s := fetch(t, e.source(t, e.values()), directory.FetchRequest{Users: true})
	want := []string{
		"ann.lee@example.com", "bob.stone@example.com", "cara.diaz@example.com", "dan.ek@example.com (disabled)",
		"eve.moss@example.com (deleted)", "gail.park@example.com", "hana.ito@example.com", "ivan.petrov@example.com",
		"jo.kim@example.com (disabled)", "sam.roy@example.com",
	}
	if diff := cmp.Diff(want, emails(s)); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	var suspended, archived bool
	e.fake.UpdateUser(e.sd.Users["dan"], func(u *googlefake.User) { suspended = u.Suspended })
	e.fake.UpdateUser(e.sd.Users["jo"], func(u *googlefake.User) { archived = u.Archived })
	if !suspended || !archived {
		t.Errorf("the seed should make dan suspended (%v) and jo archived (%v)", suspended, archived)
	}
	var showDeleted []string
	for _, r := range e.fake.Requests() {
		showDeleted = append(showDeleted, r.Query.Get("showDeleted"))
	}
	if diff := cmp.Diff([]string{"", "true"}, showDeleted); diff != "" {
		t.Errorf("showDeleted per users.list request (-want +got):\n%s", diff)
	}

	// A user restored between the two listings shows up in both: once in the snapshot, as active.
	e.fake.AddUser(googlefake.User{ID: e.sd.Users["bob"], PrimaryEmail: "bob.stone@example.com", Deleted: true})
	s = fetch(t, e.source(t, e.values()), directory.FetchRequest{Users: true})
	if diff := cmp.Diff(want, emails(s)); diff != "" {
		t.Errorf("users with a user in both listings (-want +got):\n%s", diff)
	}
	directorytest.CheckIDs(t, s)
}

// TestMembers: USER members count whatever their status (a suspended user's membership is kept for the
// engine to judge), members without a status too, nested groups by id, CUSTOMER members expand to every
// synced user who is not deleted, and unknown types are skipped.
func TestMembers(t *testing.T) {
	e := newEnv(t, googlefake.Options{}, directorytest.Expected(googleCaps))
	id := e.sd.Users
	e.fake.AddGroup(googlefake.Group{ID: "g-mixed", Name: "Mixed", Email: "mixed@example.com", Members: []googlefake.Member{
		{ID: id["dan"], Type: "USER"},                 // SUSPENDED
		{ID: id["bob"], Type: "user", Status: "-"},    // no status, lower case type
		{ID: "g-everyone", Type: "GROUP"},             // nested
		{ID: "C01dirconn", Type: "RESOURCE_CALENDAR"}, // unknown type
	}})
	e.fake.AddGroup(googlefake.Group{ID: "g-everyone", Name: "Everyone", Email: "everyone@example.com", Members: []googlefake.Member{
		{ID: e.fake.CustomerID(), Type: "CUSTOMER"},
		{ID: id["ann"], Type: "USER"},
	}})
	byName := func(s *directory.Snapshot) map[string]directory.Group {
		out := map[string]directory.Group{}
		for _, g := range s.Groups {
			out[g.Name] = g
		}
		return out
	}
	s := fetch(t, e.source(t, e.values()), all)
	g := byName(s)
	if diff := cmp.Diff([]string{id["dan"], id["bob"]}, g["Mixed"].Users); diff != "" {
		t.Errorf("Mixed users (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"g-everyone"}, g["Mixed"].Groups); diff != "" {
		t.Errorf("Mixed groups (-want +got):\n%s", diff)
	}
	var active []string
	for _, u := range s.Users {
		if !u.Deleted {
			active = append(active, u.ID)
		}
	}
	if diff := cmp.Diff(sorted(active), sorted(g["Everyone"].Users)); diff != "" {
		t.Errorf("Everyone (CUSTOMER) users (-every active user +got):\n%s", diff)
	}

	// Groups only: the users are read to expand CUSTOMER, but not returned.
	s = fetch(t, e.source(t, e.values()), directory.FetchRequest{Groups: true})
	if len(s.Users) != 0 || len(byName(s)["Everyone"].Users) != len(active) {
		t.Errorf("groups only: %d users returned, Everyone has %d members; want 0 and %d", len(s.Users), len(byName(s)["Everyone"].Users), len(active))
	}
	// With a user filter, CUSTOMER stands for the filtered users only.
	s = fetch(t, e.source(t, e.values()), directory.FetchRequest{Users: true, Groups: true,
		Filters: directory.Filters{User: "include:bob.stone@example.com,cara.diaz@example.com"}})
	if diff := cmp.Diff([]string{id["ann"], id["bob"], id["cara"]}, sorted(byName(s)["Everyone"].Users)); diff != "" {
		t.Errorf("Everyone with a user filter (-want +got):\n%s", diff)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestGroupDeletedWhileReading: a group that answers members.list with 404 (deleted since groups.list)
// is an issue, not a failure, and the read stays complete.
func TestGroupDeletedWhileReading(t *testing.T) {
	e := newEnv(t, googlefake.Options{}, directorytest.Expected(googleCaps))
	e.fake.Fail(googlefake.RouteMembers, googlefake.Fault{Status: 404, Reason: "notFound", Message: "Resource Not Found: groupKey", Times: 1})
	src := e.source(t, e.values())
	src.workers = 1
	s := fetch(t, src, all)
	if len(s.Groups) != 7 || len(s.Issues) != 1 || !strings.Contains(s.Issues[0].Reason, "deleted while") {
		t.Errorf("got %d groups and issues %v; want 7 groups and one issue", len(s.Groups), s.Issues)
	}
	if !s.Completeness.Complete() {
		t.Errorf("incomplete: %q", s.Completeness.Incomplete())
	}
}

// TestFilters checks include/exclude lists, native queries and the rule that a group list limits users.
func TestFilters(t *testing.T) {
	e := newEnv(t, googlefake.Options{}, directorytest.Expected(googleCaps))
	for _, k := range []string{"bob", "cara"} {
		e.fake.UpdateUser(e.sd.Users[k], func(u *googlefake.User) { u.OrgUnitPath = "/Engineering/Backend" })
	}
	e.fake.UpdateUser(e.sd.Users["hana"], func(u *googlefake.User) { u.OrgUnitPath = "/Sales Team" })
	tests := []struct {
		name           string
		filters        directory.Filters
		removeDisabled bool
		wantUsers      []string
		wantGroups     []string
		wantQuery      map[googlefake.Route]string
	}{
		{name: "IncludeUsers", filters: directory.Filters{User: "include: Bob.Stone@example.com , cara.diaz@example.com"},
			wantUsers: []string{"bob.stone@example.com", "cara.diaz@example.com"}},
		{name: "ExcludeUsersAndQuery", filters: directory.Filters{User: "exclude:bob.stone@example.com | orgUnitPath=/Engineering"},
			wantUsers: []string{"cara.diaz@example.com"},
			wantQuery: map[googlefake.Route]string{googlefake.RouteUsers: "orgUnitPath=/Engineering"}},
		{name: "QuotedQueryOnly", filters: directory.Filters{User: "|orgUnitPath='/Sales Team'"},
			wantUsers: []string{"hana.ito@example.com"},
			wantQuery: map[googlefake.Route]string{googlefake.RouteUsers: "orgUnitPath='/Sales Team'"}},
		{name: "QueryPrefix", filters: directory.Filters{User: "|email:sam*"},
			wantUsers: []string{"sam.roy@example.com"},
			wantQuery: map[googlefake.Route]string{googlefake.RouteUsers: "email:sam*"}},
		{name: "IncludeGroupsLimitsUsers", filters: directory.Filters{Group: "include:Backend,on call"},
			wantUsers:  []string{"bob.stone@example.com", "cara.diaz@example.com", "eve.moss@example.com (deleted)", "ivan.petrov@example.com"},
			wantGroups: []string{"Backend", "On Call"}},
		{name: "RemoveDisabledKeepsDisabled", filters: directory.Filters{Group: "include:Backend"}, removeDisabled: true,
			wantUsers:  []string{"bob.stone@example.com", "cara.diaz@example.com", "dan.ek@example.com (disabled)", "eve.moss@example.com (deleted)", "jo.kim@example.com (disabled)"},
			wantGroups: []string{"Backend"}},
		{name: "ExcludeGroups", filters: directory.Filters{Group: "EXCLUDE:Staff,Engineering,Backend,Operations,On Call,Partners"},
			wantUsers:  []string{"eve.moss@example.com (deleted)"},
			wantGroups: []string{"Alumni", "Empty Group"}},
		{name: "GroupQueryDoesNotLimitUsers", filters: directory.Filters{Group: "|name:Eng*"},
			wantGroups: []string{"Engineering"},
			wantQuery:  map[googlefake.Route]string{googlefake.RouteGroups: "name:Eng*"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.fake.Requests())
			s := fetch(t, e.source(t, e.values()), directory.FetchRequest{Users: true, Groups: true, Filters: tc.filters, RemoveDisabled: tc.removeDisabled})
			if tc.wantUsers != nil {
				if diff := cmp.Diff(tc.wantUsers, emails(s)); diff != "" {
					t.Errorf("users (-want +got):\n%s", diff)
				}
			} else if len(s.Users) != 10 {
				t.Errorf("read %d users, want all 10", len(s.Users))
			}
			if tc.wantGroups != nil {
				if diff := cmp.Diff(tc.wantGroups, groupNames(s)); diff != "" {
					t.Errorf("groups (-want +got):\n%s", diff)
				}
			} else if len(s.Groups) != 8 {
				t.Errorf("read %d groups, want all 8", len(s.Groups))
			}
			for _, r := range e.fake.Requests()[before:] {
				if r.Route == googlefake.RouteMembers {
					continue
				}
				if got, want := r.Query.Get("query"), tc.wantQuery[r.Route]; got != want {
					t.Errorf("%s sent query %q, want %q", r.Route, got, want)
				}
			}
		})
	}
}

// TestFilterErrors: a filter that does not parse is refused before any request; a query Google refuses
// is a filter error with Google's message.
func TestFilterErrors(t *testing.T) {
	bad := []directory.Filters{
		{User: "joe@company.com"},
		{User: "includes:joe@company.com"},
		{User: "include:"},
		{User: "include: , |orgUnitPath=/"},
		{Group: "Sales"},
		{Group: "includeGroup:abc"},
	}
	e := newEnv(t, googlefake.Options{}, directorytest.Expected(googleCaps))
	for _, f := range bad {
		if err := CheckFilters(f); !errors.Is(err, directory.ErrFilter) {
			t.Errorf("CheckFilters(%+v) = %v, want a filter error", f, err)
		}
		if _, err := e.source(t, e.values()).Fetch(t.Context(), directory.FetchRequest{Users: true, Groups: true, Filters: f}); !errors.Is(err, directory.ErrFilter) {
			t.Errorf("Fetch with %+v = %v, want a filter error", f, err)
		}
	}
	if n := len(e.fake.Requests()) + len(e.fake.Assertions()); n != 0 {
		t.Errorf("bad filters made %d requests, want none", n)
	}
	for _, f := range []directory.Filters{{}, {User: "include:a@b.c", Group: "exclude:x"}, {User: "|orgUnitPath=/ | x"}, {Group: " | name:Sales*"}} {
		if err := CheckFilters(f); err != nil {
			t.Errorf("CheckFilters(%+v) = %v, want nil", f, err)
		}
	}

	_, err := e.source(t, e.values()).Fetch(t.Context(), directory.FetchRequest{Users: true, Filters: directory.Filters{User: "|department=Sales"}})
	if !errors.Is(err, directory.ErrFilter) || !strings.Contains(err.Error(), "sync.userFilter") || !strings.Contains(err.Error(), "unknown search field \"department\"") {
		t.Errorf("a query Google refuses: %v; want a filter error naming sync.userFilter with Google's message", err)
	}
}

// TestEndpoints: google.apiUrl may carry a path (a proxy in front of Google), and domain and customer
// are sent as set.
func TestEndpoints(t *testing.T) {
	e := newEnv(t, googlefake.Options{}, directorytest.Expected(googleCaps))
	mux := http.NewServeMux()
	mux.Handle("/google/", http.StripPrefix("/google", e.fake.Handler()))
	proxy := httptest.NewServer(mux)
	t.Cleanup(proxy.Close)
	for _, tc := range []struct {
		name         string
		values       []string
		wantDomain   string
		wantCustomer string
	}{
		{"DomainOnly", nil, "example.com", ""},
		{"DomainAndCustomer", []string{optCustomer, "my_customer"}, "example.com", "my_customer"},
		{"CustomerOnly", []string{optDomain, "", optCustomer, e.fake.CustomerID()}, "", e.fake.CustomerID()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.fake.Requests())
			v := append([]string{optAPIURL, proxy.URL + "/google", optTokenURL, proxy.URL + "/google/token"}, tc.values...)
			s := fetch(t, e.source(t, e.values(v...)), all)
			if len(s.Users) != 10 || len(s.Groups) != 8 {
				t.Errorf("read %d users and %d groups, want 10 and 8", len(s.Users), len(s.Groups))
			}
			for _, r := range e.fake.Requests()[before:] {
				if r.Route == googlefake.RouteMembers {
					continue
				}
				if got := [2]string{r.Query.Get("domain"), r.Query.Get("customer")}; got != [2]string{tc.wantDomain, tc.wantCustomer} {
					t.Errorf("%s sent domain, customer = %q, want %q, %q", r.Route, got, tc.wantDomain, tc.wantCustomer)
				}
			}
		})
	}
}

// TestUnreachable: a server that cannot be reached is directory.ErrUnreachable, after retries.
func TestUnreachable(t *testing.T) {
	e := newEnv(t, googlefake.Options{}, directorytest.Expected(googleCaps))
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := e.source(t, e.values(optTokenURL, url+"/token")).Fetch(t.Context(), all)
	t.Logf("error: %v", err)
	if !errors.Is(err, directory.ErrUnreachable) {
		t.Errorf("Fetch with a dead token URL = %v, want directory.ErrUnreachable", err)
	}
	if n := len(e.clock.Sleeps()); n != 4 {
		t.Errorf("waited %d times, want 4 (5 attempts)", n)
	}
}

// TestCancelWhileSlow: a read waiting on a slow answer stops when its context ends.
func TestCancelWhileSlow(t *testing.T) {
	e := newEnv(t, googlefake.Options{}, directorytest.Expected(googleCaps))
	e.fake.Fail(googlefake.RouteGroups, googlefake.Fault{Delay: time.Minute, DelayOnly: true})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	s, err := e.source(t, e.values()).Fetch(ctx, all)
	if !errors.Is(err, context.DeadlineExceeded) || s != nil {
		t.Errorf("Fetch = %v, %v; want no snapshot and an error wrapping context.DeadlineExceeded", s, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Fetch took %v after its context ended", d)
	}
}

// TestRepeatedPageToken: a server that hands out the same page token again fails the read instead of
// looping forever.
func TestRepeatedPageToken(t *testing.T) {
	e := newEnv(t, googlefake.Options{}, directorytest.Expected(googleCaps))
	e.fake.Fail(googlefake.RouteUsers, googlefake.Fault{Status: 200,
		Body: `{"users":[{"id":"1","primaryEmail":"a@example.com"}],"nextPageToken":"same"}`})
	s, err := e.source(t, e.values()).Fetch(t.Context(), all)
	if err == nil || s != nil || !strings.Contains(err.Error(), "page token it had sent before") {
		t.Errorf("Fetch = %v, %v; want an error about the repeated page token", s, err)
	}
	if n := e.fake.Count(googlefake.RouteUsers); n != 2 {
		t.Errorf("users.list got %d requests, want 2", n)
	}
}

// TestProxyAndCA: dirconn's global proxy and CA file settings reach Google's endpoints: the fake is
// served over TLS under a made-up host name that only the proxy can resolve, with a certificate only
// the CA file makes trusted.
func TestProxyAndCA(t *testing.T) {
	e := newEnv(t, googlefake.Options{}, directorytest.Expected(googleCaps))
	ca := httpxtest.NewCA(t)
	srv := ca.NewTLSServer(t, e.fake.Handler(), "google.test")
	proxy := httpxtest.NewProxy(t, map[string]string{"google.test": srv.Listener.Addr().String()})
	v := directory.WithDefaults(Adapter().Options, e.values(optAPIURL, "https://google.test/", optTokenURL, "https://google.test/token"))
	for _, tc := range []struct {
		name    string
		cfg     directory.Config
		wantErr error
	}{
		{"ProxyAndCA", directory.Config{Values: v, Proxy: proxy.URL, CAFile: ca.File(t)}, nil},
		{"NoCA", directory.Config{Values: v, Proxy: proxy.URL}, directory.ErrUnreachable}, // and a hint to set caFile
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			src.(*Source).policy = e.clock.Policy(httpx.Policy{})
			s, err := src.Fetch(t.Context(), all)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("Fetch: %v", err)
			case tc.wantErr == nil && len(s.Users) != 10:
				t.Errorf("read %d users, want 10", len(s.Users))
			case tc.wantErr != nil && (!errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), "set caFile")):
				t.Errorf("Fetch = %v, want %v with a hint to set caFile", err, tc.wantErr)
			}
		})
	}
	if reqs := proxy.Requests(); len(reqs) == 0 || reqs[0] != "CONNECT google.test:443" {
		t.Errorf("proxy requests = %q, want CONNECT google.test:443", reqs)
	}
}
