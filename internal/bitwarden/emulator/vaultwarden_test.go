package emulator

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func vaultwardenErrorJSON(msg string) string {
	return `{"message":"` + msg + `","validationErrors":{"":["` + msg + `"]},"errorModel":{"message":"` + msg + `","object":"error"},` +
		`"error":"","error_description":"","exceptionMessage":null,"exceptionStackTrace":null,"innerExceptionMessage":null,"object":"error"}`
}

func TestVaultwardenToken(t *testing.T) {
	t.Run("success", func(t *testing.T) {
		h := newHarness(t, Options{Profile: Vaultwarden})
		res := h.postToken("/identity/connect/token", h.vaultwardenForm())
		var got struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal([]byte(res.body), &got); err != nil {
			t.Fatalf("HTTP %d %s: %v", res.status, res.body, err)
		}
		want := `{"access_token":"` + got.AccessToken + `","expires_in":3600,"scope":"api.organization","token_type":"Bearer","unofficialServer":true}`
		if res.status != http.StatusOK || res.body != want {
			t.Errorf("HTTP %d %s\nwant %s", res.status, res.body, want)
		}
		if header := jwtPart(t, got.AccessToken, 0); header["typ"] != "JWT" || header["alg"] != "RS256" {
			t.Errorf("header %v", header)
		}
		claims := jwtPart(t, got.AccessToken, 1)
		now := float64(h.clock.Now().Unix())
		wantClaims := map[string]any{
			"nbf": now, "exp": now + 3600, "iss": "http://example.com|api.organization", "sub": h.s.apiKeyID,
			"client_id": h.s.ClientID(), "client_sub": h.s.OrgID(), "scope": []any{"api.organization"},
		}
		if diff := cmp.Diff(wantClaims, claims); diff != "" {
			t.Errorf("claims (-want +got):\n%s", diff)
		}
		// The connector's camelCase device fields are accepted too (names are case-insensitive, "_" optional).
		if res := h.postToken("/connect/token", h.tokenForm()); res.status != http.StatusOK {
			t.Errorf("connector form: HTTP %d %s", res.status, res.body)
		}
	})
	t.Run("errors", func(t *testing.T) {
		for _, c := range []struct {
			name string
			opts Options
			edit func(h *harness, f url.Values)
			msg  string
		}{
			{"device fields", Options{}, func(_ *harness, f url.Values) {
				f.Del("device_identifier")
				f.Del("device_name")
			}, "device_identifier cannot be blank"},
			{"secret", Options{}, func(_ *harness, f url.Values) { f.Del("client_secret") }, "client_secret cannot be blank"},
			{"scope missing", Options{}, func(_ *harness, f url.Values) { f.Del("scope") }, "scope cannot be blank"},
			{"scope", Options{}, func(_ *harness, f url.Values) { f.Set("scope", "api.admin") }, "Scope not supported"},
			{"malformed", Options{}, func(h *harness, f url.Values) { f.Set("client_id", "org."+h.s.OrgID()) }, "Malformed client_id"},
			{"unknown org", Options{}, func(_ *harness, f url.Values) { f.Set("client_id", "organization."+newGUID()) }, "Invalid client_id"},
			{"GUID compared as text", Options{}, func(h *harness, f url.Values) {
				f.Set("client_id", "organization."+strings.ToUpper(h.s.OrgID()))
			}, "Invalid client_id"},
			{"user key", Options{}, func(_ *harness, f url.Values) {
				f.Set("scope", "api")
				f.Set("client_id", "user."+newGUID())
			}, "Invalid client_id"},
			{"secret", Options{}, func(_ *harness, f url.Values) { f.Set("client_secret", "nope") }, "Incorrect client_secret"},
			{"grant", Options{}, func(_ *harness, f url.Values) { f.Set("grant_type", "magic") }, "Invalid type"},
			{"flags are not implemented", Options{DisableAPI: true, DisableOrg: true}, func(_ *harness, f url.Values) { f.Set("client_secret", "x") }, "Incorrect client_secret"},
		} {
			t.Run(c.name, func(t *testing.T) {
				c.opts.Profile = Vaultwarden
				h := newHarness(t, c.opts)
				f := h.vaultwardenForm()
				c.edit(h, f)
				res := h.postToken("/identity/connect/token", f)
				if res.status != http.StatusBadRequest || res.body != vaultwardenErrorJSON(c.msg) {
					t.Errorf("HTTP %d %s\nwant 400 %s", res.status, res.body, vaultwardenErrorJSON(c.msg))
				}
			})
		}
		h := newHarness(t, Options{Profile: Vaultwarden})
		f := h.vaultwardenForm()
		f.Del("grant_type")
		if res := h.postToken("/identity/connect/token", f); res.status != http.StatusUnprocessableEntity ||
			!strings.Contains(res.body, "<h1>422: Unprocessable Entity</h1>") {
			t.Errorf("missing grant_type: HTTP %d %s", res.status, res.body)
		}
	})
	t.Run("login rate limit", func(t *testing.T) {
		h := newHarness(t, Options{Profile: Vaultwarden, TokenRateLimit: ptr(true)})
		for i := range 10 {
			if res := h.postToken("/identity/connect/token", h.vaultwardenForm()); res.status != http.StatusOK {
				t.Fatalf("login %d: HTTP %d", i+1, res.status)
			}
		}
		res := h.postToken("/identity/connect/token", h.vaultwardenForm())
		if res.status != http.StatusTooManyRequests || res.body != vaultwardenErrorJSON("Too many login requests") {
			t.Errorf("11th: HTTP %d %s", res.status, res.body)
		}
		h.clock.Advance(time.Minute)
		if res := h.postToken("/identity/connect/token", h.vaultwardenForm()); res.status != http.StatusOK {
			t.Errorf("a minute later: HTTP %d", res.status)
		}
		if res := h.postToken("/identity/connect/token", h.vaultwardenForm()); res.status != http.StatusTooManyRequests {
			t.Errorf("then: HTTP %d", res.status)
		}
		off := newHarness(t, Options{Profile: Vaultwarden})
		for i := range 12 {
			if res := off.postToken("/identity/connect/token", off.vaultwardenForm()); res.status != http.StatusOK {
				t.Fatalf("default, login %d: HTTP %d", i+1, res.status)
			}
		}
	})
}

