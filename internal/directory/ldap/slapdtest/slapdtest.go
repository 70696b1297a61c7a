// Package slapdtest runs a real, throwaway OpenLDAP slapd for the LDAP adapter's tests and benchmarks.
//
// Every Server is private: its own folder (configuration in slapd.d, an mdb database, a fresh CA and server
// certificate from testpki), its own high ports on 127.0.0.1 (plain LDAP with StartTLS, LDAPS, and an
// ldapi socket in the folder), and its own slapd child process, so several servers may run at once, from
// one test binary or from many. The directory looks like this:
//
//	dc=example,dc=test                      base (Options.BaseDN)
//	  cn=admin,dc=example,dc=test           rootdn (no entry): no limits, Server.AdminDN/AdminPassword
//	  ou=people                             users (inetOrgPerson)
//	  ou=groups                             groups (groupOfNames, groupOfUniqueNames or posixGroup)
//	  ou=service
//	    cn=svc-connector                    Server.ServiceDN/ServicePassword: reads everything but passwords,
//	                                        subject to Options.SizeLimit (1000 by default, like AD)
//
// Overlays: memberof (twice: groupOfNames/member and groupOfUniqueNames/uniqueMember both maintain
// memberOf on the members) and refint (member, uniqueMember). Schemas: core, cosine, nis (posixGroup,
// memberUid) and inetorgperson. entryUUID, entryCSN, createTimestamp and the like are kept by slapd itself
// (operational: ask for them by name or with "+"). Attributes of other servers such as nsUniqueId (389 DS)
// or ipaUniqueID (FreeIPA) are not in OpenLDAP's schema: an entry carrying them is refused with "undefined
// attribute type" unless Options.ExtraConfigLDIF defines them (see Options.ExtraConfigLDIF).
//
// A test:
//
//	srv := slapdtest.StartT(t, slapdtest.Options{})
//	seeded, err := srv.SeedDataset(t.Context(), directorytest.Expected(caps), slapdtest.SeedOptions{})
//	... point the adapter at srv.URL, srv.ServiceDN, srv.ServicePassword, srv.CAFile ...
//
// slapd comes from Debian's packages slapd and ldap-utils (`make test` installs them). Available says what
// is missing; StartT fails the test when slapd is missing, or skips it when DIRCONN_SKIP_REAL_SERVERS=1.
package slapdtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/dirconn/dirconn/internal/testpki"
)

// SkipEnv is the environment variable that, set to 1, makes StartT skip instead of start a server.
const SkipEnv = "DIRCONN_SKIP_REAL_SERVERS"

// Defaults of Options.
const (
	DefaultBaseDN          = "dc=example,dc=test"
	DefaultAdminPassword   = "Slapd-Adm1n-Pw"
	DefaultServicePassword = "Svc-Conn3ctor-Pw"
	DefaultSizeLimit       = 1000
)

