package oneloginfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory/directorytest"
	"github.com/dirconn/dirconn/internal/httpx/httpxtest"
)

type answer struct {
	Status     int
	Header     http.Header
	Body       map[string]any
	StatusBody statusBody
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{Status: resp.StatusCode, Header: resp.Header}
	if err := json.Unmarshal(b, &a.Body); err != nil {
		t.Fatalf("%s %s: body %q is not JSON: %v", req.Method, req.URL, b, err)
	}
	if st, ok := a.Body["status"]; ok {
		sb, _ := json.Marshal(st)
		_ = json.Unmarshal(sb, &a.StatusBody)
	}
	return a
}

func tokenRequest(t *testing.T, root, how, id, secret, grant string) *http.Request {
	t.Helper()
	var body io.Reader
	ct := "application/json"
	switch how {
	case "form":
		body = strings.NewReader(url.Values{"grant_type": {grant}, "client_id": {id}, "client_secret": {secret}}.Encode())
		ct = "application/x-www-form-urlencoded"
	case "basic+form":
		body = strings.NewReader(url.Values{"grant_type": {grant}}.Encode())
		ct = "application/x-www-form-urlencoded"
	case "text":
		body, ct = strings.NewReader("grant_type="+grant), "text/plain"
	default:
		body = strings.NewReader(`{"grant_type":"` + grant + `"}`)
	}
	req, err := http.NewRequest(http.MethodPost, root+TokenPath, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	switch how {
	case "basic+json", "basic+form":
		req.SetBasicAuth(id, secret)
	case "header+json":
		req.Header.Set("Authorization", "client_id:"+id+", client_secret:"+secret)
	}
	return req
}

func TestToken(t *testing.T) {
	clock := httpxtest.NewClock()
	s := New(Options{Now: clock.Now})
	root := s.Start(t)
	id, secret := s.ClientID(), s.ClientSecret()
	tests := []struct {
		how, id, secret, grant string
		wantStatus             int
		wantMessage            string
	}{
		{"form", id, secret, "client_credentials", 200, ""},
		{"basic+json", id, secret, "client_credentials", 200, ""},
		{"basic+form", id, secret, "client_credentials", 200, ""},
		{"header+json", id, secret, "client_credentials", 200, ""},
		{"form", id, "wrong", "client_credentials", 401, "Authentication Failure"},
		{"basic+json", "other", secret, "client_credentials", 401, "Authentication Failure"},
		{"json", "", "", "client_credentials", 401, "Authentication Failure"},
		{"basic+json", id, secret, "password", 400, "grant_type is incorrect/absent"},
		{"form", id, secret, "", 400, "grant_type is incorrect/absent"},
		{"text", id, secret, "client_credentials", 400, "Content Type is not specified or content type is not supported"},
	}
	var first string
	for _, tt := range tests {
		a := do(t, tokenRequest(t, root, tt.how, tt.id, tt.secret, tt.grant))
		if a.Status != tt.wantStatus {
			t.Errorf("%s (%s, %s): HTTP %d, want %d", tt.how, tt.id, tt.grant, a.Status, tt.wantStatus)
			continue
		}
		if tt.wantStatus != 200 {
			want := statusBody{Error: true, Code: tt.wantStatus, Type: statusTypes[tt.wantStatus], Message: tt.wantMessage}
			if diff := cmp.Diff(want, a.StatusBody); diff != "" {
				t.Errorf("%s (%s): status envelope (-want +got):\n%s", tt.how, tt.grant, diff)
			}
			continue
		}
		tok, _ := a.Body["access_token"].(string)
		if first == "" {
			first = tok
		}
		// The same credentials get the same token until it expires or is revoked, as OneLogin documents.
		if tok == "" || tok != first || a.Body["token_type"] != "bearer" || a.Body["expires_in"] != float64(36000) ||
			a.Body["refresh_token"] == "" || a.Body["account_id"] != float64(555555) || a.Body["created_at"] == "" {
			t.Errorf("%s: token answer %v, want the first token %q with OneLogin's fields", tt.how, a.Body, first)
		}
	}
	var hows []string
	for _, r := range s.Requests() {
		hows = append(hows, r.Auth)
	}
	want := []string{"form", "basic+json", "basic+form", "header+json", "form", "basic+json", "", "basic+json", "form", ""}
	if diff := cmp.Diff(want, hows); diff != "" {
		t.Errorf("recorded credential styles (-want +got):\n%s", diff)
	}

	oauth := New(Options{OAuthErrors: true})
	oroot := oauth.Start(t)
	for _, tt := range []struct{ how, secret, grant, want string }{
		{"form", "wrong", "client_credentials", "invalid_client"},
		{"basic+json", oauth.ClientSecret(), "password", "unsupported_grant_type"},
	} {
		a := do(t, tokenRequest(t, oroot, tt.how, oauth.ClientID(), tt.secret, tt.grant))
		if a.Body["error"] != tt.want || a.Body["error_description"] == "" || a.Body["status"] != nil {
			t.Errorf("OAuthErrors, %s %s: %v, want an RFC 6749 %q error", tt.how, tt.grant, a.Body, tt.want)
		}
	}

	clock.Advance(time.Hour)
	if a := do(t, tokenRequest(t, root, "form", id, secret, "client_credentials")); a.Body["expires_in"] != float64(9*3600) {
		t.Errorf("an hour later, expires_in = %v, want %d", a.Body["expires_in"], 9*3600)
	}
	s.RevokeTokens()
	if a := do(t, tokenRequest(t, root, "form", id, secret, "client_credentials")); a.Body["access_token"] == first {
		t.Error("after RevokeTokens the same token was handed out again")
	}
	if n := s.TokensIssued(); n != 2 {
		t.Errorf("TokensIssued = %d, want 2", n)
	}
	clock.Advance(TokenLifetime)
	if a := do(t, tokenRequest(t, root, "form", id, secret, "client_credentials")); s.TokensIssued() != 3 || a.Body["expires_in"] != float64(36000) {
		t.Errorf("after the token expired: %d tokens, expires_in %v; want a third, fresh token", s.TokensIssued(), a.Body["expires_in"])
	}
}

// client talks to a fake with a token of its own.
type client struct {
	t     *testing.T
	s     *Server
	root  string
	token string
}

func newClient(t *testing.T, o Options) *client {
	t.Helper()
	s := New(o)
	c := &client{t: t, s: s, root: s.Start(t)}
	a := do(t, tokenRequest(t, c.root, "form", s.ClientID(), s.ClientSecret(), "client_credentials"))
	c.token, _ = a.Body["access_token"].(string)
	return c
}

func (c *client) get(rawURL, auth string) answer {
	c.t.Helper()
	if !strings.HasPrefix(rawURL, "http") {
		rawURL = c.root + rawURL
	}
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	switch auth {
	case "bearer:":
		req.Header.Set("Authorization", "bearer:"+c.token)
	case "Bearer":
		req.Header.Set("Authorization", "Bearer "+c.token)
	case "":
	default:
		req.Header.Set("Authorization", auth)
	}
	return do(c.t, req)
}

func ids(a answer) []float64 {
	var out []float64
	data, _ := a.Body["data"].([]any)
	for _, d := range data {
		out = append(out, d.(map[string]any)["id"].(float64))
	}
	return out
}

func (a answer) link(name string) string {
	p, _ := a.Body["pagination"].(map[string]any)
	s, _ := p[name].(string)
	return s
}

func TestPaging(t *testing.T) {
	users := make([]User, 7)
	for i := range users {
		users[i] = User{ID: int64(7 - i), Email: "u@x.com", Status: StatusActive}
	}
	c := newClient(t, Options{Users: users, MaxLimit: 3})

	a := c.get(UsersPath+"?limit=50&email=u@x.com", "bearer:")
	if diff := cmp.Diff([]float64{1, 2, 3}, ids(a)); diff != "" {
		t.Errorf("page 1 ids (-want +got):\n%s", diff)
	}
	if a.StatusBody != (statusBody{Code: 200, Type: "success", Message: "Success"}) {
		t.Errorf("status = %+v, want success", a.StatusBody)
	}
	if p := a.Body["pagination"].(map[string]any); p["before_cursor"] != nil || p["previous_link"] != nil {
		t.Errorf("first page pagination = %v, want no before cursor or previous link", p)
	}
	next := a.link("next_link")
	u, _ := url.Parse(next)
	if !strings.HasPrefix(next, c.root+UsersPath+"?") || u.Query().Get("after_cursor") == "" || u.Query().Get("email") != "u@x.com" || u.Query().Get("limit") != "50" {
		t.Errorf("next_link = %q, want an absolute link back to the fake keeping the query", next)
	}
	if after := a.link("after_cursor"); after == "" || after != u.Query().Get("after_cursor") {
		t.Errorf("after_cursor = %q, want the next link's", after)
	}
	a = c.get(next, "Bearer") // the standard form is accepted too
	if diff := cmp.Diff([]float64{4, 5, 6}, ids(a)); diff != "" {
		t.Errorf("page 2 ids (-want +got):\n%s", diff)
	}
	prev := c.get(a.link("previous_link"), "bearer:")
	if diff := cmp.Diff([]float64{1, 2, 3}, ids(prev)); diff != "" {
		t.Errorf("previous page ids (-want +got):\n%s", diff)
	}
	a = c.get(a.link("next_link"), "bearer:")
	if diff := cmp.Diff([]float64{7}, ids(a)); diff != "" || a.link("next_link") != "" || a.link("after_cursor") != "" {
		t.Errorf("last page ids %v, next_link %q; want [7] and none", ids(a), a.link("next_link"))
	}
	var auths []string
	for _, r := range c.s.Requests()[1:] {
		auths = append(auths, r.Auth)
	}
	if diff := cmp.Diff([]string{"bearer:", "Bearer", "bearer:", "bearer:"}, auths); diff != "" {
		t.Errorf("recorded auth schemes (-want +got):\n%s", diff)
	}

	// A proxy in front: links point at LinkBase.
	c2 := newClient(t, Options{Users: users, MaxLimit: 3, LinkBase: "https://api.eu.onelogin.com/"})
	if l := c2.get(UsersPath, "bearer:").link("next_link"); !strings.HasPrefix(l, "https://api.eu.onelogin.com"+UsersPath+"?after_cursor=") {
		t.Errorf("next_link with LinkBase = %q", l)
	}
}

func TestSearch(t *testing.T) {
	users := []User{
		{ID: 1, Email: "ann@corp.com", Username: "ann", Firstname: "Ann", RoleIDs: []int64{10, 20}, DirectoryID: 5},
		{ID: 2, Email: "bob@other.org", Username: "bob", Firstname: "Bob", RoleIDs: []int64{20}, CreatedAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
		{ID: 3, Username: "cid", Firstname: "Cid", ExternalID: "X-1"},
	}
	roles := []Role{{ID: 10, Name: "Engineering"}, {ID: 20, Name: "Sales / EMEA"}, {ID: 30, Name: "Eng Ops"}}
	c := newClient(t, Options{Users: users, Roles: roles})
	tests := []struct {
		path string
		want []float64
	}{
		{UsersPath + "?email=ANN@corp.com", []float64{1}},
		{UsersPath + "?email=*@corp.com", []float64{1}},
		{UsersPath + "?email=*o*.*", []float64{1, 2}},
		{UsersPath + "?username=c*", []float64{3}},
		{UsersPath + "?role_id=20", []float64{1, 2}},
		{UsersPath + "?role_id=20&firstname=b*", []float64{2}},
		{UsersPath + "?directory_id=5", []float64{1}},
		{UsersPath + "?external_id=x-1", []float64{3}},
		{UsersPath + "?id=2", []float64{2}},
		{UsersPath + "?since=2023-01-01T00:00:00Z", []float64{2}},
		{UsersPath + "?until=2023-01-01T00:00:00Z", []float64{1, 3}},
		{UsersPath + "?email=nobody", nil},
		{RolesPath + "?name=Eng*", []float64{10, 30}},
		{RolesPath + "?name=*/*", []float64{20}},
		{RolesPath + "?id=30", []float64{30}},
		{RolesPath + "?sort=-id", []float64{30, 20, 10}},
		{RolesPath + "?sort=+name", []float64{30, 10, 20}},
		{UsersPath + "?sort=-firstname&email=*", []float64{3, 2, 1}},
	}
	for _, tt := range tests {
		a := c.get(tt.path, "bearer:")
		if a.Status != 200 {
			t.Errorf("GET %s: HTTP %d %v", tt.path, a.Status, a.Body)
			continue
		}
		if diff := cmp.Diff(tt.want, ids(a)); diff != "" {
			t.Errorf("GET %s ids (-want +got):\n%s", tt.path, diff)
		}
	}

	a := c.get(UsersPath+"?fields=email,status", "bearer:")
	first := a.Body["data"].([]any)[0].(map[string]any)
	if diff := cmp.Diff(map[string]any{"id": float64(1), "email": "ann@corp.com", "status": float64(0)}, first); diff != "" {
		t.Errorf("fields=email,status (-want +got):\n%s", diff)
	}
	a = c.get(UsersPath+"?id=3", "bearer:")
	u := a.Body["data"].([]any)[0].(map[string]any)
	if u["email"] != nil || u["username"] != "cid" || u["role_id"] == nil {
		t.Errorf("a user without email = %v, want email null and role_id []", u)
	}

	for _, bad := range []string{UsersPath + "?name=x", RolesPath + "?email=x", UsersPath + "?limit=0", UsersPath + "?limit=x",
		UsersPath + "?after_cursor=%%%", UsersPath + "?after_cursor=bm9wZQ", UsersPath + "?since=yesterday", UsersPath + "?sort=-nope"} {
		if a := c.get(bad, "bearer:"); a.Status != 400 || a.StatusBody.Code != 400 || a.StatusBody.Type != "bad request" {
			t.Errorf("GET %s = HTTP %d %+v, want 400 in the status envelope", bad, a.Status, a.StatusBody)
		}
	}
}

func TestAPIAuthAndRateLimit(t *testing.T) {
	clock := httpxtest.NewClock()
	c := newClient(t, Options{Users: []User{{ID: 1}}, Budget: 2, Now: clock.Now})
	for _, auth := range []string{"", "bearer:nope", "Basic abc"} {
		if a := c.get(UsersPath, auth); a.Status != 401 || a.StatusBody.Message != "Authentication Failure" {
			t.Errorf("GET with Authorization %q = HTTP %d %+v, want 401 Authentication Failure", auth, a.Status, a.StatusBody)
		}
	}
	type rl struct{ Status, Limit, Remaining, Reset string }
	var got []rl
	for range 3 {
		a := c.get(RolesPath, "bearer:")
		got = append(got, rl{http.StatusText(a.Status), a.Header.Get("X-RateLimit-Limit"), a.Header.Get("X-RateLimit-Remaining"), a.Header.Get("X-RateLimit-Reset")})
		clock.Advance(10 * time.Minute)
	}
	want := []rl{{"OK", "2", "1", "3600"}, {"OK", "2", "0", "3000"}, {"Too Many Requests", "2", "0", "2400"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rate-limit answers (-want +got):\n%s", diff)
	}
	if a := c.get(RolesPath, "bearer:"); a.Status != 429 || a.StatusBody.Code != 429 || a.Header.Get("Retry-After") != "" {
		t.Errorf("over budget = HTTP %d %+v, Retry-After %q; want 429 without Retry-After", a.Status, a.StatusBody, a.Header.Get("Retry-After"))
	}
	clock.Advance(30 * time.Minute) // the hour is over: a fresh window
	if a := c.get(RolesPath, "bearer:"); a.Status != 200 || a.Header.Get("X-RateLimit-Remaining") != "1" {
		t.Errorf("next window = HTTP %d, remaining %q; want 200 with 1 left", a.Status, a.Header.Get("X-RateLimit-Remaining"))
	}

	c2 := newClient(t, Options{Budget: 1, RetryAfter: true, Now: clock.Now})
	c2.get(UsersPath, "bearer:")
	if a := c2.get(UsersPath, "bearer:"); a.Status != 429 || a.Header.Get("Retry-After") != "3600" {
		t.Errorf("with RetryAfter: HTTP %d, Retry-After %q; want 429 and 3600", a.Status, a.Header.Get("Retry-After"))
	}
}

func TestFaults(t *testing.T) {
	c := newClient(t, Options{Users: []User{{ID: 1}}})
	c.s.Inject(Fault{Route: RouteUsers, Skip: 1, Times: 2, Status: 503, RetryAfter: "3"})
	c.s.Inject(Fault{Route: RouteRoles, Times: -1, Status: 429})
	c.s.Inject(Fault{Route: RouteUsers, Skip: 3, Revoke: true})
	var got []string
	for range 5 {
		a := c.get(UsersPath, "bearer:")
		got = append(got, http.StatusText(a.Status)+" "+a.Header.Get("Retry-After"))
	}
	want := []string{"OK ", "Service Unavailable 3", "Service Unavailable 3", "Unauthorized ", "Unauthorized "}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("users answers (-want +got):\n%s", diff)
	}
	for range 2 {
		if a := c.get(RolesPath, "bearer:"); a.Status != 429 || a.Header.Get("X-RateLimit-Reset") == "" {
			t.Errorf("roles = HTTP %d (reset %q), want 429 with X-RateLimit-Reset every time", a.Status, a.Header.Get("X-RateLimit-Reset"))
		}
	}
	if n := c.s.Count(RouteUsers); n != 5 {
		t.Errorf("Count(users) = %d, want 5", n)
	}

	c.s.Inject(Fault{Route: RouteToken, Malformed: true})
	req := tokenRequest(t, c.root, "form", c.s.ClientID(), c.s.ClientSecret(), "client_credentials")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if json.Valid(b) {
		t.Errorf("a malformed answer is valid JSON: %s", b)
	}
}

func TestFromDataset(t *testing.T) {
	caps := directorytest.Caps{Disabled: true, UserWithoutEmail: true, DuplicateEmail: true, EmptyGroup: true}
	ds := directorytest.Expected(caps)
	seed := FromDataset(ds)
	if len(seed.Users) != len(ds.Users) || len(seed.Roles) != len(ds.Groups) {
		t.Fatalf("seeded %d users and %d roles, want %d and %d", len(seed.Users), len(seed.Roles), len(ds.Users), len(ds.Groups))
	}
	dan := seed.Users[slicesIndex(seed.Users, seed.UserIDs["dan"])]
	if dan.Status != StatusSuspended || dan.Username != "dan.ek" || dan.Firstname != "Dan" || dan.Lastname != "Ek" {
		t.Errorf("dan = %+v, want suspended dan.ek", dan)
	}
	ann := seed.Users[slicesIndex(seed.Users, seed.UserIDs["ann"])]
	if diff := cmp.Diff([]int64{seed.RoleIDs["eng"]}, ann.RoleIDs); diff != "" {
		t.Errorf("ann's roles (-want +got):\n%s", diff)
	}
	// Deleted users cannot be listed by OneLogin: they are left out.
	all := FromDataset(directorytest.Fixture())
	if _, ok := all.UserIDs["eve"]; ok {
		t.Error("the deleted user eve was seeded")
	}
}

func slicesIndex(users []User, id int64) int {
	for i, u := range users {
		if u.ID == id {
			return i
		}
	}
	return -1
}
