package onelogin

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/onelogin/oneloginfake"
)

var fullRead = directory.FetchRequest{Users: true, Groups: true}

func TestRateLimit(t *testing.T) {
	tests := []struct {
		name    string
		opts    oneloginfake.Options
		faults  []oneloginfake.Fault
		maxWait string
		// wantSleeps are the waits the read made; wantErr "" means the read succeeds.
		wantSleeps []time.Duration
		wantErr    string
		// wantUserCalls is how many users requests reached the fake: none after giving up.
		wantUserCalls int
	}{
		{
			// The hourly budget runs out on page 3; X-RateLimit-Reset says when the window starts again.
			name: "budget waited out from X-RateLimit-Reset", opts: oneloginfake.Options{Budget: 2}, maxWait: "2h",
			wantSleeps: []time.Duration{time.Hour}, wantUserCalls: 4,
		},
		{
			name: "budget with Retry-After", opts: oneloginfake.Options{Budget: 2, RetryAfter: true}, maxWait: "2h",
			wantSleeps: []time.Duration{time.Hour}, wantUserCalls: 4,
		},
		{
			// Waiting an hour is more than the default 5 minutes: the read fails at once, nothing more is asked.
			name: "budget beyond maxWait", opts: oneloginfake.Options{Budget: 2},
			wantErr: "rate limit of 2 calls an hour is used up (HTTP 429: Too Many Requests)", wantUserCalls: 3,
		},
		{
			name: "maxWait 0 fails at the first 429", faults: []oneloginfake.Fault{{Route: oneloginfake.RouteUsers, Status: 429, RetryAfter: "1"}},
			maxWait: "0s", wantErr: "onelogin.maxWait (0s)", wantUserCalls: 1,
		},
		{
			name: "short 429s", faults: []oneloginfake.Fault{{Route: oneloginfake.RouteUsers, Skip: 1, Times: 2, Status: 429, RetryAfter: "7"}},
			wantSleeps: []time.Duration{7 * time.Second, 7 * time.Second}, wantUserCalls: 5,
		},
		{
			// The fault's 429 carries X-RateLimit-Reset: 1 and no Retry-After.
			name: "429 with reset only", faults: []oneloginfake.Fault{{Route: oneloginfake.RouteRoles, Status: 429}},
			wantSleeps: []time.Duration{time.Second}, wantUserCalls: 3,
		},
		{
			// maxWait bounds the whole read, not each request: 40 s on page 1, then 40 s more is too much.
			name: "the wait budget is per read", maxWait: "1m",
			faults: []oneloginfake.Fault{
				{Route: oneloginfake.RouteUsers, Status: 429, RetryAfter: "40"},
				{Route: oneloginfake.RouteUsers, Skip: 2, Status: 429, RetryAfter: "40"},
			},
			wantSleeps: []time.Duration{40 * time.Second}, wantErr: "more than the 20s left", wantUserCalls: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Users, tt.opts.Roles = people(120), threeRoles
			e := newEnv(t, tt.opts)
			for _, f := range tt.faults {
				e.fake.Inject(f)
			}
			var kv []string
			if tt.maxWait != "" {
				kv = []string{optMaxWait, tt.maxWait}
			}
			snap, err := e.source(kv...).Fetch(t.Context(), fullRead)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Fetch = %v, want a snapshot", err)
			case tt.wantErr == "" && (len(snap.Users) != 120 || !snap.Completeness.Complete()):
				t.Errorf("Fetch = %d users, complete %v; want all 120", len(snap.Users), snap.Completeness.Complete())
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Fetch = %v, want an error containing %q", err, tt.wantErr)
			case tt.wantErr != "" && snap != nil:
				t.Errorf("Fetch returned a snapshot with its error")
			}
			if diff := cmp.Diff(tt.wantSleeps, e.clock.Sleeps()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			if got := e.fake.Count(oneloginfake.RouteUsers); got != tt.wantUserCalls {
				t.Errorf("users requests = %d, want %d:\n%s", got, tt.wantUserCalls, strings.Join(apiRequests(e.fake, oneloginfake.RouteUsers), "\n"))
			}
		})
	}
}

func TestServerErrors(t *testing.T) {
	t.Run("retried", func(t *testing.T) {
		e := newEnv(t, oneloginfake.Options{Users: people(120), Roles: threeRoles})
		e.fake.Inject(oneloginfake.Fault{Route: oneloginfake.RouteUsers, Skip: 1, Times: 2, Status: 500})
		snap := e.fetch(e.source(), fullRead)
		if len(snap.Users) != 120 || len(e.clock.Sleeps()) != 2 {
			t.Errorf("got %d users after %d waits, want 120 after 2", len(snap.Users), len(e.clock.Sleeps()))
		}
	})
	t.Run("given up", func(t *testing.T) {
		e := newEnv(t, oneloginfake.Options{Users: people(120), Roles: threeRoles})
		e.fake.Inject(oneloginfake.Fault{Route: oneloginfake.RouteUsers, Skip: 1, Times: -1, Status: 503})
		_, err := e.source().Fetch(t.Context(), fullRead)
		if !errors.Is(err, directory.ErrUnreachable) || !containsAll(err.Error(), "read users (page 2)", "HTTP 503", "gave up after 5 attempts") {
			t.Errorf("Fetch = %v, want ErrUnreachable after 5 attempts on page 2", err)
		}
		if n := e.fake.Count(oneloginfake.RouteUsers); n != 6 {
			t.Errorf("users requests = %d, want 6 (page 1, then 5 attempts at page 2)", n)
		}
	})
}

func TestErrorMidPagingFailsTheRead(t *testing.T) {
	tests := []struct {
		name     string
		faults   []oneloginfake.Fault
		wantErr  []string
		wantKind error
		// wantTokens is how many tokens the fake handed out.
		wantTokens int
	}{
		{name: "malformed page", faults: []oneloginfake.Fault{{Route: oneloginfake.RouteUsers, Skip: 1, Malformed: true}},
			wantErr: []string{"read users (page 2)", "not OneLogin's JSON"}, wantTokens: 1},
		{name: "forbidden", faults: []oneloginfake.Fault{{Route: oneloginfake.RouteRoles, Status: 403}},
			wantErr: []string{"read roles (page 1)", "HTTP 403", "Read users"}, wantKind: directory.ErrAuth, wantTokens: 1},
		{name: "not found", faults: []oneloginfake.Fault{{Route: oneloginfake.RouteUsers, Skip: 2, Status: 404}},
			wantErr: []string{"read users (page 3)", "no OneLogin API at", "onelogin.apiUrl"}, wantKind: directory.ErrConfig, wantTokens: 1},
		{name: "bad request", faults: []oneloginfake.Fault{{Route: oneloginfake.RouteUsers, Skip: 1, Status: 400}},
			wantErr: []string{"read users (page 2)", "HTTP 400"}, wantTokens: 1},
		{name: "token revoked, credentials deleted", wantKind: directory.ErrAuth, wantTokens: 1,
			faults:  []oneloginfake.Fault{{Route: oneloginfake.RouteUsers, Skip: 1, Revoke: true}, {Route: oneloginfake.RouteToken, Skip: 1, Status: 401}},
			wantErr: []string{"read users (page 2)", "HTTP 401", "a new one could not be had", "HTTP 401: Authentication Failure", "onelogin.clientSecret"}},
		{name: "token revoked twice", wantKind: directory.ErrAuth, wantTokens: 2,
			faults:  []oneloginfake.Fault{{Route: oneloginfake.RouteUsers, Skip: 1, Revoke: true}, {Route: oneloginfake.RouteUsers, Skip: 3, Revoke: true}},
			wantErr: []string{"read users (page 3)", "refused the access token", "a new one too"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, oneloginfake.Options{Users: people(120), Roles: threeRoles})
			for _, f := range tt.faults {
				e.fake.Inject(f)
			}
			checkFailed(t, e, e.source(), tt.wantErr, tt.wantKind)
			if n := e.fake.TokensIssued(); n != tt.wantTokens {
				t.Errorf("tokens issued = %d, want %d", n, tt.wantTokens)
			}
		})
	}
}

func checkFailed(t *testing.T, e *env, src *Source, want []string, kind error) {
	t.Helper()
	snap, err := src.Fetch(t.Context(), fullRead)
	if err == nil || snap != nil {
		t.Fatalf("Fetch = %v snapshot, %v; want an error and no snapshot", snap != nil, err)
	}
	if !containsAll(err.Error(), want...) {
		t.Errorf("Fetch = %q, want it to contain %q", err, want)
	}
	if kind != nil && !errors.Is(err, kind) {
		t.Errorf("Fetch = %v, want it to wrap %v", err, kind)
	}
	if strings.Contains(err.Error(), e.fake.ClientSecret()) || strings.Contains(err.Error(), oneloginfake.DefaultClientSecret) {
		t.Errorf("the error shows the client secret: %v", err)
	}
}

