package sambatest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/dirconn/dirconn/internal/directory/directorytest"
	"github.com/dirconn/dirconn/internal/testpki"
)

// TestDC runs one DC for every check that can share it (a start costs about a second, but only one DC
// can run at a time).
func TestDC(t *testing.T) {
	s := StartT(t, Options{})
	ctx := t.Context()

	t.Run("Binds", func(t *testing.T) { testBinds(t, s, true) })
	t.Run("TLS", func(t *testing.T) { testTLS(t, s) })
	t.Run("LockQueuesSecondStart", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		s2, err := Start(ctx, Options{})
		if err == nil {
			s2.Stop()
			t.Fatal("a second Start while a DC runs succeeded")
		}
		want := fmt.Sprintf("held by pid %d", os.Getpid())
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), want) {
			t.Errorf("second Start: %v, want a deadline error naming %q", err, want)
		}
	})

	t0 := time.Now()
	sd, err := s.SeedDataset(ctx, directorytest.Fixture(), SeedOptions{BigGroup: 2000})
	if err != nil {
		t.Fatalf("SeedDataset: %v", err)
	}
	t.Logf("SeedDataset(fixture, BigGroup 2000) took %.1fs", time.Since(t0).Seconds())
	c, err := s.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Run("Seeded", func(t *testing.T) { testSeeded(t, s, c, sd) })
	t.Run("Tombstone", func(t *testing.T) { testTombstone(t, s, c, sd) })
	t.Run("Ranges", func(t *testing.T) { testRanges(t, c, sd) })
	t.Run("SeedTwiceFails", func(t *testing.T) {
		if _, err := s.SeedDataset(ctx, directorytest.Fixture(), SeedOptions{}); err == nil || !strings.Contains(err.Error(), "Reset") {
			t.Errorf("second SeedDataset: %v, want an error telling to Reset", err)
		}
	})

	t.Run("Reset", func(t *testing.T) {
		t0 := time.Now()
		if err := s.Reset(ctx); err != nil {
			t.Fatalf("Reset: %v", err)
		}
		t.Logf("Reset took %.1fs", time.Since(t0).Seconds())
		c, err := s.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.Search(ldap.NewSearchRequest(sd.OU, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"1.1"}, nil))
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			t.Errorf("search %s after Reset: %v, want noSuchObject", sd.OU, err)
		}
		if ts := searchAll(t, c, "CN=Deleted Objects,"+s.BaseDN, ldap.ScopeSingleLevel, "(isDeleted=TRUE)",
			ldap.NewControlMicrosoftShowDeleted()); len(ts) != 0 {
			t.Errorf("%d tombstones after Reset (%s...), want 0", len(ts), ts[0].DN)
		}
		// Seeding again restores the big group's snapshot (the domain is untouched after Reset).
		t0 = time.Now()
		sd2, err := s.SeedDataset(ctx, directorytest.Fixture(), SeedOptions{BigGroup: 2000})
		if err != nil {
			t.Fatalf("SeedDataset after Reset: %v", err)
		}
		t.Logf("SeedDataset after Reset took %.1fs", time.Since(t0).Seconds())
		c2, err := s.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		testSeeded(t, s, c2, sd2)
		testRanges(t, c2, sd2)
	})
}

