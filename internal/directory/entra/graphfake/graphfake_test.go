package graphfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// client talks to one served cloud of a fake.
type client struct {
	t     *testing.T
	base  string
	token string
}

func newClient(t *testing.T, f *Fake, c Cloud) *client {
	t.Helper()
	cl := &client{t: t, base: f.Serve(t, c)}
	status, body := cl.postToken(DefaultTenantDomain, url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID},
		"client_secret": {DefaultSecret}, "scope": {Resource(c) + "/.default"}})
	if status != 200 {
		t.Fatalf("token: %d %v", status, body)
	}
	cl.token = body["access_token"].(string)
	return cl
}

func (c *client) postToken(tenant string, form url.Values) (int, map[string]any) {
	c.t.Helper()
	resp, err := http.PostForm(c.base+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		c.t.Fatal(err)
	}
	return decode(c.t, resp)
}

func (c *client) get(rawURL string) (int, map[string]any) {
	c.t.Helper()
	if !strings.HasPrefix(rawURL, "http") {
		rawURL = c.base + rawURL
	}
	req, _ := http.NewRequest("GET", rawURL, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	return decode(c.t, resp)
}

func decode(t *testing.T, resp *http.Response) (int, map[string]any) {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v: %s", resp.Request.URL, err, b)
	}
	return resp.StatusCode, m
}

// all follows next links to the end and returns the items and the pages' count.
func (c *client) all(path string) ([]map[string]any, int, map[string]any) {
	c.t.Helper()
	var items []map[string]any
	pages := 0
	next := path
	var last map[string]any
	for next != "" {
		status, body := c.get(next)
		if status != 200 {
			c.t.Fatalf("GET %s: %d %v", next, status, body)
		}
		pages++
		for _, v := range body["value"].([]any) {
			items = append(items, v.(map[string]any))
		}
		next, _ = body["@odata.nextLink"].(string)
		last = body
	}
	return items, pages, last
}

func ids(items []map[string]any) []string {
	var out []string
	for _, it := range items {
		out = append(out, it["id"].(string))
	}
	sort.Strings(out)
	return out
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func TestTokenEndpoint(t *testing.T) {
	f := New(Options{})
	c := newClient(t, f, USGov)
	ok := url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID}, "client_secret": {DefaultSecret},
		"scope": {"https://graph.microsoft.us/.default"}}
	with := func(k, v string) url.Values {
		out := url.Values{}
		for kk, vv := range ok {
			out[kk] = vv
		}
		out.Set(k, v)
		return out
	}
	tests := []struct {
		tenant string
		form   url.Values
		status int
		code   string
		aadsts string
	}{
		{DefaultTenantID, ok, 200, "", ""},
		{"fabrikam.onmicrosoft.com", ok, 400, "invalid_request", "AADSTS90002"},
		{DefaultTenantDomain, with("client_secret", "nope"), 401, "invalid_client", "AADSTS7000215"},
		{DefaultTenantDomain, with("client_id", "x"), 400, "unauthorized_client", "AADSTS700016"},
		{DefaultTenantDomain, with("scope", "https://graph.microsoft.com/.default"), 400, "invalid_resource", "AADSTS500011"},
		{DefaultTenantDomain, with("scope", "User.Read.All"), 400, "invalid_scope", "AADSTS1002012"},
		{DefaultTenantDomain, with("grant_type", "password"), 400, "unsupported_grant_type", "AADSTS70003"},
	}
	for _, tt := range tests {
		status, body := c.postToken(tt.tenant, tt.form)
		desc, _ := body["error_description"].(string)
		if status != tt.status || (tt.code != "" && body["error"] != tt.code) || !strings.HasPrefix(desc, tt.aadsts) {
			t.Errorf("token(%s, %v) = %d %v, want %d %s %s", tt.tenant, tt.form, status, body, tt.status, tt.code, tt.aadsts)
		}
		if status == 200 && (body["token_type"] != "Bearer" || body["expires_in"] == nil) {
			t.Errorf("token answer %v lacks token_type Bearer or expires_in", body)
		}
	}
}

