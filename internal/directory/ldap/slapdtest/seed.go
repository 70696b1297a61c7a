package slapdtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/dirconn/dirconn/internal/directory/directorytest"
)

// GroupStyle is the object class groups are written with.
type GroupStyle int

const (
	// GroupOfNames groups list members as member: <DN>, users and nested groups alike. The memberof
	// overlay keeps memberOf on the members. At least one member is required.
	GroupOfNames GroupStyle = iota
	// GroupOfUniqueNames groups list members as uniqueMember: <DN> (a second memberof overlay instance
	// keeps memberOf for them too). At least one member is required.
	GroupOfUniqueNames
	// PosixGroup groups (RFC 2307, nis schema) list users as memberUid: <uid> and carry a gidNumber.
	// memberUid is not a DN: nested groups cannot be expressed, the overlay gives no memberOf, and a
	// group may be empty.
	PosixGroup
)

// ObjectClass is the structural object class of the style.
func (g GroupStyle) ObjectClass() string {
	switch g {
	case GroupOfUniqueNames:
		return "groupOfUniqueNames"
	case PosixGroup:
		return "posixGroup"
	}
	return "groupOfNames"
}

// MemberAttr is the attribute listing members: member, uniqueMember or memberUid.
func (g GroupStyle) MemberAttr() string {
	switch g {
	case GroupOfUniqueNames:
		return "uniqueMember"
	case PosixGroup:
		return "memberUid"
	}
	return "member"
}

func (g GroupStyle) String() string { return g.ObjectClass() }

// MemberOfMode says which memberOf values users (and nested groups) get.
type MemberOfMode int

const (
	// MemberOfOverlay (the default) is what a server with the memberof overlay holds: the members of
	// groupOfNames and groupOfUniqueNames groups (users and nested groups) get memberOf, posixGroup
	// members get none. Seeding goes online through the overlay.
	MemberOfOverlay MemberOfMode = iota
	// MemberOfNone writes no memberOf at all, like a server without the overlay (for an adapter's
	// fallback to member lists). Seeding goes offline (slapadd), which bypasses the overlay; later online
	// changes are again maintained by it.
	MemberOfNone
	// MemberOfAll gives memberOf to every member, posixGroup members (by uid) included; no stock server
	// does that for posixGroup. memberOf is NO-USER-MODIFICATION (not even the Relax control lets a client
	// write it), so for PosixGroup seeding goes offline with precomputed values.
	MemberOfAll
)

// EmptyGroupMode says what happens to a group with no members, which groupOfNames and groupOfUniqueNames
// cannot hold (member/uniqueMember is a MUST attribute). posixGroup groups may be empty and are always
// written.
type EmptyGroupMode int

const (
	// EmptyGroupsSkip (the default) leaves such groups out, and then groups left empty by that, as
	// directorytest.Dataset.Restrict does without Caps.EmptyGroup. They are listed in Seeded.SkippedGroups.
	EmptyGroupsSkip EmptyGroupMode = iota
	// EmptyGroupsPlaceholder writes such groups with a single empty DN (member: with no value), the usual
	// OpenLDAP idiom for an empty groupOfNames; an adapter must not report it as a member.
	EmptyGroupsPlaceholder
)

// SeedOptions choose how SeedDataset writes a dataset. The zero value: groupOfNames, memberOf through the
// overlay, empty groups and disabled users left out, online.
type SeedOptions struct {
	GroupStyle  GroupStyle
	MemberOf    MemberOfMode
	EmptyGroups EmptyGroupMode
	// Disabled: OpenLDAP has no disabled state. Empty (the default): disabled users are left out like
	// deleted ones, with the group references to them (what Dataset.Restrict does without
	// Caps.Disabled). Otherwise an "attribute: value" written on disabled users, e.g.
	// "employeeType: disabled" (the shared harness's convention), for an adapter configured to read it.
	Disabled string
	// Offline loads the entries with slapadd and precomputed memberOf instead of through the running
	// server (slapd restarts: open connections break). MemberOfNone, and MemberOfAll with PosixGroup,
	// imply it.
	Offline bool
}

