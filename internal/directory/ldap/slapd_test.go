package ldap

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/directorytest"
	"github.com/dirconn/dirconn/internal/directory/ldap/slapdtest"
	"github.com/dirconn/dirconn/internal/testpki"
)

// slapdValues are the settings of a plain-LDAP read of srv as the service account (limited like AD).
func slapdValues(srv *slapdtest.Server, style slapdtest.GroupStyle) directory.Values {
	return directory.Values{
		"hostname": srv.Host, "port": strconv.Itoa(srv.Port), "username": srv.ServiceDN, "password": srv.ServicePassword,
		"rootPath": srv.BaseDN, "ad": "false", "userPath": "ou=people", "groupPath": "ou=groups",
		"memberAttribute": style.MemberAttr(), "timeout": "10s",
	}
}

// slapdCaps are the fixture states OpenLDAP holds in each group style: no disabled or deleted users;
// posixGroup (memberUid) cannot nest groups.
func slapdCaps(style slapdtest.GroupStyle) directorytest.Caps {
	c := directorytest.Caps{UserWithoutEmail: true, DuplicateEmail: true, NestedGroups: true, GroupCycles: true,
		EmptyGroup: true, DanglingMember: true}
	if style == slapdtest.PosixGroup {
		c.NestedGroups, c.GroupCycles = false, false
	}
	return c
}

func seedSlapd(t *testing.T, srv *slapdtest.Server, ds directorytest.Dataset, style slapdtest.GroupStyle) slapdtest.Seeded {
	t.Helper()
	sd, err := srv.SeedDataset(t.Context(), ds, slapdtest.SeedOptions{GroupStyle: style, EmptyGroups: slapdtest.EmptyGroupsPlaceholder})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	return sd
}

func TestConformanceOpenLDAP(t *testing.T) {
	for _, style := range []slapdtest.GroupStyle{slapdtest.GroupOfNames, slapdtest.GroupOfUniqueNames, slapdtest.PosixGroup} {
		t.Run(style.String(), func(t *testing.T) {
			caps := slapdCaps(style)
			var srv *slapdtest.Server
			directorytest.Run(t, directorytest.Harness{
				Caps: caps,
				New: func(t *testing.T) directory.Source {
					srv = slapd(t)
					seedSlapd(t, srv, directorytest.Expected(caps), style)
					return newSource(t, slapdValues(srv, style))
				},
				// The server dies: the read must fail, not come back short.
				Break: func(t *testing.T) {
					if err := srv.Kill(); err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { srv.Restart(context.Background()) })
				},
			})
		})
	}
}

