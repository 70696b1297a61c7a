// Package sambatest runs a real, throwaway Samba Active Directory domain controller for the tests of the
// LDAP/AD adapter: it provisions a domain into a temporary folder, starts samba as a child process with
// TLS from a test CA, and seeds the adapter-neutral directorytest fixture (users, nested and cyclic
// groups, an empty group, a tombstone, a group bigger than AD's 1,500-value range) into an OU of its own.
//
// Samba's LDAP ports are fixed (389, 636, 3268, 3269), so only one DC can run on a machine at a time.
// Start therefore takes a cross-process lock (flock on LockPath) that it holds until Stop: test packages
// running in parallel queue up instead of failing. A provisioned domain is cached under CacheDir (keyed
// by Samba's version, the realm and the password), so only the first Start on a machine pays for
// samba-tool's provisioning (about 6 s); later Starts copy it (well under a second).
//
// Samba must run as root (it binds ports below 1024) and needs Debian's packages (see Packages and
// Available). Tests call StartT, which fails the test when Samba is missing, or skips it when
// DIRCONN_SKIP_REAL_SERVERS=1 is set.
package sambatest

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/dirconn/dirconn/internal/testpki"
)

const (
	// LockPath is the file Start locks (flock) for as long as its DC runs.
	LockPath = "/tmp/dirconn-sambatest.lock"
	// CacheDir holds provisioned domains that Start copies instead of provisioning again.
	CacheDir = "/tmp/dirconn-sambatest-cache"
	// SkipEnv, set to 1, makes StartT skip instead of fail when Samba is not installed.
	SkipEnv = "DIRCONN_SKIP_REAL_SERVERS"

	// DefaultRealm is the realm Start provisions when Options.Realm is empty.
	DefaultRealm = "CORP.EXAMPLE.TEST"
	// DefaultAdminPassword is the Administrator password when Options.AdminPassword is empty.
	DefaultAdminPassword = "Dirconn-Adm1n-Pw"

	// dcHostName is the DC's NetBIOS/host name; its FQDN is dc1.<realm in lower case>.
	dcHostName = "DC1"
	// readyTimeout bounds the wait for LDAP and LDAPS to answer after samba is started.
	readyTimeout = 60 * time.Second
)

// Packages are the Debian packages Samba's AD DC needs here (samba-ad-provision is only a recommendation
// of samba-ad-dc, but provisioning fails without it).
var Packages = []string{"samba", "samba-ad-dc", "samba-ad-provision", "samba-dsdb-modules", "winbind", "python3-samba"}

// ports are the ports the "ldap" service binds; Samba hard-codes them.
var ports = []int{389, 636, 3268, 3269}

// Options configure Start. The zero value is a usable default.
type Options struct {
	// Dir holds the DC's files (dc/, pristine/, tls/, logs/). Default: a new temporary folder that Stop
	// removes. A Dir given here is left in place by Stop.
	Dir string
	// Realm is the Kerberos realm and DNS domain in upper case. Default DefaultRealm (NetBIOS domain
	// CORP, base DN DC=corp,DC=example,DC=test). The NetBIOS domain is its first label.
	Realm string
	// AdminPassword is the Administrator password. Default DefaultAdminPassword. It must satisfy AD's
	// complexity rules.
	AdminPassword string
	// StrongAuth keeps Samba's default "ldap server require strong auth = yes": simple binds over plain
	// LDAP (without StartTLS) are refused. False writes "no", so they work.
	StrongAuth bool
	// Logf, when set, receives progress lines (steps and their durations).
	Logf func(format string, args ...any)
}

// Server is a running Samba AD DC.
type Server struct {
	URL      string // ldap://127.0.0.1:389 (StartTLS works)
	LDAPSURL string // ldaps://127.0.0.1:636
	GCURL    string // ldap://127.0.0.1:3268, the global catalog
	// CAFile is the PEM file of the test CA; the server certificate has the SANs 127.0.0.1, ::1,
	// localhost, the DC's FQDN, the realm's DNS name and the machine's host name.
	CAFile string
	CA     *testpki.CA

	Realm    string // CORP.EXAMPLE.TEST
	Domain   string // CORP, the NetBIOS domain
	DNSName  string // corp.example.test
	DCFQDN   string // dc1.corp.example.test
	BaseDN   string // DC=corp,DC=example,DC=test
	AdminDN  string // CN=Administrator,CN=Users,DC=corp,DC=example,DC=test
	AdminUPN string // Administrator@corp.example.test
	// AdminDownLevel is the down-level logon name CORP\Administrator, which AD also accepts as a bind
	// name.
	AdminDownLevel string
	AdminPassword  string
	StrongAuth     bool

	Dir    string // the folder holding everything below
	LogDir string // Samba's logs (log.samba, samba.stdout, provision.log)

	opts     Options
	tempDir  bool
	dcDir    string // Dir/dc: the live domain
	pristDir string // Dir/pristine: the domain as provisioned, for Reset
	conf     string // Dir/dc/etc/smb.conf
	// cacheRoot is the cache entry the domain was copied from ("" when the cache is not writable).
	cacheRoot string
	// freshUSN is highestCommittedUSN right after Start or Reset (and the first admin bind, which
	// writes lastLogonTimestamp): while it is unchanged nothing was written to the domain.
	freshUSN string

	mu      sync.Mutex
	proc    *process
	lock    *fileLock
	stopped bool
}

func (o Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// available is Available, replaced by tests.
var available = Available

// Available reports whether this machine can run the DC: Samba's binaries and provisioning data are
// installed and the process runs as root. Its error names what is missing and how to install it.
func Available() error {
	var missing []string
	for _, bin := range []string{"samba", "samba-tool"} {
		if _, err := exec.LookPath(bin); err != nil {
			if _, err := os.Stat(filepath.Join("/usr/sbin", bin)); err != nil {
				missing = append(missing, bin)
			}
		}
	}
	for _, f := range []struct{ path, what string }{
		{"/usr/share/samba/setup/ad-schema", "AD schema files (samba-ad-provision)"},
		{"/usr/bin/python3", "/usr/bin/python3"},
		{"/usr/lib/python3/dist-packages/samba/__init__.py", "Samba's Python bindings (python3-samba)"},
	} {
		if _, err := os.Stat(f.path); err != nil {
			missing = append(missing, f.what)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("samba AD DC not available: missing %s; make test installs them: apt-get install %s",
			strings.Join(missing, ", "), strings.Join(Packages, " "))
	}
	if os.Geteuid() != 0 {
		return errors.New("samba AD DC not available: samba must run as root (it binds the fixed ports 389/636)")
	}
	return nil
}

// StartT starts a DC for a test and stops it in t.Cleanup. When Samba is not installed it fails the test
// (a missing server is a failure in CI), unless DIRCONN_SKIP_REAL_SERVERS=1 is set: then it skips.
// Progress is logged with t.Logf unless o.Logf is set.
func StartT(t testing.TB, o Options) *Server {
	t.Helper()
	if err := available(); err != nil {
		if os.Getenv(SkipEnv) == "1" {
			t.Skipf("%v (skipped because %s=1)", err, SkipEnv)
		}
		t.Fatalf("%v (set %s=1 to skip tests that need real directory servers)", err, SkipEnv)
	}
	if o.Logf == nil {
		o.Logf = t.Logf
	}
	s, err := Start(t.Context(), o)
	if err != nil {
		t.Fatalf("sambatest: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sambatest: last lines of %s:\n%s", filepath.Join(s.LogDir, "log.samba"), s.logTail(20))
		}
		if err := s.Stop(); err != nil {
			t.Errorf("sambatest: stop: %v", err)
		}
	})
	return s
}