func TestBearerCheck(t *testing.T) {
	f := New(Options{})
	gov := newClient(t, f, USGov)
	global := newClient(t, f, Global)
	if status, _ := gov.get("/v1.0/users"); status != 200 {
		t.Errorf("own token: %d", status)
	}
	global.token, gov.token = gov.token, global.token // each cloud gets the other's token
	for _, c := range []*client{gov, global} {
		if status, body := c.get("/v1.0/users"); status != 401 || errCode(body) != "InvalidAuthenticationToken" {
			t.Errorf("another cloud's token: %d %v", status, body)
		}
	}
	f.RevokeTokens()
	gov.token = "global.x"
	if status, _ := gov.get("/v1.0/users"); status != 401 {
		t.Errorf("revoked token: %d", status)
	}
}

func TestListing(t *testing.T) {
	f := New(Options{})
	std := f.SeedStandard()
	c := newClient(t, f, Global)

	// Default page of 100, absolute next links back to the server with $skiptoken, none on the last page.
	users, pages, last := c.all("/v1.0/users?$select=id,mail")
	if len(users) != std.AllUsers || pages != 4 || last["@odata.nextLink"] != nil {
		t.Errorf("users: %d in %d pages (last %v), want %d in 4", len(users), pages, last["@odata.nextLink"], std.AllUsers)
	}
	_, body := c.get("/v1.0/users?$select=id,mail&$top=2")
	next, _ := body["@odata.nextLink"].(string)
	if !strings.HasPrefix(next, c.base+"/v1.0/users?") || !strings.Contains(next, "$skiptoken=") || !strings.Contains(next, "$select=id,mail") {
		t.Errorf("next link = %q", next)
	}
	// $select: only the selected properties (and the id); without it, Graph's default set, which has no
	// accountEnabled.
	if diff := cmp.Diff(map[string]any{"id": users[0]["id"], "mail": users[0]["mail"]}, users[0]); diff != "" {
		t.Errorf("selected user (-want +got):\n%s", diff)
	}
	_, body = c.get("/v1.0/users?$top=1")
	u := body["value"].([]any)[0].(map[string]any)
	if _, ok := u["accountEnabled"]; ok || u["userPrincipalName"] == nil {
		t.Errorf("default user properties = %v, want userPrincipalName and no accountEnabled", u)
	}
	for _, bad := range []string{"/v1.0/users?$select=id,nosuch", "/v1.0/users?$top=0", "/v1.0/users?$top=1000", "/v1.0/users?$skiptoken=junk"} {
		if status, body := c.get(bad); status != 400 {
			t.Errorf("GET %s = %d %v, want 400", bad, status, body)
		}
	}

	// Members carry @odata.type; devices, contacts and service principals are members too.
	members, _, _ := c.all("/v1.0/groups/" + std.Mixed + "/members?$select=id")
	types := map[string]string{}
	for _, m := range members {
		types[m["id"].(string)] = m["@odata.type"].(string)
	}
	want := map[string]string{std.Active[8]: TypeUser, std.Guest: TypeUser, std.Device: TypeDevice, std.Contact: TypeOrgContact, std.Service: TypeServicePrincipal}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("Mixed members (-want +got):\n%s", diff)
	}
	big, pages, _ := c.all("/v1.0/groups/" + std.Big + "/members")
	if len(big) != BigGroupSize || pages != 4 {
		t.Errorf("big group: %d members in %d pages, want %d in 4", len(big), pages, BigGroupSize)
	}

	// Transitive members: nested, deduplicated, cycle-safe; the cast keeps users only.
	trans, _, _ := c.all("/v1.0/groups/" + std.Staff + "/transitiveMembers")
	a := std.Active
	wantAll := []string{a[0], a[1], a[2], a[3], a[4], a[5], std.Disabled, std.Eng, std.Backend}
	sort.Strings(wantAll)
	if diff := cmp.Diff(wantAll, ids(trans)); diff != "" {
		t.Errorf("Staff transitive members (-want +got):\n%s", diff)
	}
	usersOnly, _, _ := c.all("/v1.0/groups/" + std.Staff + "/transitiveMembers/microsoft.graph.user?$select=id,mail")
	wantUsers := slices.DeleteFunc(slices.Clone(wantAll), func(id string) bool { return id == std.Eng || id == std.Backend })
	if diff := cmp.Diff(wantUsers, ids(usersOnly)); diff != "" {
		t.Errorf("Staff transitive users (-want +got):\n%s", diff)
	}
	cycle, _, _ := c.all("/v1.0/groups/" + std.Ops + "/transitiveMembers")
	wantCycle := []string{a[6], a[7], std.OnCall}
	sort.Strings(wantCycle)
	if diff := cmp.Diff(wantCycle, ids(cycle)); diff != "" {
		t.Errorf("Operations transitive members (-want +got):\n%s", diff)
	}

	// Administrative unit members: users and groups mixed.
	au, _, _ := c.all("/v1.0/directory/administrativeUnits/" + std.AU + "/members")
	wantAU := []string{std.Sales, std.Backend, a[11]}
	sort.Strings(wantAU)
	if diff := cmp.Diff(wantAU, ids(au)); diff != "" {
		t.Errorf("AU members (-want +got):\n%s", diff)
	}

	// Unknown ids: 404; ids that are not GUIDs: 400.
	if status, body := c.get("/v1.0/groups/" + ID("nothing") + "/members"); status != 404 || errCode(body) != "Request_ResourceNotFound" {
		t.Errorf("unknown group: %d %v", status, body)
	}
	if status, _ := c.get("/v1.0/groups/Sales/transitiveMembers"); status != 400 {
		t.Errorf("group id that is no GUID: %d", status)
	}
}