// testBinds binds as Administrator by DN, UPN and down-level name over LDAPS, StartTLS and, when
// plainOK, plain LDAP; and checks that a wrong password fails with invalidCredentials.
func testBinds(t *testing.T, s *Server, plainOK bool) {
	ctx := t.Context()
	transports := []struct {
		name string
		dial func() (*ldap.Conn, error)
	}{
		{"LDAPS", func() (*ldap.Conn, error) { return s.dialLDAPS(ctx, s.TLSConfig()) }},
		{"StartTLS", func() (*ldap.Conn, error) {
			c, err := dialLDAP(ctx)
			if err != nil {
				return nil, err
			}
			if err := c.StartTLS(s.TLSConfig()); err != nil {
				c.Close()
				return nil, err
			}
			return c, nil
		}},
		{"LDAP", func() (*ldap.Conn, error) { return dialLDAP(ctx) }},
	}
	for _, tr := range transports {
		for _, name := range []string{s.AdminDN, s.AdminUPN, s.AdminDownLevel} {
			t.Run(tr.name+"/"+name, func(t *testing.T) {
				c, err := tr.dial()
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				err = c.Bind(name, s.AdminPassword)
				if tr.name == "LDAP" && !plainOK {
					if !ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired) {
						t.Fatalf("simple bind over plain LDAP with strong auth required: %v, want strongerAuthRequired (8)", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("bind: %v", err)
				}
				// Samba has no WhoAmI; anonymous reads beyond the rootDSE fail, so a read shows the bind.
				if got := searchAll(t, c, s.AdminDN, ldap.ScopeBaseObject, "(objectClass=user)"); len(got) != 1 {
					t.Errorf("read %s after bind: %d entries", s.AdminDN, len(got))
				}
				if err := c.Bind(name, "wrong-"+s.AdminPassword); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
					t.Errorf("bind with a wrong password: %v, want invalidCredentials (49)", err)
				}
			})
		}
	}
}

// testTLS checks the certificate's names and that a client trusting another CA fails.
func testTLS(t *testing.T, s *Server) {
	ctx := t.Context()
	for _, name := range []string{"127.0.0.1", "localhost", s.DCFQDN} {
		cfg := s.TLSConfig()
		cfg.ServerName = name
		c, err := s.dialLDAPS(ctx, cfg)
		if err != nil {
			t.Errorf("LDAPS with server name %s: %v", name, err)
			continue
		}
		c.Close()
	}
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if pool := x509.NewCertPool(); !pool.AppendCertsFromPEM(pem) {
		t.Errorf("CAFile %s holds no certificate", s.CAFile)
	}
	other, err := testpki.NewCA("another CA", testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wrong := &tls.Config{RootCAs: other.Pool(), ServerName: "127.0.0.1"}
	var unknown x509.UnknownAuthorityError
	if c, err := s.dialLDAPS(ctx, wrong); err == nil {
		c.Close()
		t.Error("LDAPS trusting another CA succeeded")
	} else if !errors.As(err, &unknown) {
		t.Errorf("LDAPS trusting another CA: %v, want an unknown authority error", err)
	}
	c, err := dialLDAP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// go-ldap flattens the handshake error into its message.
	if err := c.StartTLS(wrong); err == nil {
		t.Error("StartTLS trusting another CA succeeded")
	} else if !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("StartTLS trusting another CA: %v, want an unknown authority error", err)
	}
}

