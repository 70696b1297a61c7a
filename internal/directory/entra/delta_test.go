package entra

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/entra/graphfake"
	"github.com/dirconn/dirconn/internal/httpx"
)

// deletedIDs returns the sorted ids of the snapshot's deleted users.
func deletedIDs(s *directory.Snapshot) []string {
	return userIDs(s, func(u directory.User) bool { return u.Deleted })
}

// TestDeltaDeletions follows users deleted in Entra through the delta link kept in the cursor.
func TestDeltaDeletions(t *testing.T) {
	tn := newTenant(t, graphfake.Global)
	std := tn.fake.SeedStandard()
	src := tn.source(t)

	// A first read walks a whole delta round: users deleted before it are not in it.
	s1 := fetch(t, src, all)
	if s1.Cursor == "" || !strings.HasPrefix(s1.Cursor, tn.url+"/v1.0/users/delta?") {
		t.Fatalf("cursor = %q, want the round's delta link", s1.Cursor)
	}
	if d := deletedIDs(s1); len(d) != 0 {
		t.Errorf("a first read returned deleted users %q", d)
	}
	if n := tn.fake.Count("", graphfake.RouteDelta); n != 4 {
		t.Errorf("the first delta round took %d requests, want 4 (356 users in pages of 100)", n)
	}

	// Soft- and hard-deleted users both come back as deleted; other changes are no deletions.
	a := std.Active
	tn.fake.DeleteUser(a[0], false)
	tn.fake.DeleteUser(a[1], true)
	tn.fake.DeleteUser(std.Disabled, false)
	tn.fake.SetAccountEnabled(a[2], false)
	tn.fake.AddUser(graphfake.User{ID: graphfake.ID("newcomer"), Mail: "new@contoso.com", UserPrincipalName: "new@contoso.com", AccountEnabled: true})
	s2 := fetch(t, src, directory.FetchRequest{Users: true, Groups: true, Cursor: s1.Cursor})
	if diff := cmp.Diff(sorted(a[0], a[1], std.Disabled), deletedIDs(s2)); diff != "" {
		t.Errorf("deleted users (-want +got):\n%s", diff)
	}
	for _, id := range []string{a[0], a[1], std.Disabled} {
		u, _ := userByID(s2, id)
		if u.Disabled || u.Email != "" {
			t.Errorf("deleted user %s = %+v: want only its id (Graph sends no more), not disabled", id, u)
		}
	}
	if u, ok := userByID(s2, a[2]); !ok || !u.Disabled || u.Deleted {
		t.Errorf("the disabled user = %+v, %v; want it disabled, not deleted", u, ok)
	}
	if g, _ := groupByName(s2, "Backend"); len(g.Users) != 1 {
		t.Errorf("Backend members = %q; deleted users leave their groups", g.Users)
	}
	if s2.Cursor == "" || s2.Cursor == s1.Cursor {
		t.Errorf("cursor after the second read = %q, want a new delta link", s2.Cursor)
	}
	// Replaying the delta link asked for the changes only (one page), by the link itself.
	var replay []string
	for _, r := range tn.fake.Requests() {
		if r.Route == graphfake.RouteDelta && strings.Contains(r.Query, "$deltatoken=") {
			replay = append(replay, r.Query)
		}
	}
	if len(replay) != 1 || !strings.Contains(s1.Cursor, replay[0]) {
		t.Errorf("delta link requests = %q, want one, exactly the saved link %q", replay, s1.Cursor)
	}

	// No change since: no deleted users.
	s3 := fetch(t, src, directory.FetchRequest{Users: true, Cursor: s2.Cursor})
	if d := deletedIDs(s3); len(d) != 0 {
		t.Errorf("a read with no change returned deleted users %q", d)
	}

	// Full ignores the cursor: a new round, which lists what exists.
	tn.fake.DeleteUser(a[3], false)
	tn.fake.ResetLog()
	s4 := fetch(t, src, directory.FetchRequest{Users: true, Full: true, Cursor: s3.Cursor})
	if d := deletedIDs(s4); len(d) != 0 {
		t.Errorf("a full read returned deleted users %q", d)
	}
	for _, r := range tn.fake.Requests() {
		if strings.Contains(r.Query, "$deltatoken=") {
			t.Errorf("a full read replayed the delta link: %s?%s", r.Path, r.Query)
		}
	}
}

