package directorytest

import (
	"slices"
	"strings"

	"github.com/dirconn/dirconn/internal/directory"
)

// DatasetUser is one user of an adapter-neutral directory. Key is the neutral handle group member lists
// refer to; an adapter maps it to its own identifier (a DN, a GUID, a numeric id) when it seeds its server.
type DatasetUser struct {
	Key string
	// Email is written exactly as the directory should hold it (case and surrounding spaces included).
	Email string
	// Username is the value an adapter returns as User.EmailPrefix (LDAP uid or sAMAccountName, a file's
	// username, a OneLogin username). The suite compares it only for users without an email.
	Username string
	// Name is a display name; the suite never compares it.
	Name     string
	Disabled bool
	Deleted  bool
}

// DatasetGroup is one group of an adapter-neutral directory.
type DatasetGroup struct {
	Key  string
	Name string
	// Users are the keys of direct user members. A key that is not a DatasetUser is a dangling member:
	// the directory refers to a user it does not hold.
	Users []string
	// Groups are the keys of direct member groups.
	Groups []string
}

// Dataset is an adapter-neutral directory: what an adapter's test seeds into its server (or file), and
// what the suite expects the adapter to read back.
type Dataset struct {
	Users  []DatasetUser
	Groups []DatasetGroup
}

// Caps says which states of the fixture an adapter's directory can hold. A state the adapter cannot
// express is left out of the dataset it seeds (see Dataset.Restrict) and the suite skips, with a log
// line, the check that covers it.
type Caps struct {
	// Disabled: users can be disabled (AD userAccountControl, accountEnabled=false, suspended).
	Disabled bool
	// Deleted: the directory can return users marked deleted (AD tombstones, Entra/Okta deleted users).
	Deleted bool
	// UserWithoutEmail: a user can have no email but a username, returned as User.EmailPrefix.
	UserWithoutEmail bool
	// DuplicateEmail: two users can share one email (differing in case).
	DuplicateEmail bool
	// NestedGroups: groups can contain groups.
	NestedGroups bool
	// GroupCycles: nested groups can form a cycle (A contains B, B contains A). Needs NestedGroups.
	GroupCycles bool
	// EmptyGroup: a group can have no members at all (LDAP groupOfNames cannot: member is required).
	EmptyGroup bool
	// DanglingMember: a group can list a user the directory does not hold, and the adapter returns that
	// reference (a member DN pointing at no entry).
	DanglingMember bool
}

// AllCaps returns Caps with every state supported.
func AllCaps() Caps {
	return Caps{
		Disabled:         true,
		Deleted:          true,
		UserWithoutEmail: true,
		DuplicateEmail:   true,
		NestedGroups:     true,
		GroupCycles:      true,
		EmptyGroup:       true,
		DanglingMember:   true,
	}
}

// Names in the fixture that the state checks look for.
const (
	// DanglingKey is the key of the user the "Partners" group lists but the fixture does not hold.
	DanglingKey = "ghost"

	groupStaff    = "Staff"
	groupEng      = "Engineering"
	groupBackend  = "Backend"
	groupOps      = "Operations"
	groupOnCall   = "On Call"
	groupEmpty    = "Empty Group"
	groupPartners = "Partners"
	groupAlumni   = "Alumni"

	mixedCaseEmail = "gail.park@example.com" // normalized form of the fixture's "  Gail.Park@Example.COM  "
	sharedEmail    = "sam.roy@example.com"   // normalized email two fixture users share
	noEmailUser    = "finn.obi"              // username of the fixture user without an email
)