// TestOpenLDAPSettings reads one seeded directory with each search setting.
func TestOpenLDAPSettings(t *testing.T) {
	srv := slapd(t)
	caps := slapdCaps(slapdtest.GroupOfNames)
	sd := seedSlapd(t, srv, directorytest.Expected(caps), slapdtest.GroupOfNames)
	base := slapdValues(srv, slapdtest.GroupOfNames)
	all := emails(fetchAll(t, newSource(t, base), directory.Filters{}))
	allGroups := groupNames(fetchAll(t, newSource(t, base), directory.Filters{}))
	if len(all) != 9 || len(allGroups) != 8 {
		t.Fatalf("baseline read: %d users %q, %d groups %q; want 9 and 8", len(all), all, len(allGroups), allGroups)
	}
	without := func(list []string, drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(list), func(s string) bool { return slices.Contains(drop, s) })
	}
	tests := []struct {
		name      string
		kv        []string
		filters   directory.Filters
		users     []string // nil: all
		groups    []string // nil: all
		anyGroups bool     // do not compare group names
		checkSnap func(t *testing.T, s *directory.Snapshot)
	}{
		{name: "user filter", filters: directory.Filters{User: "(mail=*)"}, users: without(all, "username:finn.obi")},
		{name: "two filters in a row", filters: directory.Filters{User: "(mail=*)(!(uid=ann.lee))"}, users: without(all, "username:finn.obi", "ann.lee@example.com")},
		{name: "memberOf filter (overlay)", filters: directory.Filters{User: "(memberOf=" + sd.Groups["backend"] + ")"},
			users: []string{"bob.stone@example.com", "cara.diaz@example.com", "sam.roy@example.com"}},
		{name: "group filter", filters: directory.Filters{Group: "(!(cn=Staff))(!(cn=Empty*))"}, groups: without(allGroups, "Staff", "Empty Group")},
		{name: "user object class inetOrgPerson", kv: []string{"userObjectClass", "inetOrgPerson"}},
		{name: "user object class nobody has", kv: []string{"userObjectClass", "posixAccount"}, users: []string{}},
		{name: "group object class nobody has", kv: []string{"groupObjectClass", "posixGroup"}, groups: []string{}},
		{name: "user path with no users", kv: []string{"userPath", "ou=groups"}, users: []string{}},
		{name: "root path only", kv: []string{"userPath", "", "groupPath", ""}},
		{name: "full DN as path", kv: []string{"userPath", srv.PeopleDN}},
		{name: "email attribute", kv: []string{"userEmailAttribute", "uid"}, checkSnap: func(t *testing.T, s *directory.Snapshot) {
			if got := emails(s); !slices.Contains(got, "finn.obi") || !slices.Contains(got, "ann.lee") {
				t.Errorf("emails from uid = %q", got)
			}
		}},
		{name: "prefix attribute", kv: []string{"emailPrefixAttribute", "cn"}, checkSnap: func(t *testing.T, s *directory.Snapshot) {
			if got := emails(s); !slices.Contains(got, "username:Finn Obi") {
				t.Errorf("users = %q, want finn's prefix from cn", got)
			}
		}},
		{name: "group name attribute falls back to cn", kv: []string{"groupNameAttribute", "description"}},
		{name: "group name attribute", kv: []string{"groupNameAttribute", "entryDN"}, anyGroups: true, checkSnap: func(t *testing.T, s *directory.Snapshot) {
			for _, g := range s.Groups {
				if !strings.HasPrefix(g.Name, "cn=") {
					t.Errorf("group name %q, want the entryDN", g.Name)
				}
			}
		}},
		{name: "unpaged under the size limit", kv: []string{"pagedSearch", "false"}},
		{name: "small pages", kv: []string{"pageSize", "2"}, checkSnap: func(t *testing.T, s *directory.Snapshot) {
			if r := s.Completeness.Reads[0]; r.Pages != 5 || r.Entries != 9 || !r.Finished {
				t.Errorf("user read = %+v, want 9 entries in 5 pages", r)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := fetchAll(t, newSource(t, with(base, tt.kv...)), tt.filters)
			if !snap.Completeness.Complete() || len(snap.Issues) > 0 {
				t.Errorf("read incomplete %q, issues %v", snap.Completeness.Incomplete(), snap.Issues)
			}
			want := tt.users
			if want == nil {
				want = all
			}
			if tt.checkSnap == nil || tt.users != nil {
				if diff := cmp.Diff(want, emails(snap), cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })); diff != "" && !(len(want) == 0 && len(snap.Users) == 0) {
					t.Errorf("users differ (-want +got):\n%s", diff)
				}
			}
			wantG := tt.groups
			if wantG == nil {
				wantG = allGroups
			}
			if got := groupNames(snap); !tt.anyGroups && !slices.Equal(wantG, got) && !(len(wantG) == 0 && len(got) == 0) {
				t.Errorf("groups = %q, want %q", got, wantG)
			}
			if tt.checkSnap != nil {
				tt.checkSnap(t, snap)
			}
		})
	}
}

// TestOpenLDAPRenameKeepsEntryUUID renames a user: with externalIdAttribute=entryUUID its externalId stays
// (and its group membership follows the new DN); with the default (the DN) it changes.
func TestOpenLDAPRenameKeepsEntryUUID(t *testing.T) {
	srv := slapd(t)
	caps := slapdCaps(slapdtest.GroupOfNames)
	sd := seedSlapd(t, srv, directorytest.Expected(caps), slapdtest.GroupOfNames)
	base := slapdValues(srv, slapdtest.GroupOfNames)
	byUUID := newSource(t, with(base, "externalIdAttribute", "entryUUID"))
	byDN := newSource(t, base)
	find := func(s *directory.Snapshot, email string) directory.User {
		for _, u := range s.Users {
			if u.Email == email {
				return u
			}
		}
		t.Fatalf("no user %s", email)
		return directory.User{}
	}
	before, beforeDN := find(fetchAll(t, byUUID, directory.Filters{}), "ann.lee@example.com"), find(fetchAll(t, byDN, directory.Filters{}), "ann.lee@example.com")
	if len(before.ExternalID) != 36 || beforeDN.ExternalID != "" || beforeDN.Key() != beforeDN.ID && beforeDN.Key() != sd.Users["ann"] {
		t.Fatalf("before: by entryUUID %+v, by DN %+v", before, beforeDN)
	}

	c, err := srv.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.ModifyDN(goldap.NewModifyDNRequest(sd.Users["ann"], "uid=ann.lee-renamed", true, "")); err != nil {
		t.Fatalf("rename: %v", err)
	}

	snap := fetchAll(t, byUUID, directory.Filters{})
	after := find(snap, "ann.lee@example.com")
	if after.ExternalID != before.ExternalID || after.ID == before.ID {
		t.Errorf("after the rename: %+v, want the same externalId %q under a new ID", after, before.ExternalID)
	}
	// refint rewrote the member value: the group still lists her, under the new DN.
	for _, g := range snap.Groups {
		if g.Name == "Engineering" && !slices.Contains(g.Users, after.ID) {
			t.Errorf("Engineering members %q do not include the renamed user %q", g.Users, after.ID)
		}
	}
	afterDN := find(fetchAll(t, byDN, directory.Filters{}), "ann.lee@example.com")
	if afterDN.Key() == beforeDN.Key() || !strings.HasPrefix(afterDN.Key(), "uid=ann.lee-renamed,") {
		t.Errorf("by DN: the externalId went from %q to %q, want the new DN", beforeDN.Key(), afterDN.Key())
	}
}