// TestDeltaFilters: deleted users whose email is known obey include:/exclude:; those without one (the
// usual case) are kept, as the engine removes only members it synced.
func TestDeltaFilters(t *testing.T) {
	tn := newTenant(t, graphfake.Global)
	std := tn.fake.SeedStandard()
	src := tn.source(t)
	s1 := fetch(t, src, directory.FetchRequest{Users: true})
	tn.fake.DeleteUser(std.Active[0], false)
	req := directory.FetchRequest{Users: true, Cursor: s1.Cursor, Filters: directory.Filters{User: "include:user001@contoso.com"}}
	s2 := fetch(t, src, req)
	if diff := cmp.Diff([]string{std.Active[0]}, deletedIDs(s2)); diff != "" {
		t.Errorf("deleted users under an include filter (-want +got):\n%s", diff)
	}
}

// TestDeltaRestart: a delta link the server rejects, or one under another Graph root, starts a new
// round instead of failing the read; the new round's link is kept.
func TestDeltaRestart(t *testing.T) {
	t.Run("expired", func(t *testing.T) {
		tn := newTenant(t, graphfake.Global)
		tn.fake.SeedStandard()
		var logs bytes.Buffer
		src, err := newSource(directory.Config{Values: tn.values(), Logger: slog.New(slog.NewTextHandler(&logs, nil))}, tn.clock.Policy(httpx.Policy{}))
		if err != nil {
			t.Fatal(err)
		}
		s1 := fetch(t, src, directory.FetchRequest{Users: true})
		tn.fake.ExpireDeltaTokens()
		tn.fake.ResetLog()
		s2 := fetch(t, src, directory.FetchRequest{Users: true, Cursor: s1.Cursor})
		var statuses []int
		for _, r := range tn.fake.Requests() {
			if r.Route == graphfake.RouteDelta {
				statuses = append(statuses, r.Status)
			}
		}
		if len(statuses) < 2 || statuses[0] != 410 || statuses[1] != 200 {
			t.Errorf("delta statuses = %v, want 410 for the saved link, then a new round", statuses)
		}
		if s2.Cursor == "" || s2.Cursor == s1.Cursor {
			t.Errorf("cursor = %q, want the new round's link", s2.Cursor)
		}
		if !strings.Contains(logs.String(), "syncStateNotFound") {
			t.Errorf("the restart was not logged with Graph's reason:\n%s", logs.String())
		}
	})
	t.Run("garbled", func(t *testing.T) {
		tn := newTenant(t, graphfake.Global)
		tn.fake.SeedStandard()
		s := fetch(t, tn.source(t), directory.FetchRequest{Users: true, Cursor: tn.url + "/v1.0/users/delta?$deltatoken=nonsense"})
		if !strings.Contains(s.Cursor, "$deltatoken=RFNwd") {
			t.Errorf("cursor = %q, want a new round's link", s.Cursor)
		}
	})
	t.Run("another root", func(t *testing.T) {
		old := newTenant(t, graphfake.Global)
		old.fake.SeedStandard()
		s1 := fetch(t, old.source(t), directory.FetchRequest{Users: true})
		tn := newTenant(t, graphfake.USGov)
		tn.fake.SeedStandard()
		old.fake.ResetLog()
		s2 := fetch(t, tn.source(t), directory.FetchRequest{Users: true, Cursor: s1.Cursor})
		if n := old.fake.Count("", ""); n != 0 {
			t.Errorf("the old cloud got %d requests", n)
		}
		if !strings.HasPrefix(s2.Cursor, tn.url+"/") {
			t.Errorf("cursor = %q, want one under %s", s2.Cursor, tn.url)
		}
	})
	t.Run("throttled link is no restart", func(t *testing.T) {
		tn := newTenant(t, graphfake.Global)
		tn.fake.SeedStandard()
		src := tn.sourceWith(t, httpx.Policy{MaxAttempts: 2})
		s1 := fetch(t, src, directory.FetchRequest{Users: true})
		tn.fake.Inject(graphfake.Fault{Route: graphfake.RouteDelta, Status: 429, RetryAfter: "1"})
		if _, err := src.Fetch(t.Context(), directory.FetchRequest{Users: true, Cursor: s1.Cursor}); err == nil {
			t.Error("Fetch succeeded although the delta read was throttled throughout")
		}
	})
}
