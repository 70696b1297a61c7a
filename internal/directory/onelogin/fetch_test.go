package onelogin

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/filter"
	"github.com/dirconn/dirconn/internal/directory/onelogin/oneloginfake"
)

func TestMapUser(t *testing.T) {
	status := func(n int) *int { return &n }
	tests := []struct {
		name string
		in   apiUser
		want directory.User
	}{
		{"active", apiUser{ID: "7", Email: "Ann@X.com", Username: "ann", Firstname: "Ann", Lastname: "Lee", Status: status(1)},
			directory.User{ID: "7", Email: "Ann@X.com", EmailPrefix: "ann", DisplayName: "Ann Lee"}},
		{"suspended is disabled", apiUser{ID: "7", Email: "a@x.com", Status: status(2)},
			directory.User{ID: "7", Email: "a@x.com", Disabled: true}},
		{"locked is not disabled", apiUser{ID: "7", Email: "a@x.com", Status: status(3)},
			directory.User{ID: "7", Email: "a@x.com"}},
		{"unactivated is not disabled", apiUser{ID: "7", Email: "a@x.com", Status: status(0)},
			directory.User{ID: "7", Email: "a@x.com"}},
		{"no status", apiUser{ID: "7", Email: "a@x.com"}, directory.User{ID: "7", Email: "a@x.com"}},
		{"email trimmed", apiUser{ID: "7", Email: "  a@x.com "}, directory.User{ID: "7", Email: "a@x.com"}},
		{"username is an email", apiUser{ID: "7", Username: "b@x.com"},
			directory.User{ID: "7", Email: "b@x.com", EmailPrefix: "b@x.com", DisplayName: "b@x.com"}},
		{"email invalid, username is one", apiUser{ID: "7", Email: "nope", Username: "b@x.com"},
			directory.User{ID: "7", Email: "b@x.com", EmailPrefix: "b@x.com", DisplayName: "b@x.com"}},
		{"no email: username for the suffix", apiUser{ID: "7", Email: "nope@local", Username: " finn.obi "},
			directory.User{ID: "7", EmailPrefix: "finn.obi", DisplayName: "finn.obi"}},
		{"nothing", apiUser{ID: "7"}, directory.User{ID: "7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, mapUser(tt.in)); diff != "" {
				t.Errorf("mapUser(%+v) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestMapRecords(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	users := []json.RawMessage{
		raw(`{"id":12345678901,"email":"a@x.com","role_id":[1,2,1],"status":1}`),
		raw(`{"id":"22","email":null,"username":"bob","role_id":null,"status":2}`),
		raw(`{"id":33,"email":5}`),                         // a record dirconn cannot read
		raw(`{"id":null,"email":"c@x.com","role_id":[1]}`), // no id
		raw(`{"id":44,"email":"skip@x.com","role_id":[1]}`),
	}
	f, err := filter.Parse("exclude: SKIP@x.com", userSyntax)
	if err != nil {
		t.Fatal(err)
	}
	got, members, issues := mapUsers(users, f)
	if diff := cmp.Diff([]string{"12345678901", "22"}, userIDs(&directory.Snapshot{Users: got})); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string][]string{"1": {"12345678901"}, "2": {"12345678901"}}, members); diff != "" {
		t.Errorf("role members (-want +got):\n%s", diff)
	}
	wantIssues := []directory.Issue{
		{Kind: "user", ID: "33"},
		{Kind: "user", Name: "c@x.com", Reason: "OneLogin returned it without an id"},
	}
	if len(issues) != 2 || issues[0].ID != "33" || !strings.Contains(issues[0].Reason, "cannot read") {
		t.Errorf("issues = %+v, want the unreadable record 33 first", issues)
	} else if diff := cmp.Diff(wantIssues[1], issues[1]); diff != "" {
		t.Errorf("issue (-want +got):\n%s", diff)
	}

	roles := []json.RawMessage{raw(`{"id":1,"name":"Everyone"}`), raw(`{"id":2,"name":"Eng"}`), raw(`{"name":"No id"}`), raw(`{"id":[]}`)}
	groups, issues := mapRoles(roles, &filter.Filter{}, members)
	want := []directory.Group{{ID: "1", Name: "Everyone", Users: []string{"12345678901"}}, {ID: "2", Name: "Eng", Users: []string{"12345678901"}}}
	if diff := cmp.Diff(want, groups); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	if len(issues) != 2 || issues[0].Name != "No id" || issues[1].Kind != "group" {
		t.Errorf("role issues = %+v, want one without an id and one unreadable", issues)
	}
}

func TestFetchPaging(t *testing.T) {
	// 120 users: three pages of 50, every one in role 1 (larger than two pages).
	e := newEnv(t, oneloginfake.Options{Users: people(120), Roles: threeRoles})
	snap := e.fetch(e.source(), directory.FetchRequest{Users: true, Groups: true})

	if len(snap.Users) != 120 || snap.Users[0].ID != "1000" || snap.Users[119].Email != "user0119@example.com" {
		t.Fatalf("got %d users (%v ...), want the 120 in id order", len(snap.Users), userIDs(snap)[:min(3, len(snap.Users))])
	}
	wantReads := []directory.Read{
		{What: "users", Pages: 3, Entries: 120, Finished: true},
		{What: "roles", Pages: 1, Entries: 3, Finished: true},
	}
	if diff := cmp.Diff(wantReads, snap.Completeness.Reads); diff != "" {
		t.Errorf("reads (-want +got):\n%s", diff)
	}
	sizes := map[string]int{}
	for _, g := range snap.Groups {
		sizes[g.Name] = len(g.Users)
	}
	if diff := cmp.Diff(map[string]int{"Everyone": 120, "Engineering": 40, "Nobody": 0}, sizes); diff != "" {
		t.Errorf("role sizes (-want +got):\n%s", diff)
	}

	// The first page asks for 50 with OneLogin's v1 header; the next ones are the next_links, verbatim.
	reqs := e.fake.Requests()
	var users []oneloginfake.Request
	for _, r := range reqs {
		if r.Route == oneloginfake.RouteUsers {
			users = append(users, r)
		}
	}
	if len(users) != 3 {
		t.Fatalf("users requests = %v, want 3", users)
	}
	if users[0].URL != "/api/1/users?limit=50" {
		t.Errorf("first users request = %q, want /api/1/users?limit=50", users[0].URL)
	}
	for _, r := range users {
		if r.Auth != "bearer:" || r.Status != 200 {
			t.Errorf("request %s: want Authorization bearer:<token> and 200", r)
		}
	}
	for i, r := range users[1:] {
		q, _ := url.ParseQuery(strings.SplitN(r.URL, "?", 2)[1])
		if q.Get("after_cursor") == "" || q.Get("limit") != "50" {
			t.Errorf("page %d request %q: want the next_link with an after_cursor and limit=50", i+2, r.URL)
		}
	}
	// Credentials went form-encoded, once.
	if got := apiRequests(e.fake, oneloginfake.RouteToken); len(got) != 1 || !strings.Contains(got[0], "(form) -> 200") {
		t.Errorf("token requests = %q, want one form-encoded request", got)
	}
}

func TestFetchGroupsOnlyHasMembers(t *testing.T) {
	// Unlike the Directory Connector, a groups-only read still fills the roles' members.
	e := newEnv(t, oneloginfake.Options{Users: people(5), Roles: threeRoles})
	snap := e.fetch(e.source(), directory.FetchRequest{Groups: true})
	if len(snap.Users) != 0 || snap.UsersRead || !snap.GroupsRead {
		t.Errorf("users-read = %v, %d users; want false, none", snap.UsersRead, len(snap.Users))
	}
	var got []string
	for _, g := range snap.Groups {
		got = append(got, g.Name+":"+strings.Join(g.Users, ","))
	}
	want := []string{"Everyone:1000,1001,1002,1003,1004", "Engineering:1000,1003", "Nobody:"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	if r := snap.Completeness.Reads; len(r) != 2 || r[0].What != "users (for role members)" {
		t.Errorf("reads = %+v, want users (for role members) then roles", r)
	}
}

func TestFetchFilters(t *testing.T) {
	users := []oneloginfake.User{
		{ID: 1, Email: "ann@corp.com", Username: "ann", Status: 1, RoleIDs: []int64{10}},
		{ID: 2, Email: "bob@corp.com", Username: "bob", Status: 1, RoleIDs: []int64{20}},
		{ID: 3, Email: "cid@other.com", Username: "cid", Status: 1},
		{ID: 4, Email: "dee@corp.com", Username: "dee", Status: 2},                       // suspended, in no role
		{ID: 5, Username: "eve", Status: 1, RoleIDs: []int64{10}},                        // no email
		{ID: 6, Email: "fay@corp.com", Username: "fay", Status: 1, RoleIDs: []int64{30}}, // in an excluded role
	}
	roles := []oneloginfake.Role{{ID: 10, Name: "Engineering"}, {ID: 20, Name: "Sales"}, {ID: 30, Name: "Test Role"}}
	tests := []struct {
		name           string
		f              directory.Filters
		removeDisabled bool
		users          []string
		groups         []string
		// query is what the first users and roles requests carried besides limit=50.
		userQuery, roleQuery string
	}{
		{name: "none", users: []string{"1", "2", "3", "4", "5", "6"}, groups: []string{"Engineering", "Sales", "Test Role"}},
		{name: "include emails, any case", f: directory.Filters{User: "include: ANN@corp.com, cid@other.com"},
			users: []string{"1", "3"}, groups: []string{"Engineering", "Sales", "Test Role"}},
		{name: "exclude by username when no email", f: directory.Filters{User: "exclude: eve, bob@corp.com"},
			users: []string{"1", "3", "4", "6"}, groups: []string{"Engineering", "Sales", "Test Role"}},
		{name: "user query", f: directory.Filters{User: "|email=*@corp.com"},
			users: []string{"1", "2", "4", "6"}, groups: []string{"Engineering", "Sales", "Test Role"}, userQuery: "email=*@corp.com"},
		{name: "set and query", f: directory.Filters{User: "exclude: bob@corp.com | email=*@CORP.com"},
			users: []string{"1", "4", "6"}, groups: []string{"Engineering", "Sales", "Test Role"}, userQuery: "email=*@CORP.com"},
		{name: "group set limits users", f: directory.Filters{Group: "exclude: test role"},
			users: []string{"1", "2", "5"}, groups: []string{"Engineering", "Sales"}},
		{name: "group set keeps disabled with removeDisabled", f: directory.Filters{Group: "include: Engineering"}, removeDisabled: true,
			users: []string{"1", "4", "5"}, groups: []string{"Engineering"}},
		{name: "role query does not limit users", f: directory.Filters{Group: "|name=S*"},
			users: []string{"1", "2", "3", "4", "5", "6"}, groups: []string{"Sales"}, roleQuery: "name=S*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, oneloginfake.Options{Users: users, Roles: roles})
			snap := e.fetch(e.source(), directory.FetchRequest{Users: true, Groups: true, Filters: tt.f, RemoveDisabled: tt.removeDisabled})
			if diff := cmp.Diff(tt.users, userIDs(snap)); diff != "" {
				t.Errorf("users (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.groups, groupNames(snap)); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
			for _, x := range []struct{ route, path, query string }{
				{oneloginfake.RouteUsers, "/api/1/users", tt.userQuery}, {oneloginfake.RouteRoles, "/api/1/roles", tt.roleQuery}} {
				want := x.path + "?limit=50"
				if x.query != "" {
					want = x.path + "?" + x.query + "&limit=50"
				}
				if got := apiRequests(e.fake, x.route); len(got) == 0 || !strings.HasPrefix(got[0], "GET "+want+" ") {
					t.Errorf("%s requests = %q, want the first to be %s", x.route, got, want)
				}
			}
		})
	}
}

func TestFetchQueryLimit(t *testing.T) {
	// A limit in the query replaces dirconn's.
	e := newEnv(t, oneloginfake.Options{Users: people(5), Roles: threeRoles})
	snap := e.fetch(e.source(), directory.FetchRequest{Users: true, Filters: directory.Filters{User: "|limit=2"}})
	if len(snap.Users) != 5 || snap.Completeness.Reads[0].Pages != 3 {
		t.Errorf("got %d users in %d pages, want 5 in 3", len(snap.Users), snap.Completeness.Reads[0].Pages)
	}
	if got := apiRequests(e.fake, oneloginfake.RouteUsers); !strings.HasPrefix(got[0], "GET /api/1/users?limit=2 ") {
		t.Errorf("first request %q, want only the filter's limit", got[0])
	}
}

func TestNextLinkOnConfiguredRoot(t *testing.T) {
	tests := []struct {
		name     string
		linkBase string // where the fake's links point
		prefix   string // a path the fake is served under (a reverse proxy)
	}{
		{name: "links to the real host", linkBase: "https://api.us.onelogin.com"},
		{name: "proxy with a path prefix", prefix: "/onelogin"},
		{name: "proxy with a path prefix, links elsewhere", prefix: "/onelogin", linkBase: "https://api.eu.onelogin.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, oneloginfake.Options{Users: people(7), Roles: threeRoles, MaxLimit: 3, LinkBase: tt.linkBase})
			if tt.prefix != "" {
				e.vals[optAPIURL] = startPrefixed(t, e, tt.prefix)
			}
			snap := e.fetch(e.source(), directory.FetchRequest{Users: true})
			if len(snap.Users) != 7 || snap.Completeness.Reads[0].Pages != 3 {
				t.Errorf("got %d users in %d pages, want 7 in 3", len(snap.Users), snap.Completeness.Reads[0].Pages)
			}
		})
	}
}

func TestNextLinkLoop(t *testing.T) {
	e := newEnv(t, oneloginfake.Options{Users: people(3), Roles: threeRoles})
	c := &conn{s: &settings{root: mustURL(t, "https://api.us.onelogin.com")}, log: e.source().log}
	cur := "https://api.us.onelogin.com/api/1/users?limit=50"
	for _, tt := range []struct {
		p    pagination
		want string
	}{
		{pagination{}, ""},
		{pagination{NextLink: "https://api.us.onelogin.com/api/1/users?after_cursor=x&limit=50"}, "https://api.us.onelogin.com/api/1/users?after_cursor=x&limit=50"},
		{pagination{NextLink: "/api/1/users?after_cursor=y"}, "https://api.us.onelogin.com/api/1/users?after_cursor=y"},
		{pagination{AfterCursor: "z"}, "https://api.us.onelogin.com/api/1/users?after_cursor=z&limit=50"},
	} {
		got, err := c.nextURL(cur, &tt.p)
		if err != nil || got != tt.want {
			t.Errorf("nextURL(%+v) = %q, %v; want %q", tt.p, got, err, tt.want)
		}
	}
	// A server that links a page to itself is stopped, not followed forever.
	srv := loopServer(t)
	e.vals[optAPIURL] = srv
	e.vals[optCAFile] = ""
	_, err := e.source().Fetch(t.Context(), directory.FetchRequest{Users: true})
	if err == nil || !strings.Contains(err.Error(), "already read") {
		t.Errorf("Fetch from a looping server = %v, want an error about the loop", err)
	}
}

func TestUsersSortedByID(t *testing.T) {
	// The fake pages users by id whatever order they were seeded in, as OneLogin does.
	us := people(4)
	slices.Reverse(us)
	e := newEnv(t, oneloginfake.Options{Users: us, Roles: threeRoles})
	snap := e.fetch(e.source(), directory.FetchRequest{Users: true})
	if diff := cmp.Diff([]string{"1000", "1001", "1002", "1003"}, userIDs(snap)); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
}
