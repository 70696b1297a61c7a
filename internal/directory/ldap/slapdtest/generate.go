package slapdtest

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"time"
)

// Generated describes a synthetic directory for benchmarks and volume tests.
type Generated struct {
	// Users is the number of users, u000001 ... (at least six digits).
	Users int
	// Groups is the number of groupOfNames groups, grp-00001 ...; 0 means Users/20 (at least 1 when
	// there are users).
	Groups int
	// Seed makes a different, equally deterministic directory; 0 means 1.
	Seed uint64
}

// GeneratedInfo says what SeedGenerated loaded. Everything is a pure function of Generated.
type GeneratedInfo struct {
	Users, Groups int
	// UserMembers counts member values naming users (each user is in 3 or 4 groups, fewer only when
	// there are fewer groups); GroupMembers those naming groups (nesting edges).
	UserMembers, GroupMembers int
	// MemberValues is UserMembers + GroupMembers: every member value of every group.
	MemberValues int
	// MemberOfValues is the number of memberOf values on users and groups (equal to MemberValues: every
	// member exists).
	MemberOfValues int
	// NestedGroups is the number of groups that are a member of another group (5% of the groups, rounded
	// up, when there are at least two); nesting never forms a cycle.
	NestedGroups int
	// Entries is the number of entries in the whole tree: users, groups, base, the three OUs and the
	// service account.
	Entries int
	// Load is how long the reload took: stop, slapadd, start.
	Load time.Duration

	peopleDN, groupsDN string
	width              int
}

// UID is the uid of user i (1-based): u000001 ...
func (g GeneratedInfo) UID(i int) string { return fmt.Sprintf("u%0*d", g.width, i) }

// UserDN is the DN of user i (1-based).
func (g GeneratedInfo) UserDN(i int) string { return "uid=" + g.UID(i) + "," + g.peopleDN }

// GroupCN is the cn of group j (1-based): grp-00001 ...
func (g GeneratedInfo) GroupCN(j int) string { return fmt.Sprintf("grp-%05d", j) }

// GroupDN is the DN of group j (1-based).
func (g GeneratedInfo) GroupDN(j int) string { return "cn=" + g.GroupCN(j) + "," + g.groupsDN }

// splitmix64 is a small deterministic PRNG (the same sequence on every platform and Go version).
type splitmix64 uint64

func (s *splitmix64) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (s *splitmix64) intn(n int) int { return int(s.next() % uint64(n)) }

var (
	firstNames = []string{"Ann", "Bob", "Cara", "Dan", "Eve", "Finn", "Gail", "Hana", "Ivan", "Jo", "Kim", "Lena",
		"Marc", "Nina", "Omar", "Pia", "Quinn", "Raj", "Sam", "Tove", "Uma", "Vic", "Wen", "Xia", "Yusuf", "Zoe"}
	lastNames = []string{"Lee", "Stone", "Diaz", "Ek", "Moss", "Obi", "Park", "Ito", "Petrov", "Kim", "Roy", "Novak",
		"Haddad", "Berg", "Silva", "Okafor", "Nguyen", "Meyer", "Rossi", "Dubois", "Kowalski", "Larsen", "Sato"}
)

