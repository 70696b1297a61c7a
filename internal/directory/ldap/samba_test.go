package ldap

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/directorytest"
	"github.com/dirconn/dirconn/internal/directory/ldap/sambatest"
	"github.com/dirconn/dirconn/internal/testpki"
)

// The package's DC keeps Samba's default "ldap server require strong auth = yes" (see samba in
// main_test.go): a password bind needs StartTLS or LDAPS, as on a hardened Windows DC.

// sambaValues are the settings of an AD read of what SeedDataset wrote, over StartTLS as Administrator.
func sambaValues(srv *sambatest.Server) directory.Values {
	return directory.Values{
		"hostname": "127.0.0.1", "username": srv.AdminDN, "password": srv.AdminPassword, "rootPath": srv.BaseDN,
		"startTls": "true", "tlsCaPath": srv.CAFile, "userPath": "OU=Users,OU=Seed", "groupPath": "OU=Groups,OU=Seed",
		"includeDeleted": "true", "timeout": "20s",
	}
}

// adCaps are the fixture states an AD seeded by sambatest holds. Not DanglingMember: AD refuses a
// member DN that names no object. Not Deleted: a tombstone loses its mail and its group memberships
// (AD without the Recycle Bin), so the fixture's deleted user, with an email and in Alumni, cannot be
// expressed; TestADDeletedUsers covers deleted users instead.
var adCaps = directorytest.Caps{Disabled: true, UserWithoutEmail: true, DuplicateEmail: true, NestedGroups: true,
	GroupCycles: true, EmptyGroup: true}

func seedSamba(t *testing.T, srv *sambatest.Server, ds directorytest.Dataset, o sambatest.SeedOptions) sambatest.Seeded {
	t.Helper()
	sd, err := srv.SeedDataset(t.Context(), ds, o)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	return sd
}

func TestConformanceSambaAD(t *testing.T) {
	var (
		srv *sambatest.Server
		sd  sambatest.Seeded
	)
	directorytest.Run(t, directorytest.Harness{
		Caps: adCaps,
		New: func(t *testing.T) directory.Source {
			srv = samba(t)
			sd = seedSamba(t, srv, directorytest.Expected(adCaps), sambatest.SeedOptions{})
			return newSource(t, sambaValues(srv))
		},
		// The users' OU moves away: the read must fail, not return a directory without users.
		Break: func(t *testing.T) {
			c, err := srv.Conn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.ModifyDN(goldap.NewModifyDNRequest(sd.UsersOU, "OU=Moved", true, "")); err != nil {
				t.Fatal(err)
			}
		},
	})
}

// TestADDeletedUsers: with ldap.includeDeleted a deleted user comes back from CN=Deleted Objects marked
// deleted, with the objectGUID (so the externalId) of the live account; without it, it does not.
func TestADDeletedUsers(t *testing.T) {
	srv := samba(t)
	caps := adCaps
	caps.Deleted = true
	sd := seedSamba(t, srv, directorytest.Expected(caps), sambatest.SeedOptions{})
	eve := sd.Users["eve"]
	if !eve.Deleted || eve.GUID == "" {
		t.Fatalf("seeded eve = %+v, want a tombstone", eve)
	}

	snap := fetchAll(t, newSource(t, sambaValues(srv)), directory.Filters{})
	if !snap.Completeness.Complete() || len(snap.Issues) > 0 {
		t.Fatalf("read incomplete %q, issues %v", snap.Completeness.Incomplete(), snap.Issues)
	}
	var deleted []directory.User
	for _, u := range snap.Users {
		if u.Deleted {
			deleted = append(deleted, u)
		}
	}
	if len(deleted) != 1 || deleted[0].ExternalID != eve.GUID || normalizeDN(eve.DN) != deleted[0].ID || deleted[0].EmailPrefix != "eve.moss" {
		t.Fatalf("deleted users = %+v, want eve (%s, GUID %s)", deleted, eve.DN, eve.GUID)
	}
	var read *directory.Read
	for i, r := range snap.Completeness.Reads {
		if strings.HasPrefix(r.What, "deleted users under CN=Deleted Objects,") {
			read = &snap.Completeness.Reads[i]
		}
	}
	if read == nil || read.Entries != 1 || !read.Finished {
		t.Errorf("deleted users read = %+v", read)
	}
	// The live users keep their GUIDs as externalIds.
	for _, key := range []string{"ann", "dan"} {
		want := sd.Users[key]
		found := false
		for _, u := range snap.Users {
			found = found || (u.ExternalID == want.GUID && u.ID == normalizeDN(want.DN))
		}
		if !found {
			t.Errorf("no user with the GUID %s of %s", want.GUID, want.DN)
		}
	}

	snap = fetchAll(t, newSource(t, with(sambaValues(srv), "includeDeleted", "false")), directory.Filters{})
	for _, u := range snap.Users {
		if u.Deleted {
			t.Errorf("includeDeleted off: deleted user %+v returned", u)
		}
	}
	if len(snap.Completeness.Reads) != 2 {
		t.Errorf("includeDeleted off: reads %+v, want users and groups only", snap.Completeness.Reads)
	}
}

