package emulator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBehaviourTableToken(t *testing.T) {
	type tokenCase struct {
		name   string
		opts   Options
		form   func(h *harness, f url.Values)
		prep   func(r *http.Request)
		status int
		body   string
	}
	invalid := func(code string) string { return `{"error":"` + code + `"}` }
	rows := []struct {
		id    string
		cases []tokenCase
	}{
		{"T2", []tokenCase{
			{name: "unknown org", form: func(_ *harness, f url.Values) { f.Set("client_id", "organization."+newGUID()) }},
			{name: "no dot", form: func(h *harness, f url.Values) { f.Set("client_id", "organization"+h.s.OrgID()) }},
			{name: "prefix is case-sensitive", form: func(h *harness, f url.Values) { f.Set("client_id", "Organization."+h.s.OrgID()) }},
			{name: "not a GUID", form: func(_ *harness, f url.Values) { f.Set("client_id", "organization.12345") }},
			{name: "user client", form: func(h *harness, f url.Values) { f.Set("client_id", "user."+h.s.OrgID()) }},
			{name: "missing client_id", form: func(_ *harness, f url.Values) { f.Del("client_id") }},
			{name: "wrong secret", form: func(h *harness, f url.Values) { f.Set("client_secret", strings.ToLower(h.s.APIKey())+"x") }},
			{name: "missing secret", form: func(_ *harness, f url.Values) { f.Del("client_secret") }},
			{name: "org disabled", opts: Options{DisableOrg: true}},
			{name: "API disabled", opts: Options{DisableAPI: true}},
			{name: "bad secret beats a bad grant", form: func(_ *harness, f url.Values) { f.Set("client_secret", "x"); f.Del("grant_type") }},
		}},
		{"T3", []tokenCase{
			{name: "user scope", form: func(_ *harness, f url.Values) { f.Set("scope", "api") }},
			{name: "extra scope", form: func(_ *harness, f url.Values) { f.Set("scope", "api.organization offline_access") }},
		}},
		{"T4", []tokenCase{
			{name: "missing grant", form: func(_ *harness, f url.Values) { f.Del("grant_type") }, body: invalid("unsupported_grant_type")},
			{name: "unknown grant", form: func(_ *harness, f url.Values) { f.Set("grant_type", "magic") }, body: invalid("unsupported_grant_type")},
			{name: "password grant", form: func(_ *harness, f url.Values) { f.Set("grant_type", "password") }, body: invalid("unauthorized_client")},
			{name: "refresh grant", form: func(_ *harness, f url.Values) { f.Set("grant_type", "refresh_token") }, body: invalid("unauthorized_client")},
		}},
	}
	for _, row := range rows {
		t.Run(row.id, func(t *testing.T) {
			for _, c := range row.cases {
				t.Run(c.name, func(t *testing.T) {
					h := newHarness(t, c.opts)
					f := h.tokenForm()
					if c.form != nil {
						c.form(h, f)
					}
					res := h.postToken("/connect/token", f)
					want := c.body
					if want == "" {
						want = invalid(map[string]string{"T2": "invalid_client", "T3": "invalid_scope"}[row.id])
					}
					if res.status != http.StatusBadRequest || res.body != want {
						t.Errorf("HTTP %d %s, want 400 %s", res.status, res.body, want)
					}
					if got := h.s.TokenRequests(); got != 1 {
						t.Errorf("TokenRequests() = %d, want 1", got)
					}
				})
			}
		})
	}

	t.Run("T1", func(t *testing.T) {
		for _, c := range []struct {
			name string
			path string
			opts Options
			edit func(h *harness, f url.Values) (basicUser, basicPassword string)
		}{
			{name: "connector request", path: "/connect/token"},
			{name: "self-hosted layout", path: "/identity/connect/token", opts: Options{Profile: SelfHosted}},
			{name: "absent scope grants all", path: "/connect/token", edit: func(_ *harness, f url.Values) (string, string) {
				f.Del("scope")
				return "", ""
			}},
			{name: "upper-case GUID", path: "/connect/token", edit: func(h *harness, f url.Values) (string, string) {
				f.Set("client_id", "organization."+strings.ToUpper(h.s.OrgID()))
				return "", ""
			}},
			{name: "HTTP Basic", path: "/connect/token", edit: func(h *harness, f url.Values) (string, string) {
				f.Del("client_id")
				f.Del("client_secret")
				return url.QueryEscape(h.s.ClientID()), url.QueryEscape(h.s.APIKey())
			}},
			{name: "lifetime option", path: "/connect/token", opts: Options{TokenLifetime: 90 * time.Minute}},
		} {
			t.Run(c.name, func(t *testing.T) {
				h := newHarness(t, c.opts)
				f := h.tokenForm()
				var user, password string
				if c.edit != nil {
					user, password = c.edit(h, f)
				}
				req := httptest.NewRequest(http.MethodPost, c.path, strings.NewReader(f.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
				if user != "" {
					req.SetBasicAuth(user, password)
				}
				before := h.s.Snapshot()
				res := h.do(req)
				if res.status != http.StatusOK {
					t.Fatalf("HTTP %d %s", res.status, res.body)
				}
				var got map[string]any
				if err := json.Unmarshal([]byte(res.body), &got); err != nil {
					t.Fatal(err)
				}
				tok, _ := got["access_token"].(string)
				lifetime := 3600
				if c.opts.TokenLifetime != 0 {
					lifetime = int(c.opts.TokenLifetime.Seconds())
				}
				want := `{"access_token":"` + tok + `","expires_in":` + strconv.Itoa(lifetime) + `,"token_type":"Bearer","scope":"api.organization"}`
				if res.body != want {
					t.Errorf("body %s\nwant %s", res.body, want)
				}
				if res.header.Get("Cache-Control") != "no-store, no-cache, max-age=0" {
					t.Errorf("Cache-Control = %q", res.header.Get("Cache-Control"))
				}
				header, claims := jwtPart(t, tok, 0), jwtPart(t, tok, 1)
				if header["alg"] != "RS256" || header["typ"] != "at+jwt" {
					t.Errorf("JWT header %v", header)
				}
				now := float64(h.clock.Now().Unix())
				wantClaims := map[string]any{
					"iss": "http://example.com", "nbf": now, "iat": now, "exp": now + float64(lifetime),
					"scope": []any{"api.organization"}, "client_id": h.s.ClientID(), "client_sub": h.s.OrgID(),
					"client_type": "Organization", "jti": claims["jti"],
				}
				if diff := cmp.Diff(wantClaims, claims); diff != "" {
					t.Errorf("claims (-want +got):\n%s", diff)
				}
				if jti, _ := claims["jti"].(string); len(jti) != 32 {
					t.Errorf("jti %q", jti)
				}
				if diff := cmp.Diff(before, h.s.Snapshot()); diff != "" {
					t.Errorf("a login changed the state:\n%s", diff)
				}
				if res := h.importBody(importJSON(nil, nil, false)); res.status != http.StatusOK {
					t.Errorf("import with the token: HTTP %d", res.status)
				}
			})
		}
	})

	t.Run("T5", func(t *testing.T) {
		login := func(h *harness, ip string) response {
			req := httptest.NewRequest(http.MethodPost, "/connect/token", strings.NewReader(h.tokenForm().Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if ip != "" {
				req.Header.Set("X-Connecting-IP", ip)
			}
			return h.do(req)
		}
		h := newHarness(t, Options{})
		for i := range 10 {
			if res := login(h, ""); res.status != http.StatusOK {
				t.Fatalf("login %d: HTTP %d", i+1, res.status)
			}
		}
		h.clock.Advance(20 * time.Second)
		res := login(h, "")
		wantBody := `{"message":"Slow down! Too many requests. Try again in 1m.","validationErrors":null,"exceptionMessage":null,` +
			`"exceptionStackTrace":null,"innerExceptionMessage":null,"object":"error"}`
		if res.status != http.StatusTooManyRequests || res.body != wantBody || res.header.Get("Retry-After") != "40" {
			t.Errorf("11th login: HTTP %d Retry-After %q %s", res.status, res.header.Get("Retry-After"), res.body)
		}
		if res := login(h, "203.0.113.7"); res.status != http.StatusOK {
			t.Errorf("another IP: HTTP %d", res.status)
		}
		h.clock.Advance(41 * time.Second)
		if res := login(h, ""); res.status != http.StatusOK {
			t.Errorf("after the window: HTTP %d %s", res.status, res.body)
		}
		for _, o := range []Options{{Profile: SelfHosted}, {TokenRateLimit: ptr(false)}} {
			h := newHarness(t, o)
			for i := range 12 {
				if res := login(h, ""); res.status != http.StatusOK {
					t.Fatalf("%+v login %d: HTTP %d", o, i+1, res.status)
				}
			}
		}
	})
}

func TestTokenOtherRequests(t *testing.T) {
	h := newHarness(t, Options{})
	for _, c := range []struct {
		name        string
		method, ct  string
		wantStatus  int
		wantBodySub string
	}{
		{"GET", http.MethodGet, "", 400, `{"error":"invalid_request"}`},
		{"JSON body", http.MethodPost, "application/json", 400, `{"error":"invalid_request"}`},
	} {
		req := httptest.NewRequest(c.method, "/connect/token", strings.NewReader(h.tokenForm().Encode()))
		if c.ct != "" {
			req.Header.Set("Content-Type", c.ct)
		}
		if res := h.do(req); res.status != c.wantStatus || res.body != c.wantBodySub {
			t.Errorf("%s: HTTP %d %s", c.name, res.status, res.body)
		}
	}
}

func TestTokenExpiryAndRevocation(t *testing.T) {
	body := importJSON(nil, nil, false)
	t.Run("bitwarden clock skew", func(t *testing.T) {
		h := newHarness(t, Options{TokenLifetime: 10 * time.Minute})
		tok := h.token()
		post := func() int { return h.do(h.importRequest("/api/public/organization/import", tok, body)).status }
		h.clock.Advance(10*time.Minute + clockSkew)
		if got := post(); got != http.StatusOK {
			t.Errorf("at exp+5min: HTTP %d, want 200 (JwtBearer's clock skew)", got)
		}
		h.clock.Advance(time.Second)
		if got := post(); got != http.StatusUnauthorized {
			t.Errorf("after exp+5min: HTTP %d, want 401", got)
		}
	})
	t.Run("vaultwarden exp", func(t *testing.T) {
		h := newHarness(t, Options{Profile: Vaultwarden})
		tok := h.token()
		post := func() response {
			return h.do(h.importRequest("/api/public/organization/import", tok, importJSON(nil, nil, false)))
		}
		h.clock.Advance(time.Hour)
		if res := post(); res.status != http.StatusOK {
			t.Errorf("at exp: HTTP %d %s", res.status, res.body)
		}
		h.clock.Advance(time.Second)
		if res := post(); res.status != http.StatusUnauthorized {
			t.Errorf("after exp: HTTP %d", res.status)
		}
	})
	t.Run("revoke", func(t *testing.T) {
		h := newHarness(t, Options{})
		old := h.token()
		h.s.RevokeTokens()
		if res := h.do(h.importRequest("/public/organization/import", old, body)); res.status != http.StatusUnauthorized {
			t.Errorf("revoked token: HTTP %d", res.status)
		}
		if res := h.importBody(body); res.status != http.StatusOK {
			t.Errorf("new token: HTTP %d", res.status)
		}
		if got := h.s.TokenRequests(); got != 2 {
			t.Errorf("TokenRequests() = %d, want 2", got)
		}
	})
	t.Run("access_token query parameter", func(t *testing.T) {
		h := newHarness(t, Options{})
		req := h.importRequest("/public/organization/import?access_token="+h.token(), "", body)
		if res := h.do(req); res.status != http.StatusOK {
			t.Errorf("HTTP %d", res.status)
		}
	})
}
