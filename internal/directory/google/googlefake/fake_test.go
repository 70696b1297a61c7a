package googlefake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory/directorytest"
)

var (
	accountOnce sync.Once
	acct, other *ServiceAccount
)

// accounts returns two service accounts (RSA keys take a moment to make): the registered one and a
// stranger.
func accounts(t testing.TB) (*ServiceAccount, *ServiceAccount) {
	accountOnce.Do(func() {
		var err error
		if acct, err = NewServiceAccount("sync@proj.iam.gserviceaccount.com", "1111"); err != nil {
			panic(err)
		}
		if other, err = NewServiceAccount("sync@proj.iam.gserviceaccount.com", "2222"); err != nil {
			panic(err)
		}
	})
	return acct, other
}

// world is a started fake with the fixture, acct registered and delegated the read-only scopes.
type world struct {
	*Server
	sd  Seeded
	now time.Time
	mu  sync.Mutex
}

func newWorld(t *testing.T, o Options) *world {
	t.Helper()
	w := &world{now: time.Now()}
	o.Now = w.clock
	w.Server = Start(t, o)
	sa, _ := accounts(t)
	w.AddServiceAccount(sa)
	w.Delegate(sa.ClientID, ReadonlyScopes...)
	w.sd = w.SeedDataset(directorytest.Fixture(), SeedOptions{})
	return w
}

func (w *world) clock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *world) advance(d time.Duration) {
	w.mu.Lock()
	w.now = w.now.Add(d)
	w.mu.Unlock()
}

// claims is an assertion's claim set for sign.
type claims map[string]any

func (w *world) claims(sub string, scopes ...string) claims {
	sa := acct
	now := w.clock().Unix()
	return claims{"iss": sa.Email, "sub": sub, "scope": strings.Join(scopes, " "), "aud": GoogleTokenURL, "iat": now, "exp": now + 3600}
}

