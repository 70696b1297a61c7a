package sambatest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/dirconn/dirconn/internal/directory/directorytest"
)

// SeedOptions tune SeedDataset.
type SeedOptions struct {
	// BigGroup, when positive, also creates a group with that many user members (fresh users of their
	// own) under OU=Big,OU=Seed. With more than 1,500 members Windows AD would split member into
	// member;range=0-1499 etc. on its own; Samba does so only when the client asks for a range.
	BigGroup int
}

// Object is one seeded entry.
type Object struct {
	// DN is the entry's DN as the server returns it. For a deleted user it is the tombstone's DN in
	// CN=Deleted Objects (visible only with the Show Deleted control, OID 1.2.840.113556.1.4.417).
	DN string
	// GUID is objectGUID in AD's string form: the first three groups byte-swapped, lower case
	// (as FormatGUID makes it). It survives deletion.
	GUID string
	// Deleted: the entry is a tombstone (isDeleted=TRUE).
	Deleted bool
}

// Seeded describes what SeedDataset created.
type Seeded struct {
	OU       string // OU=Seed,<base>: everything seeded is below it
	UsersOU  string // OU=Users,OU=Seed,<base>: exactly the dataset's live users
	GroupsOU string // OU=Groups,OU=Seed,<base>: exactly the dataset's groups
	// Users and Groups map dataset keys to their entries.
	Users  map[string]Object
	Groups map[string]Object
	// Dangling lists the dataset's dangling member keys (directorytest.Dataset.Dangling), which were
	// not seeded: AD refuses a member value that names no object, so AD cannot hold such a reference
	// (Caps.DanglingMember is false for AD).
	Dangling []string
	// DeletedMemberships lists, as "group key/user key", the memberships of deleted users that the
	// dataset declares: AD removes a deleted object's links, so those groups no longer list them.
	DeletedMemberships []string

	// BigOU (OU=Big,OU=Seed,<base>) holds the big group and its member users, apart from the fixture so
	// fixture counts stay exact. Empty unless SeedOptions.BigGroup > 0.
	BigOU           string
	BigGroup        Object
	BigGroupMembers int
}

// bigSnapshotVersion changes whenever addBigGroup changes, so older snapshots are not restored.
const bigSnapshotVersion = 1

const seedWorkers = 4 // Samba runs 4 prefork LDAP workers; adds cost ~5 ms each with 1, 2, 4 or 8 connections