// SeedGenerated replaces the whole directory, like Reset (configuration included), with a deterministic
// synthetic one loaded offline with slapadd: g.Users inetOrgPerson users in ou=people (uid u000001,
// cn/givenName/sn/displayName, mail u000001@example.test, employeeNumber), g.Groups groupOfNames groups in
// ou=groups (cn grp-00001), each user in 3 or 4 groups (the first one round-robin, so no group is
// empty), 5% of the groups nested into a group with a lower number (no cycles). memberOf is precomputed
// as the overlay would keep it (slapadd runs no overlays). 50,000 users load in a few seconds.
func (s *Server) SeedGenerated(ctx context.Context, g Generated) (GeneratedInfo, error) {
	if g.Users < 0 || g.Groups < 0 {
		return GeneratedInfo{}, fmt.Errorf("slapdtest: SeedGenerated: negative counts %d users, %d groups", g.Users, g.Groups)
	}
	if g.Groups > g.Users {
		return GeneratedInfo{}, fmt.Errorf("slapdtest: SeedGenerated: %d groups for %d users: some would be empty, which groupOfNames cannot be", g.Groups, g.Users)
	}
	if g.Groups == 0 && g.Users > 0 {
		g.Groups = max(1, g.Users/20)
	}
	if g.Seed == 0 {
		g.Seed = 1
	}
	info := GeneratedInfo{Users: g.Users, Groups: g.Groups, peopleDN: s.PeopleDN, groupsDN: s.GroupsDN,
		width: max(6, len(strconv.Itoa(g.Users)))}
	rng := splitmix64(g.Seed)

	// Memberships: userGroups[i] are the groups (0-based) of user i (0-based).
	userGroups := make([][]int32, g.Users)
	groupUsers := make([][]int32, g.Groups)
	if g.Groups > 0 {
		for i := range g.Users {
			k := min(3+rng.intn(2), g.Groups)
			gs := make([]int32, 0, k)
			gs = append(gs, int32(i%g.Groups))
			for len(gs) < k {
				c := int32(rng.intn(g.Groups))
				dup := false
				for _, x := range gs {
					if x == c {
						dup = true
						break
					}
				}
				if !dup {
					gs = append(gs, c)
				}
			}
			userGroups[i] = gs
			for _, c := range gs {
				groupUsers[c] = append(groupUsers[c], int32(i))
			}
			info.UserMembers += len(gs)
		}
	}
	// Nesting: parent[j] is the group (0-based) group j is a member of, or -1. Only groups 1.. are
	// nested, each into a lower-numbered group, so there is no cycle.
	parent := make([]int, g.Groups)
	for j := range parent {
		parent[j] = -1
	}
	children := make([][]int, g.Groups)
	if g.Groups >= 2 {
		n := min((g.Groups+19)/20, g.Groups-1)
		for info.NestedGroups < n {
			j := 1 + rng.intn(g.Groups-1)
			if parent[j] >= 0 {
				continue
			}
			parent[j] = rng.intn(j)
			children[parent[j]] = append(children[parent[j]], j)
			info.NestedGroups++
		}
	}
	info.GroupMembers = info.NestedGroups
	info.MemberValues = info.UserMembers + info.GroupMembers
	info.MemberOfValues = info.MemberValues
	info.Entries = g.Users + g.Groups + len(s.baseEntries())

	t0 := time.Now()
	err := s.reload(ctx, fmt.Sprintf("seed %d generated users and %d groups", g.Users, g.Groups), func(w *bufio.Writer) error {
		for i := range g.Users {
			if i%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			uid := info.UID(i + 1)
			first, last := firstNames[(i*7)%len(firstNames)], lastNames[(i*13/7)%len(lastNames)]
			name := first + " " + last + " " + uid
			writeLine(w, "dn", "uid="+uid+","+info.peopleDN)
			writeLine(w, "objectClass", "top")
			writeLine(w, "objectClass", "person")
			writeLine(w, "objectClass", "organizationalPerson")
			writeLine(w, "objectClass", "inetOrgPerson")
			writeLine(w, "uid", uid)
			writeLine(w, "cn", name)
			writeLine(w, "givenName", first)
			writeLine(w, "sn", last)
			writeLine(w, "displayName", name)
			writeLine(w, "mail", uid+"@example.test")
			writeLine(w, "employeeNumber", strconv.Itoa(i+1))
			for _, c := range userGroups[i] {
				writeLine(w, "memberOf", info.GroupDN(int(c)+1))
			}
			w.WriteByte('\n')
		}
		for j := range g.Groups {
			writeLine(w, "dn", info.GroupDN(j+1))
			writeLine(w, "objectClass", "top")
			writeLine(w, "objectClass", "groupOfNames")
			writeLine(w, "cn", info.GroupCN(j+1))
			writeLine(w, "description", "slapdtest generated group "+strconv.Itoa(j+1))
			for _, u := range groupUsers[j] {
				writeLine(w, "member", info.UserDN(int(u)+1))
			}
			for _, c := range children[j] {
				writeLine(w, "member", info.GroupDN(c+1))
			}
			if parent[j] >= 0 {
				writeLine(w, "memberOf", info.GroupDN(parent[j]+1))
			}
			w.WriteByte('\n')
		}
		return nil
	})
	info.Load = since(t0)
	return info, err
}