// sign makes a compact JWS of c with key, in alg's header (only RS256 is really signed).
func sign(t *testing.T, c claims, key *rsa.PrivateKey, alg string) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signed := enc(map[string]string{"alg": alg, "typ": "JWT", "kid": "k1"}) + "." + enc(c)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// postToken sends a jwt-bearer grant and returns the status and decoded body.
func (w *world) postToken(t *testing.T, grant, assertion string) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(w.TokenURL(), url.Values{"grant_type": {grant}, "assertion": {assertion}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// token gets an access token for sub with scopes, failing the test otherwise.
func (w *world) token(t *testing.T, sub string, scopes ...string) string {
	t.Helper()
	sa, _ := accounts(t)
	code, body := w.postToken(t, jwtBearer, sign(t, w.claims(sub, scopes...), sa.Key, "RS256"))
	if code != 200 {
		t.Fatalf("token for %s: %d %v", sub, code, body)
	}
	return body["access_token"].(string)
}

func TestToken(t *testing.T) {
	sa, stranger := accounts(t)
	admin := "ann.lee@example.com"
	tests := []struct {
		name     string
		grant    string
		claims   func(w *world) claims
		key      *rsa.PrivateKey
		alg      string
		setup    func(w *world)
		wantCode int
		wantErr  string // error, or "" for a token
		wantDesc string
	}{
		{name: "OK", claims: func(w *world) claims { return w.claims(admin, ReadonlyScopes...) }},
		{name: "NoSubject", claims: func(w *world) claims { return w.claims("", ScopeUserReadonly) }},
		{name: "LegacyPrn", claims: func(w *world) claims {
			c := w.claims("", ReadonlyScopes...)
			c["prn"] = admin
			return c
		}},
		{name: "GrantType", grant: "client_credentials", claims: func(w *world) claims { return w.claims(admin, ReadonlyScopes...) },
			wantCode: 400, wantErr: "unsupported_grant_type"},
		{name: "Alg", alg: "HS256", claims: func(w *world) claims { return w.claims(admin, ReadonlyScopes...) },
			wantCode: 400, wantErr: "invalid_grant", wantDesc: "Invalid JWT Signature."},
		{name: "Signature", key: stranger.Key, claims: func(w *world) claims { return w.claims(admin, ReadonlyScopes...) },
			wantCode: 400, wantErr: "invalid_grant", wantDesc: "Invalid JWT Signature."},
		{name: "UnknownAccount", claims: func(w *world) claims {
			c := w.claims(admin, ReadonlyScopes...)
			c["iss"] = "nobody@proj.iam.gserviceaccount.com"
			return c
		}, wantCode: 400, wantErr: "invalid_grant", wantDesc: "Invalid grant: account not found"},
		{name: "Audience", claims: func(w *world) claims {
			c := w.claims(admin, ReadonlyScopes...)
			c["aud"] = w.TokenURL()
			return c
		}, wantCode: 400, wantErr: "invalid_grant", wantDesc: "Failed audience check"},
		{name: "Expired", claims: func(w *world) claims {
			c := w.claims(admin, ReadonlyScopes...)
			c["iat"], c["exp"] = c["iat"].(int64)-7200, c["exp"].(int64)-7200
			return c
		}, wantCode: 400, wantErr: "invalid_grant", wantDesc: "iat and exp"},
		{name: "Future", claims: func(w *world) claims {
			c := w.claims(admin, ReadonlyScopes...)
			c["iat"], c["exp"] = c["iat"].(int64)+3600, c["exp"].(int64)+3600
			return c
		}, wantCode: 400, wantErr: "invalid_grant", wantDesc: "iat and exp"},
		{name: "TooLong", claims: func(w *world) claims {
			c := w.claims(admin, ReadonlyScopes...)
			c["exp"] = c["iat"].(int64) + 3601
			return c
		}, wantCode: 400, wantErr: "invalid_grant", wantDesc: "short-lived"},
		{name: "NoScope", claims: func(w *world) claims { return w.claims(admin) }, wantCode: 400, wantErr: "invalid_scope"},
		{name: "UnknownSubject", claims: func(w *world) claims { return w.claims("who@example.com", ReadonlyScopes...) },
			wantCode: 400, wantErr: "invalid_grant", wantDesc: "Invalid email or User ID"},
		{name: "SuspendedSubject", claims: func(w *world) claims { return w.claims("dan.ek@example.com", ReadonlyScopes...) },
			wantCode: 400, wantErr: "invalid_grant", wantDesc: "Invalid email or User ID"},
		{name: "NoDelegation", setup: func(w *world) { w.Delegate(sa.ClientID) }, claims: func(w *world) claims { return w.claims(admin, ReadonlyScopes...) },
			wantCode: 401, wantErr: "unauthorized_client", wantDesc: "not authorized for any of the scopes"},
		{name: "ScopeNotDelegated", claims: func(w *world) claims { return w.claims(admin, append(ReadonlyScopes, scopeUser)...) },
			wantCode: 401, wantErr: "unauthorized_client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, Options{})
			if tc.setup != nil {
				tc.setup(w)
			}
			key, alg, grant := sa.Key, "RS256", jwtBearer
			if tc.key != nil {
				key = tc.key
			}
			if tc.alg != "" {
				alg = tc.alg
			}
			if tc.grant != "" {
				grant = tc.grant
			}
			code, body := w.postToken(t, grant, sign(t, tc.claims(w), key, alg))
			if tc.wantErr == "" {
				if code != 200 || body["token_type"] != "Bearer" || body["expires_in"] == nil || !strings.HasPrefix(fmt.Sprint(body["access_token"]), "ya29.") {
					t.Errorf("got %d %v, want a token", code, body)
				}
				if as := w.Assertions(); len(as) != 1 || as[0].Result != "ok" || as[0].Iss != sa.Email || as[0].KeyID != "k1" {
					t.Errorf("assertions = %+v", as)
				}
				return
			}
			if code != tc.wantCode || body["error"] != tc.wantErr || !strings.Contains(fmt.Sprint(body["error_description"]), tc.wantDesc) {
				t.Errorf("got %d %v, want %d %s (%s)", code, body, tc.wantCode, tc.wantErr, tc.wantDesc)
			}
		})
	}
}

// get calls the API with a bearer token ("" for none) and returns the status and decoded body.
func (w *world) get(t *testing.T, tok, path string, q url.Values) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, w.URL+path+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("%s: %v: %s", path, err, b)
	}
	return resp.StatusCode, body
}