// SeedDataset creates ds in OU=Seed,<base>: users as user objects (sAMAccountName = Username or the
// key, userPrincipalName <sAMAccountName>@<dns domain>, mail when non-empty, displayName,
// userAccountControl 512, or 514 when disabled; no password), groups as global security groups with
// member DNs of users and nested groups (cycles included: memberships are added once every group
// exists), an empty group without any member attribute. Deleted users are created, put in their groups,
// then deleted: they become tombstones that keep their objectGUID. It fails if OU=Seed exists: Reset
// first.
//
// A tombstone keeps only a few attributes (objectGUID, objectSid, sAMAccountName, lastKnownParent,
// isDeleted...): its mail, displayName and group memberships are gone, as on Windows AD without the
// Recycle Bin (which Samba lets only the system account enable).
//
// With o.BigGroup it first creates the big group (see SeedOptions). Adding users costs Samba about 5 ms
// each whatever the number of connections, so the first big group of a size on a machine takes ~10 s;
// it is then kept as a snapshot of the domain next to the cached provisioned domain, and later calls on
// an untouched domain (nothing written since Start or Reset) restore that snapshot instead (~1 s).
func (s *Server) SeedDataset(ctx context.Context, ds directorytest.Dataset, o SeedOptions) (Seeded, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return Seeded{}, errors.New("sambatest: seed of a stopped server")
	}
	sd := Seeded{
		OU:     "OU=Seed," + s.BaseDN,
		Users:  map[string]Object{},
		Groups: map[string]Object{},
	}
	sd.UsersOU, sd.GroupsOU = "OU=Users,"+sd.OU, "OU=Groups,"+sd.OU
	ous := []string{sd.OU, sd.UsersOU, sd.GroupsOU}
	if o.BigGroup > 0 {
		if err := s.seedBigGroup(ctx, &sd, o.BigGroup); err != nil {
			return Seeded{}, err
		}
		ous = ous[1:] // OU=Seed holds the big group already
	}
	t1 := time.Now()

	conns, err := s.conns(ctx, seedWorkers)
	if err != nil {
		return Seeded{}, err
	}
	defer closeAll(conns)
	c := conns[0]
	if err := addOUs(c, ous); err != nil {
		return Seeded{}, err
	}

	// Users.
	userDN := map[string]string{} // key -> DN we created
	samKey := map[string]string{} // lower-case sAMAccountName -> "u:key" or "g:key"
	cns := map[string]bool{}
	var adds []*ldap.AddRequest
	for _, u := range ds.Users {
		sam := cmp.Or(u.Username, u.Key)
		if prev := samKey[strings.ToLower(sam)]; prev != "" {
			return Seeded{}, fmt.Errorf("seed: users %q and %q share the sAMAccountName %q", strings.TrimPrefix(prev, "u:"), u.Key, sam)
		}
		samKey[strings.ToLower(sam)] = "u:" + u.Key
		cn := uniqueCN(cns, cmp.Or(u.Name, sam), u.Key)
		dn := "CN=" + ldap.EscapeDN(cn) + "," + sd.UsersOU
		userDN[u.Key] = dn
		uac := "512" // NORMAL_ACCOUNT
		if u.Disabled {
			uac = "514" // NORMAL_ACCOUNT | ACCOUNTDISABLE
		}
		req := ldap.NewAddRequest(dn, nil)
		req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
		req.Attribute("sAMAccountName", []string{sam})
		req.Attribute("userPrincipalName", []string{sam + "@" + s.DNSName})
		req.Attribute("displayName", []string{cmp.Or(u.Name, sam)})
		if u.Email != "" {
			req.Attribute("mail", []string{u.Email})
		}
		req.Attribute("userAccountControl", []string{uac})
		adds = append(adds, req)
	}
	if err := parallelAdds(ctx, conns, adds); err != nil {
		return Seeded{}, fmt.Errorf("seed users: %w", err)
	}

	// Groups: added with their user members, then nested groups by modifies (a cycle needs both ends).
	sd.Dangling = ds.Dangling()
	dangling := map[string]bool{}
	for _, k := range sd.Dangling {
		dangling[k] = true
	}
	groupDN := map[string]string{}
	gcns := map[string]bool{}
	for _, g := range ds.Groups {
		cn := uniqueCN(gcns, cmp.Or(g.Name, g.Key), g.Key)
		groupDN[g.Key] = "CN=" + ldap.EscapeDN(cn) + "," + sd.GroupsOU
	}
	for _, g := range ds.Groups {
		sam := groupSAM(cmp.Or(g.Name, g.Key))
		if samKey[strings.ToLower(sam)] != "" {
			sam = groupSAM(g.Key + "-" + sam)
		}
		samKey[strings.ToLower(sam)] = "g:" + g.Key
		req := ldap.NewAddRequest(groupDN[g.Key], nil)
		req.Attribute("objectClass", []string{"top", "group"})
		req.Attribute("sAMAccountName", []string{sam})
		var members []string
		for _, k := range g.Users {
			if dangling[k] {
				continue
			}
			dn, ok := userDN[k]
			if !ok {
				return Seeded{}, fmt.Errorf("seed: group %q lists unknown user %q", g.Key, k)
			}
			members = append(members, dn)
			if u, _ := ds.User(k); u.Deleted {
				sd.DeletedMemberships = append(sd.DeletedMemberships, g.Key+"/"+k)
			}
		}
		if len(members) > 0 {
			req.Attribute("member", members)
		}
		if err := c.Add(req); err != nil {
			return Seeded{}, fmt.Errorf("seed: add group %s: %w", groupDN[g.Key], err)
		}
	}
	for _, g := range ds.Groups {
		if len(g.Groups) == 0 {
			continue
		}
		var members []string
		for _, k := range g.Groups {
			dn, ok := groupDN[k]
			if !ok {
				return Seeded{}, fmt.Errorf("seed: group %q lists unknown group %q", g.Key, k)
			}
			members = append(members, dn)
		}
		req := ldap.NewModifyRequest(groupDN[g.Key], nil)
		req.Add("member", members)
		if err := c.Modify(req); err != nil {
			return Seeded{}, fmt.Errorf("seed: add nested groups to %s: %w", groupDN[g.Key], err)
		}
	}

	// GUIDs and the DNs as the server spells them.
	for _, ou := range []string{sd.UsersOU, sd.GroupsOU} {
		res, err := c.SearchWithPaging(ldap.NewSearchRequest(ou, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
			"(|(objectClass=user)(objectClass=group))", []string{"objectGUID", "sAMAccountName"}, nil), 1000)
		if err != nil {
			return Seeded{}, fmt.Errorf("seed: read back %s: %w", ou, err)
		}
		for _, e := range res.Entries {
			key := samKey[strings.ToLower(e.GetAttributeValue("sAMAccountName"))]
			if key == "" {
				continue
			}
			guid, err := FormatGUID(e.GetRawAttributeValue("objectGUID"))
			if err != nil {
				return Seeded{}, fmt.Errorf("seed: %s: %w", e.DN, err)
			}
			if k, ok := strings.CutPrefix(key, "u:"); ok {
				sd.Users[k] = Object{DN: e.DN, GUID: guid}
			} else {
				sd.Groups[strings.TrimPrefix(key, "g:")] = Object{DN: e.DN, GUID: guid}
			}
		}
	}
	if len(sd.Users) != len(ds.Users) || len(sd.Groups) != len(ds.Groups) {
		return Seeded{}, fmt.Errorf("seed: read back %d users and %d groups, want %d and %d",
			len(sd.Users), len(sd.Groups), len(ds.Users), len(ds.Groups))
	}

	// Deleted users become tombstones.
	for _, u := range ds.Users {
		if !u.Deleted {
			continue
		}
		obj := sd.Users[u.Key]
		if err := c.Del(ldap.NewDelRequest(obj.DN, nil)); err != nil {
			return Seeded{}, fmt.Errorf("seed: delete %s: %w", obj.DN, err)
		}
		ts, err := s.findTombstone(c, obj.GUID)
		if err != nil {
			return Seeded{}, fmt.Errorf("seed: tombstone of %s: %w", obj.DN, err)
		}
		sd.Users[u.Key] = ts
	}
	s.opts.logf("sambatest: seeded %d users and %d groups in %.1fs", len(ds.Users), len(ds.Groups), time.Since(t1).Seconds())
	return sd, nil
}

