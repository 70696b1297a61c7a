package ldap

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirconn/dirconn/internal/directory"
)

func TestBindError(t *testing.T) {
	h := hostPort{"dc1.corp.test", 389}
	const pw = "S3cret-Pa55"
	ad := func(data string) error {
		return ldapErr(49, "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data "+data+", v4563\x00")
	}
	tests := []struct {
		name string
		err  error
		kind error
		want []string
	}{
		{"plain 49", ldapErr(49, ""), directory.ErrAuth, []string{"refused the bind", `"CORP\\svc"`, "username or password is wrong", "LDAP result 49"}},
		{"AD 52e", ad("52e"), directory.ErrAuth, []string{"username or password is wrong", "AD data 52e"}},
		{"AD 525", ad("525"), directory.ErrAuth, []string{"user does not exist", "AD data 525"}},
		{"AD 530", ad("530"), directory.ErrAuth, []string{"may not log on at this time"}},
		{"AD 531", ad("531"), directory.ErrAuth, []string{"may not log on from this workstation"}},
		{"AD 532", ad("532"), directory.ErrAuth, []string{"password has expired"}},
		{"AD 533", ad("533"), directory.ErrAuth, []string{"account is disabled"}},
		{"AD 701", ad("701"), directory.ErrAuth, []string{"account has expired"}},
		{"AD 773", ad("773"), directory.ErrAuth, []string{"must be changed"}},
		{"AD 775", ad("775"), directory.ErrAuth, []string{"locked out"}},
		{"AD unknown data", ad("999"), directory.ErrAuth, []string{"username or password is wrong", "AD data 999"}},
		{"strong auth", ldapErr(8, "BindSimple: Transport encryption required."), directory.ErrConfig,
			[]string{"unencrypted connection", "ldap.ssl", "ldap.startTls", "Transport encryption required"}},
		{"confidentiality", ldapErr(13, "TLS confidentiality required"), directory.ErrConfig, []string{"ldap.startTls"}},
		{"network", goldap.NewError(goldap.ErrorNetwork, errors.New("unable to read LDAP response packet: EOF")), directory.ErrUnreachable,
			[]string{"broke during the bind"}},
		{"client certificate", goldap.NewError(goldap.ErrorNetwork, errors.New("unable to read LDAP response packet: remote error: tls: certificate required")),
			ErrTLS, []string{"client certificate", "ldap.sslCertPath"}},
		{"other", ldapErr(53, "unwilling"), directory.ErrAuth, []string{"LDAP result 53"}},
	}
	for _, tt := range tests {
		err := bindError(h, `CORP\svc`, tt.err)
		if !errors.Is(err, tt.kind) {
			t.Errorf("%s: bindError = %v, want it to wrap %v", tt.name, err, tt.kind)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: bindError = %q, want it to contain %q", tt.name, err, w)
			}
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("%s: the error shows the password", tt.name)
		}
		var le *goldap.Error
		if !errors.As(err, &le) {
			t.Errorf("%s: the go-ldap error is not reachable with errors.As", tt.name)
		}
	}
}