// Fixture returns the canonical directory every adapter is tested with (a fresh copy on every call):
//
//   - 12 users: active ones; "dan" and "jo" disabled; "eve" deleted; "finn" without an email (username
//     finn.obi); "gail" with the mixed-case email "  Gail.Park@Example.COM  " (surrounding spaces
//     included); "sam1" and "sam2" sharing sam.roy@example.com (the second as Sam.Roy@Example.com);
//     "jo" in no group.
//   - 8 groups: Staff ⊃ Engineering ⊃ Backend (nesting two levels deep); Operations and On Call contain
//     each other (a cycle); Empty Group has no members; Partners lists the user DanglingKey, who does not
//     exist; Alumni holds the deleted user.
func Fixture() Dataset {
	return Dataset{
		Users: []DatasetUser{
			{Key: "ann", Email: "ann.lee@example.com", Username: "ann.lee", Name: "Ann Lee"},
			{Key: "bob", Email: "bob.stone@example.com", Username: "bob.stone", Name: "Bob Stone"},
			{Key: "cara", Email: "cara.diaz@example.com", Username: "cara.diaz", Name: "Cara Diaz"},
			{Key: "dan", Email: "dan.ek@example.com", Username: "dan.ek", Name: "Dan Ek", Disabled: true},
			{Key: "eve", Email: "eve.moss@example.com", Username: "eve.moss", Name: "Eve Moss", Deleted: true},
			{Key: "finn", Username: noEmailUser, Name: "Finn Obi"},
			{Key: "gail", Email: "  Gail.Park@Example.COM  ", Username: "gail.park", Name: "Gail Park"},
			{Key: "hana", Email: "hana.ito@example.com", Username: "hana.ito", Name: "Hana Ito"},
			{Key: "ivan", Email: "ivan.petrov@example.com", Username: "ivan.petrov", Name: "Ivan Petrov"},
			{Key: "jo", Email: "jo.kim@example.com", Username: "jo.kim", Name: "Jo Kim", Disabled: true},
			{Key: "sam1", Email: "sam.roy@example.com", Username: "sam.roy", Name: "Sam Roy"},
			{Key: "sam2", Email: "Sam.Roy@Example.com", Username: "sroy", Name: "Samuel Roy"},
		},
		Groups: []DatasetGroup{
			{Key: "staff", Name: groupStaff, Users: []string{"gail"}, Groups: []string{"eng"}},
			{Key: "eng", Name: groupEng, Users: []string{"ann", "dan"}, Groups: []string{"backend"}},
			{Key: "backend", Name: groupBackend, Users: []string{"bob", "cara", "sam2"}},
			{Key: "ops", Name: groupOps, Users: []string{"hana"}, Groups: []string{"oncall"}},
			{Key: "oncall", Name: groupOnCall, Users: []string{"ivan"}, Groups: []string{"ops"}},
			{Key: "empty", Name: groupEmpty},
			{Key: "partners", Name: groupPartners, Users: []string{"finn", "sam1", DanglingKey}},
			{Key: "alumni", Name: groupAlumni, Users: []string{"eve"}},
		},
	}
}

// Expected returns the fixture as an adapter with caps c holds it: Fixture().Restrict(c). A Harness's
// New must return a source whose directory holds exactly this.
func Expected(c Caps) Dataset { return Fixture().Restrict(c) }

// Restrict returns a copy of d without the states c cannot express: users that are deleted (!Deleted),
// disabled (!Disabled), without email (!UserWithoutEmail) or a later holder of an already used email
// (!DuplicateEmail) are dropped together with every reference to them; nested group lists are cleared
// (!NestedGroups) or the edges that close a cycle removed (!GroupCycles); dangling user references are
// dropped (!DanglingMember); groups with no members at all are dropped, repeatedly (!EmptyGroup).
func (d Dataset) Restrict(c Caps) Dataset {
	out := d.clone()
	seen := map[string]bool{}
	keep := map[string]bool{}
	var users []DatasetUser
	for _, u := range out.Users {
		email := NormalizeEmail(u.Email)
		switch {
		case u.Deleted && !c.Deleted,
			u.Disabled && !c.Disabled,
			email == "" && !c.UserWithoutEmail,
			email != "" && seen[email] && !c.DuplicateEmail:
			continue
		}
		seen[email] = true
		keep[u.Key] = true
		users = append(users, u)
	}
	out.Users = users
	dangling := map[string]bool{}
	for _, k := range d.Dangling() {
		dangling[k] = true
	}
	for i := range out.Groups {
		g := &out.Groups[i]
		g.Users = slices.DeleteFunc(g.Users, func(k string) bool {
			if dangling[k] {
				return !c.DanglingMember
			}
			return !keep[k]
		})
		if !c.NestedGroups {
			g.Groups = nil
		}
	}
	if c.NestedGroups && !c.GroupCycles {
		out.breakCycles()
	}
	for i := range out.Groups {
		if len(out.Groups[i].Users) == 0 {
			out.Groups[i].Users = nil
		}
		if len(out.Groups[i].Groups) == 0 {
			out.Groups[i].Groups = nil
		}
	}
	if !c.EmptyGroup {
		for {
			gone := map[string]bool{}
			groups := out.Groups[:0]
			for _, g := range out.Groups {
				if len(g.Users) == 0 && len(g.Groups) == 0 {
					gone[g.Key] = true
					continue
				}
				groups = append(groups, g)
			}
			out.Groups = groups
			if len(gone) == 0 {
				break
			}
			for i := range out.Groups {
				out.Groups[i].Groups = slices.DeleteFunc(out.Groups[i].Groups, func(k string) bool { return gone[k] })
			}
		}
	}
	return out
}

