// Package httpxtest holds test helpers for dirconn's HTTP clients: a throwaway certificate authority that
// issues server certificates for made-up host names (CA), and a forward proxy that alone knows where such
// names live (Proxy). Together they let a test prove that a client really goes through the configured
// proxy and really trusts the configured CA file: a request to "https://bitwarden.test" can only succeed
// through the proxy, and only with the CA.
//
// It is imported by tests only.
package httpxtest

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dirconn/dirconn/internal/testpki"
)

// CA is a certificate authority that lives for one test (a testpki.CA with test-friendly helpers).
type CA struct {
	*testpki.CA
}

// NewCA creates a CA with a fresh key.
func NewCA(t testing.TB) *CA {
	t.Helper()
	ca, err := testpki.NewCA("dirconn test CA "+t.Name(), testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &CA{ca}
}

// File writes the CA certificate as PEM into a temporary file and returns its path.
func (ca *CA) File(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := ca.WriteCA(path); err != nil {
		t.Fatalf("write CA file: %v", err)
	}
	return path
}

// ServerCert issues a certificate for the given host names (and always for 127.0.0.1, ::1 and localhost).
func (ca *CA) ServerCert(t testing.TB, hosts ...string) tls.Certificate {
	t.Helper()
	leaf, err := ca.Server(testpki.Options{}, hosts...)
	if err != nil {
		t.Fatal(err)
	}
	return leaf.TLS
}

// NewTLSServer starts an HTTPS server for h whose certificate, issued by ca, names hosts. It is closed
// when the test ends.
func (ca *CA) NewTLSServer(t testing.TB, h http.Handler, hosts ...string) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.ServerCert(t, hosts...)}}
	// Handshake failures are what some tests are about; keep them out of the test output.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// Proxy is a forward HTTP proxy (absolute-form requests and CONNECT tunnels) that resolves host names
// through its own table only. It records what it was asked for.
type Proxy struct {
	// URL is the proxy's address, "http://127.0.0.1:port".
	URL string

	hosts map[string]string
	mu    sync.Mutex
	log   []string
	conns []net.Conn
}

// NewProxy starts a proxy that sends requests for each host name of hosts (without port) to the
// "ip:port" it maps to; any other host gets 502. It is closed when the test ends.
func NewProxy(t testing.TB, hosts map[string]string) *Proxy {
	t.Helper()
	p := &Proxy{hosts: hosts}
	srv := httptest.NewServer(p)
	p.URL = srv.URL
	t.Cleanup(func() {
		srv.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			_ = c.Close()
		}
	})
	return p
}

// Requests returns what the proxy was asked for, in order: "CONNECT host:port" for tunnels and
// "METHOD http://host/path" for plain requests.
func (p *Proxy) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

func (p *Proxy) record(s string, c ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s != "" {
		p.log = append(p.log, s)
	}
	p.conns = append(p.conns, c...)
}

func (p *Proxy) backend(hostport string) (string, bool) {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	addr, ok := p.hosts[host]
	return addr, ok
}

// ServeHTTP implements the proxy.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		p.record("CONNECT " + r.Host)
		p.tunnel(w, r)
		return
	}
	p.record(r.Method + " " + r.URL.String())
	if !r.URL.IsAbs() {
		http.Error(w, "not a proxy request", http.StatusBadRequest)
		return
	}
	addr, ok := p.backend(r.URL.Host)
	if !ok {
		http.Error(w, "proxy: unknown host "+r.URL.Host, http.StatusBadGateway)
		return
	}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.Out.URL.Scheme = "http"
		pr.Out.URL.Host = addr
		pr.Out.Host = pr.In.Host
	}}
	rp.ServeHTTP(w, r)
}

func (p *Proxy) tunnel(w http.ResponseWriter, r *http.Request) {
	addr, ok := p.backend(r.Host)
	if !ok {
		http.Error(w, "proxy: unknown host "+r.Host, http.StatusBadGateway)
		return
	}
	up, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		_ = up.Close()
		http.Error(w, "proxy: cannot hijack", http.StatusInternalServerError)
		return
	}
	down, buf, err := hj.Hijack()
	if err != nil {
		_ = up.Close()
		return
	}
	p.record("", up, down)
	if _, err := io.WriteString(down, "HTTP/1.1 200 Connection Established\r\n\r\n"); err != nil {
		_ = up.Close()
		_ = down.Close()
		return
	}
	go func() {
		defer up.Close()
		defer down.Close()
		if n := buf.Reader.Buffered(); n > 0 {
			b, _ := buf.Reader.Peek(n)
			if _, err := up.Write(b); err != nil {
				return
			}
		}
		_, _ = io.Copy(up, down)
	}()
	go func() {
		defer up.Close()
		defer down.Close()
		_, _ = io.Copy(down, up)
	}()
}