// Options configure a Server. The zero value gives a working server.
type Options struct {
	// Dir is the working folder. Empty: a new folder from os.MkdirTemp, removed by Stop. A given folder is
	// kept, but its slapd.d, data and tls sub-folders are replaced.
	Dir string
	// BaseDN is the suffix of the database, "dc=example,dc=test" by default. Its first RDN must be dc=, o=
	// or ou= (the base entry is a dcObject+organization, an organization or an organizationalUnit).
	BaseDN string
	// AdminPassword is the password of the rootdn cn=admin,<BaseDN> and of cn=config.
	AdminPassword string
	// ServicePassword is the password of cn=svc-connector,ou=service,<BaseDN>.
	ServicePassword string
	// Port and TLSPort are the ports of ldap:// and ldaps:// on 127.0.0.1. Zero: free ports picked by the
	// kernel (if another process takes one between the pick and slapd's bind, Start picks again).
	Port, TLSPort int
	// SizeLimit is the most entries an unpaged search of a non-root bind returns (more gives
	// sizeLimitExceeded, as AD's MaxPageSize does); paged searches are not limited in total
	// (size.soft=N size.hard=N size.prtotal=unlimited). Zero means 1000; negative means no limit at all.
	// The rootdn is never limited. Unlike AD, which caps every page at MaxPageSize (1000) silently, slapd
	// returns pages as big as asked for; see MaxPageSize.
	SizeLimit int
	// MaxPageSize, when positive, is the largest page a non-root paged search may ask for (size.pr). A
	// bigger one fails with adminLimitExceeded (11): slapd refuses where AD would cap the page.
	MaxPageSize int
	// TLSVerifyClient is slapd's olcTLSVerifyClient: "never" (the default: no client certificate is asked
	// for), "allow", "try" or "demand" (a client certificate signed by Server.CA is required; see
	// Server.ClientCert).
	TLSVerifyClient string
	// RSA makes the CA and server keys RSA 2048 instead of ECDSA P-256. Debian's slapd (GnuTLS) accepts
	// both; ECDSA is the default because it is generated in microseconds.
	RSA bool
	// ExtraConfigLDIF is appended to the cn=config LDIF loaded at start (and at Reset): more schema, more
	// overlays. For example an attribute type other servers have:
	//
	//	dn: cn=extra,cn=schema,cn=config
	//	objectClass: olcSchemaConfig
	//	cn: extra
	//	olcAttributeTypes: ( 2.16.840.1.113730.3.1.542 NAME 'nsUniqueId' EQUALITY caseIgnoreMatch
	//	  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
	//
	// (then add entries with objectClass extensibleObject to carry it).
	ExtraConfigLDIF string
	// Debug is slapd's -d level. Empty: "none" (32768), which logs only errors and start/stop to
	// <Dir>/slapd.log; "stats" logs every operation. The environment variable DIRCONN_SLAPD_DEBUG
	// overrides it.
	Debug string
	// Logf, when set, receives one line per lifecycle step with its duration.
	Logf func(format string, args ...any)
}

// Server is a running (or stopped) slapd. Its fields are fixed for its life; do not change them.
type Server struct {
	// URL is ldap://127.0.0.1:Port (plain; StartTLS works), LDAPSURL ldaps://127.0.0.1:TLSPort.
	URL, LDAPSURL string
	// LDAPIURL is the ldapi:// socket in Dir (root may bind with SASL EXTERNAL there); empty when the
	// socket path would be too long for a unix socket.
	LDAPIURL      string
	Host          string // "127.0.0.1"
	Port, TLSPort int
	// CAFile is the PEM of the CA that signed the server certificate, whose SANs are 127.0.0.1, ::1,
	// localhost and the machine's hostname. CA can issue more (client certificates for mutual TLS).
	CAFile, CertFile, KeyFile string
	CA                        *testpki.CA
	// BaseDN is the suffix; AdminDN (cn=admin,<base>) the rootdn, with AdminPassword.
	BaseDN, AdminDN, AdminPassword string
	// ConfigDN is cn=config's rootdn ("cn=config"); its password is AdminPassword.
	ConfigDN string
	// ServiceDN is a non-root account that reads everything (subject to SizeLimit).
	ServiceDN, ServicePassword string
	// PeopleDN, GroupsDN and ServiceOU are ou=people, ou=groups and ou=service under BaseDN.
	PeopleDN, GroupsDN, ServiceOU string
	// Dir is the working folder; slapd's own output is in Dir/slapd.log.
	Dir string

	opts    Options
	ownsDir bool
	debug   string
	env     *environment
	leafKey testpki.Options
	// probeCert is the client certificate the readiness probe presents.
	probeCert tls.Certificate

	mu        sync.Mutex
	proc      *process
	closed    bool
	sizeLimit int // current, changed by SetSizeLimit
	gidMu     sync.Mutex
	nextGID   int
}

type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	log  *os.File
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf("slapdtest: "+format, args...)
	}
}

// environment is where the OpenLDAP installation keeps its pieces.
type environment struct {
	slapd, slapadd string
	moduleDir      string
	schemaDir      string
}

var modulesNeeded = []string{"back_mdb", "memberof", "refint"}
var schemasNeeded = []string{"core", "cosine", "nis", "inetorgperson"}

