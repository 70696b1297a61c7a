package directorytest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory"
)

// View is a directory reduced to what every adapter can agree on, whatever its IDs look like: users by
// normalized email, groups by name with their members resolved to emails and group names. Compare
// builds one from the dataset and one from the snapshot and diffs them.
type View struct {
	Users  []ViewUser
	Groups []ViewGroup
}

// ViewUser is a user in a View.
type ViewUser struct {
	// Email is trimmed and lowercased.
	Email string
	// Username is the trimmed, lowercased EmailPrefix, kept only when Email is empty.
	Username string
	Disabled bool
	Deleted  bool
}

// Ident returns how group member lists in a View name u: the email, or "username:" + Username.
func (u ViewUser) Ident() string {
	if u.Email != "" {
		return u.Email
	}
	return "username:" + u.Username
}

// ViewGroup is a group in a View.
type ViewGroup struct {
	Name string
	// Users are the direct user members' Idents, sorted.
	Users []string
	// Groups are the direct member groups' names, sorted.
	Groups []string
	// UnknownUsers and UnknownGroups count member references that name no user or group of the
	// directory (dangling members).
	UnknownUsers  int
	UnknownGroups int
}

func viewUser(email, username string, disabled, deleted bool) ViewUser {
	u := ViewUser{Email: NormalizeEmail(email), Disabled: disabled, Deleted: deleted}
	if u.Email == "" {
		u.Username = strings.ToLower(strings.TrimSpace(username))
	}
	return u
}

// View returns d as a View.
func (d Dataset) View() View { return SnapshotView(d.Snapshot()) }

// SnapshotView returns s as a View, resolving member references through the snapshot's own IDs.
func SnapshotView(s *directory.Snapshot) View {
	users := make(map[string]ViewUser, len(s.Users))
	groups := make(map[string]string, len(s.Groups))
	var v View
	for _, u := range s.Users {
		vu := viewUser(u.Email, u.EmailPrefix, u.Disabled, u.Deleted)
		users[u.ID] = vu
		v.Users = append(v.Users, vu)
	}
	for _, g := range s.Groups {
		groups[g.ID] = g.Name
	}
	for _, g := range s.Groups {
		v.Groups = append(v.Groups, resolve(g.Name, g.Users, g.Groups, users, groups))
	}
	v.sort()
	return v
}

func resolve(name string, userRefs, groupRefs []string, users map[string]ViewUser, groups map[string]string) ViewGroup {
	g := ViewGroup{Name: name}
	for _, id := range userRefs {
		if u, ok := users[id]; ok {
			g.Users = append(g.Users, u.Ident())
		} else {
			g.UnknownUsers++
		}
	}
	for _, id := range groupRefs {
		if n, ok := groups[id]; ok {
			g.Groups = append(g.Groups, n)
		} else {
			g.UnknownGroups++
		}
	}
	slices.Sort(g.Users)
	slices.Sort(g.Groups)
	return g
}

func (v *View) sort() {
	slices.SortFunc(v.Users, func(a, b ViewUser) int {
		return cmp.Or(
			strings.Compare(a.Email, b.Email),
			strings.Compare(a.Username, b.Username),
			boolCompare(a.Disabled, b.Disabled),
			boolCompare(a.Deleted, b.Deleted),
		)
	})
	slices.SortFunc(v.Groups, func(a, b ViewGroup) int { return strings.Compare(a.Name, b.Name) })
}

func boolCompare(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// GroupStructure returns v's groups reduced to names and nested group names: what a read without users
// can still be compared on.
func (v View) GroupStructure() []ViewGroup {
	out := make([]ViewGroup, len(v.Groups))
	for i, g := range v.Groups {
		out[i] = ViewGroup{Name: g.Name, Groups: g.Groups, UnknownGroups: g.UnknownGroups}
	}
	return out
}

// Compare reports, as a test error with a diff, every difference between want and got: users by
// normalized email with their disabled/deleted flags (and username when they have no email), groups by
// name with their direct members' emails and direct nested group names, and the number of member
// references that resolve to nothing. IDs are not compared; see CheckIDs and CheckReferences.
func Compare(t testing.TB, want Dataset, got *directory.Snapshot) {
	t.Helper()
	if got == nil {
		t.Error("snapshot is nil")
		return
	}
	if diff := gocmp.Diff(want.View(), SnapshotView(got)); diff != "" {
		t.Errorf("snapshot differs from the dataset (-want +got):\n%s", diff)
	}
}

// CheckIDs reports every User.ID and Group.ID of s that is empty or used twice.
func CheckIDs(t testing.TB, s *directory.Snapshot) {
	t.Helper()
	for _, p := range idProblems(s) {
		t.Error(p)
	}
}

func idProblems(s *directory.Snapshot) []string {
	var out []string
	seen := map[string]int{}
	for i, u := range s.Users {
		switch n, dup := seen[u.ID]; {
		case strings.TrimSpace(u.ID) == "":
			out = append(out, fmt.Sprintf("Users[%d] (%q) has an empty ID", i, u.Email))
		case dup:
			out = append(out, fmt.Sprintf("Users[%d] (%q) has the ID %q of Users[%d]", i, u.Email, u.ID, n))
		default:
			seen[u.ID] = i
		}
	}
	seen = map[string]int{}
	for i, g := range s.Groups {
		switch n, dup := seen[g.ID]; {
		case strings.TrimSpace(g.ID) == "":
			out = append(out, fmt.Sprintf("Groups[%d] (%q) has an empty ID", i, g.Name))
		case dup:
			out = append(out, fmt.Sprintf("Groups[%d] (%q) has the ID %q of Groups[%d]", i, g.Name, g.ID, n))
		default:
			seen[g.ID] = i
		}
	}
	return out
}

// CheckReferences reports every group member reference of got that names no user or group of got,
// except the dangling user references want itself has (matched by count per group name).
func CheckReferences(t testing.TB, want Dataset, got *directory.Snapshot) {
	t.Helper()
	users := map[string]bool{}
	for _, u := range got.Users {
		users[u.ID] = true
	}
	groups := map[string]bool{}
	for _, g := range got.Groups {
		groups[g.ID] = true
	}
	allowed := map[string]int{}
	for _, g := range want.View().Groups {
		allowed[g.Name] = g.UnknownUsers
	}
	for _, g := range got.Groups {
		var unknownUsers, unknownGroups []string
		for _, id := range g.Users {
			if !users[id] {
				unknownUsers = append(unknownUsers, id)
			}
		}
		for _, id := range g.Groups {
			if !groups[id] {
				unknownGroups = append(unknownGroups, id)
			}
		}
		if len(unknownUsers) != allowed[g.Name] {
			t.Errorf("group %q lists %d user(s) the snapshot does not hold %q, want %d (the fixture's dangling members)",
				g.Name, len(unknownUsers), unknownUsers, allowed[g.Name])
		}
		if len(unknownGroups) > 0 {
			t.Errorf("group %q lists groups the snapshot does not hold: %q", g.Name, unknownGroups)
		}
	}
}

// idSets returns the sorted user and group IDs (with external IDs) of s, for comparing two reads.
func idSets(s *directory.Snapshot) (users, groups []string) {
	for _, u := range s.Users {
		users = append(users, u.ID+" -> "+u.Key())
	}
	for _, g := range s.Groups {
		groups = append(groups, g.ID+" -> "+g.Key())
	}
	slices.Sort(users)
	slices.Sort(groups)
	return users, groups
}
