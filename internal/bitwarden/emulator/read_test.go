package emulator

import (
	"net/http"
	"testing"
)

func TestReadEndpoints(t *testing.T) {
	h := newHarness(t, Options{Profile: SelfHosted})
	a := h.s.AddMember(alice)
	b := h.s.AddMember(with(bob, func(m *Member) { m.Email = "Bob+Ü@Example.com" }))
	g := h.s.AddGroup(Group{Name: "Dev <ops> & 'co'", ExternalID: "g1", MemberIDs: []string{a.ID}})
	manual := h.s.AddGroup(Group{Name: "Manual"})
	owner := h.owner()
	tok := h.token()
	userIDOf := func(m Member) string { return *userID(m) }

	wantMembers := `{"object":"list","data":[` +
		`{"object":"member","id":"` + owner.ID + `","userId":"` + userIDOf(owner) + `","name":null,"email":"owner@example.com",` +
		`"twoFactorEnabled":false,"status":2,"type":0,"externalId":null,"resetPasswordEnrolled":false,"collections":[]},` +
		`{"object":"member","id":"` + a.ID + `","userId":"` + userIDOf(a) + `","name":null,"email":"alice@example.com",` +
		`"twoFactorEnabled":false,"status":2,"type":2,"externalId":"a","resetPasswordEnrolled":false,"collections":[]},` +
		`{"object":"member","id":"` + b.ID + `","userId":null,"name":null,"email":"bob\u002B\u00FC@example.com",` +
		`"twoFactorEnabled":false,"status":0,"type":2,"externalId":"b","resetPasswordEnrolled":false,"collections":[]}` +
		`],"continuationToken":null}`
	wantGroups := `{"object":"list","data":[` +
		`{"object":"group","id":"` + g.ID + `","name":"Dev \u003Cops\u003E \u0026 \u0027co\u0027","externalId":"g1","collections":[]},` +
		`{"object":"group","id":"` + manual.ID + `","name":"Manual","externalId":null,"collections":[]}` +
		`],"continuationToken":null}`
	for _, c := range []struct{ path, want string }{
		{"/public/members", wantMembers},
		{"/api/public/members", wantMembers},
		{"/public/groups", wantGroups},
		{"/api/public/groups", wantGroups},
	} {
		res := h.get(c.path, tok)
		if res.status != http.StatusOK || res.body != c.want {
			t.Errorf("%s: HTTP %d\n got %s\nwant %s", c.path, res.status, res.body, c.want)
		}
		if ct := res.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", c.path, ct)
		}
		if res := h.get(c.path, ""); res.status != http.StatusUnauthorized || res.body != "" {
			t.Errorf("%s without a token: HTTP %d %q", c.path, res.status, res.body)
		}
		if res := h.get(c.path, h.s.IssueToken("api")); res.status != http.StatusForbidden {
			t.Errorf("%s with a user token: HTTP %d", c.path, res.status)
		}
	}
	if userIDOf(a) == userIDOf(owner) || len(userIDOf(a)) != 36 {
		t.Errorf("user ids %q %q", userIDOf(a), userIDOf(owner))
	}
	req := h.importRequest("/public/members", tok, "{}")
	if res := h.do(req); res.status != http.StatusMethodNotAllowed || res.header.Get("Allow") != "GET" {
		t.Errorf("POST: HTTP %d Allow %q", res.status, res.header.Get("Allow"))
	}

	old := newHarness(t, Options{NoReadEndpoints: true})
	for _, path := range []string{"/public/members", "/api/public/groups"} {
		if res := old.get(path, old.token()); res.status != http.StatusNotFound || res.body != "" {
			t.Errorf("NoReadEndpoints %s: HTTP %d %q", path, res.status, res.body)
		}
	}
}