func TestVaultwardenImport(t *testing.T) {
	vw := func(o Options) Options { o.Profile = Vaultwarden; return o }
	owner2 := with(boss, func(m *Member) { m.Email, m.ExternalID = "owner2@example.com", "o2" })
	for _, c := range []importCase{
		{
			variant: "match by email, externalId overwritten, restore, revoke",
			opts:    vw(Options{}),
			members: []Member{alice, with(bob, func(m *Member) { m.Status = StatusRevoked }), admin, eve},
			body: importJSON(nil, []mem{
				active("ALICE@example.com", "a-new"), active("bob@example.com", "b"), deleted("admin@example.com", "adm2"),
				deleted("owner@example.com", "own"), deleted("ghost@example.com", "g"), active("carol@example.com", "c"),
			}, false),
			status: 200, resp: "",
			want: &view{
				Members: lines("owner@example.com ext=own type=0 status=2 mp=true",
					"alice@example.com ext=a-new type=2 status=2 mp=true",
					"bob@example.com ext=b type=2 status=0 mp=false",
					"admin@example.com ext=adm2 type=1 status=-126 mp=true",
					memberLine(eve),
					"carol@example.com ext=c type=2 status=0 mp=false"),
				Outbox: lines("invite carol@example.com"),
			},
		},
		{
			variant: "groups are skipped unless enabled",
			opts:    vw(Options{}),
			body:    importJSON([]grp{group("G", "g", "c")}, []mem{active("carol@example.com", "c")}, false),
			status:  200, resp: "",
			want: &view{
				Members: lines(ownerLine, "carol@example.com ext=c type=2 status=0 mp=false"),
				Outbox:  lines("invite carol@example.com"),
			},
		},
		{
			variant: "groups: created, never renamed, membership replaced",
			opts:    vw(Options{VaultwardenGroups: true}),
			members: []Member{alice, eve},
			groups:  []Group{{Name: "Old", ExternalID: "g1", MemberIDs: []string{"eve@example.com"}}},
			body:    importJSON([]grp{group("New name", "g1", "a", "c", "zz"), group("Fresh", "g2", "a")}, []mem{active("carol@example.com", "c")}, false),
			status:  200, resp: "",
			want: &view{
				Members: lines(ownerLine, memberLine(alice), memberLine(eve), "carol@example.com ext=c type=2 status=0 mp=false"),
				Groups:  lines("Old ext=g1 members=[alice@example.com carol@example.com]", "Fresh ext=g2 members=[alice@example.com]"),
				Outbox:  lines("invite carol@example.com"),
			},
		},
		{
			variant: "overwrite removes unlisted members, owners too but the last confirmed one, with no master-password check",
			opts:    vw(Options{VaultwardenGroups: true}),
			members: []Member{alice, bob, boss, owner2, eve},
			body:    importJSON([]grp{group("G", "g", "a", "b")}, []mem{deleted("alice@example.com", "a")}, true),
			status:  200, resp: "",
			want: &view{
				Members: lines(ownerLine, "alice@example.com ext=a type=2 status=-126 mp=true", memberLine(eve)),
				Groups:  lines("G ext=g members=[alice@example.com]"),
			},
		},
		{
			variant: "the last confirmed owner is never removed or revoked",
			opts:    vw(Options{}),
			members: []Member{boss},
			seed:    func(h *harness) { h.s.AddMember(with(h.owner(), func(m *Member) { m.Status = StatusAccepted })) },
			body:    importJSON(nil, []mem{deleted("boss@example.com", "boss")}, true),
			status:  200, resp: "",
			want: &view{Members: lines("owner@example.com ext= type=0 status=1 mp=true", memberLine(boss))},
		},
		{
			variant: "no 2000 guard",
			opts:    vw(Options{}),
			body:    importJSON(nil, manyMembers(2001, 0), false),
			status:  200, extra: memberCount(2002),
		},
	} {
		t.Run(c.variant, c.run)
	}
}

func TestVaultwardenBodies(t *testing.T) {
	h := newHarness(t, Options{Profile: Vaultwarden})
	tok := h.token()
	before := h.s.Snapshot()
	for _, c := range []struct {
		name   string
		body   string
		status int
	}{
		{"missing overwriteExisting", `{"groups":[],"members":[]}`, 422},
		{"null members", `{"groups":[],"members":null,"overwriteExisting":false}`, 422},
		{"numeric externalId", `{"groups":[],"members":[{"email":"a@example.com","externalId":5,"deleted":false}],"overwriteExisting":false}`, 422},
		{"null memberExternalIds", `{"groups":[{"name":"G","externalId":"g","memberExternalIds":null}],"members":[],"overwriteExisting":false}`, 422},
		{"missing deleted", `{"groups":[],"members":[{"email":"a@example.com","externalId":"a"}],"overwriteExisting":false}`, 422},
		{"names are case-sensitive", `{"Groups":[],"members":[],"overwriteExisting":false}`, 422},
		{"duplicate field", `{"groups":[],"groups":[],"members":[],"overwriteExisting":false}`, 422},
		{"type error before a syntax error", `{"groups":5,`, 422},
		{"syntax error", `{"groups":[],"members":[`, 400},
		{"trailing characters", `{"groups":[],"members":[],"overwriteExisting":false} x`, 400},
		{"empty body", ``, 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := h.importRequest("/api/public/organization/import", tok, c.body)
			req.Header.Set("Accept", "application/json")
			res := h.do(req)
			want := map[int]string{
				400: "{\n  \"error\": {\n    \"code\": 400,\n    \"reason\": \"Bad Request\",\n    \"description\": \"The request could not be understood by the server due to malformed syntax.\"\n  }\n}",
				422: "{\n  \"error\": {\n    \"code\": 422,\n    \"reason\": \"Unprocessable Entity\",\n    \"description\": \"The request was well-formed but was unable to be followed due to semantic errors.\"\n  }\n}",
			}[c.status]
			if res.status != c.status || res.body != want {
				t.Errorf("HTTP %d %s, want %d", res.status, res.body, c.status)
			}
		})
	}
	res := h.do(h.importRequest("/api/public/organization/import", "", importJSON(nil, nil, false)))
	if res.status != http.StatusUnauthorized || !strings.Contains(res.body, "<h1>401: Unauthorized</h1>") {
		t.Errorf("no token: HTTP %d %s", res.status, res.body)
	}
	if res := h.do(h.importRequest("/api/public/organization/import", h.s.IssueToken("api"), importJSON(nil, nil, false))); res.status != http.StatusUnauthorized {
		t.Errorf("user token: HTTP %d", res.status)
	}
	if diff := cmp.Diff(before, h.s.Snapshot()); diff != "" {
		t.Errorf("rejected requests changed the state:\n%s", diff)
	}
	for _, path := range []string{"/api/public/members", "/api/public/groups"} {
		if res := h.get(path, tok); res.status != http.StatusNotFound ||
			res.body != `{"error":{"code":404,"description":"The requested resource could not be found.","reason":"Not Found"}}` {
			t.Errorf("%s: HTTP %d %s", path, res.status, res.body)
		}
	}
}