// TestOpenLDAPSizeLimit: the service account's size limit cuts an unpaged read short, which must come
// back incomplete; a paged read gets everything.
func TestOpenLDAPSizeLimit(t *testing.T) {
	srv := slapd(t)
	seedSlapd(t, srv, directorytest.Expected(slapdCaps(slapdtest.GroupOfNames)), slapdtest.GroupOfNames)
	if err := srv.SetSizeLimit(t.Context(), 4); err != nil {
		t.Fatal(err)
	}
	base := slapdValues(srv, slapdtest.GroupOfNames)
	snap := fetchAll(t, newSource(t, with(base, "pagedSearch", "false")), directory.Filters{})
	if snap.Completeness.Complete() {
		t.Fatalf("unpaged read over the size limit is complete: %+v", snap.Completeness)
	}
	inc := snap.Completeness.Incomplete()
	if len(inc) != 2 || !strings.Contains(inc[0], "size limit stopped the unpaged search after 4 entries") || !strings.Contains(inc[0], "ldap.pagedSearch") {
		t.Errorf("Incomplete() = %q", inc)
	}
	snap = fetchAll(t, newSource(t, with(base, "pageSize", "3")), directory.Filters{})
	if !snap.Completeness.Complete() || len(snap.Users) != 9 || len(snap.Groups) != 8 {
		t.Errorf("paged read: complete %v, %d users, %d groups; want complete, 9 and 8", snap.Completeness.Complete(), len(snap.Users), len(snap.Groups))
	}
}