func addOUs(c *ldap.Conn, ous []string) error {
	for _, ou := range ous {
		req := ldap.NewAddRequest(ou, nil)
		req.Attribute("objectClass", []string{"organizationalUnit"})
		if err := c.Add(req); err != nil {
			if ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
				return fmt.Errorf("seed: %s exists already (call Reset before seeding again): %w", ou, err)
			}
			return fmt.Errorf("seed: add %s: %w", ou, err)
		}
	}
	return nil
}

// seedBigGroup creates OU=Seed and OU=Big,OU=Seed holding n users big-00001... and the group
// "Big Group" with all of them as members: from the snapshot cached for n when the domain is untouched,
// else online (and then, on an untouched domain, snapshotted for next time).
func (s *Server) seedBigGroup(ctx context.Context, sd *Seeded, n int) error {
	t0 := time.Now()
	sd.BigOU = "OU=Big," + sd.OU
	c, err := s.Conn(ctx)
	if err != nil {
		return err
	}
	fresh := s.isFresh(c)
	c.Close()
	snap := ""
	if s.cacheRoot != "" {
		snap = filepath.Join(s.cacheRoot, fmt.Sprintf("big-v%d-%d", bigSnapshotVersion, n))
	}
	how := "added online"
	switch _, err := os.Stat(filepath.Join(snap, "complete")); {
	case fresh && snap != "" && err == nil:
		if err := s.swapDomain(ctx, filepath.Join(snap, "dc"), s.dcDir); err != nil {
			return fmt.Errorf("seed: restore the big group snapshot: %w", err)
		}
		how = "restored from " + snap
	default:
		if err := s.addBigGroup(ctx, sd, n); err != nil {
			return err
		}
		if fresh && snap != "" {
			if err := s.snapshot(ctx, snap); err != nil {
				return err
			}
			how += " and snapshotted to " + snap
		}
	}
	c, err = s.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	dn := "CN=Big Group," + sd.BigOU
	res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=group)", []string{"objectGUID", "member;range=0-*"}, nil))
	if err != nil || len(res.Entries) != 1 {
		return fmt.Errorf("seed: read back %s: %v", dn, err)
	}
	guid, err := FormatGUID(res.Entries[0].GetRawAttributeValue("objectGUID"))
	if err != nil {
		return err
	}
	sd.BigGroup = Object{DN: res.Entries[0].DN, GUID: guid}
	for _, a := range res.Entries[0].Attributes {
		if strings.HasPrefix(strings.ToLower(a.Name), "member;") {
			sd.BigGroupMembers = len(a.Values)
		}
	}
	if sd.BigGroupMembers != n {
		return fmt.Errorf("seed: %s has %d members, want %d", dn, sd.BigGroupMembers, n)
	}
	s.opts.logf("sambatest: group of %d members %s in %.1fs", n, how, time.Since(t0).Seconds())
	return nil
}

