// Package httpx is the HTTP layer every network client in dirconn shares (the Bitwarden client and the
// Graph, Google, Okta and OneLogin adapters): one place that builds an *http.Client with timeouts, proxy,
// custom CA and user agent (NewClient), and one place that retries a request with capped exponential
// backoff and Retry-After (Do).
//
// The package keeps no global state: every client is built from its Options, and the proxy environment
// (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) is read when the client is built, not per request. A *http.Client
// from NewClient is safe for concurrent use, like any *http.Client. httpx imports no other dirconn package.
package httpx

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// DefaultTimeout is the overall per-request timeout when Options.Timeout is zero. It matches the 300 s
// the Bitwarden Directory Connector waits for response headers: a large self-hosted import can take
// minutes before the server answers.
const DefaultTimeout = 5 * time.Minute

// Timeouts of the connection phases, each further capped by the overall Options.Timeout.
const (
	dialTimeout         = 30 * time.Second
	tlsHandshakeTimeout = 15 * time.Second
	idleConnTimeout     = 90 * time.Second
)

// Options configures NewClient. The zero value is a verified-TLS client with the default timeout that
// takes its proxy from the environment.
type Options struct {
	// Timeout bounds one request: connecting, sending, waiting for and reading the response.
	// Zero or negative means DefaultTimeout. The response-header wait uses the same value; dialing and
	// the TLS handshake have their own shorter limits (30 s and 15 s, or Timeout when smaller).
	Timeout time.Duration

	// Proxy is an explicit proxy URL (schemes http, https, socks5, socks5h; "host:port" means http).
	// When set it is used for every request, whatever the host, and the environment is ignored.
	// When empty, HTTPS_PROXY, HTTP_PROXY and NO_PROXY (or their lower-case forms, which win) are read
	// once by NewClient; as with Go's standard library, "localhost" and loopback addresses are then never
	// proxied.
	Proxy string

	// CAFile names a PEM file whose certificates are trusted in addition to the system roots (a company
	// root CA, a self-hosted server's own CA).
	CAFile string

	// UserAgent is set on every request that does not already carry a User-Agent header.
	UserAgent string

	// InsecureSkipVerify turns TLS certificate verification off. It exists only for settings that mirror
	// an explicit "do not verify" option of the product dirconn replaces; callers that turn it on must
	// log a warning saying so every time they build such a client, because it makes the connection open
	// to interception. It is never on by default.
	InsecureSkipVerify bool
}

// NewClient builds an *http.Client from o. It fails when the proxy setting (explicit or from the
// environment) is not a usable URL, or when CAFile cannot be read or holds no certificate.
func NewClient(o Options) (*http.Client, error) {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	proxy, err := proxyFunc(o.Proxy)
	if err != nil {
		return nil, err
	}
	tlsConf := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: o.InsecureSkipVerify, //nolint:gosec // opt-in, documented; callers log it.
	}
	if o.CAFile != "" {
		pool, err := loadCAFile(o.CAFile)
		if err != nil {
			return nil, err
		}
		tlsConf.RootCAs = pool
	}
	dialer := &net.Dialer{Timeout: min(dialTimeout, timeout), KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 proxy,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   min(tlsHandshakeTimeout, timeout),
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       idleConnTimeout,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   10,
		ForceAttemptHTTP2:     true,
	}
	var rt http.RoundTripper = tr
	if o.UserAgent != "" {
		rt = &userAgentTransport{base: tr, userAgent: o.UserAgent}
	}
	return &http.Client{Transport: rt, Timeout: timeout}, nil
}

// proxyFunc returns the Transport.Proxy function for an explicit proxy setting, or for the environment
// as it is now when explicit is empty.
func proxyFunc(explicit string) (func(*http.Request) (*url.URL, error), error) {
	if s := strings.TrimSpace(explicit); s != "" {
		u, err := parseProxyURL(s)
		if err != nil {
			return nil, fmt.Errorf("proxy setting: %w", err)
		}
		return http.ProxyURL(u), nil
	}
	// Bad values are reported here, naming the variable: a proxy that is silently skipped is the kind
	// of failure admins spend days on.
	return envProxyFunc()
}

// parseProxyURL parses and checks a proxy URL. A bare "host:port" means an http proxy, as for the
// environment variables. Errors never repeat the URL, which may hold a password.
func parseProxyURL(s string) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("invalid proxy URL: %w", err)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "socks5", "socks5h":
	default:
		return nil, fmt.Errorf("invalid proxy URL %s: scheme %q is not supported (use http, https or socks5)",
			u.Redacted(), u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("invalid proxy URL %s: no host", u.Redacted())
	}
	if p := u.Port(); p != "" {
		if _, err := net.LookupPort("tcp", p); err != nil {
			return nil, fmt.Errorf("invalid proxy URL %s: bad port %q", u.Redacted(), p)
		}
	}
	return u, nil
}

// loadCAFile returns the system roots plus the certificates of the PEM file at path.
func loadCAFile(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}

// userAgentTransport sets the User-Agent header on requests that have none.
type userAgentTransport struct {
	base      http.RoundTripper
	userAgent string
}

func (t *userAgentTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("User-Agent") == "" {
		// A RoundTripper must not modify the caller's request.
		r = r.Clone(r.Context())
		r.Header.Set("User-Agent", t.userAgent)
	}
	return t.base.RoundTrip(r)
}

// CloseIdleConnections lets (*http.Client).CloseIdleConnections reach the wrapped transport.
func (t *userAgentTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