// reason returns errors[0].reason of a Google error body.
func reason(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	items, _ := e["errors"].([]any)
	if len(items) == 0 {
		return ""
	}
	it, _ := items[0].(map[string]any)
	return fmt.Sprint(it["reason"])
}

func TestAPIAccess(t *testing.T) {
	w := newWorld(t, Options{})
	admin := w.token(t, "ann.lee@example.com", ReadonlyScopes...)
	usersOnly := w.token(t, "ann.lee@example.com", ScopeUserReadonly)
	notAdmin := w.token(t, "", ReadonlyScopes...)
	dom := url.Values{"domain": {"example.com"}}
	tests := []struct {
		name       string
		tok, path  string
		q          url.Values
		wantCode   int
		wantReason string
	}{
		{"OK", admin, usersPath, dom, 200, ""},
		{"NoToken", "", usersPath, dom, 401, "required"},
		{"BadToken", "ya29.nope", usersPath, dom, 401, "authError"},
		{"Scope", usersOnly, groupsPath, dom, 403, "insufficientPermissions"},
		{"ScopeOK", usersOnly, usersPath, dom, 200, ""},
		{"NotAdmin", notAdmin, usersPath, dom, 403, "forbidden"},
		{"NoDomainOrCustomer", admin, usersPath, nil, 400, "badRequest"},
		{"OtherDomain", admin, usersPath, url.Values{"domain": {"other.org"}}, 403, "forbidden"},
		{"OtherCustomer", admin, groupsPath, url.Values{"customer": {"C999"}}, 403, "forbidden"},
		{"MyCustomer", admin, groupsPath, url.Values{"customer": {"my_customer"}}, 200, ""},
		{"CustomerID", admin, groupsPath, url.Values{"customer": {"C01dirconn"}, "domain": {"EXAMPLE.com"}}, 200, ""},
		{"MaxResultsHigh", admin, usersPath, url.Values{"domain": {"example.com"}, "maxResults": {"501"}}, 400, "invalid"},
		{"MaxResultsZero", admin, groupsPath, url.Values{"domain": {"example.com"}, "maxResults": {"0"}}, 400, "invalid"},
		{"GroupMaxResults", admin, groupsPath, url.Values{"domain": {"example.com"}, "maxResults": {"201"}}, 400, "invalid"},
		{"BadQuery", admin, usersPath, url.Values{"domain": {"example.com"}, "query": {"department=Sales"}}, 400, "invalid"},
		{"BadFields", admin, usersPath, url.Values{"domain": {"example.com"}, "fields": {"users(id,bogus)"}}, 400, "invalidParameter"},
		{"BadPageToken", admin, usersPath, url.Values{"domain": {"example.com"}, "pageToken": {"xyz"}}, 400, "invalid"},
		{"UnknownGroup", admin, groupsPath + "/nope/members", nil, 404, "notFound"},
		{"GroupByEmail", admin, groupsPath + "/Staff@example.com/members", nil, 200, ""},
		{"UnknownPath", admin, apiPrefix + "orgunits", nil, 404, "notFound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := w.get(t, tc.tok, tc.path, tc.q)
			if code != tc.wantCode || (tc.wantReason != "" && reason(body) != tc.wantReason) {
				t.Errorf("got %d %v, want %d %s", code, body, tc.wantCode, tc.wantReason)
			}
			if code >= 400 {
				e, _ := body["error"].(map[string]any)
				if e["code"] != float64(code) || e["message"] == "" || e["status"] == "" {
					t.Errorf("error body %v is not in Google's shape", body)
				}
			}
		})
	}
	// An expired token is refused.
	w.advance(time.Hour)
	if code, body := w.get(t, admin, usersPath, dom); code != 401 || reason(body) != "authError" {
		t.Errorf("after expiry: %d %v, want 401 authError", code, body)
	}
}