// TestOpenLDAPKilledMidRead kills slapd after the first page of users: the read must fail, never come
// back complete and short.
func TestOpenLDAPKilledMidRead(t *testing.T) {
	srv := slapd(t)
	info, err := srv.SeedGenerated(t.Context(), slapdtest.Generated{Users: 2000, Groups: 50})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Restart(context.Background()) })
	base := with(slapdValues(srv, slapdtest.GroupOfNames), "pageSize", "20")
	src := newSource(t, base)
	snap := fetchAll(t, src, directory.Filters{})
	if len(snap.Users) != info.Users || len(snap.Groups) != info.Groups || !snap.Completeness.Complete() {
		t.Fatalf("before the kill: %d users, %d groups, complete %v; want %d and %d", len(snap.Users), len(snap.Groups),
			snap.Completeness.Complete(), info.Users, info.Groups)
	}
	if u, g := snap.Completeness.Reads[0], snap.Completeness.Reads[1]; u.Pages != 100 || g.Pages != 3 {
		t.Errorf("reads took %d and %d pages, want 100 and 3", u.Pages, g.Pages)
	}
	t.Run("cancelled during users", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		src.hookPage = func(what string, page int) {
			if page == 2 {
				cancel()
			}
		}
		defer func() { src.hookPage = nil }()
		snap, err := src.Fetch(ctx, directory.FetchRequest{Users: true, Groups: true})
		if !errors.Is(err, context.Canceled) || snap != nil {
			t.Errorf("Fetch = %v, %v; want context.Canceled and no snapshot", snap != nil, err)
		}
	})
	for _, at := range []string{"users", "groups"} {
		t.Run("during "+at, func(t *testing.T) {
			if !srv.Running() {
				if err := srv.Restart(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			src.hookPage = func(what string, page int) {
				if strings.HasPrefix(what, at) && page == 1 {
					srv.Kill()
				}
			}
			defer func() { src.hookPage = nil }()
			snap, err := src.Fetch(t.Context(), directory.FetchRequest{Users: true, Groups: true})
			switch {
			case err != nil:
				if !errors.Is(err, directory.ErrUnreachable) || !strings.Contains(err.Error(), "broke after") {
					t.Errorf("Fetch = %v, want ErrUnreachable saying where the connection broke", err)
				}
				t.Logf("Fetch = %v", err)
			case snap.Completeness.Complete():
				t.Errorf("Fetch returned a complete snapshot (%d users, %d groups) although slapd died", len(snap.Users), len(snap.Groups))
			}
		})
	}
}

func TestOpenLDAPTLS(t *testing.T) {
	srv := slapd(t)
	seedSlapd(t, srv, directorytest.Expected(slapdCaps(slapdtest.GroupOfNames)), slapdtest.GroupOfNames)
	base := slapdValues(srv, slapdtest.GroupOfNames)
	other, err := testpki.NewCA("not the server's CA", testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	otherCA := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := other.WriteCA(otherCA); err != nil {
		t.Fatal(err)
	}
	tls := strconv.Itoa(srv.TLSPort)
	tests := []struct {
		name  string
		kv    []string
		kinds []error
		want  string
	}{
		{name: "plain"},
		{name: "StartTLS with the CA", kv: []string{"startTls", "true", "tlsCaPath", srv.CAFile}},
		{name: "StartTLS with ssl on too (the Directory Connector's form)", kv: []string{"ssl", "true", "startTls", "true", "tlsCaPath", srv.CAFile}},
		{name: "LDAPS with the CA", kv: []string{"ssl", "true", "port", tls, "sslCaPath", srv.CAFile}},
		{name: "LDAPS by host name", kv: []string{"hostname", "localhost", "ssl", "true", "port", tls, "sslCaPath", srv.CAFile}},
		{name: "LDAPS without verification", kv: []string{"ssl", "true", "port", tls, "sslAllowUnauthorized", "true"}},
		{name: "LDAPS with the wrong CA", kv: []string{"ssl", "true", "port", tls, "sslCaPath", otherCA},
			kinds: []error{directory.ErrConfig, ErrTLS}, want: "not signed by an authority this machine trusts: set ldap.tlsCaPath"},
		{name: "StartTLS with the wrong CA", kv: []string{"startTls", "true", "tlsCaPath", otherCA},
			kinds: []error{ErrTLS}, want: "StartTLS with 127.0.0.1:"},
		{name: "LDAPS on the plain port", kv: []string{"ssl", "true", "sslCaPath", srv.CAFile},
			kinds: []error{ErrTLS}, want: "is this a TLS port?"},
		{name: "StartTLS on the LDAPS port", kv: []string{"startTls", "true", "port", tls, "tlsCaPath", srv.CAFile},
			kinds: []error{ErrTLS}, want: "is this an LDAPS port?"},
		{name: "bad password", kv: []string{"password", "wrong-Pa55"},
			kinds: []error{directory.ErrAuth}, want: "username or password is wrong (LDAP result 49"},
		{name: "unknown bind DN", kv: []string{"username", "cn=nobody,dc=example,dc=test"},
			kinds: []error{directory.ErrAuth}, want: "LDAP result 49"},
		{name: "missing user base", kv: []string{"userPath", "ou=staff"},
			kinds: []error{directory.ErrConfig}, want: `the search base "ou=staff,dc=example,dc=test" does not exist (it comes from ldap.userPath and ldap.rootPath); the closest entry that exists is "dc=example,dc=test"`},
		{name: "missing root", kv: []string{"rootPath", "dc=other,dc=test", "groupPath", ""},
			kinds: []error{directory.ErrConfig}, want: "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, err := newSource(t, with(base, tt.kv...)).Fetch(t.Context(), directory.FetchRequest{Users: true, Groups: true})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Fetch = %v", err)
				}
				if len(snap.Users) != 9 || len(snap.Groups) != 8 || !snap.Completeness.Complete() {
					t.Errorf("read %d users, %d groups, complete %v", len(snap.Users), len(snap.Groups), snap.Completeness.Complete())
				}
				return
			}
			if err == nil {
				t.Fatal("Fetch succeeded, want an error")
			}
			for _, k := range tt.kinds {
				if !errors.Is(err, k) {
					t.Errorf("Fetch = %v, want it to wrap %v", err, k)
				}
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Fetch = %q, want it to contain %q", err, tt.want)
			}
			for _, pw := range []string{srv.ServicePassword, "wrong-Pa55"} {
				if strings.Contains(err.Error(), pw) {
					t.Errorf("the error shows the password: %v", err)
				}
			}
		})
	}
}

