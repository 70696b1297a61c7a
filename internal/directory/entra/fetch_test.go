package entra

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/entra/graphfake"
	"github.com/dirconn/dirconn/internal/httpx"
)

// TestPagingToTheEnd reads a tenant whose users and biggest group span several pages, with Graph's
// default page (no $top, as the Directory Connector) and with $top, and checks every page was read by
// following the next links as given.
func TestPagingToTheEnd(t *testing.T) {
	for _, tt := range []struct {
		pageSize              string
		userPages, bigPages   int
		wantTop, wantNoSelect bool
	}{
		{pageSize: "0", userPages: 4, bigPages: 4},     // 356 users, 350 members: pages of 100
		{pageSize: "999", userPages: 1, bigPages: 1},   // the default
		{pageSize: "120", userPages: 3, bigPages: 3},   // 120 + 120 + 116 / 110
		{pageSize: "1", userPages: 356, bigPages: 350}, // one object per page
	} {
		t.Run("pageSize="+tt.pageSize, func(t *testing.T) {
			tn := newTenant(t, graphfake.Global)
			std := tn.fake.SeedStandard()
			snap := fetch(t, tn.source(t, optPageSize, tt.pageSize), all)

			// Every live user is read: the guest without mail is reported, not returned.
			wantUsers := std.AllUsers - 1
			if n := len(userIDs(snap, func(u directory.User) bool { return !u.Deleted })); n != wantUsers {
				t.Errorf("read %d users, want %d", n, wantUsers)
			}
			big, ok := groupByName(snap, "All Staff")
			if !ok || len(big.Users) != std.BigSize {
				t.Errorf("the big group has %d members, want %d", len(big.Users), std.BigSize)
			}
			reads := map[string]directory.Read{}
			for _, rd := range snap.Completeness.Reads {
				reads[rd.What] = rd
				if !rd.Finished {
					t.Errorf("read %q did not finish", rd.What)
				}
			}
			if rd := reads["users"]; rd.Pages != tt.userPages || rd.Entries != std.AllUsers {
				t.Errorf("users read = %+v, want %d pages, %d entries", rd, tt.userPages, std.AllUsers)
			}
			// Each users page after the first came from a next link, carrying the first request's query.
			var userQueries []string
			bigPages := 0
			for _, r := range tn.fake.Requests() {
				switch {
				case r.Route == graphfake.RouteUsers:
					userQueries = append(userQueries, r.Query)
				case r.Route == graphfake.RouteMembers && strings.Contains(r.Path, std.Big):
					bigPages++
				}
			}
			if len(userQueries) != tt.userPages {
				t.Errorf("%d users requests, want %d", len(userQueries), tt.userPages)
			}
			for i, q := range userQueries {
				if !strings.Contains(q, "$select="+userSelect) || (i > 0) != strings.Contains(q, "$skiptoken=") {
					t.Errorf("users request %d has query %q: want the $select and, after the first, the next link's $skiptoken", i+1, q)
				}
				if (tt.pageSize != "0") != strings.Contains(q, "$top="+tt.pageSize) {
					t.Errorf("users request %d has query %q, want $top=%s only when the page size is set", i+1, q, tt.pageSize)
				}
			}
			if bigPages != tt.bigPages {
				t.Errorf("%d requests for the big group's members, want %d", bigPages, tt.bigPages)
			}
		})
	}
}