// list pages through a listing and returns the items' values of field, and the page count.
func (w *world) list(t *testing.T, tok, path, items, field string, q url.Values) ([]string, int) {
	t.Helper()
	var out []string
	pages := 0
	q = cloneValues(q)
	for {
		code, body := w.get(t, tok, path, q)
		if code != 200 {
			t.Fatalf("%s %v: %d %v", path, q, code, body)
		}
		pages++
		list, _ := body[items].([]any)
		for _, it := range list {
			out = append(out, fmt.Sprint(it.(map[string]any)[field]))
		}
		next, _ := body["nextPageToken"].(string)
		if next == "" {
			return out, pages
		}
		if pages > 100 {
			t.Fatal("more than 100 pages")
		}
		q.Set("pageToken", next)
	}
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func TestUsersList(t *testing.T) {
	w := newWorld(t, Options{})
	for i := range 150 {
		w.AddUser(User{ID: fmt.Sprintf("x%03d", i), PrimaryEmail: fmt.Sprintf("x%03d@example.com", i), OrgUnitPath: "/Bulk"})
	}
	w.UpdateUser(w.sd.Users["bob"], func(u *User) { u.OrgUnitPath = "/Engineering/Backend"; u.Aliases = []string{"robert@example.com"} })
	w.UpdateUser(w.sd.Users["cara"], func(u *User) { u.OrgUnitPath = "/Sales Team" })
	tok := w.token(t, "ann.lee@example.com", ReadonlyScopes...)
	count := func(q url.Values) (int, int) {
		ids, pages := w.list(t, tok, usersPath, "users", "id", q)
		return len(ids), pages
	}
	// 11 seeded users of which eve is deleted, plus 150.
	tests := []struct {
		name           string
		q              url.Values
		wantN, wantPgs int
	}{
		{"DefaultPageSize", url.Values{"domain": {"example.com"}}, 160, 2},
		{"MaxResults", url.Values{"domain": {"example.com"}, "maxResults": {"500"}}, 160, 1},
		{"CustomerAllDomains", url.Values{"customer": {"my_customer"}, "maxResults": {"500"}}, 161, 1}, // finn has no email, so no domain
		{"SmallPages", url.Values{"domain": {"example.com"}, "maxResults": {"7"}}, 160, 23},
		{"ShowDeletedOnlyDeleted", url.Values{"domain": {"example.com"}, "showDeleted": {"true"}}, 1, 1},
		{"OrgUnitSubtree", url.Values{"domain": {"example.com"}, "query": {"orgUnitPath=/Engineering"}}, 1, 1},
		{"OrgUnitQuoted", url.Values{"domain": {"example.com"}, "query": {"orgUnitPath='/Sales Team'"}}, 1, 1},
		{"OrgUnitRoot", url.Values{"domain": {"example.com"}, "query": {"orgUnitPath=/"}}, 160, 2},
		{"EmailPrefix", url.Values{"domain": {"example.com"}, "query": {"email:x01*"}}, 10, 1},
		{"EmailAlias", url.Values{"domain": {"example.com"}, "query": {"email=robert@example.com"}}, 1, 1},
		{"Suspended", url.Values{"domain": {"example.com"}, "query": {"isSuspended=true"}}, 1, 1},
		{"Archived", url.Values{"domain": {"example.com"}, "query": {"isArchived=true"}}, 1, 1},
		{"AndClauses", url.Values{"domain": {"example.com"}, "query": {"orgUnitPath=/Bulk email:x00*"}}, 10, 1},
		{"GivenName", url.Values{"domain": {"example.com"}, "query": {"givenName:Gail"}}, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n, pages := count(tc.q); n != tc.wantN || pages != tc.wantPgs {
				t.Errorf("%d users in %d pages, want %d in %d", n, pages, tc.wantN, tc.wantPgs)
			}
		})
	}
	t.Run("PageTokenBoundToQuery", func(t *testing.T) {
		_, body := w.get(t, tok, usersPath, url.Values{"domain": {"example.com"}})
		q := url.Values{"domain": {"example.com"}, "showDeleted": {"true"}, "pageToken": {body["nextPageToken"].(string)}}
		if code, body := w.get(t, tok, usersPath, q); code != 400 {
			t.Errorf("a page token replayed with showDeleted: %d %v, want 400", code, body)
		}
	})
	t.Run("Fields", func(t *testing.T) {
		_, body := w.get(t, tok, usersPath, url.Values{"domain": {"example.com"}, "maxResults": {"1"},
			"fields": {"nextPageToken,users(id,name/fullName,suspended)"}})
		users := body["users"].([]any)
		u := users[0].(map[string]any)
		want := map[string]any{"id": UserID(1), "name": map[string]any{"fullName": "Ann Lee"}, "suspended": false}
		if diff := cmp.Diff(want, u); diff != "" {
			t.Errorf("partial user (-want +got):\n%s", diff)
		}
		if _, ok := body["kind"]; ok || body["nextPageToken"] == nil {
			t.Errorf("top level %v, want only nextPageToken and users", body)
		}
	})
	t.Run("FullUser", func(t *testing.T) {
		_, body := w.get(t, tok, usersPath, url.Values{"domain": {"example.com"}, "query": {"email:bob*"}})
		u := body["users"].([]any)[0].(map[string]any)
		for _, k := range []string{"kind", "id", "primaryEmail", "emails", "suspended", "archived", "orgUnitPath", "name"} {
			if _, ok := u[k]; !ok {
				t.Errorf("user JSON has no %s: %v", k, u)
			}
		}
	})
}