// Seeded says what SeedDataset wrote.
type Seeded struct {
	Style GroupStyle
	// Users maps each written user's key to its DN (uid=<Username or key>,ou=people,...), UIDs to its uid.
	Users, UIDs map[string]string
	// Groups maps each written group's key to its DN (cn=<Name or key>,ou=groups,...).
	Groups map[string]string
	// Dangling maps member keys that are not users of the dataset to the value written for them: a DN
	// in ou=people without an entry (memberUid: the key, for PosixGroup).
	Dangling map[string]string
	// SkippedUsers and SkippedGroups map the keys of what was not written to the reason.
	SkippedUsers, SkippedGroups map[string]string
	// Dropped lists member references that were not written, with the reason.
	Dropped []string
	// MemberValues counts the member/uniqueMember/memberUid values written (placeholders not counted);
	// MemberOfValues the memberOf values the directory holds for them.
	MemberValues, MemberOfValues int
	// MemberOf maps user and group keys to the DNs of the groups listed in their memberOf, sorted.
	MemberOf map[string][]string
	// Offline says the entries were loaded with slapadd.
	Offline bool
}

// DN returns the DN written for a user or group key ("" if none).
func (s Seeded) DN(key string) string {
	if dn, ok := s.Users[key]; ok {
		return dn
	}
	return s.Groups[key]
}

type seedGroup struct {
	key      string
	e        entry
	alive    bool
	userVals []string // member values naming users (DNs, or uids for PosixGroup); dangling ones included
	userKeys []string // the written users among them, for memberOf
	nested   []string // keys of nested groups
	intentPH bool     // written with the empty-DN placeholder on purpose (EmptyGroupsPlaceholder)
}