func TestRevokedTokenRenewed(t *testing.T) {
	// A token revoked mid-walk gets one new token; the walk goes on from the same cursor.
	e := newEnv(t, oneloginfake.Options{Users: people(120), Roles: threeRoles})
	e.fake.Inject(oneloginfake.Fault{Route: oneloginfake.RouteUsers, Skip: 1, Revoke: true})
	snap := e.fetch(e.source(), fullRead)
	if len(snap.Users) != 120 || !snap.Completeness.Complete() {
		t.Errorf("got %d users, complete %v; want 120", len(snap.Users), snap.Completeness.Complete())
	}
	if n := e.fake.TokensIssued(); n != 2 {
		t.Errorf("tokens issued = %d, want 2", n)
	}
	var statuses []int
	for _, r := range e.fake.Requests() {
		if r.Route == oneloginfake.RouteUsers {
			statuses = append(statuses, r.Status)
		}
	}
	if diff := cmp.Diff([]int{200, 401, 200, 200}, statuses); diff != "" {
		t.Errorf("users answers (-want +got):\n%s", diff)
	}
}

func TestErrorInsideA200(t *testing.T) {
	// The Directory Connector's "API call failed": a status envelope with an error in a 200 answer.
	e := newEnv(t, oneloginfake.Options{Users: people(3), Roles: threeRoles})
	h := e.fake.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == rolesPath {
			_, _ = io.WriteString(w, `{"status":{"error":true,"code":400,"type":"bad request","message":"Role search is broken"},"data":[]}`)
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	e.vals[optAPIURL], e.vals[optCAFile] = srv.URL, ""
	checkFailed(t, e, e.source(), []string{"read roles (page 1)", "the API call failed (status 400: Role search is broken)"}, nil)
}

func TestTokenErrors(t *testing.T) {
	t.Run("wrong secret", func(t *testing.T) {
		e := newEnv(t, oneloginfake.Options{})
		e.vals[optClientSecret] = "wrong-secret-value"
		src := e.source()
		checkFailed(t, e, src, []string{"refused the API credentials (HTTP 401: Authentication Failure)", "check onelogin.clientId, onelogin.clientSecret and onelogin.apiUrl"}, directory.ErrAuth)
		_, err := src.Fetch(t.Context(), fullRead)
		if strings.Contains(err.Error(), "wrong-secret-value") {
			t.Errorf("error %q shows the configured secret", err)
		}
		if n := e.fake.Count(oneloginfake.RouteUsers); n != 0 {
			t.Errorf("users were asked for %d times without a token", n)
		}
	})
	t.Run("wrong secret, RFC 6749 error body", func(t *testing.T) {
		e := newEnv(t, oneloginfake.Options{OAuthErrors: true})
		e.vals[optClientSecret] = "wrong-secret-value"
		checkFailed(t, e, e.source(), []string{"refused the API credentials (HTTP 401: invalid_client: Authentication Failure)"}, directory.ErrAuth)
	})
	t.Run("credentials of a deleted admin", func(t *testing.T) {
		e := newEnv(t, oneloginfake.Options{})
		e.fake.Inject(oneloginfake.Fault{Route: oneloginfake.RouteToken, Status: 500})
		checkFailed(t, e, e.source(), []string{"HTTP 500", "create new credentials"}, directory.ErrUnreachable)
	})
	t.Run("no token endpoint", func(t *testing.T) {
		e := newEnv(t, oneloginfake.Options{})
		e.vals[optAPIURL] += "/nothing"
		checkFailed(t, e, e.source(), []string{"no OneLogin token endpoint there (HTTP 404: No Route Exists)", "check onelogin.apiUrl"}, directory.ErrConfig)
	})
	t.Run("unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		e := newEnv(t, oneloginfake.Options{})
		e.vals[optAPIURL], e.vals[optCAFile] = "http://"+addr, ""
		checkFailed(t, e, e.source(), []string{"cannot reach OneLogin", "check onelogin.apiUrl"}, directory.ErrUnreachable)
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		e := newEnv(t, oneloginfake.Options{})
		e.vals[optCAFile] = ""
		checkFailed(t, e, e.source(), []string{"not trusted", "set onelogin.caFile"}, directory.ErrConfig)
	})
	t.Run("cancelled while waiting", func(t *testing.T) {
		e := newEnv(t, oneloginfake.Options{Users: people(3)})
		e.fake.Inject(oneloginfake.Fault{Route: oneloginfake.RouteUsers, Delay: 5 * time.Second})
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		snap, err := e.source().Fetch(ctx, fullRead)
		if snap != nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Fetch = %v, want the context's error and no snapshot", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Fetch took %v after the context ended", d)
		}
	})
}