// breakCycles removes, in a depth-first walk in dataset order, every nesting edge that leads back to a
// group on the current path.
func (d *Dataset) breakCycles() {
	idx := map[string]int{}
	for i, g := range d.Groups {
		idx[g.Key] = i
	}
	const (
		unvisited = iota
		onPath
		done
	)
	state := make([]int, len(d.Groups))
	var visit func(i int)
	visit = func(i int) {
		state[i] = onPath
		g := &d.Groups[i]
		g.Groups = slices.DeleteFunc(g.Groups, func(k string) bool {
			j, ok := idx[k]
			return ok && state[j] == onPath
		})
		for _, k := range g.Groups {
			if j, ok := idx[k]; ok && state[j] == unvisited {
				visit(j)
			}
		}
		state[i] = done
	}
	for i := range d.Groups {
		if state[i] == unvisited {
			visit(i)
		}
	}
}

func (d Dataset) clone() Dataset {
	out := Dataset{Users: slices.Clone(d.Users), Groups: slices.Clone(d.Groups)}
	for i := range out.Groups {
		out.Groups[i].Users = slices.Clone(out.Groups[i].Users)
		out.Groups[i].Groups = slices.Clone(out.Groups[i].Groups)
	}
	return out
}

// User returns the user with key k.
func (d Dataset) User(k string) (DatasetUser, bool) {
	for _, u := range d.Users {
		if u.Key == k {
			return u, true
		}
	}
	return DatasetUser{}, false
}

// Group returns the group with key k.
func (d Dataset) Group(k string) (DatasetGroup, bool) {
	for _, g := range d.Groups {
		if g.Key == k {
			return g, true
		}
	}
	return DatasetGroup{}, false
}

// Dangling returns, sorted, the keys group member lists refer to that are not users of d. Seeders turn
// them into references to nothing (a DN without an entry, an id never created).
func (d Dataset) Dangling() []string {
	users := map[string]bool{}
	for _, u := range d.Users {
		users[u.Key] = true
	}
	var out []string
	for _, g := range d.Groups {
		for _, k := range g.Users {
			if !users[k] && !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	slices.Sort(out)
	return out
}

// MemberOf returns the names of the groups that list user key k as a direct member, in dataset order.
// Formats that attach groups to users (a CSV groups column) use it.
func (d Dataset) MemberOf(k string) []string {
	var out []string
	for _, g := range d.Groups {
		if slices.Contains(g.Users, k) {
			out = append(out, g.Name)
		}
	}
	return out
}

// Snapshot returns d as a complete snapshot whose user and group IDs are the dataset keys: what an ideal
// adapter would read from a directory holding d. Engine tests can use it as a source's result.
func (d Dataset) Snapshot() *directory.Snapshot {
	s := &directory.Snapshot{UsersRead: true, GroupsRead: true}
	for _, u := range d.Users {
		s.Users = append(s.Users, directory.User{
			ID: u.Key, Email: u.Email, EmailPrefix: u.Username, DisplayName: u.Name,
			Disabled: u.Disabled, Deleted: u.Deleted,
		})
	}
	for _, g := range d.Groups {
		s.Groups = append(s.Groups, directory.Group{
			ID: g.Key, Name: g.Name, Users: slices.Clone(g.Users), Groups: slices.Clone(g.Groups),
		})
	}
	s.Completeness.Add(directory.Read{What: "dataset", Pages: 1, Entries: len(d.Users) + len(d.Groups), Finished: true})
	return s
}

// NormalizeEmail trims and lowercases an email, as the engine does.
func NormalizeEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }
