package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirconn/dirconn/internal/directory"
)

// ErrTLS is wrapped (besides a directory sentinel) by errors of the TLS handshake: an untrusted, expired
// or misnamed server certificate, a server that does not speak TLS, a refused client certificate.
var ErrTLS = errors.New("TLS failed")

// Error is an error of the adapter with a message for people and the sentinels it wraps
// (directory.ErrUnreachable, ErrAuth, ErrConfig, ErrTLS) plus its cause.
type Error struct {
	Msg   string
	Kinds []error
	Cause error
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the sentinels and the cause, for errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	out := append([]error(nil), e.Kinds...)
	if e.Cause != nil {
		out = append(out, e.Cause)
	}
	return out
}

func newError(cause error, msg string, kinds ...error) *Error {
	return &Error{Msg: msg, Kinds: kinds, Cause: cause}
}

// connect dials the configured hosts in order until one answers, secures the connection as configured
// and binds. Only an unreachable host moves on to the next one; a TLS failure or a refused bind stops.
// connectTo opens and binds one more connection to h, the host connect chose.
func (s *Source) connectTo(ctx context.Context, h hostPort) (*goldap.Conn, error) {
	tlsCfg, err := s.tlsConfig()
	if err != nil {
		return nil, err
	}
	conn, watch, err := s.dial(ctx, h, tlsCfg)
	if err != nil {
		return nil, err
	}
	if err := s.bind(ctx, conn, watch, h); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func (s *Source) connect(ctx context.Context) (*goldap.Conn, hostPort, error) {
	tlsCfg, err := s.tlsConfig()
	if err != nil {
		return nil, hostPort{}, err
	}
	var unreachable []string
	var causes []error
	for i, h := range s.s.hosts {
		if err := ctx.Err(); err != nil {
			return nil, h, fmt.Errorf("connect to %s: %w", h, err)
		}
		conn, watch, err := s.dial(ctx, h, tlsCfg)
		if err == nil {
			err = s.bind(ctx, conn, watch, h)
			if err != nil {
				conn.Close()
			}
		}
		if err == nil {
			if i > 0 {
				s.log.Warn("ldap: connected to a failover host", "host", h.String(), "unreachable", strings.Join(unreachable, "; "))
			}
			return conn, h, nil
		}
		if ctx.Err() != nil {
			return nil, h, fmt.Errorf("connect to %s: %w", h, ctx.Err())
		}
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, directory.ErrUnreachable) || errors.Is(err, ErrTLS) {
			return nil, h, err
		}
		unreachable = append(unreachable, e.Msg)
		causes = append(causes, e.Cause)
		if i+1 < len(s.s.hosts) {
			s.log.Warn("ldap: server unreachable, trying the next one", "host", h.String(), "error", e.Msg, "next", s.s.hosts[i+1].String())
		}
	}
	if len(unreachable) == 1 {
		return nil, s.s.hosts[0], newError(causes[0], unreachable[0], directory.ErrUnreachable)
	}
	return nil, s.s.hosts[0], newError(errors.Join(causes...),
		"no LDAP server could be reached: "+strings.Join(unreachable, "; "), directory.ErrUnreachable)
}