// TestMapping checks how each kind of Entra user and member becomes a directory record.
func TestMapping(t *testing.T) {
	tn := newTenant(t, graphfake.Global)
	std := tn.fake.SeedStandard()
	snap := fetch(t, tn.source(t), all)
	type view struct {
		Email             string
		Disabled, Deleted bool
	}
	wantUsers := map[string]view{
		std.Active[0]:       {Email: "user000@contoso.com"},
		std.Disabled:        {Email: "dana@contoso.com", Disabled: true},
		std.NoMail:          {Email: "nico@contoso.com"}, // no mail: the user principal name
		std.OnMicrosoftMail: {Email: "omar@contoso.com"}, // mail under onmicrosoft.com: the user principal name
		std.Guest:           {Email: "gita@partner.example"},
		std.DisabledGuest:   {Disabled: true}, // only a #EXT# name: no email, still removable by id
	}
	for id, want := range wantUsers {
		u, ok := userByID(snap, id)
		if !ok {
			t.Errorf("user %s (%s) is missing", id, want.Email)
			continue
		}
		if diff := cmp.Diff(want, view{u.Email, u.Disabled, u.Deleted}); diff != "" {
			t.Errorf("user %s (-want +got):\n%s", id, diff)
		}
		if u.ExternalID != "" {
			t.Errorf("user %s has ExternalID %q, want empty (the object id is the externalId, as in the Directory Connector)", id, u.ExternalID)
		}
	}
	for _, id := range []string{std.GuestNoMail, std.SoftDeleted, std.HardDeleted} {
		if _, ok := userByID(snap, id); ok {
			t.Errorf("user %s is in the snapshot; want it left out", id)
		}
	}
	if len(snap.Issues) != 1 || snap.Issues[0].ID != std.GuestNoMail || !strings.Contains(snap.Issues[0].Reason, "guest") {
		t.Errorf("issues = %+v, want one for the guest without mail", snap.Issues)
	}
	mixed, _ := groupByName(snap, "Mixed")
	if diff := cmp.Diff(sorted(std.Active[8], std.Guest), sorted(mixed.Users...)); diff != "" || len(mixed.Groups) != 0 {
		t.Errorf("Mixed users (-want +got):\n%s groups %v; devices, contacts and service principals are not members", diff, mixed.Groups)
	}
	eng, _ := groupByName(snap, "Engineering")
	if diff := cmp.Diff([]string{std.Backend}, eng.Groups); diff != "" {
		t.Errorf("Engineering nested groups (-want +got):\n%s", diff)
	}
	ops, _ := groupByName(snap, "Operations")
	oncall, _ := groupByName(snap, "On Call")
	if !slices.Contains(ops.Groups, std.OnCall) || !slices.Contains(oncall.Groups, std.Ops) {
		t.Errorf("the cycle Operations <-> On Call is not kept: %v, %v", ops.Groups, oncall.Groups)
	}
	if empty, ok := groupByName(snap, "Empty Group"); !ok || len(empty.Users)+len(empty.Groups) != 0 {
		t.Errorf("Empty Group = %+v, %v; want it, empty", empty, ok)
	}
}