// addBigGroup adds the big group's OUs, users and the group itself over LDAPS.
func (s *Server) addBigGroup(ctx context.Context, sd *Seeded, n int) error {
	conns, err := s.conns(ctx, seedWorkers)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	if err := addOUs(conns[0], []string{sd.OU, sd.BigOU}); err != nil {
		return err
	}
	var adds []*ldap.AddRequest
	members := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		sam := fmt.Sprintf("big-%05d", i)
		dn := fmt.Sprintf("CN=Big User %05d,%s", i, sd.BigOU)
		req := ldap.NewAddRequest(dn, nil)
		req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
		req.Attribute("sAMAccountName", []string{sam})
		req.Attribute("userPrincipalName", []string{sam + "@" + s.DNSName})
		req.Attribute("mail", []string{sam + "@example.com"})
		req.Attribute("userAccountControl", []string{"512"})
		adds = append(adds, req)
		members = append(members, dn)
	}
	if err := parallelAdds(ctx, conns, adds); err != nil {
		return fmt.Errorf("seed big group users: %w", err)
	}
	dn := "CN=Big Group," + sd.BigOU
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"top", "group"})
	req.Attribute("sAMAccountName", []string{"Big Group"})
	req.Attribute("member", members)
	if err := conns[0].Add(req); err != nil {
		return fmt.Errorf("seed: add %s with %d members: %w", dn, n, err)
	}
	return nil
}

// snapshot stops samba, copies the live domain to the cache entry snap and starts samba again.
func (s *Server) snapshot(ctx context.Context, snap string) error {
	if err := s.killSamba(); err != nil {
		return err
	}
	tmp := snap + ".tmp"
	os.RemoveAll(tmp)
	err := copyTree(s.dcDir, filepath.Join(tmp, "dc"))
	if err == nil {
		err = os.WriteFile(filepath.Join(tmp, "complete"), nil, 0o644)
	}
	if err == nil {
		os.RemoveAll(snap)
		err = os.Rename(tmp, snap)
	}
	if err != nil {
		os.RemoveAll(tmp)
		s.opts.logf("sambatest: could not keep a snapshot of the big group: %v", err)
	}
	return s.startSamba(ctx)
}

// swapDomain stops samba, replaces dst (the live domain) by a copy of src keeping our smb.conf, and
// starts samba again.
func (s *Server) swapDomain(ctx context.Context, src, dst string) error {
	conf, err := os.ReadFile(s.conf)
	if err != nil {
		return err
	}
	if err := s.killSamba(); err != nil {
		return err
	}
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	if err := copyTree(src, dst); err != nil {
		return err
	}
	if err := os.WriteFile(s.conf, conf, 0o644); err != nil {
		return err
	}
	return s.startSamba(ctx)
}

