// Package directorytest is the conformance suite every directory adapter runs: an adapter's test seeds its
// directory (a real server, an HTTP fake, a file) with the adapter-neutral Fixture, hands Run a Harness,
// and Run checks that a read returns exactly that directory, with unique IDs, resolvable member
// references, an honest completeness record, and errors instead of silently short lists.
//
// IDs differ per adapter (DNs, GUIDs, numeric ids), so the suite compares users by normalized email and
// groups by name, resolving member references through the snapshot's own IDs.
//
// A typical adapter test:
//
//	func TestConformance(t *testing.T) {
//		caps := directorytest.Caps{Disabled: true, NestedGroups: true, ...}
//		directorytest.Run(t, directorytest.Harness{
//			Caps: caps,
//			New: func(t *testing.T) directory.Source {
//				srv := startServer(t)
//				seed(t, srv, directorytest.Expected(caps))
//				return newSource(srv)
//			},
//		})
//	}
package directorytest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory"
)

// Harness is what an adapter's test gives Run.
type Harness struct {
	// New returns a source whose directory holds Expected(Caps): the Fixture without the states the
	// adapter cannot express. Run calls it once for the reads it checks and once more before Break.
	New func(t *testing.T) directory.Source
	// Caps says which states of the fixture the adapter can represent.
	Caps Caps
	// Break, when set, makes the next read of the source New returned last fail part-way (kill the
	// server, make a page fail, corrupt the file). Run calls it in its last subtest, after New.
	Break func(t *testing.T)
}