func TestUserFilters(t *testing.T) {
	tn := newTenant(t, graphfake.Global)
	std := tn.fake.SeedStandard()
	a := std.Active
	engAll := sorted(a[0], a[1], a[2], a[3], a[4], std.Disabled) // Engineering and its nested Backend
	tests := []struct {
		name   string
		filter string
		want   []string
	}{
		{"include emails", "include:USER000@contoso.com, dana@contoso.com,nico@contoso.com", sorted(a[0], std.Disabled, std.NoMail)},
		{"includeGroup reads nested members", "includeGroup:" + std.Eng, engAll},
		{"includeGroup ids in any case", "includeGroup:" + strings.ToUpper(std.Backend), sorted(a[0], a[1], a[2])},
		{"includeGroup of two groups", "includeGroup:" + std.Backend + "," + std.Sales, sorted(a[0], a[1], a[2], a[9], a[10], std.NoMail)},
		{"includeGroup keeps only users", "includeGroup:" + std.Mixed, sorted(a[8], std.Guest)},
		{"includeGroup with a cycle", "includeGroup:" + std.Ops, sorted(a[6], a[7])},
		{"includeGroup minus excludeGroup", "includeGroup:" + std.Eng + "|excludeGroup:" + std.Backend, sorted(a[3], a[4], std.Disabled)},
		{"includeGroup minus excludeGroups and emails", "includeGroup:" + std.Eng + "|excludeGroup:" + std.Backend +
			"|excludeGroup:" + std.Sales + "|exclude:User003@Contoso.com", sorted(a[4], std.Disabled)},
		{"secondary clauses on lines", "includeGroup:" + std.Eng + "\nexclude:dana@contoso.com", sorted(a[0], a[1], a[2], a[3], a[4])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := fetch(t, tn.source(t), directory.FetchRequest{Users: true, Filters: directory.Filters{User: tt.filter}})
			got := userIDs(snap, func(u directory.User) bool { return !u.Deleted })
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("users (-want +got):\n%s", diff)
			}
		})
	}

	// A filter that leaves the guest without mail out raises no issue about it.
	snap := fetch(t, tn.source(t), directory.FetchRequest{Users: true, Filters: directory.Filters{User: "exclude:" + "gus_partner.example#EXT#@" + std.Tenant}})
	if len(snap.Issues) != 0 {
		t.Errorf("issues = %+v, want none for a guest the filter leaves out", snap.Issues)
	}

	// exclude: and excludeGroup: read every user and leave some out.
	everyone := fetch(t, tn.source(t), directory.FetchRequest{Users: true})
	for _, tt := range []struct {
		filter string
		gone   []string
	}{
		{"exclude:user000@contoso.com,GITA@partner.example", []string{a[0], std.Guest}},
		{"excludeGroup:" + std.Eng, engAll},
		{"excludeGroup:" + std.Backend + "," + std.Mixed, []string{a[0], a[1], a[2], a[8], std.Guest}},
	} {
		snap := fetch(t, tn.source(t), directory.FetchRequest{Users: true, Filters: directory.Filters{User: tt.filter}})
		want := slices.DeleteFunc(userIDs(everyone, nil), func(id string) bool { return slices.Contains(tt.gone, id) })
		if diff := cmp.Diff(want, userIDs(snap, nil)); diff != "" {
			t.Errorf("%s: users (-want +got):\n%s", tt.filter, diff)
		}
	}
}

func TestGroupFilters(t *testing.T) {
	tn := newTenant(t, graphfake.Global)
	std := tn.fake.SeedStandard()
	a := std.Active
	tests := []struct {
		name           string
		filter         string
		removeDisabled bool
		groups         []string
		users          []string // nil: not checked
	}{
		{name: "include names", filter: "include:engineering,BACKEND", groups: []string{"Backend", "Engineering"},
			users: sorted(a[0], a[1], a[2], a[3], a[4], std.Disabled)},
		{name: "disabled users outside the groups stay with removeDisabled", filter: "include:Sales", removeDisabled: true,
			groups: []string{"Sales"}, users: sorted(a[9], a[10], std.NoMail, std.Disabled, std.DisabledGuest)},
		{name: "exclude names", filter: "exclude:All Staff,Mixed,Empty Group,Operations,On Call,Sales",
			groups: []string{"Backend", "Engineering", "Staff"}},
		{name: "includeAdministrativeUnit", filter: "includeAdministrativeUnit:" + std.AU, groups: []string{"Backend", "Sales"},
			users: sorted(a[0], a[1], a[2], a[9], a[10], std.NoMail)},
		{name: "excludeAdministrativeUnit", filter: "excludeAdministrativeUnit:" + strings.ToUpper(std.AU),
			groups: []string{"All Staff", "Empty Group", "Engineering", "Mixed", "On Call", "Operations", "Staff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := fetch(t, tn.source(t), directory.FetchRequest{Users: true, Groups: true, RemoveDisabled: tt.removeDisabled,
				Filters: directory.Filters{Group: tt.filter}})
			if diff := cmp.Diff(tt.groups, groupNames(snap)); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
			if tt.users != nil {
				if diff := cmp.Diff(tt.users, userIDs(snap, nil)); diff != "" {
					t.Errorf("users, limited to the groups' members (-want +got):\n%s", diff)
				}
			}
			// Nested groups the filter left out are not referred to.
			kept := map[string]bool{}
			for _, g := range snap.Groups {
				kept[g.ID] = true
			}
			for _, g := range snap.Groups {
				for _, id := range g.Groups {
					if !kept[id] {
						t.Errorf("group %s refers to the filtered-out group %s", g.Name, id)
					}
				}
			}
		})
	}
	// Members of groups the filter leaves out are never asked for.
	tn.fake.ResetLog()
	fetch(t, tn.source(t), directory.FetchRequest{Groups: true, Filters: directory.Filters{Group: "include:Backend"}})
	if n := tn.fake.Count("", graphfake.RouteMembers); n != 1 {
		t.Errorf("%d member requests for one kept group, want 1", n)
	}
}