// tlsConfig builds the TLS configuration shared by LDAPS and StartTLS (ServerName is set per host).
func (s *Source) tlsConfig() (*tls.Config, error) {
	if !s.s.ldaps && !s.s.startTLS {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(s.s.caPaths) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		for _, p := range s.s.caPaths {
			pem, err := os.ReadFile(p)
			if err != nil {
				return nil, newError(err, fmt.Sprintf("read the CA file of ldap.tlsCaPath/sslCaPath: %v", err), directory.ErrConfig)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, newError(nil, fmt.Sprintf("the CA file %s (ldap.tlsCaPath/sslCaPath) holds no PEM certificate", p), directory.ErrConfig)
			}
		}
		cfg.RootCAs = pool
	}
	if s.s.certPath != "" {
		cert, err := tls.LoadX509KeyPair(s.s.certPath, s.s.keyPath)
		if err != nil {
			return nil, newError(err, fmt.Sprintf("load the client certificate (ldap.sslCertPath %s, ldap.sslKeyPath %s): %v",
				s.s.certPath, s.s.keyPath, err), directory.ErrConfig)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if s.s.insecure {
		cfg.InsecureSkipVerify = true
	}
	return cfg, nil
}

// dial opens a connection to h: TCP, then TLS (LDAPS) or StartTLS as configured. It honours ctx and
// s.timeout; errors are *Error.
func (s *Source) dial(ctx context.Context, h hostPort, tlsCfg *tls.Config) (*goldap.Conn, *watchedConn, error) {
	dctx, cancel := context.WithTimeout(ctx, s.s.timeout)
	defer cancel()
	d := net.Dialer{Timeout: s.s.timeout}
	raw, err := d.DialContext(dctx, "tcp", h.String())
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, unreachableError(h, "connect", err, s.s.timeout)
	}
	var c net.Conn = raw
	mode := "plain LDAP"
	if s.s.ldaps || s.s.startTLS {
		if s.s.insecure {
			s.log.Warn("ldap: server certificates are NOT verified (ldap.sslAllowUnauthorized is on): anyone on the network path can read the bind password and the directory", "host", h.String())
		}
		if s.s.startTLS {
			mode = "StartTLS"
			if err := startTLS(dctx, raw); err != nil {
				raw.Close()
				if ctx.Err() != nil {
					return nil, nil, ctx.Err()
				}
				return nil, nil, err.(*Error).withHost(h)
			}
		} else {
			mode = "LDAPS"
		}
		cfg := tlsCfg.Clone()
		cfg.ServerName = h.host
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			raw.Close()
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			return nil, nil, tlsError(h, mode, err, s.s.timeout)
		}
		c = tc
	}
	watch := &watchedConn{Conn: c}
	conn := goldap.NewConn(watch, s.s.ldaps || s.s.startTLS)
	conn.Start()
	s.log.Debug("ldap: connected", "host", h.String(), "mode", mode)
	return conn, watch, nil
}

func (e *Error) withHost(h hostPort) *Error {
	e.Msg = "connect to " + h.String() + ": " + e.Msg
	return e
}

// startTLS sends the StartTLS extended operation (RFC 4511 4.14) on raw and reads its answer, before
// go-ldap takes the connection over, so the TLS handshake that follows is ours and its certificate
// errors keep their type (go-ldap's Conn.StartTLS flattens them to text).
func startTLS(ctx context.Context, raw net.Conn) error {
	if dl, ok := ctx.Deadline(); ok {
		raw.SetDeadline(dl)
		defer raw.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	packet := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Request")
	packet.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(1), "MessageID"))
	req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, goldap.ApplicationExtendedRequest, nil, "Start TLS")
	req.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, "1.3.6.1.4.1.1466.20037", "TLS Extended Command"))
	packet.AppendChild(req)
	if _, err := raw.Write(packet.Bytes()); err != nil {
		return newError(err, fmt.Sprintf("StartTLS: %v", err), directory.ErrUnreachable)
	}
	resp, err := ber.ReadPacket(raw)
	switch {
	case err == nil:
	case isTimeout(err):
		return newError(err, "StartTLS: no answer in time", directory.ErrUnreachable)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET):
		return newError(err, "the server closed the connection when asked for StartTLS; is this an LDAPS port? StartTLS (ldap.startTls) runs on the plain LDAP port (389), LDAPS (ldap.ssl) usually on 636",
			directory.ErrConfig, ErrTLS)
	default:
		return newError(err, fmt.Sprintf("StartTLS: the server's answer is not LDAP (%v); is this an LDAP port?", err), directory.ErrConfig, ErrTLS)
	}
	if err := goldap.GetLDAPError(resp); err != nil {
		var le *goldap.Error
		code := ""
		if errors.As(err, &le) {
			code = fmt.Sprintf(" (LDAP result %d)", le.ResultCode)
		}
		return newError(err, fmt.Sprintf("the server refused StartTLS%s: %s; turn ldap.startTls off or use LDAPS (ldap.ssl)", code, ldapMessage(err)),
			directory.ErrConfig, ErrTLS)
	}
	return nil
}

// unreachableError describes a failure to reach h.
func unreachableError(h hostPort, what string, err error, timeout time.Duration) *Error {
	var why string
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		why = fmt.Sprintf("the host name %q does not resolve", h.host)
	case errors.Is(err, syscall.ECONNREFUSED):
		why = "connection refused (no LDAP server listens on that port)"
	case isTimeout(err):
		why = fmt.Sprintf("no answer within %s (ldap.timeout)", timeout)
	default:
		why = err.Error()
	}
	return newError(err, fmt.Sprintf("cannot %s to %s: %s", what, h, why), directory.ErrUnreachable)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// tlsError explains a failed TLS handshake with h: which certificate check failed and what to set.
func tlsError(h hostPort, mode string, err error, timeout time.Duration) *Error {
	prefix := fmt.Sprintf("%s with %s: ", mode, h)
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &unknown):
		what := "the server certificate"
		if c := unknown.Cert; c != nil && c.Subject.String() == c.Issuer.String() {
			what = fmt.Sprintf("the server certificate chain ends at %q, which", c.Subject)
		} else if c != nil {
			what = fmt.Sprintf("the server certificate (%q, issued by %q)", c.Subject, c.Issuer)
		}
		return newError(err, prefix+what+" is not signed by an authority this machine trusts: set ldap.tlsCaPath (or ldap.sslCaPath) to a PEM file with the CA that signed it",
			directory.ErrConfig, ErrTLS)
	case errors.As(err, &hostname):
		names := certNames(hostname.Certificate)
		return newError(err, fmt.Sprintf("%sthe server certificate is for %s, not for %q: set ldap.hostname to a name the certificate holds",
			prefix, names, hostname.Host), directory.ErrConfig, ErrTLS)
	case errors.As(err, &invalid):
		c := invalid.Cert
		switch invalid.Reason {
		case x509.Expired:
			msg := "the server certificate has expired or is not valid yet"
			if c != nil {
				msg = fmt.Sprintf("the server certificate (%s) is valid from %s to %s, not now (%s)", c.Subject,
					c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339), time.Now().UTC().Format(time.RFC3339))
			}
			return newError(err, prefix+msg, directory.ErrConfig, ErrTLS)
		default:
			return newError(err, prefix+"the server certificate is not valid: "+invalid.Error(), directory.ErrConfig, ErrTLS)
		}
	case errors.As(err, &record):
		return newError(err, prefix+"the server did not answer with TLS; LDAPS is usually port 636, StartTLS (ldap.startTls) runs on the plain LDAP port (389)",
			directory.ErrConfig, ErrTLS)
	case isTimeout(err):
		return newError(err, fmt.Sprintf("%sno TLS handshake within %s (ldap.timeout)", prefix, timeout), directory.ErrUnreachable, ErrTLS)
	case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
		return newError(err, prefix+"the server closed the connection during the TLS handshake; is this a TLS port? LDAPS is usually port 636, StartTLS (ldap.startTls) runs on the plain LDAP port (389)",
			directory.ErrConfig, ErrTLS)
	case strings.Contains(err.Error(), "remote error: tls:"):
		return newError(err, prefix+"the server refused the TLS handshake ("+strings.TrimPrefix(err.Error(), "remote error: tls: ")+
			"); if it requires a client certificate, set ldap.sslCertPath and ldap.sslKeyPath", directory.ErrConfig, ErrTLS)
	}
	return newError(err, prefix+"TLS handshake failed: "+err.Error(), directory.ErrConfig, ErrTLS)
}

// certNames lists the names a certificate is valid for.
func certNames(c *x509.Certificate) string {
	if c == nil {
		return "other names"
	}
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && c.Subject.CommonName != "" {
		return fmt.Sprintf("%q only in its subject (no subject alternative names, which Go requires)", c.Subject.CommonName)
	}
	return strings.Join(names, ", ")
}

// bind authenticates with a simple bind, within s.timeout.
func (s *Source) bind(ctx context.Context, conn *goldap.Conn, watch *watchedConn, h hostPort) error {
	conn.SetTimeout(s.s.timeout)
	defer conn.SetTimeout(0)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	err := conn.Bind(s.s.username, s.s.password)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var le *goldap.Error
	if (!errors.As(err, &le) || le.ResultCode == goldap.ErrorNetwork) && (s.s.ldaps || s.s.startTLS) {
		// A server that refuses the client certificate (TLS 1.3 checks it after the handshake) sends an
		// alert and hangs up; our write may fail first. The alert is what explains it.
		alert := watch.waitReadError(200 * time.Millisecond)
		if alert != nil && strings.Contains(alert.Error(), "remote error: tls:") {
			err = goldap.NewError(goldap.ErrorNetwork, alert)
		} else if s.s.certPath == "" {
			// OpenLDAP (GnuTLS) just hangs up, without an alert.
			return newError(err, fmt.Sprintf("the connection to %s broke during the bind, right after the TLS handshake (%s); a server that requires a client certificate does that: if it does, set ldap.sslCertPath and ldap.sslKeyPath",
				h, ldapMessage(err)), directory.ErrUnreachable, ErrTLS)
		}
	}
	return bindError(h, s.s.username, err)
}

// watchedConn records the first error reading from the connection: go-ldap's reader keeps it to itself.
type watchedConn struct {
	net.Conn
	mu      sync.Mutex
	readErr error
	failed  chan struct{}
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.mu.Lock()
		if c.readErr == nil {
			c.readErr = err
			if c.failed != nil {
				close(c.failed)
			}
		}
		c.mu.Unlock()
	}
	return n, err
}

// waitReadError returns the first read error, waiting up to d for one.
func (c *watchedConn) waitReadError(d time.Duration) error {
	c.mu.Lock()
	if c.readErr != nil || c.failed != nil {
		defer c.mu.Unlock()
		return c.readErr
	}
	c.failed = make(chan struct{})
	ch := c.failed
	c.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(d):
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readErr
}

// adBindData decodes the "data 52e" part of an Active Directory bind error (result 49).
var adBindData = map[string]string{
	"525": "the user does not exist",
	"52e": "the username or password is wrong",
	"530": "the account may not log on at this time",
	"531": "the account may not log on from this workstation",
	"532": "the password has expired",
	"533": "the account is disabled",
	"568": "the account is in too many groups to log on",
	"701": "the account has expired",
	"773": "the password must be changed before the account can log on",
	"775": "the account is locked out",
}

var adDataPattern = regexp.MustCompile(`(?i)\bdata ([0-9a-f]{3,8})\b`)

// bindError explains a failed bind. The password never appears: go-ldap does not put it in errors, and
// nothing here adds it.
func bindError(h hostPort, user string, err error) error {
	var le *goldap.Error
	if !errors.As(err, &le) {
		// go-ldap returns its connection's read error as it is.
		le = &goldap.Error{ResultCode: goldap.ErrorNetwork, Err: err}
	}
	msg := ldapMessage(le)
	switch le.ResultCode {
	case goldap.LDAPResultInvalidCredentials:
		why := "the username or password is wrong"
		data := ""
		if m := adDataPattern.FindStringSubmatch(msg); m != nil {
			data = strings.ToLower(m[1])
			if w, ok := adBindData[data]; ok {
				why = w
			}
			data = ", AD data " + data
		}
		return newError(err, fmt.Sprintf("%s refused the bind as %q: %s (LDAP result 49 invalid credentials%s); check ldap.username and ldap.password",
			h, user, why, data), directory.ErrAuth)
	case goldap.LDAPResultStrongAuthRequired, goldap.LDAPResultConfidentialityRequired:
		return newError(err, fmt.Sprintf("%s refuses a password bind on an unencrypted connection (LDAP result %d: %s): turn on ldap.ssl (LDAPS, port 636) or ldap.startTls",
			h, le.ResultCode, msg), directory.ErrConfig)
	case goldap.LDAPResultInappropriateAuthentication, goldap.LDAPResultAuthMethodNotSupported, goldap.LDAPResultUnwillingToPerform:
		return newError(err, fmt.Sprintf("%s refused the bind as %q (LDAP result %d %s: %s)", h, user, le.ResultCode,
			goldap.LDAPResultCodeMap[le.ResultCode], msg), directory.ErrAuth)
	case goldap.ErrorEmptyPassword:
		return newError(err, "ldap.password is empty", directory.ErrConfig)
	case goldap.ErrorNetwork:
		if strings.Contains(msg, "remote error: tls:") {
			return newError(err, fmt.Sprintf("%s ended the TLS session during the bind (%s); if it requires a client certificate, set ldap.sslCertPath and ldap.sslKeyPath",
				h, msg), directory.ErrConfig, ErrTLS)
		}
		return newError(err, fmt.Sprintf("the connection to %s broke during the bind: %s", h, msg), directory.ErrUnreachable)
	}
	return newError(err, fmt.Sprintf("bind to %s as %q failed (LDAP result %d %s: %s)", h, user, le.ResultCode,
		goldap.LDAPResultCodeMap[le.ResultCode], msg), directory.ErrAuth)
}

// ldapMessage returns the server's diagnostic message of an LDAP error (or the error text).
func ldapMessage(err error) string {
	var le *goldap.Error
	if errors.As(err, &le) && le.Err != nil {
		return strings.TrimSpace(strings.TrimRight(le.Err.Error(), "\x00"))
	}
	return err.Error()
}