// SeedDataset writes ds into ou=people and ou=groups (see SeedOptions and Seeded for how each state of a
// directorytest.Dataset is expressed). Users are inetOrgPerson uid=<Username or key>: cn is the Name (or
// the key), sn its last word, givenName its first word when there are two or more, displayName the Name,
// mail the Email exactly as the dataset spells it (surrounding spaces and case kept; LDAP allows that)
// when it is not blank. Deleted users are never written: LDAP has no tombstones an ordinary search sees.
// The tree should be as Reset leaves it, or at least hold none of the DNs.
func (s *Server) SeedDataset(ctx context.Context, ds directorytest.Dataset, o SeedOptions) (Seeded, error) {
	style := o.GroupStyle
	dnStyle := style != PosixGroup
	out := Seeded{
		Style: style, Users: map[string]string{}, UIDs: map[string]string{}, Groups: map[string]string{},
		Dangling: map[string]string{}, SkippedUsers: map[string]string{}, SkippedGroups: map[string]string{},
		MemberOf: map[string][]string{},
	}
	out.Offline = o.Offline || o.MemberOf == MemberOfNone || (o.MemberOf == MemberOfAll && style == PosixGroup)
	var disAttr, disVal string
	if o.Disabled != "" {
		a, v, ok := strings.Cut(o.Disabled, ":")
		if !ok || strings.TrimSpace(a) == "" || strings.TrimSpace(v) == "" {
			return out, fmt.Errorf("slapdtest: SeedOptions.Disabled %q: want \"attribute: value\"", o.Disabled)
		}
		disAttr, disVal = strings.TrimSpace(a), strings.TrimSpace(v)
	}

	// Users.
	var users []entry
	var userOrder []string
	seenDN := map[string]string{}
	claim := func(dn, what string) error {
		k := strings.ToLower(dn)
		if prev, ok := seenDN[k]; ok {
			return fmt.Errorf("slapdtest: SeedDataset: %s and %s would both be %s", prev, what, dn)
		}
		seenDN[k] = what
		return nil
	}
	for _, u := range ds.Users {
		switch {
		case u.Deleted:
			out.SkippedUsers[u.Key] = "deleted: LDAP has no deleted users an ordinary search returns"
			continue
		case u.Disabled && disAttr == "":
			out.SkippedUsers[u.Key] = "disabled: OpenLDAP has no disabled state (see SeedOptions.Disabled)"
			continue
		}
		uid := u.Username
		if uid == "" {
			uid = u.Key
		}
		e := entry{dn: s.UserDN(uid)}
		if err := claim(e.dn, "user "+strconv.Quote(u.Key)); err != nil {
			return out, err
		}
		name := u.Name
		if strings.TrimSpace(name) == "" {
			name = u.Key
		}
		words := strings.Fields(name)
		e.add("objectClass", "top", "person", "organizationalPerson", "inetOrgPerson")
		e.add("uid", uid)
		e.add("cn", name)
		e.add("sn", words[len(words)-1])
		if len(words) > 1 {
			e.add("givenName", words[0])
		}
		if u.Name != "" {
			e.add("displayName", u.Name)
		}
		if strings.TrimSpace(u.Email) != "" {
			e.add("mail", u.Email)
		}
		if u.Disabled {
			e.add(disAttr, disVal)
		}
		users = append(users, e)
		userOrder = append(userOrder, u.Key)
		out.Users[u.Key], out.UIDs[u.Key] = e.dn, uid
	}

	// Groups and their members.
	groups := make([]*seedGroup, 0, len(ds.Groups))
	byKey := map[string]*seedGroup{}
	for _, g := range ds.Groups {
		if _, dup := byKey[g.Key]; dup {
			return out, fmt.Errorf("slapdtest: SeedDataset: two groups have the key %q", g.Key)
		}
		name := g.Name
		if strings.TrimSpace(name) == "" {
			name = g.Key
		}
		sg := &seedGroup{key: g.Key, alive: true, e: entry{dn: s.GroupDN(name)}}
		if err := claim(sg.e.dn, "group "+strconv.Quote(g.Key)); err != nil {
			return out, err
		}
		sg.e.add("objectClass", "top", style.ObjectClass())
		sg.e.add("cn", name)
		if style == PosixGroup {
			sg.e.add("gidNumber", strconv.Itoa(s.gid()))
		}
		seen := map[string]bool{}
		for _, k := range g.Users {
			if seen[k] {
				continue
			}
			seen[k] = true
			if why, skipped := out.SkippedUsers[k]; skipped {
				out.Dropped = append(out.Dropped, fmt.Sprintf("group %q: user %q (%s)", g.Key, k, why))
				continue
			}
			if dn, ok := out.Users[k]; ok {
				sg.userKeys = append(sg.userKeys, k)
				if dnStyle {
					sg.userVals = append(sg.userVals, dn)
				} else {
					sg.userVals = append(sg.userVals, out.UIDs[k])
				}
				continue
			}
			v := k
			if dnStyle {
				v = s.UserDN(k)
			}
			out.Dangling[k] = v
			sg.userVals = append(sg.userVals, v)
		}
		groups = append(groups, sg)
		byKey[g.Key] = sg
	}
	for i, g := range ds.Groups {
		sg := groups[i]
		for _, k := range g.Groups {
			if _, ok := byKey[k]; !ok {
				return out, fmt.Errorf("slapdtest: SeedDataset: group %q lists group %q, which the dataset does not hold", g.Key, k)
			}
			if !dnStyle {
				out.Dropped = append(out.Dropped, fmt.Sprintf("group %q: nested group %q (posixGroup cannot nest groups)", g.Key, k))
				continue
			}
			if !slices.Contains(sg.nested, k) {
				sg.nested = append(sg.nested, k)
			}
		}
	}
	if dnStyle {
		for changed := true; changed; {
			changed = false
			for _, sg := range groups {
				if !sg.alive || len(sg.userVals) > 0 {
					continue
				}
				live := slices.ContainsFunc(sg.nested, func(k string) bool { return byKey[k].alive })
				if live {
					continue
				}
				if o.EmptyGroups == EmptyGroupsPlaceholder {
					sg.intentPH = true
					continue
				}
				sg.alive = false
				changed = true
				out.SkippedGroups[sg.key] = "no members: " + style.ObjectClass() + " needs one (see SeedOptions.EmptyGroups)"
			}
		}
		for _, sg := range groups {
			if !sg.alive {
				continue
			}
			sg.nested = slices.DeleteFunc(sg.nested, func(k string) bool {
				if byKey[k].alive {
					return false
				}
				out.Dropped = append(out.Dropped, fmt.Sprintf("group %q: nested group %q (%s)", sg.key, k, out.SkippedGroups[k]))
				return true
			})
		}
	}
	var alive []*seedGroup
	for _, sg := range groups {
		if sg.alive {
			alive = append(alive, sg)
			out.Groups[sg.key] = sg.e.dn
			out.MemberValues += len(sg.userVals) + len(sg.nested)
		}
	}

	// memberOf as the directory will hold it.
	if o.MemberOf != MemberOfNone && (dnStyle || o.MemberOf == MemberOfAll) {
		for _, sg := range alive {
			for _, k := range sg.userKeys {
				out.MemberOf[k] = append(out.MemberOf[k], sg.e.dn)
			}
			for _, k := range sg.nested {
				out.MemberOf[k] = append(out.MemberOf[k], sg.e.dn)
			}
		}
	}
	for k, v := range out.MemberOf {
		slices.Sort(v)
		out.MemberOfValues += len(v)
		out.MemberOf[k] = v
	}

	t0 := time.Now()
	var err error
	if out.Offline {
		err = s.seedOffline(ctx, users, userOrder, alive, byKey, style, out.MemberOf)
	} else {
		err = s.seedOnline(ctx, users, alive, byKey, style)
	}
	if err != nil {
		return out, err
	}
	how := "online"
	if out.Offline {
		how = "offline (slapadd)"
	}
	s.logf("seeded %d users, %d %s groups, %d member values %s in %v", len(out.Users), len(out.Groups), style,
		out.MemberValues, how, since(t0))
	return out, nil
}