// Start provisions (or copies a cached provisioned domain), starts samba and waits until LDAP and LDAPS
// answer. It first waits for the machine-wide lock, which another package's DC may hold; ctx bounds that
// wait and the start. The caller must call Stop.
func Start(ctx context.Context, o Options) (_ *Server, err error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if o.Realm == "" {
		o.Realm = DefaultRealm
	}
	o.Realm = strings.ToUpper(o.Realm)
	if o.AdminPassword == "" {
		o.AdminPassword = DefaultAdminPassword
	}
	s := newServer(o)

	t0 := time.Now()
	lk, err := acquireLock(ctx, o)
	if err != nil {
		return nil, err
	}
	if d := time.Since(t0); d > time.Second {
		o.logf("sambatest: waited %.1fs for %s", d.Seconds(), LockPath)
	}
	s.lock = lk
	defer func() {
		if err != nil {
			s.cleanupFailedStart()
		}
	}()

	if o.Dir == "" {
		d, err := os.MkdirTemp("", "dirconn-samba-")
		if err != nil {
			return nil, err
		}
		s.Dir, s.tempDir = d, true
	} else {
		if err := os.MkdirAll(o.Dir, 0o755); err != nil {
			return nil, err
		}
		s.Dir = o.Dir
	}
	if s.Dir, err = filepath.Abs(s.Dir); err != nil {
		return nil, err
	}
	s.LogDir = filepath.Join(s.Dir, "logs")
	s.dcDir = filepath.Join(s.Dir, "dc")
	s.pristDir = filepath.Join(s.Dir, "pristine")
	s.conf = filepath.Join(s.dcDir, "etc", "smb.conf")
	if err := os.MkdirAll(s.LogDir, 0o755); err != nil {
		return nil, err
	}
	if err := lk.record(s); err != nil {
		return nil, err
	}
	if err := checkPorts(); err != nil {
		return nil, err
	}
	if err := s.writeTLS(); err != nil {
		return nil, err
	}

	fromCache, err := s.setUpDomain(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.startSamba(ctx); err != nil {
		if !fromCache {
			return nil, err
		}
		// A cached domain that does not start is dropped, and the domain provisioned afresh once.
		o.logf("sambatest: the cached domain did not start (%v); provisioning again", err)
		s.killSamba()
		dropCache(o)
		if _, err := s.setUpDomain(ctx); err != nil {
			return nil, err
		}
		if err := s.startSamba(ctx); err != nil {
			return nil, err
		}
	}
	if err := s.markFresh(ctx); err != nil {
		return nil, err
	}
	o.logf("sambatest: samba AD DC %s up on %s and %s in %.1fs (dir %s)", s.DCFQDN, s.URL, s.LDAPSURL,
		time.Since(t0).Seconds(), s.Dir)
	return s, nil
}

func newServer(o Options) *Server {
	dns := strings.ToLower(o.Realm)
	domain, _, _ := strings.Cut(o.Realm, ".")
	var base []string
	for _, label := range strings.Split(dns, ".") {
		base = append(base, "DC="+label)
	}
	s := &Server{
		URL:            "ldap://127.0.0.1:389",
		LDAPSURL:       "ldaps://127.0.0.1:636",
		GCURL:          "ldap://127.0.0.1:3268",
		Realm:          o.Realm,
		Domain:         domain,
		DNSName:        dns,
		DCFQDN:         strings.ToLower(dcHostName) + "." + dns,
		BaseDN:         strings.Join(base, ","),
		AdminUPN:       "Administrator@" + dns,
		AdminDownLevel: domain + `\Administrator`,
		AdminPassword:  o.AdminPassword,
		StrongAuth:     o.StrongAuth,
		opts:           o,
	}
	s.AdminDN = "CN=Administrator,CN=Users," + s.BaseDN
	return s
}

// writeTLS makes the CA and the server certificate and writes them to Dir/tls.
func (s *Server) writeTLS() error {
	dir := filepath.Join(s.Dir, "tls")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ca, err := testpki.NewCA("dirconn sambatest CA", testpki.Options{})
	if err != nil {
		return err
	}
	hosts := []string{s.DCFQDN, s.DNSName}
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		hosts = append(hosts, h)
	}
	leaf, err := ca.Server(testpki.Options{}, hosts...)
	if err != nil {
		return err
	}
	s.CAFile = filepath.Join(dir, "ca.pem")
	if err := ca.WriteCA(s.CAFile); err != nil {
		return err
	}
	// Samba refuses a key file that others can read.
	if _, _, err := leaf.Write(dir, "server", 0o600); err != nil {
		return err
	}
	s.CA = ca
	return nil
}

// TLSConfig returns a client TLS configuration that trusts only the test CA and checks the name
// 127.0.0.1.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.CA.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// Conn dials LDAPS and binds as Administrator (by DN). The caller closes it.
func (s *Server) Conn(ctx context.Context) (*ldap.Conn, error) {
	c, err := s.dialLDAPS(ctx, s.TLSConfig())
	if err != nil {
		return nil, err
	}
	if err := c.Bind(s.AdminDN, s.AdminPassword); err != nil {
		c.Close()
		return nil, fmt.Errorf("bind as %s: %w", s.AdminDN, err)
	}
	return c, nil
}

// dialLDAPS opens an unbound LDAPS connection honouring ctx for the TCP connect and the handshake.
func (s *Server) dialLDAPS(ctx context.Context, cfg *tls.Config) (*ldap.Conn, error) {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", "127.0.0.1:636")
	if err != nil {
		return nil, err
	}
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("ldaps handshake: %w", err)
	}
	c := ldap.NewConn(tc, true)
	c.Start()
	c.SetTimeout(2 * time.Minute)
	return c, nil
}

// dialLDAP opens an unbound plain LDAP connection.
func dialLDAP(ctx context.Context) (*ldap.Conn, error) {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", "127.0.0.1:389")
	if err != nil {
		return nil, err
	}
	c := ldap.NewConn(raw, false)
	c.Start()
	c.SetTimeout(time.Minute)
	return c, nil
}

// Stop kills samba (its whole process group), removes a temporary Dir and releases the lock. It is safe
// to call more than once.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	s.stopped = true
	t0 := time.Now()
	err := s.killSamba()
	if s.tempDir {
		if rerr := os.RemoveAll(s.Dir); rerr != nil && err == nil {
			err = rerr
		}
	}
	if s.lock != nil {
		s.lock.release()
	}
	s.opts.logf("sambatest: stopped in %.1fs", time.Since(t0).Seconds())
	return err
}

func (s *Server) cleanupFailedStart() {
	s.killSamba()
	if s.tempDir {
		os.RemoveAll(s.Dir)
	}
	if s.lock != nil {
		s.lock.release()
	}
}

// Reset stops samba, puts back the domain exactly as it was provisioned (everything seeded since is
// gone) and starts samba again.
func (s *Server) Reset(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errors.New("sambatest: reset of a stopped server")
	}
	t0 := time.Now()
	if err := s.killSamba(); err != nil {
		return err
	}
	if err := os.RemoveAll(s.dcDir); err != nil {
		return err
	}
	if err := copyTree(s.pristDir, s.dcDir); err != nil {
		return fmt.Errorf("restore pristine domain: %w", err)
	}
	if err := s.startSamba(ctx); err != nil {
		return err
	}
	if err := s.markFresh(ctx); err != nil {
		return err
	}
	s.opts.logf("sambatest: reset in %.1fs", time.Since(t0).Seconds())
	return nil
}

// markFresh binds once as Administrator (AD writes lastLogonTimestamp on the first logon) and records
// the domain's highestCommittedUSN.
func (s *Server) markFresh(ctx context.Context) error {
	c, err := s.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	s.freshUSN, err = highestUSN(c)
	return err
}

// isFresh reports whether nothing was written to the domain since markFresh.
func (s *Server) isFresh(c *ldap.Conn) bool {
	usn, err := highestUSN(c)
	return err == nil && s.freshUSN != "" && usn == s.freshUSN
}

func highestUSN(c *ldap.Conn) (string, error) {
	res, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"highestCommittedUSN"}, nil))
	if err != nil {
		return "", fmt.Errorf("read highestCommittedUSN: %w", err)
	}
	if len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("highestCommittedUSN") == "" {
		return "", errors.New("rootDSE has no highestCommittedUSN")
	}
	return res.Entries[0].GetAttributeValue("highestCommittedUSN"), nil
}

// process is a running samba.
type process struct {
	pid  int
	done chan struct{} // closed when samba exited and was reaped
	err  error         // its exit status, valid after done
}

// startSamba runs samba in the foreground in a process group of its own and waits until LDAP and LDAPS
// answer.
func (s *Server) startSamba(ctx context.Context) error {
	t0 := time.Now()
	if err := os.MkdirAll(filepath.Join(s.dcDir, "run"), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(filepath.Join(s.LogDir, "samba.stdout"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(sambaBin("samba"), "-F", "--no-process-group", "-s", s.conf)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, out, out
	cmd.Dir = s.Dir
	// Setpgid: samba forks a dozen children; Stop kills the whole group. Pdeathsig: if this test
	// process dies without Stop, the kernel kills samba (its children follow their parent out).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &process{done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the thread that forked the child exits, not the process: keep this
		// goroutine on its thread for as long as samba runs, and let the thread die with it.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			runtime.UnlockOSThread()
			started <- err
			return
		}
		p.pid = cmd.Process.Pid
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start samba: %w", err)
	}
	s.proc = p
	if s.lock != nil {
		s.lock.record(s)
	}
	if err := s.waitReady(ctx, p); err != nil {
		return err
	}
	s.opts.logf("sambatest: samba (pid %d) answers on LDAP and LDAPS after %.1fs", p.pid, time.Since(t0).Seconds())
	return nil
}

// waitReady polls the rootDSE over LDAP and LDAPS until both answer.
func (s *Server) waitReady(ctx context.Context, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	var last error
	for {
		select {
		case <-p.done:
			return fmt.Errorf("samba exited during start (%v); last lines of its logs:\n%s", p.err, s.logTail(30))
		case <-ctx.Done():
			return fmt.Errorf("samba did not answer on %s and %s within %s (last error: %v); last lines of its logs:\n%s",
				s.URL, s.LDAPSURL, readyTimeout, last, s.logTail(30))
		case <-time.After(100 * time.Millisecond):
		}
		if last = s.probe(ctx); last == nil {
			return nil
		}
	}
}

func (s *Server) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	root := ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"dnsHostName"}, nil)
	c, err := dialLDAP(ctx)
	if err != nil {
		return err
	}
	_, err = c.Search(root)
	c.Close()
	if err != nil {
		return fmt.Errorf("ldap: %w", err)
	}
	c, err = s.dialLDAPS(ctx, s.TLSConfig())
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Search(root); err != nil {
		return fmt.Errorf("ldaps: %w", err)
	}
	return nil
}

// killSamba kills samba's process group and waits until every member is gone.
func (s *Server) killSamba() error {
	p := s.proc
	if p == nil {
		return nil
	}
	s.proc = nil
	// SIGKILL rather than TERM: TERM takes samba 1.5 s, and the data is thrown away or restored anyway
	// (LMDB survives a killed writer).
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		return fmt.Errorf("samba (pid %d) did not exit after SIGKILL", p.pid)
	}
	// The children were reparented when their leader died; wait for the group to be empty so the
	// ports are free for the next start.
	deadline := time.Now().Add(10 * time.Second)
	for groupAlive(p.pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("samba's process group %d still has members 10 s after SIGKILL", p.pid)
		}
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// groupAlive reports whether process group pgid has a member that is not a zombie.
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); err != nil {
		return false
	}
	// Zombies waiting for a reaper still count for kill(2) but hold no sockets.
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...
		st := string(b)
		i := strings.LastIndexByte(st, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(st[i+1:])
		if len(f) >= 3 && f[2] == fmt.Sprint(pgid) && f[0] != "Z" && f[0] != "X" {
			return true
		}
	}
	return false
}

// logTail returns the last n lines of samba's log and stdout.
func (s *Server) logTail(n int) string {
	var b strings.Builder
	for _, name := range []string{"log.samba", "samba.stdout"} {
		f, err := os.Open(filepath.Join(s.LogDir, name))
		if err != nil {
			continue
		}
		var lines []string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if len(lines) > n {
				lines = lines[1:]
			}
		}
		f.Close()
		fmt.Fprintf(&b, "==> %s <==\n%s\n", name, strings.Join(lines, "\n"))
	}
	return b.String()
}

func sambaBin(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return filepath.Join("/usr/sbin", name)
}