// TestADBigGroup reads a group of 2,000 members: in ranges of 1,500 as Windows would, in ranges of 300
// (seven requests), and with the plain attribute (Samba returns it whole when not asked for a range).
func TestADBigGroup(t *testing.T) {
	srv := samba(t)
	sd := seedSamba(t, srv, directorytest.Expected(adCaps), sambatest.SeedOptions{BigGroup: 2000})
	if sd.BigGroupMembers != 2000 {
		t.Fatalf("big group has %d members", sd.BigGroupMembers)
	}
	base := with(sambaValues(srv), "userPath", "OU=Seed", "groupPath", "OU=Seed")
	for _, tt := range []struct {
		rangeSize string
		pages     int // requests behind the big group's members: the group search plus range requests
	}{{"1500", 2}, {"300", 7}, {"1000", 2}, {"0", 0}} {
		t.Run("rangeSize "+tt.rangeSize, func(t *testing.T) {
			snap := fetchAll(t, newSource(t, with(base, "rangeSize", tt.rangeSize)), directory.Filters{})
			if !snap.Completeness.Complete() {
				t.Fatalf("incomplete: %q", snap.Completeness.Incomplete())
			}
			users := map[string]bool{}
			for _, u := range snap.Users {
				users[u.ID] = true
			}
			var big *directory.Group
			for i := range snap.Groups {
				if snap.Groups[i].ExternalID == sd.BigGroup.GUID {
					big = &snap.Groups[i]
				}
			}
			if big == nil {
				t.Fatal("the big group was not read")
			}
			known := 0
			for _, id := range big.Users {
				if users[id] {
					known++
				}
			}
			if len(big.Users) != 2000 || known != 2000 {
				t.Errorf("big group: %d members, %d of them users of the snapshot; want 2000 and 2000", len(big.Users), known)
			}
			var read *directory.Read
			for i, r := range snap.Completeness.Reads {
				if r.What == "members of "+sd.BigGroup.DN {
					read = &snap.Completeness.Reads[i]
				}
			}
			switch {
			case tt.pages == 0 && read != nil:
				t.Errorf("a range walk without ranges: %+v", read)
			case tt.pages > 0 && (read == nil || read.Pages != tt.pages || read.Entries != 2000 || !read.Finished):
				t.Errorf("range read = %+v, want %d requests for 2000 values", read, tt.pages)
			}
		})
	}
}