var findEnvironment = sync.OnceValues(func() (*environment, error) {
	env := &environment{}
	var missing []string
	for _, b := range []struct {
		name string
		to   *string
	}{{"slapd", &env.slapd}, {"slapadd", &env.slapadd}} {
		p, err := lookBin(b.name)
		if err != nil {
			missing = append(missing, b.name)
			continue
		}
		*b.to = p
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("OpenLDAP server programs not found: %s (looked in $PATH, /usr/sbin, /usr/local/sbin). "+
			"make test installs them; by hand: apt-get install slapd ldap-utils (with a /usr/sbin/policy-rc.d that "+
			"exits 101 during the install, so that Debian does not start its own slapd on port 389)",
			strings.Join(missing, ", "))
	}
	for _, d := range []string{"/usr/lib/ldap", "/usr/lib/x86_64-linux-gnu/ldap", "/usr/lib/aarch64-linux-gnu/ldap",
		"/usr/lib64/openldap", "/usr/lib/openldap", "/usr/libexec/openldap", "/usr/local/libexec/openldap"} {
		if hasAll(d, modulesNeeded, ".so") {
			env.moduleDir = d
			break
		}
	}
	if env.moduleDir == "" {
		return nil, fmt.Errorf("slapd is installed (%s) but its modules %s.so were not found in /usr/lib/ldap; "+
			"reinstall: apt-get install --reinstall slapd", env.slapd, strings.Join(modulesNeeded, ".so, "))
	}
	for _, d := range []string{"/etc/ldap/schema", "/etc/openldap/schema", "/usr/local/etc/openldap/schema"} {
		if hasAll(d, schemasNeeded, ".ldif") {
			env.schemaDir = d
			break
		}
	}
	if env.schemaDir == "" {
		return nil, fmt.Errorf("slapd is installed (%s) but the schema files %s.ldif were not found in /etc/ldap/schema; "+
			"reinstall: apt-get install --reinstall slapd", env.slapd, strings.Join(schemasNeeded, ".ldif, "))
	}
	return env, nil
})

func lookBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

func hasAll(dir string, names []string, ext string) bool {
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n+ext)); err != nil {
			return false
		}
	}
	return true
}

// Available reports whether slapd can run here: nil, or an error naming the missing programs (slapd,
// slapadd), modules or schema files and how to install them.
func Available() error {
	_, err := findEnvironment()
	return err
}

// StartT starts a server for t and stops it (removing its folder) when t ends. A server that cannot start
// fails t with the reason, a missing slapd included: in CI a missing server is a failure. With
// DIRCONN_SKIP_REAL_SERVERS=1 in the environment it skips t instead, saying so. Without o.Logf, progress
// goes to t.Logf.
func StartT(t testing.TB, o Options) *Server {
	t.Helper()
	if os.Getenv(SkipEnv) == "1" {
		reason := "slapd is installed"
		if err := Available(); err != nil {
			reason = err.Error()
		}
		t.Skipf("slapdtest: skipping a test that needs a real OpenLDAP slapd because %s=1 (%s)", SkipEnv, reason)
	}
	if err := Available(); err != nil {
		t.Fatalf("slapdtest: this test needs a real OpenLDAP slapd: %v (set %s=1 to skip such tests)", err, SkipEnv)
	}
	if o.Logf == nil {
		o.Logf = t.Logf
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Start(ctx, o)
	if err != nil {
		t.Fatalf("slapdtest: start OpenLDAP slapd: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("slapdtest: end of %s:\n%s", filepath.Join(s.Dir, "slapd.log"), s.LogTail(4096))
		}
		if err := s.Stop(); err != nil {
			t.Errorf("slapdtest: stop: %v", err)
		}
	})
	return s
}