func testSeeded(t *testing.T, s *Server, c *ldap.Conn, sd Seeded) {
	fx := directorytest.Fixture()
	users := entriesBy(searchAll(t, c, sd.UsersOU, ldap.ScopeWholeSubtree, "(&(objectCategory=person)(objectClass=user))"), "sAMAccountName")
	live := 0
	for _, u := range fx.Users {
		if !u.Deleted {
			live++
		}
	}
	if len(users) != live {
		t.Errorf("%d users under %s, want %d (the fixture's live users)", len(users), sd.UsersOU, live)
	}
	groups := entriesBy(searchAll(t, c, sd.GroupsOU, ldap.ScopeWholeSubtree, "(objectClass=group)"), "cn")
	if len(groups) != len(fx.Groups) {
		t.Errorf("%d groups under %s, want %d", len(groups), sd.GroupsOU, len(fx.Groups))
	}
	for _, u := range fx.Users {
		obj, ok := sd.Users[u.Key]
		if !ok {
			t.Errorf("Seeded.Users has no %q", u.Key)
			continue
		}
		if u.Deleted {
			if !obj.Deleted || users[u.Username] != nil {
				t.Errorf("deleted user %s: seeded %+v, live entry %v", u.Key, obj, users[u.Username] != nil)
			}
			continue
		}
		e := users[u.Username]
		if e == nil {
			t.Errorf("user %s (%s) not found", u.Key, u.Username)
			continue
		}
		if e.DN != obj.DN {
			t.Errorf("user %s: DN %q, Seeded says %q", u.Key, e.DN, obj.DN)
		}
		if g, _ := FormatGUID(e.GetRawAttributeValue("objectGUID")); g != obj.GUID {
			t.Errorf("user %s: objectGUID %s, Seeded says %s", u.Key, g, obj.GUID)
		}
		if got := e.GetAttributeValue("mail"); got != u.Email {
			t.Errorf("user %s: mail %q, want %q", u.Key, got, u.Email)
		}
		uac, _ := strconv.Atoi(e.GetAttributeValue("userAccountControl"))
		if disabled := uac&2 != 0; disabled != u.Disabled {
			t.Errorf("user %s: userAccountControl %d, disabled %v, want %v", u.Key, uac, disabled, u.Disabled)
		}
	}
	disabled := searchAll(t, c, sd.UsersOU, ldap.ScopeWholeSubtree, "(userAccountControl:1.2.840.113556.1.4.803:=2)")
	if got := sortedValues(disabled, "sAMAccountName"); !slices.Equal(got, []string{"dan.ek", "jo.kim"}) {
		t.Errorf("disabled users %v, want [dan.ek jo.kim]", got)
	}
	if len(users["finn.obi"].GetAttributeValues("mail")) != 0 {
		t.Errorf("finn.obi has mail %v, want none", users["finn.obi"].GetAttributeValues("mail"))
	}

	members := func(key string) []string {
		e := groups[fxGroupName(key)]
		if e == nil {
			t.Fatalf("group %s not found", key)
		}
		var out []string
		for _, dn := range e.GetAttributeValues("member") {
			out = append(out, strings.ToLower(dn))
		}
		slices.Sort(out)
		return out
	}
	dn := func(objs map[string]Object, keys ...string) []string {
		var out []string
		for _, k := range keys {
			out = append(out, strings.ToLower(objs[k].DN))
		}
		slices.Sort(out)
		return out
	}
	// The cycle: Operations and On Call list each other.
	if got, want := members("ops"), append(dn(sd.Users, "hana"), dn(sd.Groups, "oncall")...); !sameSet(got, want) {
		t.Errorf("Operations members %v, want %v", got, want)
	}
	if got, want := members("oncall"), append(dn(sd.Users, "ivan"), dn(sd.Groups, "ops")...); !sameSet(got, want) {
		t.Errorf("On Call members %v, want %v", got, want)
	}
	// AD's in-chain matching rule walks the nesting, and the cycle, for us.
	inChain := searchAll(t, c, sd.UsersOU, ldap.ScopeWholeSubtree,
		"(memberOf:1.2.840.113556.1.4.1941:="+ldap.EscapeFilter(sd.Groups["staff"].DN)+")")
	if got := sortedValues(inChain, "sAMAccountName"); !slices.Equal(got, []string{"ann.lee", "bob.stone", "cara.diaz", "dan.ek", "gail.park", "sroy"}) {
		t.Errorf("users in the chain of Staff: %v", got)
	}
	inChain = searchAll(t, c, sd.UsersOU, ldap.ScopeWholeSubtree,
		"(memberOf:1.2.840.113556.1.4.1941:="+ldap.EscapeFilter(sd.Groups["ops"].DN)+")")
	if got := sortedValues(inChain, "sAMAccountName"); !slices.Equal(got, []string{"hana.ito", "ivan.petrov"}) {
		t.Errorf("users in the chain of Operations (a cycle): %v", got)
	}
	// The empty group has no member attribute at all.
	if e := groups[fxGroupName("empty")]; e == nil || len(e.GetAttributeValues("member")) != 0 {
		t.Errorf("Empty Group: %v", e)
	}
	// Partners: the dangling "ghost" is left out; AD refuses a member that names no object.
	if got, want := members("partners"), dn(sd.Users, "finn", "sam1"); !sameSet(got, want) {
		t.Errorf("Partners members %v, want %v", got, want)
	}
	if !slices.Equal(sd.Dangling, []string{directorytest.DanglingKey}) {
		t.Errorf("Seeded.Dangling = %v", sd.Dangling)
	}
	mod := ldap.NewModifyRequest(sd.Groups["partners"].DN, nil)
	mod.Add("member", []string{"CN=ghost," + sd.UsersOU})
	if err := c.Modify(mod); err == nil {
		t.Error("AD accepted a member DN that names no object")
	} else {
		t.Logf("a dangling member is refused: %v", err)
	}
	// Alumni listed the deleted user; AD dropped the link when the user was deleted.
	if got := members("alumni"); len(got) != 0 {
		t.Errorf("Alumni members %v after its member was deleted, want none", got)
	}
	if !slices.Equal(sd.DeletedMemberships, []string{"alumni/eve"}) {
		t.Errorf("Seeded.DeletedMemberships = %v", sd.DeletedMemberships)
	}
	for k, obj := range sd.Groups {
		if g, _ := FormatGUID(groups[fxGroupName(k)].GetRawAttributeValue("objectGUID")); g != obj.GUID {
			t.Errorf("group %s: objectGUID %s, Seeded says %s", k, g, obj.GUID)
		}
	}
	// Built-in accounts stay out of the seed OU, and the big group is apart from the fixture.
	if users["administrator"] != nil || users["big-00001"] != nil {
		t.Error("the seed's Users OU holds a built-in or a big-group account")
	}
}

func testTombstone(t *testing.T, s *Server, c *ldap.Conn, sd Seeded) {
	eve := sd.Users["eve"]
	if !eve.Deleted || !strings.Contains(eve.DN, "CN=Deleted Objects,") {
		t.Fatalf("Seeded eve = %+v, want a tombstone in CN=Deleted Objects", eve)
	}
	raw, err := ParseGUID(eve.GUID)
	if err != nil {
		t.Fatal(err)
	}
	filter := "(objectGUID=" + EscapeBinary(raw) + ")"
	if got := searchAll(t, c, s.BaseDN, ldap.ScopeWholeSubtree, filter); len(got) != 0 {
		t.Errorf("without Show Deleted, the search by GUID found %d entries, want 0", len(got))
	}
	got := searchAll(t, c, s.BaseDN, ldap.ScopeWholeSubtree, filter, ldap.NewControlMicrosoftShowDeleted())
	if len(got) != 1 {
		t.Fatalf("with Show Deleted, the search by GUID found %d entries, want 1", len(got))
	}
	e := got[0]
	if e.DN != eve.DN || e.GetAttributeValue("isDeleted") != "TRUE" {
		t.Errorf("tombstone %s isDeleted=%q, want %s isDeleted=TRUE", e.DN, e.GetAttributeValue("isDeleted"), eve.DN)
	}
	if g, _ := FormatGUID(e.GetRawAttributeValue("objectGUID")); g != eve.GUID {
		t.Errorf("tombstone GUID %s, want %s", g, eve.GUID)
	}
	t.Logf("tombstone %s keeps sAMAccountName=%q mail=%q lastKnownParent=%q", e.DN,
		e.GetAttributeValue("sAMAccountName"), e.GetAttributeValue("mail"), e.GetAttributeValue("lastKnownParent"))
}

// testRanges reads the big group's member attribute in full by explicit ranges, as the adapter's
// ranged-retrieval loop will.
func testRanges(t *testing.T, c *ldap.Conn, sd Seeded) {
	if sd.BigGroupMembers != 2000 || sd.BigGroup.DN == "" || sd.BigGroup.GUID == "" {
		t.Fatalf("Seeded big group %+v with %d members", sd.BigGroup, sd.BigGroupMembers)
	}
	read := func(attr string) (string, []string) {
		res, err := c.Search(ldap.NewSearchRequest(sd.BigGroup.DN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=group)", []string{attr}, nil))
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("read %s: %v", attr, err)
		}
		for _, a := range res.Entries[0].Attributes {
			if strings.HasPrefix(strings.ToLower(a.Name), "member") {
				return a.Name, a.Values
			}
		}
		return "", nil
	}
	name, vals := read("member;range=0-1499")
	if name != "member;range=0-1499" || len(vals) != 1500 {
		t.Errorf("member;range=0-1499 returned %d values labelled %q, want 1500 labelled member;range=0-1499", len(vals), name)
	}
	name, vals = read("member;range=1500-*")
	if name != "member;range=1500-*" || len(vals) != 500 {
		t.Errorf("member;range=1500-* returned %d values labelled %q, want 500 labelled member;range=1500-*", len(vals), name)
	}
	name, vals = read("member")
	if name != "member" || len(vals) != 2000 {
		t.Errorf("plain member returned %d values labelled %q (Samba does not force ranges)", len(vals), name)
	}
	// The client loop: ask for windows of 1500 until the server labels a range as the last (-*).
	seen := map[string]bool{}
	for lo, rounds := 0, 0; ; rounds++ {
		if rounds > 10 {
			t.Fatal("ranged retrieval does not end")
		}
		name, vals := read(fmt.Sprintf("member;range=%d-%d", lo, lo+1499))
		for _, v := range vals {
			seen[strings.ToLower(v)] = true
		}
		_, rng, _ := strings.Cut(name, ";range=")
		from, to, ok := strings.Cut(rng, "-")
		if !ok || from != strconv.Itoa(lo) {
			t.Fatalf("asked for range %d-%d, got %q", lo, lo+1499, name)
		}
		if to == "*" {
			break
		}
		hi, err := strconv.Atoi(to)
		if err != nil {
			t.Fatalf("range label %q", name)
		}
		lo = hi + 1
	}
	if len(seen) != 2000 {
		t.Errorf("ranged retrieval read %d distinct members, want 2000", len(seen))
	}
	users := searchAll(t, c, sd.BigOU, ldap.ScopeWholeSubtree, "(&(objectCategory=person)(objectClass=user))")
	if len(users) != 2000 {
		t.Errorf("%d users under %s, want 2000", len(users), sd.BigOU)
	}
}

// TestStrongAuth checks Samba's default: a simple bind over plain LDAP is refused, StartTLS and LDAPS
// work. It also checks that Stop leaves no process and frees the ports.
func TestStrongAuth(t *testing.T) {
	s := StartT(t, Options{StrongAuth: true})
	testBinds(t, s, false)
	pid := s.proc.pid
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if groupAlive(pid) {
		t.Errorf("samba's process group %d has members after Stop", pid)
	}
	for _, p := range ports {
		if who, busy := portHolder(p); busy {
			t.Errorf("port %d still held by %s after Stop", p, who)
		}
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("temporary dir %s left after Stop: %v", s.Dir, err)
	}
}

func TestPortHolder(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	who, busy := portHolder(port)
	if want := fmt.Sprintf("pid %d ", os.Getpid()); !busy || !strings.HasPrefix(who, want) {
		t.Errorf("portHolder(%d) = %q, %v; want %q...", port, who, busy, want)
	}
	l.Close()
	if who, busy := portHolder(port); busy {
		t.Errorf("portHolder(%d) after close = %q, true", port, who)
	}
}

func TestGUID(t *testing.T) {
	raw := []byte{0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	s, err := FormatGUID(raw)
	if err != nil || s != "00112233-4455-6677-8899-aabbccddeeff" {
		t.Fatalf("FormatGUID = %q, %v", s, err)
	}
	back, err := ParseGUID(strings.ToUpper(s))
	if err != nil || !slices.Equal(back, raw) {
		t.Errorf("ParseGUID(%q) = %x, %v", s, back, err)
	}
	if _, err := FormatGUID(raw[:15]); err == nil {
		t.Error("FormatGUID accepted 15 bytes")
	}
	if got := EscapeBinary([]byte{0, 0x2a, 0xff}); got != `\00\2a\ff` {
		t.Errorf("EscapeBinary = %q", got)
	}
}

func searchAll(t *testing.T, c *ldap.Conn, base string, scope int, filter string, controls ...ldap.Control) []*ldap.Entry {
	t.Helper()
	res, err := c.SearchWithPaging(ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, 0, 0, false, filter,
		[]string{"*", "objectGUID", "isDeleted", "lastKnownParent"}, controls), 500)
	if err != nil {
		t.Fatalf("search %s %s: %v", base, filter, err)
	}
	return res.Entries
}

func entriesBy(es []*ldap.Entry, attr string) map[string]*ldap.Entry {
	m := map[string]*ldap.Entry{}
	for _, e := range es {
		m[strings.ToLower(e.GetAttributeValue(attr))] = e
	}
	return m
}

func sortedValues(es []*ldap.Entry, attr string) []string {
	var out []string
	for _, e := range es {
		out = append(out, strings.ToLower(e.GetAttributeValue(attr)))
	}
	slices.Sort(out)
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func fxGroupName(key string) string {
	g, _ := directorytest.Fixture().Group(key)
	return strings.ToLower(g.Name)
}

// TestCrashedHolder kills a process that runs a DC without Stop: samba must die with it (Pdeathsig and
// its children's watch on their parent), and the next Start must get the lock, the ports and clean up
// the dead holder's temporary folder.
func TestCrashedHolder(t *testing.T) {
	if os.Getenv("SAMBATEST_CRASH_CHILD") == "1" {
		s, err := Start(context.Background(), Options{})
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(2)
		}
		fmt.Printf("PID %d DIR %s\n", s.proc.pid, s.Dir)
		os.Stdout.Sync()
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	if err := Available(); err != nil {
		StartT(t, Options{}) // fails or skips with the reason
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrashedHolder$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SAMBATEST_CRASH_CHILD=1")
	out, _ := cmd.Output()
	var pid int
	var dir string
	if _, err := fmt.Sscanf(string(out), "PID %d DIR %s", &pid, &dir); err != nil {
		t.Fatalf("child: %q", out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for groupAlive(pid) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if groupAlive(pid) {
		t.Errorf("samba's process group %d outlived the killed test process", pid)
	}
	s := StartT(t, Options{})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the dead holder's folder %s is still there: %v", dir, err)
	}
	c, err := s.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// TestPortsBusy holds the machine-wide lock (so no DC of another package starts meanwhile), listens on
// one of Samba's ports and checks that the start-up check names this process.
func TestPortsBusy(t *testing.T) {
	lk, err := acquireLock(t.Context(), Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer lk.release()
	l, err := net.Listen("tcp", "127.0.0.1:3269")
	if err != nil {
		t.Skipf("cannot listen on 3269 to test the check: %v", err)
	}
	defer l.Close()
	err = checkPorts()
	if want := fmt.Sprintf("port 3269 by pid %d ", os.Getpid()); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("checkPorts() = %v, want an error containing %q", err, want)
	}
}

// recordTB records how StartT ended a test; Fatalf and Skipf stop the goroutine as testing's do.
type recordTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordTB) Helper() {}
func (r *recordTB) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recordTB) Skipf(format string, args ...any) {
	r.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestStartTWithoutSamba(t *testing.T) {
	missing := errors.New("samba AD DC not available: missing samba; make test installs them: apt-get install " + strings.Join(Packages, " "))
	old := available
	available = func() error { return missing }
	defer func() { available = old }()
	run := func() *recordTB {
		r := &recordTB{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			StartT(r, Options{})
			t.Error("StartT returned without Samba")
		}()
		<-done
		return r
	}
	t.Setenv(SkipEnv, "")
	if r := run(); r.skip != "" || !strings.Contains(r.fatal, missing.Error()) || !strings.Contains(r.fatal, SkipEnv+"=1") {
		t.Errorf("without %s: fatal %q, skip %q; want a failure naming the packages and the variable", SkipEnv, r.fatal, r.skip)
	}
	t.Setenv(SkipEnv, "1")
	if r := run(); r.fatal != "" || !strings.Contains(r.skip, missing.Error()) || !strings.Contains(r.skip, SkipEnv+"=1") {
		t.Errorf("with %s=1: fatal %q, skip %q; want a skip saying why", SkipEnv, r.fatal, r.skip)
	}
}