// TestFilterErrorsAtFetch checks that a filter that does not parse stops a read before any request, and
// that a group id the tenant does not know is an error naming the filter.
func TestFilterErrorsAtFetch(t *testing.T) {
	tn := newTenant(t, graphfake.Global)
	tn.fake.SeedStandard()
	_, err := tn.source(t).Fetch(t.Context(), directory.FetchRequest{Users: true, Filters: directory.Filters{User: "includeGroup:Sales"}})
	if !errors.Is(err, directory.ErrFilter) {
		t.Errorf("Fetch(bad filter) = %v, want ErrFilter", err)
	}
	if n := tn.fake.Count("", ""); n != 0 {
		t.Errorf("a bad filter made %d requests, want none", n)
	}
	unknown := graphfake.ID("no such group")
	for _, f := range []directory.Filters{{User: "includeGroup:" + unknown}, {User: "excludeGroup:" + unknown},
		{Group: "includeAdministrativeUnit:" + unknown}} {
		s, err := tn.source(t).Fetch(t.Context(), directory.FetchRequest{Users: true, Groups: true, Filters: f})
		if s != nil || !errors.Is(err, directory.ErrFilter) || !containsAll(err.Error(), unknown, "does not exist", "Request_ResourceNotFound") {
			t.Errorf("Fetch(%+v) = %v, want an ErrFilter naming the unknown id and Graph's answer", f, err)
		}
	}
}

// TestEveryCallGoesToTheConfiguredCloud serves the same tenant as the global and the US-government cloud
// and configures the adapter for one: the other never gets a request, the token included, and tokens are
// asked for that cloud's Graph resource (the fake refuses any other scope).
func TestEveryCallGoesToTheConfiguredCloud(t *testing.T) {
	for _, c := range []graphfake.Cloud{graphfake.USGov, graphfake.Global, graphfake.China} {
		t.Run(string(c), func(t *testing.T) {
			f := graphfake.New(graphfake.Options{})
			std := f.SeedStandard()
			urls := map[graphfake.Cloud]string{}
			for _, x := range []graphfake.Cloud{graphfake.Global, graphfake.USGov, graphfake.China} {
				urls[x] = f.Serve(t, x)
			}
			tn := &tenant{fake: f, cloud: c, url: urls[c], clock: newTenant(t, c).clock}
			src := tn.source(t, optPageSize, "0")
			s1 := fetch(t, src, all)
			// A second read with the delta link and a group-filtered read touch the other routes.
			fetch(t, src, directory.FetchRequest{Users: true, Cursor: s1.Cursor, Filters: directory.Filters{User: "includeGroup:" + std.Eng}})
			fetch(t, src, directory.FetchRequest{Groups: true, Filters: directory.Filters{Group: "includeAdministrativeUnit:" + std.AU}})
			seen := map[string]bool{}
			for _, r := range f.Requests() {
				if r.Cloud != c {
					t.Errorf("the %s cloud got %s %s", r.Cloud, r.Method, r.Path)
				}
				if r.Status != http.StatusOK {
					t.Errorf("%s %s: status %d", r.Method, r.Path, r.Status)
				}
				seen[r.Route] = true
			}
			for _, route := range []string{graphfake.RouteToken, graphfake.RouteUsers, graphfake.RouteDelta, graphfake.RouteGroups,
				graphfake.RouteMembers, graphfake.RouteTransitiveMembers, graphfake.RouteAdminUnitMembers} {
				if !seen[route] {
					t.Errorf("route %s was never called: the test checks less than it should", route)
				}
			}
		})
	}
}