// Start provisions a new server and starts it. ctx bounds the start (30 s when it has no deadline); the
// server outlives ctx. Stop it with Stop.
func Start(ctx context.Context, o Options) (*Server, error) {
	t0 := time.Now()
	env, err := findEnvironment()
	if err != nil {
		return nil, err
	}
	if o.BaseDN == "" {
		o.BaseDN = DefaultBaseDN
	}
	if _, err := baseEntry(o.BaseDN); err != nil {
		return nil, err
	}
	if o.AdminPassword == "" {
		o.AdminPassword = DefaultAdminPassword
	}
	if o.ServicePassword == "" {
		o.ServicePassword = DefaultServicePassword
	}
	if o.SizeLimit == 0 {
		o.SizeLimit = DefaultSizeLimit
	}
	switch o.TLSVerifyClient {
	case "":
		o.TLSVerifyClient = "never"
	case "never", "allow", "try", "demand":
	default:
		return nil, fmt.Errorf("slapdtest: TLSVerifyClient %q: want never, allow, try or demand", o.TLSVerifyClient)
	}
	s := &Server{
		Host:            "127.0.0.1",
		BaseDN:          o.BaseDN,
		AdminDN:         "cn=admin," + o.BaseDN,
		AdminPassword:   o.AdminPassword,
		ConfigDN:        "cn=config",
		ServiceDN:       "cn=svc-connector,ou=service," + o.BaseDN,
		ServicePassword: o.ServicePassword,
		PeopleDN:        "ou=people," + o.BaseDN,
		GroupsDN:        "ou=groups," + o.BaseDN,
		ServiceOU:       "ou=service," + o.BaseDN,
		opts:            o,
		env:             env,
		sizeLimit:       o.SizeLimit,
		nextGID:         10000,
		leafKey:         testpki.Options{RSA: o.RSA},
	}
	s.debug = o.Debug
	if d := os.Getenv("DIRCONN_SLAPD_DEBUG"); d != "" {
		s.debug = d
	}
	if s.debug == "" {
		s.debug = "32768" // "none": errors and start/stop only
	}
	if o.Dir == "" {
		if s.Dir, err = os.MkdirTemp("", "slapdtest-"); err != nil {
			return nil, fmt.Errorf("slapdtest: %w", err)
		}
		s.ownsDir = true
	} else {
		if s.Dir, err = filepath.Abs(o.Dir); err != nil {
			return nil, fmt.Errorf("slapdtest: %w", err)
		}
		if err := os.MkdirAll(s.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("slapdtest: %w", err)
		}
	}
	fail := func(err error) (*Server, error) {
		if s.ownsDir {
			_ = os.RemoveAll(s.Dir)
		}
		return nil, err
	}
	if err := s.makeTLS(); err != nil {
		return fail(fmt.Errorf("slapdtest: TLS files: %w", err))
	}
	if sock := filepath.Join(s.Dir, "ldapi"); len(sock) < 100 {
		s.LDAPIURL = "ldapi://" + strings.ReplaceAll(sock, "/", "%2F")
	}
	ctx, cancel := withDefaultTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.provision(ctx, nil); err != nil {
		return fail(err)
	}
	t1 := time.Now()
	pick := o.Port == 0 || o.TLSPort == 0
	for attempt := 1; ; attempt++ {
		if pick {
			p, tp, err := freePorts(o.Port, o.TLSPort)
			if err != nil {
				return fail(fmt.Errorf("slapdtest: pick ports: %w", err))
			}
			s.setPorts(p, tp)
		} else {
			s.setPorts(o.Port, o.TLSPort)
		}
		err = s.launch(ctx)
		if err == nil {
			break
		}
		if !pick || !errors.Is(err, errAddrInUse) || attempt == 5 {
			return fail(err)
		}
		s.logf("ports %d/%d were taken before slapd bound them; picking others", s.Port, s.TLSPort)
	}
	s.logf("started %s %s (pid %d) in %v (provision %v, start %v), folder %s",
		s.URL, s.LDAPSURL, s.PID(), since(t0), t1.Sub(t0).Round(time.Millisecond), since(t1), s.Dir)
	return s, nil
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }

func withDefaultTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

func (s *Server) setPorts(p, tp int) {
	s.Port, s.TLSPort = p, tp
	s.URL = "ldap://127.0.0.1:" + strconv.Itoa(p)
	s.LDAPSURL = "ldaps://127.0.0.1:" + strconv.Itoa(tp)
}

