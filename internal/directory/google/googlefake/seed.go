package googlefake

import (
	"fmt"
	"strings"

	"github.com/dirconn/dirconn/internal/directory/directorytest"
)

// Seeded maps a seeded dataset's keys to the ids the fake gave them.
type Seeded struct {
	Users  map[string]string // user key -> user id
	Groups map[string]string // group key -> group id
	// Admin is the primary email of the user made an administrator (the user dirconn impersonates).
	Admin string
}

// SeedOptions configures SeedDataset.
type SeedOptions struct {
	// Domain is the domain of the groups' emails (default example.com).
	Domain string
	// Admin is the key of the user made an administrator; default: the first user who is neither
	// disabled nor deleted.
	Admin string
}

// UserID returns the id the seeder gives the n-th user (Google user ids are 21-digit numbers).
func UserID(n int) string { return fmt.Sprintf("1%020d", n) }

// GroupID returns the id the seeder gives the n-th group.
func GroupID(n int) string { return fmt.Sprintf("03ep43zb%08d", n) }

// SeedDataset adds ds: users with their state (a dataset's disabled users alternate between suspended
// and archived, so both are covered), groups named by Name with an email derived from it, direct user
// and group members, and a dangling member (a key that is no user) as a USER member whose id the
// directory does not hold, like a member from outside the account.
func (s *Server) SeedDataset(ds directorytest.Dataset, o SeedOptions) Seeded {
	if o.Domain == "" {
		o.Domain = "example.com"
	}
	if o.Admin == "" {
		for _, u := range ds.Users {
			if !u.Disabled && !u.Deleted && u.Email != "" {
				o.Admin = u.Key
				break
			}
		}
	}
	sd := Seeded{Users: map[string]string{}, Groups: map[string]string{}}
	disabled := 0
	for i, u := range ds.Users {
		id := UserID(i + 1)
		sd.Users[u.Key] = id
		given, family, _ := strings.Cut(u.Name, " ")
		fu := User{ID: id, PrimaryEmail: u.Email, GivenName: given, FamilyName: family, Deleted: u.Deleted, Admin: u.Key == o.Admin}
		if fu.Admin {
			sd.Admin = strings.ToLower(strings.TrimSpace(u.Email))
		}
		if u.Disabled {
			if disabled%2 == 0 {
				fu.Suspended = true
			} else {
				fu.Archived = true
			}
			disabled++
		}
		s.AddUser(fu)
	}
	for i, k := range ds.Dangling() {
		sd.Users[k] = UserID(900000 + i)
	}
	for i, g := range ds.Groups {
		sd.Groups[g.Key] = GroupID(i + 1)
	}
	names := map[string]string{}
	for _, g := range ds.Groups {
		names[g.Key] = g.Name
	}
	for _, g := range ds.Groups {
		fg := Group{ID: sd.Groups[g.Key], Name: g.Name, Email: slug(g.Name) + "@" + o.Domain}
		for _, k := range g.Users {
			m := Member{ID: sd.Users[k], Type: "USER"}
			if u, ok := ds.User(k); ok {
				m.Email = strings.ToLower(strings.TrimSpace(u.Email))
			} else {
				m.Email, m.Status = k+"@outside.example.net", "ACTIVE"
			}
			fg.Members = append(fg.Members, m)
		}
		for _, k := range g.Groups {
			fg.Members = append(fg.Members, Member{ID: sd.Groups[k], Type: "GROUP", Email: slug(names[k]) + "@" + o.Domain})
		}
		s.AddGroup(fg)
	}
	return sd
}

func slug(name string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(name), " ", "-"))
}