func TestSearchError(t *testing.T) {
	h := hostPort{"ldap.test", 389}
	read := directory.Read{Pages: 3, Entries: 1000}
	nsoErr := &goldap.Error{ResultCode: 32, MatchedDN: "dc=example,dc=test", Err: errors.New("no such object")}
	tests := []struct {
		name  string
		err   error
		paged bool
		kind  error
		want  []string
	}{
		{"no such base", nsoErr, true, directory.ErrConfig,
			[]string{`search base "ou=nope,dc=example,dc=test" does not exist`, "ldap.userPath and ldap.rootPath", `closest entry that exists is "dc=example,dc=test"`}},
		{"page size refused", ldapErr(11, "pagedResults size limit"), true, directory.ErrConfig, []string{"ldap.pageSize is 500", "lower it"}},
		{"network", goldap.NewError(goldap.ErrorNetwork, errors.New("ldap: response channel closed")), true, directory.ErrUnreachable,
			[]string{"connection to ldap.test:389 broke after 1000 entries in 3 pages"}},
		{"access", ldapErr(50, "insufficient access"), true, directory.ErrAuth, []string{"may not search"}},
		{"not bound", ldapErr(1, "000004DC: LdapErr: DSID-0C090A5C, comment: In order to perform this operation a successful bind must be completed on the connection., data 0, v4563"),
			true, directory.ErrAuth, []string{"successful bind"}},
		{"critical control", ldapErr(12, "critical extension is unavailable"), true, directory.ErrConfig, []string{"does not support a control"}},
		{"plain read error", errors.New("unable to read LDAP response packet: EOF"), true, directory.ErrUnreachable,
			[]string{"broke after 1000 entries in 3 pages: unable to read LDAP response packet: EOF"}},
	}
	for _, tt := range tests {
		err := searchError(h, "users under ou=nope", "ou=nope,dc=example,dc=test", "ldap.userPath and ldap.rootPath", tt.paged, 500, read, tt.err)
		if !errors.Is(err, tt.kind) {
			t.Errorf("%s: searchError = %v, want it to wrap %v", tt.name, err, tt.kind)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: searchError = %q, want it to contain %q", tt.name, err, w)
			}
		}
	}
}

func TestLimitReason(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		paged      bool
		read       directory.Read
		incomplete bool
		want       string
	}{
		{"size unpaged", ldapErr(4, ""), false, directory.Read{Pages: 1, Entries: 1000}, true, "size limit stopped the unpaged search after 1000 entries"},
		{"size paged", ldapErr(4, "x"), true, directory.Read{Pages: 3, Entries: 1500}, true, "size limit stopped the paged search after 1500"},
		{"time", ldapErr(3, "x"), true, directory.Read{Pages: 3, Entries: 10}, true, "ldap.searchTimeLimit"},
		{"admin mid-read", ldapErr(11, "x"), true, directory.Read{Pages: 2, Entries: 500}, true, "administrative limit"},
		{"admin first page", ldapErr(11, "x"), true, directory.Read{Pages: 1}, false, ""},
		{"referral", ldapErr(10, "x"), true, directory.Read{Pages: 1}, true, "referred"},
		{"other", ldapErr(32, "x"), true, directory.Read{Pages: 1}, false, ""},
		{"network", errors.New("EOF"), true, directory.Read{Pages: 1}, false, ""},
	}
	for _, tt := range tests {
		reason, inc := limitReason(tt.err, tt.paged, 500, tt.read)
		if inc != tt.incomplete || !strings.Contains(reason, tt.want) {
			t.Errorf("%s: limitReason = %q, %v; want %v and %q", tt.name, reason, inc, tt.incomplete, tt.want)
		}
	}
}