// freePorts returns the given ports, with each zero one replaced by a free port the kernel picks on
// 127.0.0.1 (both listeners are open at the same time, so the two differ).
func freePorts(port, tlsPort int) (int, int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	pick := func(p int) (int, error) {
		if p != 0 {
			return p, nil
		}
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		ls = append(ls, l)
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	p, err := pick(port)
	if err != nil {
		return 0, 0, err
	}
	tp, err := pick(tlsPort)
	return p, tp, err
}

func (s *Server) makeTLS() error {
	dir := filepath.Join(s.Dir, "tls")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ca, err := testpki.NewCA("slapdtest CA "+filepath.Base(s.Dir), s.leafKey)
	if err != nil {
		return err
	}
	var hosts []string
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		// OpenLDAP's own client library checks ldaps://localhost against the hostname.
		hosts = append(hosts, h)
	}
	leaf, err := ca.Server(s.leafKey, hosts...)
	if err != nil {
		return err
	}
	// The readiness probe presents a client certificate, for TLSVerifyClient demand.
	probe, err := ca.Client(s.leafKey, "slapdtest-probe")
	if err != nil {
		return err
	}
	s.probeCert = probe.TLS
	s.CA = ca
	s.CAFile = filepath.Join(dir, "ca.pem")
	if err := ca.WriteCA(s.CAFile); err != nil {
		return err
	}
	// slapd runs as the user running the tests (root in CI), so the key can stay 0600.
	s.CertFile, s.KeyFile, err = leaf.Write(dir, "server", 0o600)
	return err
}

// ClientCert issues a client certificate signed by the server's CA, for mutual TLS (see
// Options.TLSVerifyClient): use it as tls.Config.Certificates.
func (s *Server) ClientCert(commonName string) (tls.Certificate, error) {
	l, err := s.CA.Client(s.leafKey, commonName)
	if err != nil {
		return tls.Certificate{}, err
	}
	return l.TLS, nil
}

// TLSConfig returns a TLS client configuration that trusts only the server's CA, for LDAPSURL or StartTLS
// on URL.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.CA.Pool(), ServerName: s.Host, MinVersion: tls.VersionTLS12}
}

var errAddrInUse = errors.New("address already in use")

// launch starts slapd on the current ports and waits until plain LDAP and LDAPS both answer. s.mu must be
// held (or s not yet shared).
func (s *Server) launch(ctx context.Context) error {
	if s.proc != nil {
		return errors.New("slapdtest: slapd is already running")
	}
	if s.LDAPIURL != "" {
		_ = os.Remove(filepath.Join(s.Dir, "ldapi"))
	}
	logPath := filepath.Join(s.Dir, "slapd.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("slapdtest: %w", err)
	}
	start, _ := logFile.Seek(0, 2)
	urls := s.URL + "/ " + s.LDAPSURL + "/"
	if s.LDAPIURL != "" {
		urls += " " + s.LDAPIURL
	}
	fmt.Fprintf(logFile, "=== slapdtest %s: slapd -d %s -F %s -h %q\n", time.Now().Format(time.RFC3339Nano), s.debug,
		filepath.Join(s.Dir, "slapd.d"), urls)
	// -d keeps slapd in the foreground, so the process we start is slapd itself and stays our child.
	cmd := exec.Command(s.env.slapd, "-d", s.debug, "-F", filepath.Join(s.Dir, "slapd.d"), "-h", urls)
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("slapdtest: run %s: %w", s.env.slapd, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{}), log: logFile}
	go func() {
		p.err = cmd.Wait()
		p.log.Close()
		close(p.done)
	}()
	s.proc = p
	if err := s.waitReady(ctx, p); err != nil {
		s.stopProcess(false)
		out := readFrom(logPath, start)
		if strings.Contains(out, "errno=98") || strings.Contains(out, "Address already in use") {
			err = fmt.Errorf("%w: %w", errAddrInUse, err)
		}
		return fmt.Errorf("slapdtest: slapd on %s and %s did not come up: %w\nslapd's output (%s):\n%s",
			s.URL, s.LDAPSURL, err, logPath, tail(out, 4096))
	}
	return nil
}

func (s *Server) waitReady(ctx context.Context, p *process) error {
	tlsConf := s.TLSConfig()
	tlsConf.Certificates = []tls.Certificate{s.probeCert}
	var last error
	for {
		select {
		case <-p.done:
			return fmt.Errorf("slapd exited (%v)", p.err)
		default:
		}
		last = probe(ctx, s.URL, nil)
		if last == nil {
			if last = probe(ctx, s.LDAPSURL, tlsConf); last == nil {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("slapd exited (%v)", p.err)
		case <-ctx.Done():
			return fmt.Errorf("%w; last probe: %v", ctx.Err(), last)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// probe reads the root DSE anonymously.
func probe(ctx context.Context, url string, tlsConf *tls.Config) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := dial(ctx, url, tlsConf)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"namingContexts"}, nil))
	return err
}

