package httpx

import (
	"net/http"
	"net/url"
	"os"

	"golang.org/x/net/http/httpproxy"
)

// envProxyFunc reads HTTPS_PROXY, HTTP_PROXY and NO_PROXY (lower case wins) now, through
// golang.org/x/net/http/httpproxy, which is also what net/http uses: loopback is never proxied, NO_PROXY
// takes "*", IPs, CIDR ranges and domains with optional ports, and HTTP_PROXY is ignored in CGI. Unlike
// http.ProxyFromEnvironment it is not cached for the process, so each client sees the environment of its
// creation. A proxy value that does not parse is an error naming the variable: a proxy that is silently
// skipped is the kind of failure admins spend days on.
func envProxyFunc() (func(*http.Request) (*url.URL, error), error) {
	for _, pair := range [][2]string{{"https_proxy", "HTTPS_PROXY"}, {"http_proxy", "HTTP_PROXY"}} {
		name := pair[0]
		raw := os.Getenv(name)
		if raw == "" {
			name, raw = pair[1], os.Getenv(pair[1])
		}
		if raw == "" {
			continue
		}
		if _, err := parseProxyURL(raw); err != nil {
			return nil, &envError{name: name, err: err}
		}
	}
	pf := httpproxy.FromEnvironment().ProxyFunc()
	return func(r *http.Request) (*url.URL, error) { return pf(r.URL) }, nil
}

type envError struct {
	name string
	err  error
}

func (e *envError) Error() string { return "environment variable " + e.name + ": " + e.err.Error() }
func (e *envError) Unwrap() error { return e.err }