func closeAll(conns []*ldap.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

// findTombstone finds the deleted object with the given GUID in CN=Deleted Objects.
func (s *Server) findTombstone(c *ldap.Conn, guid string) (Object, error) {
	raw, err := ParseGUID(guid)
	if err != nil {
		return Object{}, err
	}
	res, err := c.Search(ldap.NewSearchRequest("CN=Deleted Objects,"+s.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, 0, false, "(&(isDeleted=TRUE)(objectGUID="+EscapeBinary(raw)+"))", []string{"objectGUID"},
		[]ldap.Control{ldap.NewControlMicrosoftShowDeleted()}))
	if err != nil {
		return Object{}, err
	}
	if len(res.Entries) != 1 {
		return Object{}, fmt.Errorf("found %d deleted objects with GUID %s, want 1", len(res.Entries), guid)
	}
	return Object{DN: res.Entries[0].DN, GUID: guid, Deleted: true}, nil
}

// conns opens n admin-bound LDAPS connections.
func (s *Server) conns(ctx context.Context, n int) ([]*ldap.Conn, error) {
	var out []*ldap.Conn
	for range n {
		c, err := s.Conn(ctx)
		if err != nil {
			for _, c := range out {
				c.Close()
			}
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// parallelAdds runs the adds over conns, one goroutine per connection, stopping at the first error.
func parallelAdds(ctx context.Context, conns []*ldap.Conn, adds []*ldap.AddRequest) error {
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan *ldap.AddRequest)
	errs := make(chan error, len(conns))
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for req := range jobs {
				if err := c.Add(req); err != nil {
					errs <- fmt.Errorf("add %s: %w", req.DN, err)
					cancel()
					return
				}
			}
		}()
	}
feed:
	for _, req := range adds {
		select {
		case jobs <- req:
		case <-inner.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	close(errs)
	var err error
	for e := range errs {
		err = errors.Join(err, e)
	}
	if err != nil {
		return err
	}
	return ctx.Err()
}

// uniqueCN returns name, or "name (key)" when an earlier entry of the same OU took name already.
func uniqueCN(seen map[string]bool, name, key string) string {
	if seen[strings.ToLower(name)] {
		name = name + " (" + key + ")"
	}
	seen[strings.ToLower(name)] = true
	return name
}

// groupSAM turns a name into a valid sAMAccountName: the characters AD forbids become '_'.
func groupSAM(name string) string {
	name = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`"/\[]:;|=,+*?<>@`, r) {
			return '_'
		}
		return r
	}, name)
	if len(name) > 256 {
		name = name[:256]
	}
	return strings.TrimRight(name, ". ")
}

// FormatGUID formats a raw 16-byte objectGUID as AD does: the first three groups are little-endian
// (byte-swapped), the rest in order, lower-case hex: 00112233-4455-6677-8899-aabbccddeeff for the bytes
// 33 22 11 00 55 44 77 66 88 99 aa bb cc dd ee ff.
func FormatGUID(b []byte) (string, error) {
	if len(b) != 16 {
		return "", fmt.Errorf("objectGUID has %d bytes, want 16", len(b))
	}
	return fmt.Sprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%x-%x",
		b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8:10], b[10:16]), nil
}

// ParseGUID is the inverse of FormatGUID.
func ParseGUID(s string) ([]byte, error) {
	h := strings.ReplaceAll(s, "-", "")
	if len(h) != 32 || len(s) != 36 {
		return nil, fmt.Errorf("malformed GUID %q", s)
	}
	var x [16]byte
	for i := range 16 {
		if _, err := fmt.Sscanf(h[2*i:2*i+2], "%02x", &x[i]); err != nil {
			return nil, fmt.Errorf("malformed GUID %q", s)
		}
	}
	return []byte{x[3], x[2], x[1], x[0], x[5], x[4], x[7], x[6],
		x[8], x[9], x[10], x[11], x[12], x[13], x[14], x[15]}, nil
}

// EscapeBinary escapes raw bytes for an LDAP filter value (\xx for every byte), as a search by
// objectGUID needs.
func EscapeBinary(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		fmt.Fprintf(&sb, `\%02x`, c)
	}
	return sb.String()
}