// testCA is a throwaway CA for the TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (ca *testCA) leaf(t *testing.T, dns []string, ips []net.IP, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "server"},
		NotBefore: notBefore, NotAfter: notAfter, DNSNames: dns, IPAddresses: ips,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func (ca *testCA) write(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// serve accepts connections on a loopback port and hands each to handle; it returns the port.
func serve(t *testing.T, handle func(net.Conn)) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				handle(c)
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

func tlsServer(cert tls.Certificate) func(net.Conn) {
	return func(c net.Conn) {
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
		_ = tc.Handshake()
		buf := make([]byte, 1)
		tc.Read(buf)
	}
}

func testSource(t *testing.T, kv ...string) *Source {
	t.Helper()
	v := directory.Values{"hostname": "127.0.0.1", "username": "cn=admin,dc=test", "password": "pw", "rootPath": "dc=test", "timeout": "3s"}
	for i := 0; i+1 < len(kv); i += 2 {
		v[kv[i]] = kv[i+1]
	}
	src, err := New(directory.Config{Values: v, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	return src.(*Source)
}

func TestTLSErrors(t *testing.T) {
	ca := newTestCA(t, "dirconn test CA")
	caPath := ca.write(t)
	other := newTestCA(t, "some other CA")
	lo := []net.IP{net.IPv4(127, 0, 0, 1)}
	now := time.Now()
	good := ca.leaf(t, []string{"localhost"}, lo, now.Add(-time.Hour), now.Add(time.Hour))
	tests := []struct {
		name    string
		handle  func(net.Conn)
		kv      []string
		kinds   []error
		want    []string
		succeed bool
	}{
		{name: "trusted", handle: tlsServer(good), kv: []string{"sslCaPath", caPath}, succeed: true},
		{name: "unknown authority", handle: tlsServer(other.leaf(t, nil, lo, now.Add(-time.Hour), now.Add(time.Hour))), kv: []string{"sslCaPath", caPath},
			kinds: []error{directory.ErrConfig, ErrTLS}, want: []string{"LDAPS with 127.0.0.1:", "not signed by an authority this machine trusts", "ldap.tlsCaPath"}},
		{name: "no CA set", handle: tlsServer(good),
			kinds: []error{ErrTLS}, want: []string{"not signed by an authority", "ldap.tlsCaPath (or ldap.sslCaPath)"}},
		{name: "hostname mismatch", handle: tlsServer(ca.leaf(t, []string{"ldap.example.com", "other.example.com"}, nil, now.Add(-time.Hour), now.Add(time.Hour))),
			kv: []string{"sslCaPath", caPath}, kinds: []error{directory.ErrConfig, ErrTLS},
			want: []string{"certificate is for ldap.example.com, other.example.com, not for \"127.0.0.1\"", "ldap.hostname"}},
		{name: "expired", handle: tlsServer(ca.leaf(t, nil, lo, now.Add(-48*time.Hour), now.Add(-24*time.Hour))), kv: []string{"sslCaPath", caPath},
			kinds: []error{ErrTLS}, want: []string{"is valid from", "not now"}},
		{name: "not yet valid", handle: tlsServer(ca.leaf(t, nil, lo, now.Add(24*time.Hour), now.Add(48*time.Hour))), kv: []string{"sslCaPath", caPath},
			kinds: []error{ErrTLS}, want: []string{"is valid from", "not now"}},
		{name: "insecure skips the checks", handle: tlsServer(other.leaf(t, []string{"x.example"}, nil, now.Add(-48*time.Hour), now.Add(-24*time.Hour))),
			kv: []string{"sslAllowUnauthorized", "true"}, succeed: true},
		{name: "plain LDAP port closes", handle: func(c net.Conn) {}, kinds: []error{ErrTLS}, want: []string{"closed the connection during the TLS handshake", "636"}},
		{name: "not TLS", handle: func(c net.Conn) { c.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\n")) }, kinds: []error{ErrTLS},
			want: []string{"did not answer with TLS"}},
		{name: "CA file missing", handle: tlsServer(good), kv: []string{"sslCaPath", "/does/not/exist.pem"}, kinds: []error{directory.ErrConfig},
			want: []string{"CA file", "exist.pem"}},
		{name: "CA file not PEM", handle: tlsServer(good), kv: []string{"tlsCaPath", "/etc/hostname"}, kinds: []error{directory.ErrConfig},
			want: []string{"holds no PEM certificate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := serve(t, tt.handle)
			s := testSource(t, append([]string{"ssl", "true", "port", strconv.Itoa(port)}, tt.kv...)...)
			cfg, err := s.tlsConfig()
			var conn *goldap.Conn
			if err == nil {
				conn, _, err = s.dial(t.Context(), s.s.hosts[0], cfg)
			}
			if tt.succeed {
				if err != nil {
					t.Fatalf("dial = %v, want a connection", err)
				}
				conn.Close()
				return
			}
			if err == nil {
				conn.Close()
				t.Fatal("dial succeeded, want an error")
			}
			for _, k := range tt.kinds {
				if !errors.Is(err, k) {
					t.Errorf("dial = %v, want it to wrap %v", err, k)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("dial = %q, want it to contain %q", err, w)
				}
			}
			if errors.Is(err, directory.ErrUnreachable) {
				t.Errorf("dial = %v: a TLS failure must not look unreachable (it would fail over)", err)
			}
		})
	}
}

// extendedResponse answers a StartTLS request with result code rc.
func extendedResponse(c net.Conn, rc int) {
	if _, err := ber.ReadPacket(c); err != nil {
		return
	}
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Response")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(1), "MessageID"))
	r := ber.Encode(ber.ClassApplication, ber.TypeConstructed, goldap.ApplicationExtendedResponse, nil, "Extended Response")
	r.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(rc), "resultCode"))
	r.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "matchedDN"))
	r.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "unsupported extended operation", "diagnosticMessage"))
	p.AppendChild(r)
	c.Write(p.Bytes())
}