func TestDelta(t *testing.T) {
	f := New(Options{})
	std := f.SeedStandard()
	c := newClient(t, f, Global)
	items, pages, last := c.all("/v1.0/users/delta?$select=id,mail,accountEnabled")
	link, _ := last["@odata.deltaLink"].(string)
	if len(items) != std.AllUsers || pages != 4 || !strings.HasPrefix(link, c.base+"/v1.0/users/delta?$deltatoken=") {
		t.Fatalf("initial round: %d users in %d pages, delta link %q", len(items), pages, link)
	}
	for _, it := range items {
		if it["@removed"] != nil {
			t.Errorf("an initial round lists a removed user: %v", it)
		}
	}
	f.DeleteUser(std.Active[0], false)
	f.DeleteUser(std.Active[1], true)
	f.SetAccountEnabled(std.Active[2], false)
	changes, _, last := c.all(link)
	got := map[string]any{}
	for _, it := range changes {
		if r, ok := it["@removed"]; ok {
			got[it["id"].(string)] = r
		} else {
			got[it["id"].(string)] = it["accountEnabled"] // the first request's $select is carried
		}
	}
	want := map[string]any{
		std.Active[0]: map[string]any{"reason": "changed"},
		std.Active[1]: map[string]any{"reason": "deleted"},
		std.Active[2]: false,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	next, _ := last["@odata.deltaLink"].(string)
	if changes, _, _ := c.all(next); len(changes) != 0 {
		t.Errorf("no change: got %v", changes)
	}
	f.ExpireDeltaTokens()
	if status, body := c.get(next); status != 410 || errCode(body) != "syncStateNotFound" {
		t.Errorf("expired delta link: %d %v", status, body)
	}
}

func TestFaults(t *testing.T) {
	f := New(Options{})
	f.SeedStandard()
	c := newClient(t, f, Global)
	f.Inject(Fault{Route: RouteUsers, Skip: 1, Times: 1, Status: 429, RetryAfter: "5"})
	req, _ := http.NewRequest("GET", c.base+"/v1.0/users", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("client-request-id", "abc")
	var statuses []int
	for range 3 {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		status, body := decode(t, resp)
		statuses = append(statuses, status)
		if status == 429 {
			inner := body["error"].(map[string]any)["innerError"].(map[string]any)
			if resp.Header.Get("Retry-After") != "5" || errCode(body) != "TooManyRequests" || inner["client-request-id"] != "abc" ||
				inner["request-id"] == nil || inner["date"] == nil {
				t.Errorf("429 answer: Retry-After %q, body %v", resp.Header.Get("Retry-After"), body)
			}
		}
	}
	if diff := cmp.Diff([]int{200, 429, 200}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if n := f.Count(Global, RouteUsers); n != 3 {
		t.Errorf("Count = %d, want 3", n)
	}
}