// TestThrottling checks that 429, 503 and 504 answers are waited out as long as Retry-After says, on the
// token endpoint too, and that a wait beyond the limit fails the read with Graph's message and no further
// request.
func TestThrottling(t *testing.T) {
	for _, tt := range []struct {
		route  string
		skip   int // requests of the route that pass first: 1 spoils page 2
		status int
		after  string
		want   []time.Duration
	}{
		{graphfake.RouteUsers, 1, 429, "7", []time.Duration{7 * time.Second, 7 * time.Second}},
		{graphfake.RouteMembers, 1, 503, "2", []time.Duration{2 * time.Second, 2 * time.Second}},
		{graphfake.RouteDelta, 1, 504, "1", []time.Duration{time.Second, time.Second}},
		{graphfake.RouteToken, 0, 429, "30", []time.Duration{30 * time.Second, 30 * time.Second}},
		{graphfake.RouteGroups, 0, 429, "0", []time.Duration{0, 0}},
	} {
		t.Run(fmt.Sprintf("%s %d", tt.route, tt.status), func(t *testing.T) {
			tn := newTenant(t, graphfake.Global)
			tn.fake.SeedStandard()
			// Two requests fail, then the route answers again.
			tn.fake.Inject(graphfake.Fault{Route: tt.route, Skip: tt.skip, Times: 2, Status: tt.status, RetryAfter: tt.after})
			snap := fetch(t, tn.source(t, optPageSize, "100"), all)
			if diff := cmp.Diff(tt.want, tn.clock.Sleeps()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			if !snap.Completeness.Complete() {
				t.Errorf("the read is not complete: %q", snap.Completeness.Incomplete())
			}
		})
	}

	t.Run("too long a wait", func(t *testing.T) {
		tn := newTenant(t, graphfake.Global)
		tn.fake.SeedStandard()
		tn.fake.Inject(graphfake.Fault{Route: graphfake.RouteUsers, Skip: 1, Status: 429, RetryAfter: "3600"})
		s, err := tn.source(t, optPageSize, "100").Fetch(t.Context(), all)
		if s != nil || err == nil || !containsAll(err.Error(), "TooManyRequests", "request-id", "page 2", "1h0m0s") {
			t.Errorf("Fetch = %v, want no snapshot and an error with Graph's code, request id, the page and the wait asked for", err)
		}
		if n := tn.fake.Count("", graphfake.RouteUsers); n != 2 {
			t.Errorf("%d users requests, want 2 (no request after giving up)", n)
		}
		if n := tn.fake.Count("", graphfake.RouteGroups); n != 0 {
			t.Errorf("%d groups requests after the users read failed, want none", n)
		}
	})

	t.Run("attempts run out", func(t *testing.T) {
		tn := newTenant(t, graphfake.Global)
		tn.fake.SeedStandard()
		tn.fake.Inject(graphfake.Fault{Route: graphfake.RouteGroups, Status: 503, RetryAfter: "1"})
		_, err := tn.sourceWith(t, httpx.Policy{MaxAttempts: 3}).Fetch(t.Context(), all)
		if err == nil || !containsAll(err.Error(), "gave up after 3 attempts", "serviceNotAvailable") {
			t.Errorf("Fetch = %v, want giving up after 3 attempts with Graph's code", err)
		}
		if n := tn.fake.Count("", graphfake.RouteGroups); n != 3 {
			t.Errorf("%d groups requests, want 3", n)
		}
	})
}

// TestAuthMidPaging: a token Graph stops accepting in the middle of a listing is renewed once; when Graph
// keeps refusing, the read fails (nothing partial is returned).
func TestAuthMidPaging(t *testing.T) {
	t.Run("401 then a new token", func(t *testing.T) {
		tn := newTenant(t, graphfake.Global)
		std := tn.fake.SeedStandard()
		tn.fake.Inject(graphfake.Fault{Route: graphfake.RouteUsers, Skip: 1, Times: 1, Status: 401})
		snap := fetch(t, tn.source(t, optPageSize, "100"), directory.FetchRequest{Users: true})
		if n := len(userIDs(snap, func(u directory.User) bool { return !u.Deleted })); n != std.AllUsers-1 {
			t.Errorf("read %d users, want %d", n, std.AllUsers-1)
		}
		if n := tn.fake.Count("", graphfake.RouteToken); n != 2 {
			t.Errorf("%d token requests, want 2 (one renewal)", n)
		}
	})
	t.Run("401 twice", func(t *testing.T) {
		tn := newTenant(t, graphfake.Global)
		tn.fake.SeedStandard()
		tn.fake.Inject(graphfake.Fault{Route: graphfake.RouteUsers, Skip: 1, Status: 401})
		s, err := tn.source(t, optPageSize, "100").Fetch(t.Context(), all)
		if s != nil || !errors.Is(err, directory.ErrAuth) || !containsAll(err.Error(), "InvalidAuthenticationToken", "page 2") {
			t.Errorf("Fetch = %v, %v; want no snapshot and an ErrAuth with Graph's code", s != nil, err)
		}
		if n := tn.fake.Count("", graphfake.RouteUsers); n != 3 {
			t.Errorf("%d users requests, want 3 (page 1, page 2, page 2 with a new token)", n)
		}
	})
	t.Run("revoked tokens", func(t *testing.T) {
		tn := newTenant(t, graphfake.Global)
		tn.fake.SeedStandard()
		src := tn.source(t)
		fetch(t, src, all)
		tn.fake.RevokeTokens()
		fetch(t, src, all) // the kept token is refused once, a new one works
		if n := tn.fake.Count("", graphfake.RouteToken); n != 2 {
			t.Errorf("%d token requests, want 2", n)
		}
	})
	t.Run("403", func(t *testing.T) {
		tn := newTenant(t, graphfake.Global)
		std := tn.fake.SeedStandard()
		for route, perm := range map[string]string{graphfake.RouteUsers: "User.Read.All", graphfake.RouteDelta: "User.Read.All",
			graphfake.RouteGroups: "Group.Read.All", graphfake.RouteMembers: "Group.Read.All",
			graphfake.RouteAdminUnitMembers: "AdministrativeUnit.Read.All"} {
			tn.fake.ClearFaults()
			tn.fake.Inject(graphfake.Fault{Route: route, Status: 403})
			_, err := tn.source(t).Fetch(t.Context(), directory.FetchRequest{Users: true, Groups: true,
				Filters: directory.Filters{Group: "includeAdministrativeUnit:" + std.AU}})
			if !errors.Is(err, directory.ErrAuth) || !containsAll(err.Error(), "Authorization_RequestDenied", "Insufficient privileges", perm) {
				t.Errorf("Fetch with %s refused = %v, want an ErrAuth with Graph's message naming %s", route, err, perm)
			}
		}
	})
}

func TestMalformedAndFailedPages(t *testing.T) {
	for _, ft := range []graphfake.Fault{
		{Route: graphfake.RouteMembers, Skip: 3, Malformed: true},
		{Route: graphfake.RouteDelta, Skip: 1, Malformed: true},
		{Route: graphfake.RouteGroups, Status: 400, Code: "Request_BadRequest", Message: "Invalid request."},
		{Route: graphfake.RouteUsers, Status: 500}, // retried until the attempts run out
	} {
		tn := newTenant(t, graphfake.Global)
		tn.fake.SeedStandard()
		tn.fake.Inject(ft)
		s, err := tn.sourceWith(t, httpx.Policy{MaxAttempts: 2}, optPageSize, "100").Fetch(t.Context(), all)
		if s != nil || err == nil {
			t.Errorf("Fetch with %+v = %v, %v; want an error and no snapshot", ft, s != nil, err)
		}
	}
}

// TestTokenErrors checks that Entra's refusals are ErrAuth with its code and the setting to fix, never
// the secret.
func TestTokenErrors(t *testing.T) {
	tn := newTenant(t, graphfake.Global)
	other := newTenant(t, graphfake.USGov) // the same tenant in another cloud: another fake, for its URL
	tests := []struct {
		name string
		kv   []string
		want []string
	}{
		{"wrong secret", []string{optKey, "wrong-secret-value"}, []string{"invalid_client (401)", "AADSTS7000215", "entra.key"}},
		{"unknown tenant", []string{optTenant, "fabrikam.onmicrosoft.com"}, []string{"AADSTS90002", "entra.tenant"}},
		{"unknown app", []string{optApplicationID, "11111111-2222-3333-4444-555555555555"}, []string{"unauthorized_client (400)", "AADSTS700016", "entra.applicationId"}},
		{"wrong cloud", []string{optIdentityAuthority, "login.microsoftonline.us"}, []string{"AADSTS500011", "entra.identityAuthority"}},
		{"not a token endpoint", []string{optAuthorityURL, other.url + "/nothing/here/"}, []string{"HTTP 400"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tn.sourceWith(t, httpx.Policy{MaxAttempts: 1}, tt.kv...).Fetch(t.Context(), all)
			if err == nil {
				t.Fatal("Fetch succeeded")
			}
			if tt.want != nil && (!errors.Is(err, directory.ErrAuth) || !containsAll(err.Error(), tt.want...)) {
				t.Errorf("Fetch = %v, want an ErrAuth with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "wrong-secret-value") || strings.Contains(err.Error(), graphfake.DefaultSecret) {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
	// A stopped server is unreachable.
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	_, err := tn.sourceWith(t, httpx.Policy{MaxAttempts: 1}, optAuthorityURL, srv.URL).Fetch(t.Context(), all)
	if !errors.Is(err, directory.ErrUnreachable) {
		t.Errorf("Fetch(stopped sign-in server) = %v, want ErrUnreachable", err)
	}
}

// TestTimeout: entra.timeout bounds each request; a Graph that does not answer fails the read.
func TestTimeout(t *testing.T) {
	tn := newTenant(t, graphfake.Global)
	tn.fake.SeedStandard()
	tn.fake.Inject(graphfake.Fault{Route: graphfake.RouteGroups, Delay: time.Minute})
	start := time.Now()
	s, err := tn.sourceWith(t, httpx.Policy{MaxAttempts: 2}, optTimeout, "50ms").Fetch(t.Context(), all)
	if s != nil || !errors.Is(err, directory.ErrUnreachable) || !strings.Contains(err.Error(), "read groups") {
		t.Errorf("Fetch = %v, want ErrUnreachable for the groups read", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Fetch took %s", d)
	}
	if n := tn.fake.Count("", graphfake.RouteGroups); n != 2 {
		t.Errorf("%d groups requests, want 2 (a timeout is retried)", n)
	}
}

// TestLinksStayUnderTheRoot: a next link to another host is not followed (the token would go with it).
func TestLinksStayUnderTheRoot(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	t.Cleanup(other.Close)
	tn := newTenant(t, graphfake.Global)
	tn.fake.SeedStandard()
	h := tn.fake.Handler(graphfake.Global)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/users") {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"value":[],"@odata.nextLink":%q}`, other.URL+"/v1.0/users?$skiptoken=x")
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(evil.Close)
	_, err := tn.source(t, optGraphURL, evil.URL, optAuthorityURL, evil.URL).Fetch(t.Context(), all)
	if err == nil || !strings.Contains(err.Error(), "outside the Graph root") {
		t.Errorf("Fetch = %v, want a refusal to follow the link", err)
	}
	if elsewhere.Load() != 0 {
		t.Error("the other host got a request")
	}
}

// TestGroupsOnlyKeepsTheCursor: a read without users neither walks the delta nor loses the delta link.
func TestGroupsOnlyKeepsTheCursor(t *testing.T) {
	tn := newTenant(t, graphfake.Global)
	tn.fake.SeedStandard()
	snap := fetch(t, tn.source(t), directory.FetchRequest{Groups: true, Cursor: "kept"})
	if snap.Cursor != "kept" || tn.fake.Count("", graphfake.RouteDelta) != 0 {
		t.Errorf("cursor %q, %d delta requests; want the cursor passed through and no delta read", snap.Cursor, tn.fake.Count("", graphfake.RouteDelta))
	}
}
