package bitwarden_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dirconn/dirconn/internal/bitwarden"
	"github.com/dirconn/dirconn/internal/httpx"
	"github.com/dirconn/dirconn/internal/httpx/httpxtest"
)

const (
	testOrg     = "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b"
	testSecret  = "s3cr3tAPIkeyABCDEFGHIJKLMNOPQR" // 30 characters, like a real one
	testDevice  = "9b0d6c1e-2f3a-4b5c-8d7e-6f5a4b3c2d1e"
	testVersion = "1.2.3"
)

// clock is the shared fake clock of httpxtest.
type clock = httpxtest.Clock

func newClock() *clock { return httpxtest.NewClock() }

// call is one request the fake received.
type call struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
}

// fake is a small Bitwarden server: it issues JWTs with an exp from the shared clock, rejects expired or
// unknown tokens with 401, accepts imports, pages members and groups, and lets a test script the next
// answers of a path. It checks nothing on its own beyond authentication; tests look at its calls.
type fake struct {
	t     *testing.T
	clock *clock
	srv   *httptest.Server

	identityPrefix, apiPrefix string // "" (cloud-like hosts) or "/identity" and "/api" (self-hosted)
	tokenLife                 time.Duration
	opaqueTokens              bool // issue non-JWT tokens, relying on expires_in
	pageSize                  int

	mu      sync.Mutex
	calls   []call
	tokens  map[string]time.Time // issued token -> expiry
	issued  int
	script  map[string][]http.HandlerFunc
	members []bitwarden.Member
	groups  []bitwarden.Group
}

func newFake(t *testing.T, clk *clock, selfHosted bool) *fake {
	t.Helper()
	f := &fake{t: t, clock: clk, tokenLife: time.Hour, pageSize: 2, tokens: map[string]time.Time{},
		script: map[string][]http.HandlerFunc{}}
	if selfHosted {
		f.identityPrefix, f.apiPrefix = "/identity", "/api"
	}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// env is the environment a client uses to reach the fake.
func (f *fake) env() bitwarden.Environment {
	if f.apiPrefix != "" {
		return bitwarden.Environment{Server: f.srv.URL}
	}
	return bitwarden.Environment{APIURL: f.srv.URL, IdentityURL: f.srv.URL}
}

func (f *fake) tokenPath() string   { return f.identityPrefix + "/connect/token" }
func (f *fake) importPath() string  { return f.apiPrefix + "/public/organization/import" }
func (f *fake) membersPath() string { return f.apiPrefix + "/public/members" }
func (f *fake) groupsPath() string  { return f.apiPrefix + "/public/groups" }

// then scripts the next answers for path, used before the default behaviour.
func (f *fake) then(path string, hs ...http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script[path] = append(f.script[path], hs...)
}

// count returns how many requests reached path.
func (f *fake) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c.Path == path {
			n++
		}
	}
	return n
}

func (f *fake) callsTo(path string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	f.mu.Lock()
	f.calls = append(f.calls, call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	var h http.HandlerFunc
	if q := f.script[r.URL.Path]; len(q) > 0 {
		h, f.script[r.URL.Path] = q[0], q[1:]
	}
	f.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == f.tokenPath():
		f.token(w, r)
	case r.Method == http.MethodPost && r.URL.Path == f.importPath():
		if f.authorized(w, r) {
			w.WriteHeader(http.StatusOK)
		}
	case r.Method == http.MethodGet && r.URL.Path == f.membersPath():
		if f.authorized(w, r) {
			f.mu.Lock()
			items := append([]bitwarden.Member(nil), f.members...)
			f.mu.Unlock()
			writePage(w, r, items, f.pageSize)
		}
	case r.Method == http.MethodGet && r.URL.Path == f.groupsPath():
		if f.authorized(w, r) {
			f.mu.Lock()
			items := append([]bitwarden.Group(nil), f.groups...)
			f.mu.Unlock()
			writePage(w, r, items, f.pageSize)
		}
	default:
		http.NotFound(w, r)
	}
}

func (f *fake) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.PostForm.Get("client_id") != "organization."+testOrg || r.PostForm.Get("client_secret") != testSecret ||
		r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_client"})
		return
	}
	f.mu.Lock()
	f.issued++
	exp := f.clock.Now().Add(f.tokenLife)
	tok := fmt.Sprintf("opaque-token-%d", f.issued)
	if !f.opaqueTokens {
		tok = makeJWT(map[string]any{"exp": exp.Unix(), "client_sub": testOrg, "jti": strconv.Itoa(f.issued)})
	}
	f.tokens[tok] = exp
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": int(f.tokenLife / time.Second),
		"token_type": "Bearer", "scope": "api.organization"})
}

// authorized answers 401 (empty body) unless the request has a known, unexpired token.
func (f *fake) authorized(w http.ResponseWriter, r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	exp, known := f.tokens[tok]
	f.mu.Unlock()
	if !ok || !known || !f.clock.Now().Before(exp) {
		w.Header().Set("WWW-Authenticate", "Bearer")
		w.WriteHeader(http.StatusUnauthorized)
		return false
	}
	return true
}

// revokeAll makes every issued token unknown, as after an API key rotation.
func (f *fake) revokeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = map[string]time.Time{}
}

func writePage[T any](w http.ResponseWriter, r *http.Request, items []T, size int) {
	start := 0
	if ct := r.URL.Query().Get("continuationToken"); ct != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(ct, "page+"))
		if err != nil {
			http.Error(w, "bad token", http.StatusBadRequest)
			return
		}
		start = n
	}
	end := min(start+size, len(items))
	var next any
	if end < len(items) {
		next = fmt.Sprintf("page+%d", end) // "+" must arrive escaped
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": items[start:end], "continuationToken": next})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func makeJWT(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256", "typ": "at+jwt"}) + "." + enc(claims) + ".c2lnbmF0dXJl"
}

// status answers with a status, optional JSON body and headers.
func status(code int, body any, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		if body == nil {
			w.WriteHeader(code)
			return
		}
		writeJSON(w, code, body)
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newClient builds a client for f with the fake clock; mod may change the options first.
func newClient(t *testing.T, f *fake, mod ...func(*bitwarden.Options)) (*bitwarden.Client, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	o := bitwarden.Options{
		Env:          f.env(),
		ClientID:     "organization." + testOrg,
		ClientSecret: testSecret,
		DeviceID:     testDevice,
		Version:      testVersion,
		HTTP:         f.srv.Client(),
		Retry:        httpx.Policy{Sleep: f.clock.Sleep},
		Now:          f.clock.Now,
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mod {
		m(&o)
	}
	c, err := bitwarden.New(o)
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	return c, logs
}

// form parses a recorded token request body.
func form(t *testing.T, c call) url.Values {
	t.Helper()
	v, err := url.ParseQuery(string(c.Body))
	if err != nil {
		t.Fatalf("token request body %q: %v", c.Body, err)
	}
	return v
}