func TestQueryParser(t *testing.T) {
	bad := []string{"orgUnitPath", "=x", "department=Sales", "orgUnitPath='/a", "email:", "orgUnitPath='/a'x", "isSuspended=maybe"}
	for _, q := range bad {
		cs, err := parseQuery(q, userQueryFields)
		if err == nil {
			_, err = matchUser(cs, &User{})
		}
		if err == nil {
			t.Errorf("query %q parsed, want an error", q)
		}
	}
	cs, err := parseQuery(` orgUnitPath='/Sales Team'  email:ann* isSuspended=false `, userQueryFields)
	want := []clause{{"orgUnitPath", "=", "/Sales Team"}, {"email", ":", "ann*"}, {"isSuspended", "=", "false"}}
	if err != nil || !cmp.Equal(want, cs, cmp.AllowUnexported(clause{})) {
		t.Errorf("parseQuery = %v, %v; want %v", cs, err, want)
	}
}

func TestGroupsAndMembers(t *testing.T) {
	w := newWorld(t, Options{PageLimit: 2})
	w.AddGroup(Group{ID: "g-all", Name: "All", Email: "all@example.com", Members: []Member{
		{ID: "C01dirconn", Type: "CUSTOMER"}, {ID: w.sd.Users["ann"], Role: "OWNER"},
	}})
	tok := w.token(t, "ann.lee@example.com", ReadonlyScopes...)
	names, pages := w.list(t, tok, groupsPath, "groups", "name", url.Values{"domain": {"example.com"}})
	if len(names) != 9 || pages != 5 {
		t.Errorf("groups: %q in %d pages, want 9 in 5", names, pages)
	}
	if names, _ := w.list(t, tok, groupsPath, "groups", "name", url.Values{"customer": {"my_customer"}, "query": {"name:'O*'"}}); !cmp.Equal(names, []string{"Operations", "On Call"}) {
		t.Errorf("name:'O*' = %q", names)
	}
	members := func(key string, q url.Values) []string {
		t.Helper()
		var out []string
		ids, _ := w.list(t, tok, groupsPath+"/"+url.PathEscape(key)+"/members", "members", "id", q)
		types, _ := w.list(t, tok, groupsPath+"/"+url.PathEscape(key)+"/members", "members", "type", q)
		statuses, _ := w.list(t, tok, groupsPath+"/"+url.PathEscape(key)+"/members", "members", "status", q)
		for i := range ids {
			out = append(out, types[i]+":"+ids[i]+":"+statuses[i])
		}
		return out
	}
	id, gid := w.sd.Users, w.sd.Groups
	tests := []struct {
		name, key string
		q         url.Values
		want      []string
	}{
		{"Direct", gid["eng"], nil, []string{"USER:" + id["ann"] + ":ACTIVE", "USER:" + id["dan"] + ":SUSPENDED", "GROUP:" + gid["backend"] + ":<nil>"}},
		{"Dangling", "partners@example.com", nil, []string{"USER:" + id["finn"] + ":ACTIVE", "USER:" + id["sam1"] + ":ACTIVE", "USER:" + id["ghost"] + ":ACTIVE"}},
		{"Derived", gid["staff"], url.Values{"includeDerivedMembership": {"true"}},
			[]string{"USER:" + id["gail"] + ":ACTIVE", "USER:" + id["ann"] + ":ACTIVE", "USER:" + id["dan"] + ":SUSPENDED",
				"USER:" + id["bob"] + ":ACTIVE", "USER:" + id["cara"] + ":ACTIVE", "USER:" + id["sam2"] + ":ACTIVE"}},
		{"DerivedCycle", gid["ops"], url.Values{"includeDerivedMembership": {"true"}}, []string{"USER:" + id["hana"] + ":ACTIVE", "USER:" + id["ivan"] + ":ACTIVE"}},
		{"Customer", "g-all", nil, []string{"CUSTOMER:C01dirconn:<nil>", "USER:" + id["ann"] + ":ACTIVE"}},
		{"Roles", "g-all", url.Values{"roles": {"OWNER"}}, []string{"USER:" + id["ann"] + ":ACTIVE"}},
		{"Empty", gid["empty"], nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, members(tc.key, tc.q)); diff != "" {
				t.Errorf("members (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	w := newWorld(t, Options{})
	tok := w.token(t, "ann.lee@example.com", ReadonlyScopes...)
	dom := url.Values{"domain": {"example.com"}}
	w.Fail(RouteUsers, Fault{Status: 403, Reason: "userRateLimitExceeded", Skip: 1, Times: 2})
	w.Fail(RouteUsers, TooManyRequests("5"))
	type answer struct {
		Code   int
		Reason string
		Domain string
		Retry  string
	}
	var got []answer
	for range 5 {
		req, _ := http.NewRequest(http.MethodGet, w.URL+usersPath+"?"+dom.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		a := answer{Code: resp.StatusCode, Reason: reason(body), Retry: resp.Header.Get("Retry-After")}
		if e, ok := body["error"].(map[string]any); ok {
			a.Domain = fmt.Sprint(e["errors"].([]any)[0].(map[string]any)["domain"])
		}
		got = append(got, a)
	}
	want := []answer{
		{Code: 200},
		{403, "userRateLimitExceeded", "usageLimits", ""},
		{403, "userRateLimitExceeded", "usageLimits", ""},
		{429, "rateLimitExceeded", "usageLimits", "5"},
		{429, "rateLimitExceeded", "usageLimits", "5"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	if n := w.Count(RouteUsers); n != 5 {
		t.Errorf("Count = %d, want 5", n)
	}
	w.ClearFaults()
	w.Fail(RouteGroups, Malformed())
	req, _ := http.NewRequest(http.MethodGet, w.URL+groupsPath+"?"+dom.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || json.Valid(b) {
		t.Errorf("malformed page: %d %s, want 200 and invalid JSON", resp.StatusCode, b)
	}
}

// TestJSONKey: the key file has the fields a Google JSON key has, and its private key is the account's.
func TestJSONKey(t *testing.T) {
	sa, _ := accounts(t)
	var k map[string]string
	if err := json.Unmarshal(sa.JSONKey("https://oauth2.googleapis.com/token"), &k); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"type", "project_id", "private_key_id", "private_key", "client_email", "client_id", "token_uri"} {
		if k[f] == "" {
			t.Errorf("JSON key has no %s", f)
		}
	}
	if k["type"] != "service_account" || k["client_email"] != sa.Email || k["client_id"] != sa.ClientID || k["project_id"] != "proj" ||
		!strings.HasPrefix(k["private_key"], "-----BEGIN PRIVATE KEY-----\n") {
		t.Errorf("JSON key = %v", k)
	}
}