// stopProcess ends slapd: SIGTERM and up to 10 s for a clean shutdown (then SIGKILL), or SIGKILL at once.
// It returns once the process is gone. s.mu must be held.
func (s *Server) stopProcess(graceful bool) {
	p := s.proc
	if p == nil {
		return
	}
	s.proc = nil
	select {
	case <-p.done:
		return
	default:
	}
	if graceful {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
			return
		case <-time.After(10 * time.Second):
			s.logf("slapd (pid %d) ignored SIGTERM for 10 s; killing it", p.cmd.Process.Pid)
		}
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// PID is slapd's process id, 0 when it is not running.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	select {
	case <-s.proc.done:
		return 0
	default:
		return s.proc.cmd.Process.Pid
	}
}

// Running reports whether slapd's process is alive.
func (s *Server) Running() bool { return s.PID() != 0 }

// Stop shuts slapd down cleanly (SIGTERM; SIGKILL after 10 s) and removes the folder when Start created
// it. It is idempotent; a stopped server cannot be restarted.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	t0 := time.Now()
	s.stopProcess(true)
	s.logf("stopped in %v", since(t0))
	if s.ownsDir {
		if err := os.RemoveAll(s.Dir); err != nil {
			return fmt.Errorf("slapdtest: remove %s: %w", s.Dir, err)
		}
	}
	return nil
}

// Kill sends slapd SIGKILL and returns once it is gone: open connections break, new ones are refused.
// Restart brings it back with its data. Killing a server that is not running does nothing.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		s.logf("killing slapd (pid %d)", s.proc.cmd.Process.Pid)
	}
	s.stopProcess(false)
	return nil
}

// Restart stops slapd (cleanly, when it runs) and starts it again on the same ports with the same data.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("slapdtest: Restart after Stop")
	}
	ctx, cancel := withDefaultTimeout(ctx, 30*time.Second)
	defer cancel()
	t0 := time.Now()
	s.stopProcess(true)
	if err := s.launch(ctx); err != nil {
		return err
	}
	s.logf("restarted in %v", since(t0))
	return nil
}

// Reset brings the server back to the state Start left it in: an empty tree (base, ou=people, ou=groups,
// ou=service with the service account) and the configuration of Options (undoing SetSizeLimit and other
// cn=config changes). slapd restarts on the same ports, so open connections break.
func (s *Server) Reset(ctx context.Context) error {
	return s.reload(ctx, "reset", nil)
}

// reload stops slapd, rebuilds configuration and database (with the entries extra writes, offline), and
// starts slapd again.
func (s *Server) reload(ctx context.Context, what string, extra func(w *bufio.Writer) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("slapdtest: %s after Stop", what)
	}
	ctx, cancel := withDefaultTimeout(ctx, 10*time.Minute)
	defer cancel()
	t0 := time.Now()
	s.stopProcess(true)
	if err := s.provision(ctx, extra); err != nil {
		return err
	}
	s.sizeLimit = s.opts.SizeLimit
	t1 := time.Now()
	if err := s.launch(ctx); err != nil {
		return err
	}
	s.logf("%s in %v (offline load %v, start %v)", what, since(t0), t1.Sub(t0).Round(time.Millisecond), since(t1))
	return nil
}

// LogTail returns the last n bytes of slapd's output (Dir/slapd.log).
func (s *Server) LogTail(n int) string {
	return tail(readFrom(filepath.Join(s.Dir, "slapd.log"), 0), n)
}

func readFrom(path string, off int64) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	if off > 0 && off <= int64(len(b)) {
		b = b[off:]
	}
	return string(b)
}

func tail(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "..." + "\n" + s
}

// runTool runs an OpenLDAP tool (slapadd) and returns its combined output in the error when it fails.
func runTool(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("slapdtest: %s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err,
			tail(out.String(), 4096))
	}
	return nil
}