// Run runs the conformance suite against h. Its subtests:
//
//   - FullRead: a read of users and groups equals Expected(h.Caps) (see Compare), with UsersRead and
//     GroupsRead set.
//   - IDs: every User.ID and Group.ID is non-empty and unique.
//   - References: every group member reference names a user or group of the snapshot, except the
//     fixture's own dangling member.
//   - Completeness: at least one read is recorded, every read finished, the fixture raises no issues.
//   - UsersOnly, GroupsOnly: FetchRequest.Users/Groups are honoured and UsersRead/GroupsRead say so.
//   - Repeatable: a second read returns the same directory with the same IDs.
//   - Cancelled: a cancelled context gives an error wrapping context.Canceled and no snapshot.
//   - Disabled, Deleted, UserWithoutEmail, MixedCaseEmail, DuplicateEmail, NestedGroups, GroupCycle,
//     EmptyGroup, DanglingMember: one targeted check per fixture state; skipped, with the reason
//     logged, when h.Caps says the adapter cannot represent it.
//   - Break: after h.Break, a read returns an error or a snapshot that is not complete; skipped when
//     h.Break is nil.
func Run(t *testing.T, h Harness) {
	if h.New == nil {
		t.Fatal("directorytest: Harness.New is nil")
	}
	want := Expected(h.Caps)
	full := directory.FetchRequest{Users: true, Groups: true}
	src := h.New(t)
	snap := fetch(t, src, full)
	got := SnapshotView(snap)

	t.Run("FullRead", func(t *testing.T) {
		Compare(t, want, snap)
		if !snap.UsersRead || !snap.GroupsRead {
			t.Errorf("UsersRead, GroupsRead = %v, %v, want true, true", snap.UsersRead, snap.GroupsRead)
		}
	})
	t.Run("IDs", func(t *testing.T) { CheckIDs(t, snap) })
	t.Run("References", func(t *testing.T) { CheckReferences(t, want, snap) })
	t.Run("Completeness", func(t *testing.T) { checkComplete(t, snap) })

	t.Run("UsersOnly", func(t *testing.T) {
		s := fetch(t, src, directory.FetchRequest{Users: true})
		if !s.UsersRead || s.GroupsRead {
			t.Errorf("UsersRead, GroupsRead = %v, %v, want true, false", s.UsersRead, s.GroupsRead)
		}
		if len(s.Groups) != 0 {
			t.Errorf("Fetch(users only) returned %d groups, want none", len(s.Groups))
		}
		if diff := cmp.Diff(want.View().Users, SnapshotView(s).Users); diff != "" {
			t.Errorf("users differ (-want +got):\n%s", diff)
		}
	})
	t.Run("GroupsOnly", func(t *testing.T) {
		s := fetch(t, src, directory.FetchRequest{Groups: true})
		if s.UsersRead || !s.GroupsRead {
			t.Errorf("UsersRead, GroupsRead = %v, %v, want false, true", s.UsersRead, s.GroupsRead)
		}
		if len(s.Users) != 0 {
			t.Errorf("Fetch(groups only) returned %d users, want none", len(s.Users))
		}
		if diff := cmp.Diff(want.View().GroupStructure(), SnapshotView(s).GroupStructure()); diff != "" {
			t.Errorf("groups differ (-want +got):\n%s", diff)
		}
	})
	t.Run("Repeatable", func(t *testing.T) {
		s := fetch(t, src, full)
		if diff := cmp.Diff(got, SnapshotView(s)); diff != "" {
			t.Errorf("second read differs from the first (-first +second):\n%s", diff)
		}
		u1, g1 := idSets(snap)
		u2, g2 := idSets(s)
		if diff := cmp.Diff(u1, u2); diff != "" {
			t.Errorf("user IDs changed between reads (-first +second):\n%s", diff)
		}
		if diff := cmp.Diff(g1, g2); diff != "" {
			t.Errorf("group IDs changed between reads (-first +second):\n%s", diff)
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		s, err := src.Fetch(ctx, full)
		if err == nil {
			t.Fatal("Fetch(cancelled context) returned no error, want one")
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Fetch(cancelled context) = %v, want an error wrapping context.Canceled", err)
		}
		if s != nil {
			t.Errorf("Fetch(cancelled context) returned a snapshot with its error, want none")
		}
	})

	runStates(t, h.Caps, want, got)

	t.Run("Break", func(t *testing.T) {
		if h.Break == nil {
			t.Skip("the harness has no Break hook")
		}
		src := h.New(t)
		h.Break(t)
		s, err := src.Fetch(t.Context(), full)
		switch {
		case err != nil:
			t.Logf("after Break: %v", err)
		case s == nil:
			t.Error("after Break, Fetch returned neither a snapshot nor an error")
		case s.Completeness.Complete():
			t.Errorf("after Break, Fetch returned a complete snapshot (%d users, %d groups), want an error or an incomplete snapshot",
				len(s.Users), len(s.Groups))
		default:
			t.Logf("after Break: incomplete snapshot: %q", s.Completeness.Incomplete())
		}
	})
}

// fetch reads src with req and fails t unless it returns a snapshot.
func fetch(t *testing.T, src directory.Source, req directory.FetchRequest) *directory.Snapshot {
	t.Helper()
	s, err := src.Fetch(t.Context(), req)
	if err != nil {
		t.Fatalf("Fetch(%+v) = %v, want a snapshot", req, err)
	}
	if s == nil {
		t.Fatalf("Fetch(%+v) returned neither a snapshot nor an error", req)
	}
	return s
}

func checkComplete(t *testing.T, s *directory.Snapshot) {
	if len(s.Completeness.Reads) == 0 {
		t.Error("the snapshot records no reads, want one per read the adapter made")
	}
	for _, r := range s.Completeness.Reads {
		if !r.Finished {
			t.Errorf("read %q did not finish: %s", r.What, r.Reason)
		}
	}
	if !s.Completeness.Complete() {
		t.Errorf("Complete() = false, want true (%q)", s.Completeness.Incomplete())
	}
	for _, is := range s.Issues {
		t.Errorf("the fixture raised an issue: %s", is)
	}
}

// runStates runs one subtest per fixture state, skipping those caps rules out.
func runStates(t *testing.T, c Caps, want Dataset, got View) {
	wantView := want.View()
	group := func(t *testing.T, v View, name string) ViewGroup {
		t.Helper()
		for _, g := range v.Groups {
			if g.Name == name {
				return g
			}
		}
		t.Fatalf("the snapshot has no group %q", name)
		return ViewGroup{}
	}
	idents := func(v View, keep func(ViewUser) bool) []string {
		var out []string
		for _, u := range v.Users {
			if keep(u) {
				out = append(out, u.Ident())
			}
		}
		return out
	}
	states := []struct {
		name  string
		can   bool
		what  string
		check func(t *testing.T)
	}{
		{"Disabled", c.Disabled, "disabled users", func(t *testing.T) {
			keep := func(u ViewUser) bool { return u.Disabled }
			if diff := cmp.Diff(idents(wantView, keep), idents(got, keep)); diff != "" {
				t.Errorf("disabled users differ (-want +got):\n%s", diff)
			}
		}},
		{"Deleted", c.Deleted, "deleted users", func(t *testing.T) {
			keep := func(u ViewUser) bool { return u.Deleted }
			if diff := cmp.Diff(idents(wantView, keep), idents(got, keep)); diff != "" {
				t.Errorf("deleted users differ (-want +got):\n%s", diff)
			}
		}},
		{"UserWithoutEmail", c.UserWithoutEmail, "users without an email", func(t *testing.T) {
			keep := func(u ViewUser) bool { return u.Email == "" }
			if diff := cmp.Diff([]string{"username:" + noEmailUser}, idents(got, keep)); diff != "" {
				t.Errorf("users without an email (EmailPrefix shown) differ (-want +got):\n%s", diff)
			}
		}},
		{"MixedCaseEmail", true, "", func(t *testing.T) {
			n := len(idents(got, func(u ViewUser) bool { return u.Email == mixedCaseEmail }))
			if n != 1 {
				t.Errorf("the snapshot has %d users with the email %q (written with capitals and spaces), want 1", n, mixedCaseEmail)
			}
		}},
		{"DuplicateEmail", c.DuplicateEmail, "two users sharing one email", func(t *testing.T) {
			n := len(idents(got, func(u ViewUser) bool { return u.Email == sharedEmail }))
			if n != 2 {
				t.Errorf("the snapshot has %d users with the email %q, want 2 (adapters pass duplicates on; the engine reports them)", n, sharedEmail)
			}
		}},
		{"NestedGroups", c.NestedGroups, "nested groups", func(t *testing.T) {
			if g := group(t, got, groupStaff); !slices.Equal(g.Groups, []string{groupEng}) {
				t.Errorf("group %q contains groups %q, want [%q]", groupStaff, g.Groups, groupEng)
			}
			if g := group(t, got, groupEng); !slices.Equal(g.Groups, []string{groupBackend}) {
				t.Errorf("group %q contains groups %q, want [%q]", groupEng, g.Groups, groupBackend)
			}
		}},
		{"GroupCycle", c.NestedGroups && c.GroupCycles, "nesting cycles", func(t *testing.T) {
			if g := group(t, got, groupOps); !slices.Contains(g.Groups, groupOnCall) {
				t.Errorf("group %q contains groups %q, want %q among them", groupOps, g.Groups, groupOnCall)
			}
			if g := group(t, got, groupOnCall); !slices.Contains(g.Groups, groupOps) {
				t.Errorf("group %q contains groups %q, want %q among them", groupOnCall, g.Groups, groupOps)
			}
		}},
		{"EmptyGroup", c.EmptyGroup, "groups without members", func(t *testing.T) {
			g := group(t, got, groupEmpty)
			if diff := cmp.Diff(ViewGroup{Name: groupEmpty}, g); diff != "" {
				t.Errorf("group %q is not empty (-want +got):\n%s", groupEmpty, diff)
			}
		}},
		{"DanglingMember", c.DanglingMember, "members that do not exist", func(t *testing.T) {
			if g := group(t, got, groupPartners); g.UnknownUsers != 1 {
				t.Errorf("group %q has %d member references to users not in the snapshot, want 1 (%q)", groupPartners, g.UnknownUsers, DanglingKey)
			}
		}},
	}
	for _, s := range states {
		t.Run(s.name, func(t *testing.T) {
			if !s.can {
				t.Skipf("the adapter cannot represent %s (Caps): not checked", s.what)
			}
			s.check(t)
		})
	}
}