func (s *Server) seedOffline(ctx context.Context, users []entry, userOrder []string, groups []*seedGroup,
	byKey map[string]*seedGroup, style GroupStyle, memberOf map[string][]string) error {
	return s.loadOffline(ctx, "seed", func(w *bufio.Writer) error {
		for i, e := range users {
			if m := memberOf[userOrder[i]]; len(m) > 0 {
				e.attrs = slices.Clone(e.attrs)
				e.add("memberOf", m...)
			}
			writeEntry(w, e)
		}
		for _, sg := range groups {
			e := entry{dn: sg.e.dn, attrs: slices.Clone(sg.e.attrs)}
			vals := slices.Clone(sg.userVals)
			for _, k := range sg.nested {
				vals = append(vals, byKey[k].e.dn)
			}
			if sg.intentPH {
				vals = []string{""}
			}
			if len(vals) > 0 {
				e.add(style.MemberAttr(), vals...)
			}
			if m := memberOf[sg.key]; len(m) > 0 {
				e.add("memberOf", m...)
			}
			writeEntry(w, e)
		}
		return nil
	})
}

// seedOnline adds users, then groups children first, so that the memberof overlay sees each nested group
// exist when its parent is added. Edges that close a cycle, and groups whose only members are such edges
// (added meanwhile with the empty-DN placeholder), are completed by a modify at the end.
func (s *Server) seedOnline(ctx context.Context, users []entry, groups []*seedGroup, byKey map[string]*seedGroup, style GroupStyle) error {
	const (
		unvisited = iota
		onPath
		done
	)
	state := map[string]int{}
	var order []*seedGroup
	var visit func(sg *seedGroup)
	visit = func(sg *seedGroup) {
		state[sg.key] = onPath
		for _, k := range sg.nested {
			if state[k] == unvisited {
				visit(byKey[k])
			}
		}
		state[sg.key] = done
		order = append(order, sg)
	}
	for _, sg := range groups {
		if state[sg.key] == unvisited {
			visit(sg)
		}
	}
	return s.withConn(ctx, func(c *ldap.Conn) error {
		for _, e := range users {
			if err := c.Add(e.addRequest()); err != nil {
				return fmt.Errorf("slapdtest: SeedDataset: add %s: %w", e.dn, err)
			}
		}
		added := map[string]bool{}
		type fix struct {
			sg      *seedGroup
			pending []string
			tempPH  bool
		}
		var fixes []fix
		for _, sg := range order {
			if err := ctx.Err(); err != nil {
				return err
			}
			e := entry{dn: sg.e.dn, attrs: slices.Clone(sg.e.attrs)}
			vals := slices.Clone(sg.userVals)
			var pending []string
			for _, k := range sg.nested {
				if added[k] {
					vals = append(vals, byKey[k].e.dn)
				} else {
					pending = append(pending, byKey[k].e.dn)
				}
			}
			tempPH := false
			if len(vals) == 0 && style != PosixGroup {
				vals = []string{""}
				tempPH = !sg.intentPH
			}
			if len(vals) > 0 {
				e.add(style.MemberAttr(), vals...)
			}
			if err := c.Add(e.addRequest()); err != nil {
				return fmt.Errorf("slapdtest: SeedDataset: add %s: %w", e.dn, err)
			}
			added[sg.key] = true
			if len(pending) > 0 || tempPH {
				fixes = append(fixes, fix{sg, pending, tempPH})
			}
		}
		for _, f := range fixes {
			m := ldap.NewModifyRequest(f.sg.e.dn, nil)
			if len(f.pending) > 0 {
				m.Add(style.MemberAttr(), f.pending)
			}
			if f.tempPH {
				m.Delete(style.MemberAttr(), []string{""})
			}
			if err := c.Modify(m); err != nil {
				return fmt.Errorf("slapdtest: SeedDataset: complete nested members of %s: %w", f.sg.e.dn, err)
			}
		}
		return nil
	})
}

// loadOffline stops slapd, adds the entries write produces with slapadd (no overlays run: memberOf must
// be in the entries) and starts slapd again on the same ports.
func (s *Server) loadOffline(ctx context.Context, what string, write func(w *bufio.Writer) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("slapdtest: %s after Stop", what)
	}
	ctx, cancel := withDefaultTimeout(ctx, 10*time.Minute)
	defer cancel()
	s.stopProcess(true)
	loadErr := s.slapadd(ctx, what+".ldif", write)
	// Start again even when the load failed, so the server stays usable (and inspectable).
	if err := s.launch(ctx); err != nil {
		return errors.Join(loadErr, err)
	}
	return loadErr
}