func TestStartTLSErrors(t *testing.T) {
	ca := newTestCA(t, "dirconn test CA")
	other := newTestCA(t, "other CA")
	lo := []net.IP{net.IPv4(127, 0, 0, 1)}
	now := time.Now()
	tests := []struct {
		name   string
		handle func(net.Conn)
		kinds  []error
		want   string
	}{
		{"refused", func(c net.Conn) { extendedResponse(c, 2) }, []error{directory.ErrConfig, ErrTLS}, "refused StartTLS (LDAP result 2): unsupported extended operation"},
		{"LDAPS port", func(c net.Conn) {}, []error{ErrTLS}, "is this an LDAPS port?"},
		{"untrusted after StartTLS", func(c net.Conn) {
			extendedResponse(c, 0)
			tlsServer(other.leaf(t, nil, lo, now.Add(-time.Hour), now.Add(time.Hour)))(c)
		}, []error{ErrTLS}, "StartTLS with 127.0.0.1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := serve(t, tt.handle)
			s := testSource(t, "startTls", "true", "port", strconv.Itoa(port), "tlsCaPath", ca.write(t))
			cfg, err := s.tlsConfig()
			if err != nil {
				t.Fatal(err)
			}
			conn, _, err := s.dial(t.Context(), s.s.hosts[0], cfg)
			if err == nil {
				conn.Close()
				t.Fatal("dial succeeded, want an error")
			}
			for _, k := range tt.kinds {
				if !errors.Is(err, k) {
					t.Errorf("dial = %v, want it to wrap %v", err, k)
				}
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("dial = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestConnectUnreachable(t *testing.T) {
	// A port nobody listens on: take one and close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := testSource(t, "port", strconv.Itoa(dead), "failoverHosts", "127.0.0.1:"+strconv.Itoa(dead), "timeout", "1s")
	_, _, err = s.connect(t.Context())
	if !errors.Is(err, directory.ErrUnreachable) {
		t.Fatalf("connect = %v, want ErrUnreachable", err)
	}
	want := fmt.Sprintf("no LDAP server could be reached: cannot connect to 127.0.0.1:%d: connection refused", dead)
	if !strings.Contains(err.Error(), want) || strings.Count(err.Error(), "connection refused") != 2 {
		t.Errorf("connect = %q, want both hosts named (%q)", err, want)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := s.connect(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("connect(cancelled) = %v, want context.Canceled", err)
	}

	s = testSource(t, "hostname", "no-such-host.invalid")
	if _, _, err := s.connect(t.Context()); !errors.Is(err, directory.ErrUnreachable) || !strings.Contains(err.Error(), "does not resolve") {
		t.Errorf("connect(unknown host) = %v, want ErrUnreachable saying the name does not resolve", err)
	}
}

// A TLS failure on the first host does not fail over: the settings are wrong, not the host.
func TestNoFailoverOnTLSError(t *testing.T) {
	other := newTestCA(t, "other")
	now := time.Now()
	bad := serve(t, tlsServer(other.leaf(t, nil, []net.IP{net.IPv4(127, 0, 0, 1)}, now.Add(-time.Hour), now.Add(time.Hour))))
	tried := make(chan bool, 1)
	second := serve(t, func(net.Conn) { tried <- true })
	s := testSource(t, "ssl", "true", "port", strconv.Itoa(bad), "failoverHosts", "127.0.0.1:"+strconv.Itoa(second))
	if _, _, err := s.connect(t.Context()); !errors.Is(err, ErrTLS) {
		t.Fatalf("connect = %v, want ErrTLS", err)
	}
	select {
	case <-tried:
		t.Error("connect tried the failover host after a TLS failure")
	case <-time.After(100 * time.Millisecond):
	}
}