// TestOpenLDAPClientCertificate runs a second slapd that demands a client certificate over LDAPS.
func TestOpenLDAPClientCertificate(t *testing.T) {
	skipReal(t, slapdtest.Available())
	srv := slapdtest.StartT(t, slapdtest.Options{TLSVerifyClient: "demand"})
	seedSlapd(t, srv, directorytest.Expected(slapdCaps(slapdtest.GroupOfNames)), slapdtest.GroupOfNames)
	leaf, err := srv.CA.Client(testpki.Options{}, "dirconn")
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath, err := leaf.Write(t.TempDir(), "client", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	base := with(slapdValues(srv, slapdtest.GroupOfNames), "ssl", "true", "port", strconv.Itoa(srv.TLSPort), "sslCaPath", srv.CAFile)

	snap := fetchAll(t, newSource(t, with(base, "sslCertPath", certPath, "sslKeyPath", keyPath)), directory.Filters{})
	if len(snap.Users) != 9 || !snap.Completeness.Complete() {
		t.Errorf("with a client certificate: %d users, complete %v", len(snap.Users), snap.Completeness.Complete())
	}
	_, err = newSource(t, base).Fetch(t.Context(), directory.FetchRequest{Users: true})
	if !errors.Is(err, ErrTLS) || !strings.Contains(err.Error(), "client certificate") {
		t.Errorf("without a client certificate: Fetch = %v, want ErrTLS naming the client certificate", err)
	}
	_, err = newSource(t, with(base, "sslCertPath", certPath, "sslKeyPath", filepath.Join(t.TempDir(), "missing.key"))).Fetch(t.Context(), directory.FetchRequest{Users: true})
	if !errors.Is(err, directory.ErrConfig) || !strings.Contains(err.Error(), "ldap.sslKeyPath") {
		t.Errorf("missing key file: Fetch = %v, want ErrConfig naming ldap.sslKeyPath", err)
	}
}

// TestOpenLDAPFailover: the first host is a dead port, the failover host answers; a bad password on a
// reachable first host does not move on.
func TestOpenLDAPFailover(t *testing.T) {
	srv := slapd(t)
	seedSlapd(t, srv, directorytest.Expected(slapdCaps(slapdtest.GroupOfNames)), slapdtest.GroupOfNames)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	base := slapdValues(srv, slapdtest.GroupOfNames)
	good := "127.0.0.1:" + strconv.Itoa(srv.Port)

	snap := fetchAll(t, newSource(t, with(base, "port", dead, "failoverHosts", "127.0.0.1:"+dead+", "+good)), directory.Filters{})
	if len(snap.Users) != 9 || !snap.Completeness.Complete() {
		t.Errorf("via the failover host: %d users, complete %v", len(snap.Users), snap.Completeness.Complete())
	}

	// A bad password on the first host is final, even with a good failover host.
	_, err = newSource(t, with(base, "password", "wrong", "failoverHosts", good)).Fetch(t.Context(), directory.FetchRequest{Users: true})
	if !errors.Is(err, directory.ErrAuth) {
		t.Errorf("bad password = %v, want ErrAuth", err)
	}

	_, err = newSource(t, with(base, "port", dead, "failoverHosts", "127.0.0.1:"+dead)).Fetch(t.Context(), directory.FetchRequest{Users: true})
	if !errors.Is(err, directory.ErrUnreachable) || !strings.Contains(err.Error(), "no LDAP server could be reached") {
		t.Errorf("all hosts dead = %v, want ErrUnreachable listing them", err)
	}
}

// TestBadFilterRefusedBeforeSearch: a malformed filter fails before any connection (the host is a dead
// port, so reaching the network would give another error).
func TestBadFilterRefusedBeforeSearch(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan bool, 1)
	go func() {
		if c, err := l.Accept(); err == nil {
			accepted <- true
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
	src := newSource(t, directory.Values{"hostname": "127.0.0.1", "port": strconv.Itoa(l.Addr().(*net.TCPAddr).Port),
		"username": "u", "password": "p", "rootPath": "dc=x", "timeout": "2s"})
	for _, f := range []directory.Filters{{User: "(mail=*"}, {Group: "cn=Sales"}} {
		_, err := src.Fetch(t.Context(), directory.FetchRequest{Users: true, Groups: true, Filters: f})
		if !errors.Is(err, directory.ErrFilter) {
			t.Errorf("Fetch(%+v) = %v, want ErrFilter", f, err)
		}
	}
	select {
	case <-accepted:
		t.Error("Fetch connected to the server although the filter is malformed")
	case <-time.After(50 * time.Millisecond):
	}
}