// TestADSettings reads the seeded AD with filters (memberOf, in-chain, bitwise AND), bind name forms,
// transports and wrong settings.
func TestADSettings(t *testing.T) {
	srv := samba(t)
	sd := seedSamba(t, srv, directorytest.Expected(adCaps), sambatest.SeedOptions{})
	base := sambaValues(srv)
	all := emails(fetchAll(t, newSource(t, base), directory.Filters{}))
	if len(all) != 11 {
		t.Fatalf("baseline: %d users %q, want 11", len(all), all)
	}
	other, err := testpki.NewCA("not the DC's CA", testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	otherCA := filepath.Join(t.TempDir(), "other.pem")
	if err := other.WriteCA(otherCA); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		kv      []string
		filters directory.Filters
		users   []string // nil: all
		groups  int      // groups expected; 0: all 8, -1: any
		kinds   []error
		err     string
	}{
		{name: "direct members (memberOf)", filters: directory.Filters{User: "(memberOf=" + sd.Groups["backend"].DN + ")"},
			users: []string{"bob.stone@example.com", "cara.diaz@example.com", "sam.roy@example.com"}},
		{name: "nested members (in chain)", filters: directory.Filters{User: "(memberOf:1.2.840.113556.1.4.1941:=" + sd.Groups["staff"].DN + ")"},
			users: []string{"ann.lee@example.com", "bob.stone@example.com", "cara.diaz@example.com", "dan.ek@example.com", "gail.park@example.com", "sam.roy@example.com"}},
		{name: "enabled only (bitwise AND)", filters: directory.Filters{User: "(!(userAccountControl:1.2.840.113556.1.4.803:=2))"},
			users: slices.DeleteFunc(slices.Clone(all), func(e string) bool { return e == "dan.ek@example.com" || e == "jo.kim@example.com" })},
		{name: "group filter", filters: directory.Filters{Group: "(!(cn=Staff))(!(name=On Call))"}, groups: 6},
		{name: "bind as UPN", kv: []string{"username", srv.AdminUPN}},
		{name: "bind as DOMAIN\\user", kv: []string{"username", srv.AdminDownLevel}},
		{name: "LDAPS", kv: []string{"startTls", "false", "ssl", "true", "sslCaPath", srv.CAFile, "tlsCaPath", ""}},
		{name: "LDAPS by the DC's name", kv: []string{"hostname", "localhost", "ssl", "true", "startTls", "false"}},
		{name: "search from the domain root", kv: []string{"userPath", srv.BaseDN, "groupPath", strings.ToLower(srv.BaseDN), "userObjectClass", "user"},
			filters: directory.Filters{User: "(mail=*)", Group: "(member=*)"}, users: slices.DeleteFunc(slices.Clone(all), func(e string) bool { return strings.HasPrefix(e, "username:") }), groups: -1},
		{name: "object classes and attributes set by the admin", kv: []string{"userObjectClass", "user", "groupObjectClass", "group",
			"groupNameAttribute", "cn", "emailPrefixAttribute", "userPrincipalName"}, users: append(slices.DeleteFunc(slices.Clone(all),
			func(e string) bool { return strings.HasPrefix(e, "username:") }), "username:finn.obi@corp.example.test")},
		{name: "plain LDAP refused (strong auth)", kv: []string{"startTls", "false"}, kinds: []error{directory.ErrConfig},
			err: "refuses a password bind on an unencrypted connection (LDAP result 8"},
		{name: "wrong password", kv: []string{"password", "Wrong-Pa55w0rd"}, kinds: []error{directory.ErrAuth},
			err: "the username or password is wrong (LDAP result 49 invalid credentials, AD data 52e)"},
		{name: "unknown user", kv: []string{"username", "nobody@" + srv.DNSName}, kinds: []error{directory.ErrAuth}, err: "LDAP result 49"},
		{name: "wrong CA", kv: []string{"tlsCaPath", otherCA}, kinds: []error{ErrTLS}, err: "set ldap.tlsCaPath"},
		{name: "missing group base", kv: []string{"groupPath", "OU=Teams,OU=Seed"}, kinds: []error{directory.ErrConfig},
			err: `the search base "OU=Teams,OU=Seed,` + srv.BaseDN + `" does not exist (it comes from ldap.groupPath and ldap.rootPath)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, err := newSource(t, with(base, tt.kv...)).Fetch(t.Context(), directory.FetchRequest{Users: true, Groups: true, Filters: tt.filters})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Fetch = %v, want an error containing %q", err, tt.err)
				}
				for _, k := range tt.kinds {
					if !errors.Is(err, k) {
						t.Errorf("Fetch = %v, want it to wrap %v", err, k)
					}
				}
				if strings.Contains(err.Error(), srv.AdminPassword) || strings.Contains(err.Error(), "Wrong-Pa55w0rd") {
					t.Errorf("the error shows a password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch = %v", err)
			}
			if !snap.Completeness.Complete() {
				t.Errorf("incomplete: %q", snap.Completeness.Incomplete())
			}
			want := tt.users
			if want == nil {
				want = all
			}
			if got := emails(snap); !slices.Equal(want, got) {
				t.Errorf("users = %q, want %q", got, want)
			}
			switch {
			case tt.groups == 0 && len(snap.Groups) != 8, tt.groups > 0 && len(snap.Groups) != tt.groups:
				t.Errorf("%d groups %q, want %d", len(snap.Groups), groupNames(snap), max(tt.groups, 8))
			}
		})
	}
}

// TestADDomainRootReferral shows why every AD search carries the Domain Scope control: a subtree search
// at the domain root gets a continuation reference to CN=Configuration, which would mark every such read
// incomplete (and hold every deletion). With the control the DC sends none, and the adapter's read of the
// whole domain is complete.
func TestADDomainRootReferral(t *testing.T) {
	srv := samba(t)
	c, err := srv.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, err := c.SearchWithPaging(goldap.NewSearchRequest(srv.BaseDN, goldap.ScopeWholeSubtree, 0, 0, 0, false, "(objectClass=user)", []string{"cn"}, nil), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Referrals) == 0 {
		t.Log("this DC sends no continuation reference at the domain root; the control is still sent")
	}
	snap := fetchAll(t, newSource(t, with(sambaValues(srv), "userPath", srv.BaseDN, "groupPath", srv.BaseDN)), directory.Filters{})
	if !snap.Completeness.Complete() || len(snap.Users) == 0 {
		t.Errorf("read of the whole domain: %d users, incomplete %q (referrals without the control: %q)", len(snap.Users),
			snap.Completeness.Incomplete(), res.Referrals)
	}
}
