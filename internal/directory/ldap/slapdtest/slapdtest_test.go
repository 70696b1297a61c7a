package slapdtest

import (
	"bufio"
	"context"
	"crypto/rsa"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory/directorytest"
	"github.com/dirconn/dirconn/internal/testpki"
)

func search(t *testing.T, c *ldap.Conn, base, filter string, attrs ...string) []*ldap.Entry {
	t.Helper()
	r, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		filter, attrs, nil))
	if err != nil {
		t.Fatalf("search %s under %s: %v", filter, base, err)
	}
	return r.Entries
}

func conn(t *testing.T, s *Server) *ldap.Conn {
	t.Helper()
	c, err := s.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func count(t *testing.T, s *Server, base, filter string) int {
	t.Helper()
	n, err := s.Count(t.Context(), base, filter)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAvailable(t *testing.T) {
	if os.Getenv(SkipEnv) == "1" {
		t.Skipf("%s=1", SkipEnv)
	}
	if err := Available(); err != nil {
		t.Fatalf("Available() = %v; the LDAP tests need slapd (make test installs it)", err)
	}
}

func TestBinds(t *testing.T) {
	t.Parallel()
	s := StartT(t, Options{})
	ctx := t.Context()
	if s.Port == s.TLSPort || s.Port < 1024 || s.TLSPort < 1024 {
		t.Errorf("ports %d, %d: want two different high ports", s.Port, s.TLSPort)
	}
	if !strings.HasPrefix(s.Dir, os.TempDir()) {
		t.Errorf("Dir %s is not under %s", s.Dir, os.TempDir())
	}

	t.Run("anonymous", func(t *testing.T) {
		c, err := s.ConnAs(ctx, "", "")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"namingContexts"}, nil))
		if err != nil || len(r.Entries) != 1 || r.Entries[0].GetAttributeValue("namingContexts") != s.BaseDN {
			t.Fatalf("root DSE anonymously: %v, %+v", err, r)
		}
		r, err = c.Search(ldap.NewSearchRequest(s.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", nil, nil))
		if err == nil && len(r.Entries) > 0 {
			t.Errorf("anonymous search of the tree returned %d entries, want none", len(r.Entries))
		}
	})
	t.Run("admin", func(t *testing.T) {
		if got := len(search(t, conn(t, s), s.BaseDN, "(objectClass=*)")); got != 5 {
			t.Errorf("admin sees %d entries, want 5 (base, 3 OUs, service account)", got)
		}
		if _, err := s.ConnAs(ctx, s.AdminDN, "wrong"); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			t.Errorf("bind with a wrong password = %v, want invalidCredentials", err)
		}
	})
	t.Run("service", func(t *testing.T) {
		userDN, err := s.AddUser(ctx, "pat", Attrs{"userPassword": {"Pat-Passw0rd"}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.ServiceConn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		es := search(t, c, s.BaseDN, "(objectClass=*)", "*", "userPassword")
		if len(es) != 6 {
			t.Errorf("service account sees %d entries, want 6", len(es))
		}
		for _, e := range es {
			if v := e.GetAttributeValues("userPassword"); len(v) > 0 && e.DN != s.ServiceDN {
				t.Errorf("service account reads userPassword of %s", e.DN)
			}
		}
		if u, err := s.ConnAs(ctx, userDN, "Pat-Passw0rd"); err != nil {
			t.Errorf("bind as a user with a password: %v", err)
		} else {
			u.Close()
		}
		w, err := c.WhoAmI(nil)
		if err != nil || !strings.EqualFold(strings.TrimPrefix(w.AuthzID, "dn:"), s.ServiceDN) {
			t.Errorf("whoami = %+v, %v; want %s", w, err, s.ServiceDN)
		}
	})
	t.Run("config", func(t *testing.T) {
		c, err := s.ConnAs(ctx, s.ConfigDN, s.AdminPassword)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		es := search(t, c, "cn=config", "(objectClass=olcOverlayConfig)", "olcOverlay")
		if len(es) != 3 {
			t.Errorf("%d overlays, want 3 (memberof twice, refint)", len(es))
		}
	})
	t.Run("ldapi", func(t *testing.T) {
		if s.LDAPIURL == "" {
			t.Skip("no ldapi socket (path too long)")
		}
		c, err := ldap.DialURL(s.LDAPIURL)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.ExternalBind(); err != nil {
			t.Fatalf("SASL EXTERNAL over ldapi: %v", err)
		}
		if len(search(t, c, "cn=config", "(olcDatabase=*)", "olcDatabase")) == 0 {
			t.Error("EXTERNAL over ldapi cannot read cn=config")
		}
	})
}

func TestOperationalAndForeignAttributes(t *testing.T) {
	t.Parallel()
	const extra = `dn: cn=extra,cn=schema,cn=config
objectClass: olcSchemaConfig
cn: extra
olcAttributeTypes: ( 2.16.840.1.113730.3.1.542 NAME 'nsUniqueId' EQUALITY caseIgnoreMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
`
	ctx := t.Context()
	plain := StartT(t, Options{})
	dn, err := plain.AddUser(ctx, "kim", Attrs{"mail": {"Kim@Example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := plain.Entry(ctx, dn, "*")
	if err != nil {
		t.Fatal(err)
	}
	if e.GetAttributeValue("entryUUID") != "" {
		t.Error(`entryUUID came back for "*"; it is operational and should need asking for`)
	}
	e, err = plain.Entry(ctx, dn, "entryUUID", "entryCSN", "createTimestamp")
	if err != nil {
		t.Fatal(err)
	}
	if u := e.GetAttributeValue("entryUUID"); len(u) != 36 {
		t.Errorf("entryUUID = %q, want a UUID", u)
	}
	_, err = plain.AddUser(ctx, "lee", Attrs{"objectClass": {"extensibleObject"}, "nsUniqueId": {"abc"}})
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultUndefinedAttributeType) {
		t.Errorf("nsUniqueId without schema: %v, want undefinedAttributeType", err)
	}

	withSchema := StartT(t, Options{ExtraConfigLDIF: extra})
	dn, err = withSchema.AddUser(ctx, "lee", Attrs{"objectClass": {"extensibleObject"}, "nsUniqueId": {"abc-123"}})
	if err != nil {
		t.Fatal(err)
	}
	if e, err = withSchema.Entry(ctx, dn); err != nil || e.GetAttributeValue("nsUniqueId") != "abc-123" {
		t.Errorf("nsUniqueId with ExtraConfigLDIF: %v, %v", e, err)
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	s := StartT(t, Options{})
	ctx := t.Context()
	other, err := testpki.NewCA("some other CA", testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	otherConf := &tls.Config{RootCAs: other.Pool(), ServerName: "127.0.0.1"}
	caPEM, err := os.ReadFile(s.CAFile)
	if err != nil || !strings.Contains(string(caPEM), "BEGIN CERTIFICATE") {
		t.Fatalf("CAFile %s: %v", s.CAFile, err)
	}

	startTLS := func(conf *tls.Config) error {
		c, err := s.Dial(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.StartTLS(conf); err != nil {
			return err
		}
		return c.Bind(s.ServiceDN, s.ServicePassword)
	}
	ldaps := func(conf *tls.Config) error {
		c, err := ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(conf))
		if err != nil {
			return err
		}
		defer c.Close()
		return c.Bind(s.ServiceDN, s.ServicePassword)
	}
	for _, name := range []string{"127.0.0.1", "localhost"} {
		conf := s.TLSConfig()
		conf.ServerName = name
		if err := startTLS(conf); err != nil {
			t.Errorf("StartTLS verifying %s: %v", name, err)
		}
		if err := ldaps(conf); err != nil {
			t.Errorf("LDAPS verifying %s: %v", name, err)
		}
	}
	if err := startTLS(otherConf); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("StartTLS trusting another CA = %v, want a certificate error", err)
	}
	if err := ldaps(otherConf); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("LDAPS trusting another CA = %v, want a certificate error", err)
	}
	if c, err := s.DialTLS(ctx); err != nil {
		t.Errorf("DialTLS: %v", err)
	} else {
		c.Close()
	}
}

func TestMutualTLSWithRSAKeys(t *testing.T) {
	t.Parallel()
	s := StartT(t, Options{TLSVerifyClient: "demand", RSA: true})
	cert, err := s.ClientCert("connector")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.CA.Cert.PublicKey.(*rsa.PublicKey); !ok {
		t.Errorf("CA key is %T, want RSA", s.CA.Cert.PublicKey)
	}
	try := func(certs ...tls.Certificate) error {
		conf := s.TLSConfig()
		conf.Certificates = certs
		c, err := ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(conf))
		if err != nil {
			return err
		}
		defer c.Close()
		// TLS 1.3 reports a refused client certificate on the first read.
		_, err = c.WhoAmI(nil)
		return err
	}
	if err := try(); err == nil {
		t.Error("LDAPS without a client certificate worked; TLSVerifyClient demand should refuse it")
	}
	if err := try(cert); err != nil {
		t.Errorf("LDAPS with a client certificate from s.CA: %v", err)
	}
	other, _ := testpki.NewCA("other", testpki.Options{})
	foreign, _ := other.Client(testpki.Options{}, "intruder")
	if err := try(foreign.TLS); err == nil {
		t.Error("LDAPS with a client certificate of another CA worked")
	}
}

func TestSizeLimit(t *testing.T) {
	t.Parallel()
	s := StartT(t, Options{})
	ctx := t.Context()
	if _, err := s.SeedGenerated(ctx, Generated{Users: 1200}); err != nil {
		t.Fatal(err)
	}
	req := func() *ldap.SearchRequest {
		return ldap.NewSearchRequest(s.PeopleDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=inetOrgPerson)", []string{"uid"}, nil)
	}
	svc, err := s.ServiceConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	r, err := svc.Search(req())
	if !IsSizeLimitExceeded(err) {
		t.Fatalf("unpaged search of 1200 users as the service account = %v, want sizeLimitExceeded", err)
	}
	if r != nil && len(r.Entries) != 1000 {
		t.Errorf("unpaged search returned %d entries before the limit, want 1000", len(r.Entries))
	}
	for _, page := range []uint32{500, 1000, 2000} {
		r, err = svc.SearchWithPaging(req(), page)
		if err != nil || len(r.Entries) != 1200 {
			t.Errorf("paged (%d) search as the service account: %d entries, %v; want 1200", page, len(r.Entries), err)
		}
	}
	if r, err = conn(t, s).Search(req()); err != nil || len(r.Entries) != 1200 {
		t.Errorf("unpaged search as the rootdn: %v; want 1200 entries", err)
	}

	if err := s.SetSizeLimit(ctx, 5000); err != nil {
		t.Fatal(err)
	}
	if r, err = svc.Search(req()); err != nil || len(r.Entries) != 1200 {
		t.Errorf("unpaged search after SetSizeLimit(5000): %v", err)
	}
	if err := s.SetSizeLimit(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if _, err = svc.Search(req()); !IsSizeLimitExceeded(err) {
		t.Errorf("unpaged search after SetSizeLimit(10) = %v, want sizeLimitExceeded", err)
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.SizeLimit(); got != DefaultSizeLimit {
		t.Errorf("SizeLimit after Reset = %d, want %d", got, DefaultSizeLimit)
	}
}

func TestUnlimited(t *testing.T) {
	t.Parallel()
	s := StartT(t, Options{SizeLimit: -1, MaxPageSize: 500})
	ctx := t.Context()
	if _, err := s.SeedGenerated(ctx, Generated{Users: 1100}); err != nil {
		t.Fatal(err)
	}
	svc, err := s.ServiceConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if got := len(search(t, svc, s.PeopleDN, "(uid=*)", "uid")); got != 1100 {
		t.Errorf("unlimited server: unpaged service search returned %d, want 1100", got)
	}
	req := func() *ldap.SearchRequest {
		return ldap.NewSearchRequest(s.PeopleDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(uid=*)", []string{"uid"}, nil)
	}
	if r, err := svc.SearchWithPaging(req(), 500); err != nil || len(r.Entries) != 1100 {
		t.Errorf("pages of 500 with MaxPageSize 500: %v", err)
	}
	if _, err := svc.SearchWithPaging(req(), 501); !ldap.IsErrorWithCode(err, ldap.LDAPResultAdminLimitExceeded) {
		t.Errorf("pages of 501 with MaxPageSize 500: %v, want adminLimitExceeded", err)
	}
}

// memberOfOnServer reads every memberOf value in the tree, by dataset key.
func memberOfOnServer(t *testing.T, s *Server, seeded Seeded) map[string][]string {
	t.Helper()
	keyOf := map[string]string{}
	for k, dn := range seeded.Users {
		keyOf[strings.ToLower(dn)] = k
	}
	for k, dn := range seeded.Groups {
		keyOf[strings.ToLower(dn)] = k
	}
	got := map[string][]string{}
	for _, e := range search(t, conn(t, s), s.BaseDN, "(memberOf=*)", "memberOf") {
		k, ok := keyOf[strings.ToLower(e.DN)]
		if !ok {
			t.Errorf("memberOf on %s, which the seed did not write", e.DN)
			continue
		}
		v := e.GetAttributeValues("memberOf")
		slices.Sort(v)
		got[k] = v
	}
	return got
}

func TestSeedDataset(t *testing.T) {
	t.Parallel()
	fixture := directorytest.Fixture()
	for _, tc := range []struct {
		name string
		o    SeedOptions
		// what the fixture becomes
		users, groups, memberValues int
		memberOf                    bool
	}{
		// 12 users - eve (deleted) - dan, jo (disabled) = 9; 8 groups - empty - alumni (only eve) = 6.
		// members: staff gail+eng, eng ann+backend, backend 3, ops hana+oncall, oncall ivan+ops,
		// partners finn sam1 ghost = 2+2+3+2+2+3.
		{"groupOfNames", SeedOptions{}, 9, 6, 14, true},
		{"groupOfUniqueNames", SeedOptions{GroupStyle: GroupOfUniqueNames}, 9, 6, 14, true},
		// posixGroup: no nesting (4 edges dropped), empty groups are fine.
		{"posixGroup", SeedOptions{GroupStyle: PosixGroup}, 9, 8, 10, false},
		{"posixGroup memberOf", SeedOptions{GroupStyle: PosixGroup, MemberOf: MemberOfAll}, 9, 8, 10, true},
		{"groupOfNames offline", SeedOptions{Offline: true}, 9, 6, 14, true},
		{"groupOfNames no memberOf", SeedOptions{MemberOf: MemberOfNone}, 9, 6, 14, false},
		// disabled users kept: dan in eng, alumni still only eve -> 11 users, 6 groups, 15 members.
		{"disabled marked", SeedOptions{Disabled: "employeeType: disabled"}, 11, 6, 15, true},
		// placeholders: Empty Group and Alumni written with member: "" (not counted).
		{"empty placeholder", SeedOptions{EmptyGroups: EmptyGroupsPlaceholder}, 9, 8, 14, true},
		{"uniqueMember empty placeholder", SeedOptions{GroupStyle: GroupOfUniqueNames, EmptyGroups: EmptyGroupsPlaceholder}, 9, 8, 14, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := StartT(t, Options{})
			ctx := t.Context()
			seeded, err := s.SeedDataset(ctx, fixture, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			style := tc.o.GroupStyle
			if len(seeded.Users) != tc.users || len(seeded.Groups) != tc.groups || seeded.MemberValues != tc.memberValues {
				t.Errorf("Seeded: %d users, %d groups, %d member values; want %d, %d, %d (skipped %v %v, dropped %v)",
					len(seeded.Users), len(seeded.Groups), seeded.MemberValues, tc.users, tc.groups, tc.memberValues,
					seeded.SkippedUsers, seeded.SkippedGroups, seeded.Dropped)
			}
			if got := count(t, s, s.PeopleDN, "(objectClass=inetOrgPerson)"); got != tc.users {
				t.Errorf("%d users on the server, want %d", got, tc.users)
			}
			if got := count(t, s, s.GroupsDN, "(objectClass="+style.ObjectClass()+")"); got != tc.groups {
				t.Errorf("%d %s groups on the server, want %d", got, style, tc.groups)
			}
			c := conn(t, s)
			total := 0
			for _, e := range search(t, c, s.GroupsDN, "(objectClass=*)", style.MemberAttr()) {
				for _, v := range e.GetAttributeValues(style.MemberAttr()) {
					if v != "" {
						total++
					}
				}
			}
			if total != tc.memberValues {
				t.Errorf("%d %s values on the server, want %d", total, style.MemberAttr(), tc.memberValues)
			}

			// memberOf: exactly what Seeded says, and that is what the fixture implies.
			got := memberOfOnServer(t, s, seeded)
			if diff := cmp.Diff(seeded.MemberOf, got); diff != "" {
				t.Errorf("memberOf on the server differs from Seeded.MemberOf (-want +got):\n%s", diff)
			}
			bob := got["bob"]
			switch {
			case tc.memberOf && !slices.Equal(bob, []string{seeded.Groups["backend"]}):
				t.Errorf("bob's memberOf = %q, want the Backend group", bob)
			case !tc.memberOf && len(got) > 0:
				t.Errorf("memberOf values %v, want none", got)
			}
			if tc.memberOf && style != PosixGroup {
				if !slices.Contains(got["eng"], seeded.Groups["staff"]) || !slices.Contains(got["ops"], seeded.Groups["oncall"]) ||
					!slices.Contains(got["oncall"], seeded.Groups["ops"]) {
					t.Errorf("nested memberOf: eng %q, ops %q, oncall %q", got["eng"], got["ops"], got["oncall"])
				}
			}

			// The mixed-case email keeps its spelling and its spaces.
			e, err := s.Entry(ctx, seeded.Users["gail"], "mail")
			if err != nil || e.GetAttributeValue("mail") != "  Gail.Park@Example.COM  " {
				t.Errorf("gail's mail = %q, %v", e.GetAttributeValue("mail"), err)
			}
			if e, err := s.Entry(ctx, seeded.Users["finn"], "mail", "uid"); err != nil || len(e.GetAttributeValues("mail")) != 0 ||
				e.GetAttributeValue("uid") != "finn.obi" {
				t.Errorf("finn: %v, %v", e, err)
			}
			// The dangling member is a reference to nothing.
			partners, err := s.Entry(ctx, seeded.Groups["partners"], style.MemberAttr())
			if err != nil {
				t.Fatal(err)
			}
			if want := seeded.Dangling[directorytest.DanglingKey]; want == "" || !slices.Contains(partners.GetAttributeValues(style.MemberAttr()), want) {
				t.Errorf("Partners %s = %q, want the dangling %q", style.MemberAttr(), partners.GetAttributeValues(style.MemberAttr()), want)
			}
			switch tc.name {
			case "posixGroup":
				backend, _ := s.Entry(ctx, seeded.Groups["backend"], "memberUid", "gidNumber")
				if v := backend.GetAttributeValues("memberUid"); !slices.Equal(v, []string{"bob.stone", "cara.diaz", "sroy"}) ||
					backend.GetAttributeValue("gidNumber") == "" {
					t.Errorf("Backend memberUid %q gidNumber %q", v, backend.GetAttributeValue("gidNumber"))
				}
				if len(seeded.Dropped) != 4+2 { // 4 nesting edges, dan in Engineering, eve in Alumni
					t.Errorf("Dropped = %q", seeded.Dropped)
				}
			case "disabled marked":
				if e, _ := s.Entry(ctx, seeded.Users["dan"], "employeeType"); e.GetAttributeValue("employeeType") != "disabled" {
					t.Errorf("dan's employeeType = %q", e.GetAttributeValue("employeeType"))
				}
			}
			if tc.o.EmptyGroups == EmptyGroupsPlaceholder {
				e, _ := s.Entry(ctx, seeded.Groups["empty"], style.MemberAttr())
				if v := e.GetAttributeValues(style.MemberAttr()); len(v) != 1 || v[0] != "" {
					t.Errorf("Empty Group %s = %q, want one empty DN", style.MemberAttr(), v)
				}
			}
		})
	}
}

func TestSeedDatasetExpectedAndEscaping(t *testing.T) {
	t.Parallel()
	s := StartT(t, Options{})
	ctx := t.Context()
	caps := directorytest.Caps{UserWithoutEmail: true, DuplicateEmail: true, NestedGroups: true, GroupCycles: true, DanglingMember: true}
	seeded, err := s.SeedDataset(ctx, directorytest.Expected(caps), SeedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(seeded.SkippedUsers)+len(seeded.SkippedGroups)+len(seeded.Dropped) != 0 {
		t.Errorf("Expected(caps) needed skipping: %v %v %v", seeded.SkippedUsers, seeded.SkippedGroups, seeded.Dropped)
	}
	// Names that need escaping in DNs: Seeded's DNs are the strings the server returns.
	ds := directorytest.Dataset{
		Users: []directorytest.DatasetUser{
			{Key: "x", Username: "o'brien, pat+1", Email: "pat@example.com", Name: "Pat O'Brien"},
			{Key: "y", Username: "Zoë", Email: "zoe@example.com"},
		},
		Groups: []directorytest.DatasetGroup{
			{Key: "g", Name: "R&D, Europe", Users: []string{"x", "y"}},
			{Key: "h", Name: " #lead=1 ", Groups: []string{"g"}},
			// A cycle of groups without users: one of them is added with a placeholder first.
			{Key: "c1", Name: "cycle 1", Groups: []string{"c2"}},
			{Key: "c2", Name: "cycle 2", Groups: []string{"c1"}},
		},
	}
	for _, style := range []GroupStyle{GroupOfNames, GroupOfUniqueNames} {
		for _, offline := range []bool{false, true} {
			if err := s.Reset(ctx); err != nil {
				t.Fatal(err)
			}
			seeded, err = s.SeedDataset(ctx, ds, SeedOptions{GroupStyle: style, Offline: offline})
			if err != nil {
				t.Fatal(err)
			}
			c := conn(t, s) // an offline seed restarts slapd
			for _, dn := range []string{seeded.Users["x"], seeded.Users["y"], seeded.Groups["g"], seeded.Groups["h"]} {
				r, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
					"(objectClass=*)", []string{"1.1"}, nil))
				if err != nil || len(r.Entries) != 1 || r.Entries[0].DN != dn {
					t.Errorf("%s offline=%v: read %q: %v; server DNs %v", style, offline, dn, err, r)
				}
			}
			if got := memberOfOnServer(t, s, seeded); !slices.Equal(got["x"], []string{seeded.Groups["g"]}) ||
				!slices.Equal(got["g"], []string{seeded.Groups["h"]}) || !slices.Equal(got["c1"], []string{seeded.Groups["c2"]}) ||
				!slices.Equal(got["c2"], []string{seeded.Groups["c1"]}) {
				t.Errorf("%s offline=%v: memberOf = %q", style, offline, got)
			}
			for _, k := range []string{"c1", "c2"} {
				e, _ := s.Entry(ctx, seeded.Groups[k], style.MemberAttr())
				if v := e.GetAttributeValues(style.MemberAttr()); len(v) != 1 || v[0] == "" {
					t.Errorf("%s offline=%v: %s %s = %q, want the other cycle group only", style, offline, k, style.MemberAttr(), v)
				}
			}
		}
	}
	if _, err := s.SeedDataset(ctx, ds, SeedOptions{}); err == nil {
		t.Error("seeding the same DNs twice worked")
	}
}

func TestSeedGenerated(t *testing.T) {
	t.Parallel()
	s := StartT(t, Options{})
	ctx := t.Context()
	t0 := time.Now()
	info, err := s.SeedGenerated(ctx, Generated{Users: 2000})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("2,000 users, %d groups, %d member values in %v", info.Groups, info.MemberValues, time.Since(t0))
	if time.Since(t0) > 10*time.Second {
		t.Errorf("SeedGenerated(2000) took %v", time.Since(t0))
	}
	if info.Users != 2000 || info.Groups != 100 || info.NestedGroups != 5 || info.GroupMembers != 5 ||
		info.UserMembers < 6000 || info.UserMembers > 8000 || info.MemberValues != info.UserMembers+5 {
		t.Errorf("info = %+v", info)
	}
	if got := count(t, s, "", "(objectClass=*)"); got != info.Entries {
		t.Errorf("%d entries, want %d", got, info.Entries)
	}
	if got := count(t, s, s.PeopleDN, "(objectClass=inetOrgPerson)"); got != 2000 {
		t.Errorf("%d users", got)
	}
	if got := count(t, s, s.GroupsDN, "(objectClass=groupOfNames)"); got != 100 {
		t.Errorf("%d groups", got)
	}
	c := conn(t, s)
	members := 0
	for _, e := range search(t, c, s.GroupsDN, "(objectClass=groupOfNames)", "member") {
		members += len(e.GetAttributeValues("member"))
	}
	memberOf, nested := 0, 0
	for _, e := range search(t, c, s.BaseDN, "(memberOf=*)", "memberOf", "objectClass") {
		n := len(e.GetAttributeValues("memberOf"))
		memberOf += n
		if slices.Contains(e.GetAttributeValues("objectClass"), "groupOfNames") {
			nested++
		} else if n < 3 || n > 4 {
			t.Errorf("%s is in %d groups, want 3 or 4", e.DN, n)
		}
	}
	if members != info.MemberValues || memberOf != info.MemberOfValues || nested != info.NestedGroups {
		t.Errorf("server: %d member, %d memberOf values, %d nested groups; info %+v", members, memberOf, nested, info)
	}
	e, err := s.Entry(ctx, info.UserDN(1), "uid", "mail", "entryUUID")
	if err != nil || e.GetAttributeValue("uid") != "u000001" || e.GetAttributeValue("mail") != "u000001@example.test" ||
		e.GetAttributeValue("entryUUID") == "" {
		t.Errorf("user 1: %v %v", e, err)
	}
	// Online changes after an offline load go through the overlay again.
	if _, err := s.AddGroup(ctx, "late", GroupOfNames, []string{info.UserDN(7)}, nil); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Entry(ctx, info.UserDN(7), "memberOf"); len(e.GetAttributeValues("memberOf")) < 4 {
		t.Errorf("memberOf of user 7 after AddGroup: %q", e.GetAttributeValues("memberOf"))
	}
}

func TestKillRestart(t *testing.T) {
	t.Parallel()
	s := StartT(t, Options{})
	ctx := t.Context()
	if _, err := s.AddUser(ctx, "survivor", nil); err != nil {
		t.Fatal(err)
	}
	c, err := s.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pid := s.PID()
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if s.Running() {
		t.Fatal("still running after Kill")
	}
	if _, err := c.Search(ldap.NewSearchRequest(s.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", nil, nil)); err == nil {
		t.Error("a search on a connection opened before Kill worked")
	}
	if _, err := s.Count(ctx, "", "(objectClass=*)"); err == nil {
		t.Error("a search after Kill worked")
	}
	if err := s.Kill(); err != nil {
		t.Errorf("second Kill: %v", err)
	}
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if s.PID() == pid || s.PID() == 0 {
		t.Errorf("pid %d after Restart (was %d)", s.PID(), pid)
	}
	if got := count(t, s, s.PeopleDN, "(uid=survivor)"); got != 1 {
		t.Errorf("the user added before Kill: %d after Restart", got)
	}
	if err := s.Restart(ctx); err != nil {
		t.Fatalf("Restart of a running server: %v", err)
	}
}

func TestResetAndStop(t *testing.T) {
	t.Parallel()
	s := StartT(t, Options{})
	ctx := t.Context()
	if _, err := s.SeedDataset(ctx, directorytest.Fixture(), SeedOptions{}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("Reset in %v", time.Since(t0))
	if got := count(t, s, "", "(objectClass=*)"); got != 5 {
		t.Errorf("%d entries after Reset, want 5", got)
	}
	if c, err := s.ServiceConn(ctx); err != nil {
		t.Errorf("service bind after Reset: %v", err)
	} else {
		c.Close()
	}
	// The fixture seeds again into the reset tree.
	if _, err := s.SeedDataset(ctx, directorytest.Fixture(), SeedOptions{}); err != nil {
		t.Errorf("seed after Reset: %v", err)
	}

	dir := s.Dir
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Dir %s after Stop: %v", dir, err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if err := s.Restart(ctx); err == nil {
		t.Error("Restart after Stop worked")
	}
}

func TestOwnDirAndPorts(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "srv")
	ports, tlsPort, err := freePorts(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := StartT(t, Options{Dir: dir, Port: ports, TLSPort: tlsPort, BaseDN: "o=Acme Corp", AdminPassword: "pw"})
	if s.Dir != dir || s.Port != ports || s.TLSPort != tlsPort || s.AdminDN != "cn=admin,o=Acme Corp" {
		t.Errorf("server %+v", s)
	}
	if got := count(t, s, "", "(objectClass=*)"); got != 5 {
		t.Errorf("%d entries", got)
	}
	// A second server on the same ports fails with slapd's own words.
	_, err = Start(t.Context(), Options{Port: ports, TLSPort: tlsPort})
	if err == nil || !strings.Contains(err.Error(), "Address already in use") {
		t.Errorf("second server on the same ports: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("a given Dir must stay after Stop: %v", err)
	}
}

func TestAddLDIF(t *testing.T) {
	t.Parallel()
	s := StartT(t, Options{})
	ctx := t.Context()
	ldif := `version: 1
# a comment
dn: uid=ann,` + s.PeopleDN + `
objectClass: inetOrgPerson
uid: ann
cn: Ann
  Lee
sn: Lee
mail:: ICBBbm4uTGVlQEV4YW1wbGUuY29tIA==

dn: uid=bob,` + s.PeopleDN + `
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: Stone

dn: cn=a,` + s.GroupsDN + `
objectClass: groupOfNames
cn: a
member: uid=ann,` + s.PeopleDN + `

dn: cn=b,` + s.GroupsDN + `
objectClass: groupOfNames
cn: b
member: cn=a,` + s.GroupsDN + `

dn: cn=a,` + s.GroupsDN + `
changetype: modify
add: member
member: cn=b,` + s.GroupsDN + `
member: uid=bob,` + s.PeopleDN + `
-
`
	if err := s.AddLDIF(ctx, ldif); err != nil {
		t.Fatal(err)
	}
	e, err := s.Entry(ctx, "uid=ann,"+s.PeopleDN, "cn", "mail", "memberOf")
	if err != nil {
		t.Fatal(err)
	}
	if e.GetAttributeValue("cn") != "Ann Lee" || e.GetAttributeValue("mail") != "  Ann.Lee@Example.com " ||
		!slices.Equal(e.GetAttributeValues("memberOf"), []string{"cn=a," + s.GroupsDN}) {
		t.Errorf("ann: %q %q %q", e.GetAttributeValue("cn"), e.GetAttributeValue("mail"), e.GetAttributeValues("memberOf"))
	}
	a, _ := s.Entry(ctx, "cn=a,"+s.GroupsDN, "memberOf")
	if !slices.Equal(a.GetAttributeValues("memberOf"), []string{"cn=b," + s.GroupsDN}) {
		t.Errorf("cycle: a memberOf %q", a.GetAttributeValues("memberOf"))
	}
	// refint: deleting bob removes him from a.
	if err := s.AddLDIF(ctx, "dn: uid=bob,"+s.PeopleDN+"\nchangetype: delete\n"); err != nil {
		t.Fatal(err)
	}
	a, _ = s.Entry(ctx, "cn=a,"+s.GroupsDN, "member")
	if slices.Contains(a.GetAttributeValues("member"), "uid=bob,"+s.PeopleDN) {
		t.Errorf("refint did not remove the deleted member: %q", a.GetAttributeValues("member"))
	}
	err = s.AddLDIF(ctx, "dn: cn=x,"+s.GroupsDN+"\nobjectClass: groupOfNames\ncn: x\n")
	if err == nil || !strings.Contains(err.Error(), "line 1") || !ldap.IsErrorWithCode(err, ldap.LDAPResultObjectClassViolation) {
		t.Errorf("group without member: %v, want an objectClassViolation naming line 1", err)
	}
}

func TestLDIFRoundTrip(t *testing.T) {
	e := entry{dn: "cn=Zoë,dc=x"}
	e.add("cn", "Zoë")
	e.add("mail", "  spaced  ")
	e.add("description", ":colon", "<angle", "plain value", "")
	var b strings.Builder
	w := bufio.NewWriter(&b)
	writeEntry(w, e)
	w.Flush()
	recs, err := parseLDIF(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].dn != e.dn || !cmp.Equal(recs[0].attrs, e.attrs, cmp.AllowUnexported(attr{})) {
		t.Errorf("round trip of\n%s\ngave %+v", b.String(), recs)
	}
	for _, bad := range []string{"cn: x\n", "dn: a\nchangetype: frob\n", "dn: a\ncontrol: 1.2.3\n", "dn: a\nchangetype: modify\nadd: cn\nsn: y\n"} {
		if _, err := parseLDIF(bad); err == nil {
			t.Errorf("parseLDIF(%q) = nil error", bad)
		}
	}
}

func TestEscapeRDNValue(t *testing.T) {
	for in, want := range map[string]string{
		"plain":           "plain",
		"grp, with comma": `grp\2C with comma`,
		`a+b"c\d<e>f;g=h`: `a\2Bb\22c\5Cd\3Ce\3Ef\3Bg\3Dh`,
		" #x# ":           `\20#x#\20`,
		"#lead":           `\23lead`,
		"Zoë Łukasz":      "Zoë Łukasz",
	} {
		if got := EscapeRDNValue(in); got != want {
			t.Errorf("EscapeRDNValue(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStartTSkips runs TestStartTHelper in a child process with DIRCONN_SKIP_REAL_SERVERS=1.
func TestStartTSkips(t *testing.T) {
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run", "^TestStartTHelper$", "-test.v")
	cmd.Env = append(os.Environ(), SkipEnv+"=1", "SLAPDTEST_HELPER=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- SKIP: TestStartTHelper") ||
		!strings.Contains(string(out), SkipEnv+"=1") {
		t.Errorf("StartT with %s=1: %v\n%s", SkipEnv, err, out)
	}
}

func TestStartTHelper(t *testing.T) {
	if os.Getenv("SLAPDTEST_HELPER") != "1" {
		t.Skip("helper of TestStartTSkips")
	}
	StartT(t, Options{})
	t.Error("StartT returned with " + SkipEnv + "=1")
}

func TestStartRespectsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if s, err := Start(ctx, Options{}); err == nil {
		s.Stop()
		t.Error("Start with a cancelled context worked")
	}
}

func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		s, err := Start(b.Context(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		s.Stop()
	}
}

func BenchmarkReset(b *testing.B) {
	s := StartT(b, Options{Logf: func(string, ...any) {}})
	for b.Loop() {
		if err := s.Reset(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSeedGenerated(b *testing.B) {
	for _, n := range []int{10000, 50000} {
		b.Run(fmt.Sprintf("%dusers", n), func(b *testing.B) {
			s := StartT(b, Options{Logf: func(string, ...any) {}})
			for b.Loop() {
				if _, err := s.SeedGenerated(b.Context(), Generated{Users: n}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
