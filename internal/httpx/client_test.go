package httpx_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dirconn/dirconn/internal/httpx"
	"github.com/dirconn/dirconn/internal/httpx/httpxtest"
	"github.com/google/go-cmp/cmp"
)

// clearProxyEnv empties every proxy variable for the test, so the developer's own settings do not leak in.
func clearProxyEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "REQUEST_METHOD"} {
		t.Setenv(k, "")
	}
}

func newClient(t *testing.T, o httpx.Options) *http.Client {
	t.Helper()
	c, err := httpx.NewClient(o)
	if err != nil {
		t.Fatalf("NewClient(%+v) = %v", o, err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func get(t *testing.T, c *http.Client, url string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), errors.New(resp.Status)
	}
	return string(b), nil
}

// hello answers with the Host header it saw, so tests can tell which server answered.
func hello(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, name+" "+r.Host+r.URL.Path)
	})
}

func addr(srv *httptest.Server) string { return srv.Listener.Addr().String() }

func TestProxyExplicit(t *testing.T) {
	clearProxyEnv(t)
	plain := httptest.NewServer(hello("plain"))
	defer plain.Close()
	ca := httpxtest.NewCA(t)
	secure := ca.NewTLSServer(t, hello("secure"), "bitwarden.test")
	proxy := httpxtest.NewProxy(t, map[string]string{"plain.test": addr(plain), "bitwarden.test": addr(secure)})

	c := newClient(t, httpx.Options{Proxy: proxy.URL, CAFile: ca.File(t)})
	if got, err := get(t, c, "http://plain.test/a"); err != nil || got != "plain plain.test/a" {
		t.Errorf("GET http://plain.test/a = %q, %v; want answer from the plain server", got, err)
	}
	if got, err := get(t, c, "https://bitwarden.test/b"); err != nil || got != "secure bitwarden.test/b" {
		t.Errorf("GET https://bitwarden.test/b = %q, %v; want answer from the TLS server", got, err)
	}
	want := []string{"GET http://plain.test/a", "CONNECT bitwarden.test:443"}
	if diff := cmp.Diff(want, proxy.Requests()); diff != "" {
		t.Errorf("proxy requests (-want +got):\n%s", diff)
	}
}

func TestProxyExplicitWinsOverEnvironment(t *testing.T) {
	clearProxyEnv(t)
	backend := httptest.NewServer(hello("backend"))
	defer backend.Close()
	good := httpxtest.NewProxy(t, map[string]string{"app.test": addr(backend)})
	other := httpxtest.NewProxy(t, map[string]string{"app.test": addr(backend)})
	t.Setenv("HTTP_PROXY", other.URL)
	t.Setenv("NO_PROXY", "app.test")

	c := newClient(t, httpx.Options{Proxy: strings.TrimPrefix(good.URL, "http://")}) // "host:port" means http
	if _, err := get(t, c, "http://app.test/"); err != nil {
		t.Fatalf("GET through explicit proxy: %v", err)
	}
	if n := len(good.Requests()); n != 1 {
		t.Errorf("explicit proxy saw %d requests, want 1", n)
	}
	if n := len(other.Requests()); n != 0 {
		t.Errorf("environment proxy saw %d requests, want 0", n)
	}
}

func TestProxyFromEnvironment(t *testing.T) {
	plain := httptest.NewServer(hello("plain"))
	defer plain.Close()
	ca := httpxtest.NewCA(t)
	secure := ca.NewTLSServer(t, hello("secure"), "bitwarden.test")
	hosts := map[string]string{"plain.test": addr(plain), "bitwarden.test": addr(secure), "skipped.test": addr(plain)}

	for _, upper := range []bool{true, false} {
		name := "lower-case"
		if upper {
			name = "upper-case"
		}
		t.Run(name, func(t *testing.T) {
			clearProxyEnv(t)
			proxy := httpxtest.NewProxy(t, hosts)
			httpName, httpsName, noName := "http_proxy", "https_proxy", "no_proxy"
			if upper {
				httpName, httpsName, noName = "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"
			}
			t.Setenv(httpName, proxy.URL)
			t.Setenv(httpsName, proxy.URL)
			t.Setenv(noName, "example.org, .skipped.test,skipped.test")

			c := newClient(t, httpx.Options{CAFile: ca.File(t)})
			// The environment is read when the client is built: changing it later has no effect.
			t.Setenv(httpName, "")
			t.Setenv(httpsName, "")

			if got, err := get(t, c, "http://plain.test/x"); err != nil || got != "plain plain.test/x" {
				t.Errorf("GET http://plain.test/x = %q, %v", got, err)
			}
			if got, err := get(t, c, "https://bitwarden.test/y"); err != nil || got != "secure bitwarden.test/y" {
				t.Errorf("GET https://bitwarden.test/y = %q, %v", got, err)
			}
			// NO_PROXY: the client resolves skipped.test itself, which fails (only the proxy knows it).
			if _, err := get(t, c, "http://skipped.test/z"); err == nil {
				t.Errorf("GET http://skipped.test/z succeeded; NO_PROXY should have kept it off the proxy")
			}
			want := []string{"GET http://plain.test/x", "CONNECT bitwarden.test:443"}
			if diff := cmp.Diff(want, proxy.Requests()); diff != "" {
				t.Errorf("proxy requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNoProxyRules(t *testing.T) {
	backend := httptest.NewServer(hello("backend"))
	defer backend.Close()
	tests := []struct {
		noProxy string
		url     string
		proxied bool
	}{
		{"", "http://a.test/", true},
		{"*", "http://a.test/", false},
		{"a.test", "http://a.test/", false},
		{"a.test", "http://sub.a.test/", false},
		{".a.test", "http://a.test/", true},
		{".a.test", "http://sub.a.test/", false},
		{"*.a.test", "http://sub.a.test/", false},
		{"a.test:8080", "http://a.test/", true},
		{"a.test:80", "http://a.test/", false},
		{"b.test", "http://a.test/", true},
		{"10.1.0.0/16", "http://10.1.2.3/", false},
		{"10.1.0.0/16", "http://10.2.2.3/", true},
		{"10.1.2.3", "http://10.1.2.3/", false},
		{"10.1.2.3:81", "http://10.1.2.3/", true},
		{"", "http://localhost/", false},
		{"", "http://127.0.0.1:1/", false},
	}
	for _, tt := range tests {
		t.Run(tt.noProxy+" "+tt.url, func(t *testing.T) {
			clearProxyEnv(t)
			var proxied atomic.Bool
			proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				proxied.Store(true)
			}))
			defer proxy.Close()
			t.Setenv("HTTP_PROXY", proxy.URL)
			t.Setenv("NO_PROXY", tt.noProxy)
			c := newClient(t, httpx.Options{Timeout: 300 * time.Millisecond})
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, tt.url, nil)
			if resp, err := c.Do(req); err == nil {
				resp.Body.Close()
			}
			if got := proxied.Load(); got != tt.proxied {
				t.Errorf("NO_PROXY=%q: %s proxied = %v, want %v", tt.noProxy, tt.url, got, tt.proxied)
			}
		})
	}
}

func TestProxyValidation(t *testing.T) {
	tests := []struct {
		proxy   string
		wantErr string // "" = valid
	}{
		{"http://proxy.corp:3128", ""},
		{"https://proxy.corp", ""},
		{"socks5://127.0.0.1:1080", ""},
		{"proxy.corp:3128", ""},
		{"  http://proxy.corp:3128  ", ""},
		{"ftp://proxy.corp", `scheme "ftp" is not supported`},
		{"http://", "no host"},
		{"http://user:hunter2@proxy.corp:99999", "bad port"},
		{"http://proxy corp", "invalid proxy URL"},
	}
	for _, tt := range tests {
		t.Run(tt.proxy, func(t *testing.T) {
			clearProxyEnv(t)
			_, err := httpx.NewClient(httpx.Options{Proxy: tt.proxy})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("NewClient(Proxy: %q) = %v, want no error", tt.proxy, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("NewClient(Proxy: %q) = %v, want error containing %q", tt.proxy, err, tt.wantErr)
			case err != nil && strings.Contains(err.Error(), "hunter2"):
				t.Errorf("NewClient error %q reveals the proxy password", err)
			}
		})
	}
}

func TestProxyEnvironmentValidation(t *testing.T) {
	clearProxyEnv(t)
	t.Setenv("https_proxy", "gopher://proxy.corp")
	_, err := httpx.NewClient(httpx.Options{})
	if err == nil || !strings.Contains(err.Error(), "https_proxy") || !strings.Contains(err.Error(), "gopher") {
		t.Errorf("NewClient with https_proxy=gopher://... = %v, want an error naming https_proxy and the scheme", err)
	}
}

func TestCAFile(t *testing.T) {
	clearProxyEnv(t)
	ca := httpxtest.NewCA(t)
	srv := ca.NewTLSServer(t, hello("secure"))

	t.Run("trusted", func(t *testing.T) {
		c := newClient(t, httpx.Options{CAFile: ca.File(t)})
		if _, err := get(t, c, srv.URL); err != nil {
			t.Errorf("GET with the right CA file: %v", err)
		}
	})
	t.Run("system roots only", func(t *testing.T) {
		c := newClient(t, httpx.Options{})
		_, err := get(t, c, srv.URL)
		if err == nil || !httpx.IsTLSVerification(err) {
			t.Errorf("GET without CA file = %v, want a TLS verification error", err)
		}
	})
	t.Run("wrong CA", func(t *testing.T) {
		other := httpxtest.NewCA(t)
		c := newClient(t, httpx.Options{CAFile: other.File(t)})
		_, err := get(t, c, srv.URL)
		if err == nil || !httpx.IsTLSVerification(err) {
			t.Errorf("GET with another CA = %v, want a TLS verification error", err)
		}
		if httpx.DefaultRetryable(nil, err) {
			t.Errorf("DefaultRetryable(%v) = true, want false", err)
		}
	})
	t.Run("insecure", func(t *testing.T) {
		c := newClient(t, httpx.Options{InsecureSkipVerify: true})
		if _, err := get(t, c, srv.URL); err != nil {
			t.Errorf("GET with InsecureSkipVerify: %v", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nope.pem")
		_, err := httpx.NewClient(httpx.Options{CAFile: path})
		if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "nope.pem") {
			t.Errorf("NewClient(CAFile: missing) = %v, want a not-exist error naming the file", err)
		}
	})
	t.Run("no certificate", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "empty.pem")
		if err := os.WriteFile(path, []byte("not a certificate\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := httpx.NewClient(httpx.Options{CAFile: path})
		if err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
			t.Errorf("NewClient(CAFile: garbage) = %v, want a no-certificate error", err)
		}
	})
}

func TestUserAgent(t *testing.T) {
	clearProxyEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.UserAgent())
	}))
	defer srv.Close()
	c := newClient(t, httpx.Options{UserAgent: "dirconn/1.0 (linux)"})

	if got, err := get(t, c, srv.URL); err != nil || got != "dirconn/1.0 (linux)" {
		t.Errorf("User-Agent = %q, %v; want the configured one", got, err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	req.Header.Set("User-Agent", "caller/2")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "caller/2" {
		t.Errorf("User-Agent = %q, want the request's own caller/2", b)
	}
	if got := req.Header.Get("User-Agent"); got != "caller/2" {
		t.Errorf("the caller's request was modified: User-Agent %q", got)
	}
}

func TestTimeout(t *testing.T) {
	clearProxyEnv(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	c := newClient(t, httpx.Options{Timeout: 50 * time.Millisecond})
	start := time.Now()
	_, err := get(t, c, srv.URL)
	var ne net.Error
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("GET from a stalled server = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeout took %v, want about 50ms", d)
	}
	if !httpx.DefaultRetryable(nil, err) {
		t.Errorf("DefaultRetryable(timeout) = false, want true")
	}
}

func TestDefaultTimeout(t *testing.T) {
	clearProxyEnv(t)
	c := newClient(t, httpx.Options{})
	if c.Timeout != httpx.DefaultTimeout {
		t.Errorf("Timeout = %v, want %v", c.Timeout, httpx.DefaultTimeout)
	}
}
