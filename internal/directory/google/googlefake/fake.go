// Package googlefake is a local stand-in for Google's OAuth token endpoint and the three Admin SDK
// Directory API calls dirconn makes (users.list, groups.list, members.list), faithful enough that the
// real client library (google.golang.org/api/admin/directory/v1, golang.org/x/oauth2/jwt) runs against
// it unchanged through its endpoint options.
//
// What it reproduces (specs/directories.md section 6):
//
//   - POST /token takes a jwt-bearer grant whose RS256 assertion it verifies with the public half of a
//     registered ServiceAccount: iss, signature, aud (Google's token URL, https://oauth2.googleapis.com/token,
//     whatever URL the fake is served at), iat/exp (at most an hour, around the fake's clock), scope, and sub (the impersonated user, who must exist). Domain-wide
//     delegation is configured per client ID with Delegate; a missing delegation or scope gives
//     401 unauthorized_client, a bad subject, signature or time 400 invalid_grant, as Google answers.
//   - Every API call needs a bearer token the fake issued (401 authError otherwise), the scope of the
//     call (403 insufficientPermissions) and an impersonated user who is an administrator (403 forbidden).
//   - GET /admin/directory/v1/users: customer or domain required (400), maxResults 1..500 (default 100),
//     pageToken/nextPageToken bound to the query they belong to, showDeleted=true returning only deleted
//     users, a minimal query evaluator (email, givenName, familyName, name, orgUnitPath, isSuspended,
//     isArchived, isAdmin with = and :, prefix*), and partial responses (fields).
//   - GET /admin/directory/v1/groups (maxResults up to 200, query on name and email) and
//     /admin/directory/v1/groups/{groupKey}/members (maxResults up to 200, USER, GROUP and CUSTOMER
//     members, status, includeDerivedMembership, roles); an unknown group key is 404 notFound.
//   - Errors in Google's JSON shape, and fault injection per route (Fail): 403 userRateLimitExceeded,
//     rateLimitExceeded and quotaExceeded, 429, 503 backendError, malformed pages, slow answers,
//     optionally after N good requests, with counters per route (Count) and a request log (Requests).
//
// What it does not do: Google removes deleted users from their groups; the fake lists what was seeded.
// Its data lives in memory; it is safe for concurrent use.
package googlefake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Route names one endpoint of the fake, for faults and counters.
type Route string

// The fake's routes.
const (
	RouteToken   Route = "token"
	RouteUsers   Route = "users.list"
	RouteGroups  Route = "groups.list"
	RouteMembers Route = "members.list"
)

// GoogleTokenURL is Google's token endpoint: the audience of every valid assertion.
const GoogleTokenURL = "https://oauth2.googleapis.com/token"

// Paths the fake serves.
const (
	TokenPath   = "/token"
	apiPrefix   = "/admin/directory/v1/"
	usersPath   = apiPrefix + "users"
	groupsPath  = apiPrefix + "groups"
	jwtBearer   = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	maxLifetime = time.Hour
)

// The scopes the fake knows; each read-only scope is also granted by its read-write form.
const (
	ScopeUserReadonly        = "https://www.googleapis.com/auth/admin.directory.user.readonly"
	ScopeGroupReadonly       = "https://www.googleapis.com/auth/admin.directory.group.readonly"
	ScopeGroupMemberReadonly = "https://www.googleapis.com/auth/admin.directory.group.member.readonly"
	scopeUser                = "https://www.googleapis.com/auth/admin.directory.user"
	scopeGroup               = "https://www.googleapis.com/auth/admin.directory.group"
	scopeGroupMember         = "https://www.googleapis.com/auth/admin.directory.group.member"
)

// ReadonlyScopes are the three scopes the Directory Connector (and dirconn) ask for.
var ReadonlyScopes = []string{ScopeUserReadonly, ScopeGroupReadonly, ScopeGroupMemberReadonly}

// routeScopes lists, per route, the scopes any one of which allows the call.
var routeScopes = map[Route][]string{
	RouteUsers:   {ScopeUserReadonly, scopeUser},
	RouteGroups:  {ScopeGroupReadonly, scopeGroup},
	RouteMembers: {ScopeGroupMemberReadonly, scopeGroupMember, ScopeGroupReadonly, scopeGroup},
}

// User is one user of the fake directory.
type User struct {
	ID           string
	PrimaryEmail string
	Aliases      []string
	GivenName    string
	FamilyName   string
	FullName     string // default: GivenName FamilyName
	OrgUnitPath  string // default "/"
	Suspended    bool
	Archived     bool
	// Deleted users are listed only with showDeleted=true (and only they are).
	Deleted bool
	// Admin users may be impersonated to read the directory.
	Admin bool
}

func (u *User) fullName() string {
	if u.FullName != "" {
		return u.FullName
	}
	return strings.TrimSpace(u.GivenName + " " + u.FamilyName)
}

// Group is one group of the fake directory.
type Group struct {
	ID      string
	Email   string
	Name    string
	Members []Member
}

// Member is one member of a group.
type Member struct {
	// ID is the member's id: a user's or group's id, or the customer id for a CUSTOMER member.
	ID    string
	Email string
	// Type is USER, GROUP or CUSTOMER (default USER).
	Type string
	// Status is the member's status; empty means the member user's state (ACTIVE, SUSPENDED, ARCHIVED),
	// and none for groups and CUSTOMER members. Set it to "-" to send no status at all.
	Status string
	// Role is OWNER, MANAGER or MEMBER (default MEMBER).
	Role string
}

// Fault is a failure the fake answers with instead of the real answer (see Fail).
type Fault struct {
	// Status is the HTTP status (default 200 when Body is set, else 500).
	Status int
	// Reason, Domain and Message fill the Google error body (errors[0]); defaults follow Status.
	Reason, Domain, Message string
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
	// Body, when set, is sent as is instead of a Google error (a malformed page, an HTML error page).
	Body string
	// Delay makes the fake wait before answering (or until the client gives up).
	Delay time.Duration
	// DelayOnly answers normally after Delay.
	DelayOnly bool
	// Skip lets this many requests of the route through before the fault applies.
	Skip int
	// Times is how many requests the fault answers; 0 means every request from then on.
	Times int
}

// RateLimited is Google's 403 userRateLimitExceeded (queries per minute per user).
func RateLimited() Fault { return Fault{Status: http.StatusForbidden, Reason: "userRateLimitExceeded"} }

// QuotaExceeded is Google's 403 quotaExceeded (too many concurrent requests).
func QuotaExceeded() Fault { return Fault{Status: http.StatusForbidden, Reason: "quotaExceeded"} }

// TooManyRequests is a 429 with the given Retry-After ("" for none).
func TooManyRequests(retryAfter string) Fault {
	return Fault{Status: http.StatusTooManyRequests, Reason: "rateLimitExceeded", RetryAfter: retryAfter}
}

// BackendError is Google's 503 backendError.
func BackendError() Fault {
	return Fault{Status: http.StatusServiceUnavailable, Reason: "backendError"}
}

// Malformed is a 200 answer whose body is cut short.
func Malformed() Fault {
	return Fault{Status: http.StatusOK, Body: `{"kind":"admin#directory#users","users":[{"id":"1`}
}

// Request is one request the fake received.
type Request struct {
	Route Route
	Query url.Values
	// Subject is the impersonated user of the bearer token ("" when there was none).
	Subject string
	// GroupKey is the group of a members.list call.
	GroupKey string
}

// Options configures a fake.
type Options struct {
	// CustomerID is the account's customer id (default "C01dirconn"); "my_customer" always works too.
	CustomerID string
	// Domains are the account's domains; default: the domains of the users' and groups' emails.
	Domains []string
	// PageLimit, when above 0, caps the items of every page below what maxResults asks, as Google
	// sometimes returns fewer items than asked with a nextPageToken: tests page small directories with it.
	PageLimit int
	// TokenLifetime is the access tokens' lifetime (default 1 h).
	TokenLifetime time.Duration
	// Now is the fake's clock (default time.Now); assertions are checked against it.
	Now func() time.Time
	// Audience is the aud an assertion must carry (default GoogleTokenURL, as Google requires).
	Audience string
}

type token struct {
	subject string
	scopes  []string
	expires time.Time
}

type rule struct {
	f         Fault
	skip      int
	remaining int // -1: forever
}

type account struct {
	sa  ServiceAccount
	pub *rsa.PublicKey
}

// Server is the fake. Create it with New (then serve Handler) or Start.
type Server struct {
	opts Options

	// URL is the base URL when started with Start, e.g. http://127.0.0.1:41234.
	URL string

	mu          sync.Mutex
	users       []*User
	groups      []*Group
	accounts    map[string]*account // by email
	delegations map[string][]string // client id -> authorized scopes
	tokens      map[string]token
	faults      map[Route][]*rule
	counts      map[Route]int
	requests    []Request
	assertions  []Assertion
}

// New returns a fake with no data.
func New(o Options) *Server {
	if o.CustomerID == "" {
		o.CustomerID = "C01dirconn"
	}
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Audience == "" {
		o.Audience = GoogleTokenURL
	}
	return &Server{
		opts:        o,
		accounts:    map[string]*account{},
		delegations: map[string][]string{},
		tokens:      map[string]token{},
		faults:      map[Route][]*rule{},
		counts:      map[Route]int{},
	}
}

// Start serves a new fake on 127.0.0.1 until the test ends.
func Start(tb testing.TB, o Options) *Server {
	tb.Helper()
	s := New(o)
	srv := httptest.NewServer(s.Handler())
	tb.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// TokenURL returns the token endpoint of a started fake.
func (s *Server) TokenURL() string { return s.URL + TokenPath }

// APIURL returns the Admin SDK root of a started fake (what google.apiUrl is set to).
func (s *Server) APIURL() string { return s.URL + "/" }

// CustomerID returns the account's customer id.
func (s *Server) CustomerID() string { return s.opts.CustomerID }

// AddServiceAccount registers sa's public key, so assertions it signs are accepted.
func (s *Server) AddServiceAccount(sa *ServiceAccount) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[strings.ToLower(sa.Email)] = &account{sa: *sa, pub: &sa.Key.PublicKey}
}

// Delegate authorizes the client ID for domain-wide delegation with exactly these scopes, as an admin
// does in the Admin console (no scopes removes the delegation).
func (s *Server) Delegate(clientID string, scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(scopes) == 0 {
		delete(s.delegations, clientID)
		return
	}
	s.delegations[clientID] = slices.Clone(scopes)
}

// AddUser adds a user.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = append(s.users, &u)
}

// AddGroup adds a group.
func (s *Server) AddGroup(g Group) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g.Members = slices.Clone(g.Members)
	s.groups = append(s.groups, &g)
}

// UpdateUser calls f on the user with the given id; it reports whether there is one.
func (s *Server) UpdateUser(id string, f func(*User)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.ID == id {
			f(u)
			return true
		}
	}
	return false
}

// RevokeTokens makes every access token issued so far invalid (an expired or revoked token).
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// Fail makes the route answer with f (after f.Skip good requests, f.Times times or forever). Faults of
// one route apply in the order they were added.
func (s *Server) Fail(r Route, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rem := f.Times
	if rem <= 0 {
		rem = -1
	}
	s.faults[r] = append(s.faults[r], &rule{f: f, skip: f.Skip, remaining: rem})
}

// ClearFaults removes every pending fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// Count returns how many requests the route received, faulted ones included.
func (s *Server) Count(r Route) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[r]
}

// Requests returns every API request received (not token requests).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Assertions returns every assertion the token endpoint received, with its verdict.
func (s *Server) Assertions() []Assertion {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.assertions)
}

// Handler returns the fake's HTTP handler.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	route, groupKey, ok := routeOf(r.URL.Path)
	if !ok {
		googleError(w, http.StatusNotFound, "notFound", "global", "Not Found", "")
		return
	}
	method := http.MethodGet
	if route == RouteToken {
		method = http.MethodPost
	}
	if r.Method != method {
		googleError(w, http.StatusMethodNotAllowed, "httpMethodNotAllowed", "global", "Method Not Allowed", "")
		return
	}
	s.mu.Lock()
	s.counts[route]++
	f, faulted := s.nextFault(route)
	s.mu.Unlock()
	if faulted {
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if !f.DelayOnly {
			writeFault(w, f)
			return
		}
	}
	if route == RouteToken {
		s.serveToken(w, r)
		return
	}
	s.serveAPI(w, r, route, groupKey)
}

// routeOf maps a path to its route (and the group key of a members path).
func routeOf(path string) (Route, string, bool) {
	switch path {
	case TokenPath:
		return RouteToken, "", true
	case usersPath:
		return RouteUsers, "", true
	case groupsPath:
		return RouteGroups, "", true
	}
	if rest, ok := strings.CutPrefix(path, groupsPath+"/"); ok {
		if key, ok := strings.CutSuffix(rest, "/members"); ok && key != "" && !strings.Contains(key, "/") {
			return RouteMembers, key, true
		}
	}
	return "", "", false
}

// nextFault returns the fault that answers this request, if any. Callers hold s.mu.
func (s *Server) nextFault(r Route) (Fault, bool) {
	for _, rl := range s.faults[r] {
		if rl.remaining == 0 {
			continue
		}
		if rl.skip > 0 {
			rl.skip--
			return Fault{}, false
		}
		if rl.remaining > 0 {
			rl.remaining--
		}
		return rl.f, true
	}
	return Fault{}, false
}

func writeFault(w http.ResponseWriter, f Fault) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Body != "" {
		status := f.Status
		if status == 0 {
			status = http.StatusOK
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(f.Body))
		return
	}
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	reason, domain, msg := f.Reason, f.Domain, f.Message
	if reason == "" {
		reason = defaultReason(status)
	}
	if domain == "" {
		domain = "global"
		switch reason {
		case "userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded", "dailyLimitExceeded":
			domain = "usageLimits"
		}
	}
	if msg == "" {
		msg = defaultMessage(reason, status)
	}
	googleError(w, status, reason, domain, msg, "")
}

func defaultReason(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "badRequest"
	case http.StatusUnauthorized:
		return "authError"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "notFound"
	case http.StatusTooManyRequests:
		return "rateLimitExceeded"
	}
	return "backendError"
}

func defaultMessage(reason string, status int) string {
	switch reason {
	case "userRateLimitExceeded":
		return "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'admin.googleapis.com' for consumer 'project_number:1234567890'."
	case "quotaExceeded":
		return "Quota exceeded for quota metric 'Concurrent requests' of service 'admin.googleapis.com'."
	case "rateLimitExceeded":
		return "Rate Limit Exceeded"
	case "backendError":
		if status == http.StatusServiceUnavailable {
			return "The service is currently unavailable."
		}
		return "Backend Error"
	}
	return http.StatusText(status)
}

// googleStatus is the canonical status string Google puts next to an HTTP status.
func googleStatus(code int) string {
	switch code {
	case http.StatusBadRequest:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	}
	return "INTERNAL"
}

// googleError writes {"error":{"code","message","errors":[{"message","domain","reason"}],"status"}}.
func googleError(w http.ResponseWriter, code int, reason, domain, message, location string) {
	item := map[string]string{"message": message, "domain": domain, "reason": reason}
	if location != "" {
		item["location"], item["locationType"] = location, "header"
	}
	body := map[string]any{"error": map[string]any{
		"code": code, "message": message, "errors": []any{item}, "status": googleStatus(code),
	}}
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/"`)
	}
	writeJSON(w, code, body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeRaw(w, code, b)
}

func writeRaw(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// oauthError writes an OAuth token endpoint error.
func oauthError(w http.ResponseWriter, code int, errCode, desc string) {
	writeJSON(w, code, map[string]string{"error": errCode, "error_description": desc})
}

// serveToken answers the jwt-bearer grant.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Could not parse the request body.")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != jwtBearer {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+gt)
		return
	}
	a, signed, sig, err := parseAssertion(r.PostForm.Get("assertion"))
	if err != nil {
		s.record(a, "invalid_grant")
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: "+err.Error())
		return
	}
	code, errCode, desc := s.verify(a, signed, sig, s.opts.Audience)
	if errCode != "" {
		s.record(a, errCode)
		oauthError(w, code, errCode, desc)
		return
	}
	s.record(a, "ok")
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "ya29.fake-" + base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = token{subject: strings.ToLower(a.Sub), scopes: a.Scopes(), expires: s.opts.Now().Add(s.opts.TokenLifetime)}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "expires_in": int(s.opts.TokenLifetime.Seconds()) - 1, "token_type": "Bearer",
	})
}

func (s *Server) record(a Assertion, result string) {
	a.Result = result
	s.mu.Lock()
	s.assertions = append(s.assertions, a)
	s.mu.Unlock()
}

// verify checks an assertion as Google does and returns the error to answer with, if any.
func (s *Server) verify(a Assertion, signed, sig []byte, aud string) (int, string, string) {
	s.mu.Lock()
	acct := s.accounts[strings.ToLower(a.Iss)]
	s.mu.Unlock()
	const badTime = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."
	now := s.opts.Now().Unix()
	switch {
	case a.Alg != "RS256":
		return http.StatusBadRequest, "invalid_grant", "Invalid JWT Signature."
	case acct == nil:
		return http.StatusBadRequest, "invalid_grant", "Invalid grant: account not found"
	case verifyRS256(acct.pub, signed, sig) != nil:
		return http.StatusBadRequest, "invalid_grant", "Invalid JWT Signature."
	case a.Aud != aud:
		return http.StatusBadRequest, "invalid_grant", "Invalid JWT: Failed audience check. The right audience is " + aud
	case a.Iat == 0 || a.Exp == 0 || a.Exp <= a.Iat || a.Exp-a.Iat > int64(maxLifetime/time.Second),
		a.Iat > now+300, a.Exp < now:
		return http.StatusBadRequest, "invalid_grant", badTime
	case len(a.Scopes()) == 0:
		return http.StatusBadRequest, "invalid_scope", "Invalid OAuth scope or ID token audience provided."
	}
	if a.Sub == "" {
		return 0, "", ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.userByEmail(a.Sub); u == nil || u.Deleted || u.Suspended {
		return http.StatusBadRequest, "invalid_grant", "Invalid email or User ID"
	}
	granted := s.delegations[acct.sa.ClientID]
	for _, sc := range a.Scopes() {
		if !contains(granted, sc) {
			return http.StatusUnauthorized, "unauthorized_client",
				"Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."
		}
	}
	return 0, "", ""
}

// userByEmail finds a user by primary email or alias, case-insensitively. Callers hold s.mu.
func (s *Server) userByEmail(email string) *User {
	email = strings.ToLower(strings.TrimSpace(email))
	for _, u := range s.users {
		if strings.ToLower(strings.TrimSpace(u.PrimaryEmail)) == email {
			return u
		}
		for _, a := range u.Aliases {
			if strings.ToLower(a) == email {
				return u
			}
		}
	}
	return nil
}

// serveAPI checks the bearer token and dispatches an API call.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, route Route, groupKey string) {
	q := r.URL.Query()
	auth := r.Header.Get("Authorization")
	raw, hasBearer := strings.CutPrefix(auth, "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, known := s.tokens[raw]
	s.requests = append(s.requests, Request{Route: route, Query: q, Subject: tok.subject, GroupKey: groupKey})
	switch {
	case !hasBearer || raw == "":
		googleError(w, http.StatusUnauthorized, "required", "global", "Login Required.", "Authorization")
		return
	case !known || !s.opts.Now().Before(tok.expires):
		googleError(w, http.StatusUnauthorized, "authError", "global", "Invalid Credentials", "Authorization")
		return
	}
	if !slices.ContainsFunc(routeScopes[route], func(sc string) bool { return contains(tok.scopes, sc) }) {
		googleError(w, http.StatusForbidden, "insufficientPermissions", "global", "Request had insufficient authentication scopes.", "")
		return
	}
	if u := s.userByEmail(tok.subject); tok.subject == "" || u == nil || !u.Admin {
		googleError(w, http.StatusForbidden, "forbidden", "global", "Not Authorized to access this resource/api", "")
		return
	}
	switch route {
	case RouteUsers:
		s.listUsers(w, q)
	case RouteGroups:
		s.listGroups(w, q)
	case RouteMembers:
		s.listMembers(w, q, groupKey)
	}
}

// scope checks customer and domain; it writes the error and returns false when they do not fit.
func (s *Server) scope(w http.ResponseWriter, q url.Values) (domain string, ok bool) {
	customer, domain := q.Get("customer"), strings.ToLower(q.Get("domain"))
	if customer == "" && domain == "" {
		googleError(w, http.StatusBadRequest, "badRequest", "global", "Bad Request", "")
		return "", false
	}
	if customer != "" && customer != "my_customer" && customer != s.opts.CustomerID {
		googleError(w, http.StatusForbidden, "forbidden", "global", "Not Authorized to access this resource/api", "")
		return "", false
	}
	if domain != "" && !contains(s.domains(), domain) {
		googleError(w, http.StatusForbidden, "forbidden", "global", "Not Authorized to access this resource/api", "")
		return "", false
	}
	return domain, true
}

// domains returns the account's domains. Callers hold s.mu.
func (s *Server) domains() []string {
	if len(s.opts.Domains) > 0 {
		out := make([]string, len(s.opts.Domains))
		for i, d := range s.opts.Domains {
			out[i] = strings.ToLower(d)
		}
		return out
	}
	var out []string
	add := func(email string) {
		if d := domainOf(email); d != "" && !contains(out, d) {
			out = append(out, d)
		}
	}
	for _, u := range s.users {
		add(u.PrimaryEmail)
	}
	for _, g := range s.groups {
		add(g.Email)
	}
	return out
}

func domainOf(email string) string {
	_, d, ok := strings.Cut(strings.TrimSpace(email), "@")
	if !ok {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(d))
}

// pageSize reads maxResults (1..max, default def) and applies PageLimit.
func (s *Server) pageSize(w http.ResponseWriter, q url.Values, def, max int) (int, bool) {
	n := def
	if v := q.Get("maxResults"); v != "" {
		m, err := strconv.Atoi(v)
		if err != nil || m < 1 || m > max {
			googleError(w, http.StatusBadRequest, "invalid", "global",
				fmt.Sprintf("Invalid value '%s'. Values must be within the range: [1, %d]", v, max), "")
			return 0, false
		}
		n = m
	}
	if s.opts.PageLimit > 0 && s.opts.PageLimit < n {
		n = s.opts.PageLimit
	}
	return n, true
}

// pageTokens are opaque to clients: the offset and a fingerprint of the request they continue, so a
// token replayed with other parameters is refused, as Google does.
func encodePageToken(offset int, fingerprint string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset) + "|" + fingerprint))
}

func decodePageToken(tok, fingerprint string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	off, fp, ok := strings.Cut(string(b), "|")
	n, err := strconv.Atoi(off)
	if !ok || err != nil || n < 0 || fp != fingerprint {
		return 0, false
	}
	return n, true
}

func fingerprint(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:8])
}

// page cuts one page out of n items: the range and the next token ("" on the last page).
func page(w http.ResponseWriter, q url.Values, n, size int, fp string) (lo, hi int, next string, ok bool) {
	if tok := q.Get("pageToken"); tok != "" {
		off, valid := decodePageToken(tok, fp)
		if !valid {
			googleError(w, http.StatusBadRequest, "invalid", "global", "Invalid Input: pageToken", "")
			return 0, 0, "", false
		}
		lo = min(off, n)
	}
	hi = min(lo+size, n)
	if hi < n {
		next = encodePageToken(hi, fp)
	}
	return lo, hi, next, true
}

var (
	userFields   = []string{"kind", "id", "etag", "primaryEmail", "name", "isAdmin", "suspended", "archived", "orgUnitPath", "emails", "aliases", "customerId", "deletionTime", "creationTime"}
	nameFields   = []string{"givenName", "familyName", "fullName"}
	groupFields  = []string{"kind", "id", "etag", "email", "name", "description", "directMembersCount", "adminCreated", "aliases"}
	memberFields = []string{"kind", "id", "etag", "email", "role", "type", "status", "delivery_settings"}
)

func (s *Server) listUsers(w http.ResponseWriter, q url.Values) {
	domain, ok := s.scope(w, q)
	if !ok {
		return
	}
	size, ok := s.pageSize(w, q, 100, 500)
	if !ok {
		return
	}
	mask, err := parseFields(q.Get("fields"), map[string][]string{
		"": {"kind", "etag", "users", "nextPageToken", "trigger_event"}, "users": userFields, "users.name": nameFields,
	})
	if err != nil {
		googleError(w, http.StatusBadRequest, "invalidParameter", "global", err.Error(), "")
		return
	}
	clauses, err := parseQuery(q.Get("query"), userQueryFields)
	if err != nil {
		googleError(w, http.StatusBadRequest, "invalid", "global", "Invalid Input: "+err.Error(), "")
		return
	}
	deleted := q.Get("showDeleted") == "true"
	var list []*User
	for _, u := range s.users {
		if u.Deleted != deleted || (domain != "" && domainOf(u.PrimaryEmail) != domain) {
			continue
		}
		m, err := matchUser(clauses, u)
		if err != nil {
			googleError(w, http.StatusBadRequest, "invalid", "global", "Invalid Input: "+err.Error(), "")
			return
		}
		if m {
			list = append(list, u)
		}
	}
	lo, hi, next, ok := page(w, q, len(list), size, fingerprint("users", q.Get("customer"), domain, q.Get("query"), q.Get("showDeleted")))
	if !ok {
		return
	}
	type name struct {
		GivenName  string `json:"givenName,omitempty"`
		FamilyName string `json:"familyName,omitempty"`
		FullName   string `json:"fullName,omitempty"`
	}
	type email struct {
		Address string `json:"address"`
		Primary bool   `json:"primary,omitempty"`
	}
	type userJSON struct {
		Kind         string   `json:"kind"`
		ID           string   `json:"id"`
		Etag         string   `json:"etag"`
		PrimaryEmail string   `json:"primaryEmail"`
		Name         name     `json:"name"`
		IsAdmin      bool     `json:"isAdmin"`
		Suspended    bool     `json:"suspended"`
		Archived     bool     `json:"archived"`
		OrgUnitPath  string   `json:"orgUnitPath"`
		Emails       []email  `json:"emails,omitempty"`
		Aliases      []string `json:"aliases,omitempty"`
		CustomerID   string   `json:"customerId"`
		CreationTime string   `json:"creationTime"`
		DeletionTime string   `json:"deletionTime,omitempty"`
	}
	var items []userJSON
	for _, u := range list[lo:hi] {
		ou := u.OrgUnitPath
		if ou == "" {
			ou = "/"
		}
		j := userJSON{
			Kind: "admin#directory#user", ID: u.ID, Etag: `"` + u.ID + `"`, PrimaryEmail: u.PrimaryEmail,
			Name:    name{GivenName: u.GivenName, FamilyName: u.FamilyName, FullName: u.fullName()},
			IsAdmin: u.Admin, Suspended: u.Suspended, Archived: u.Archived, OrgUnitPath: ou,
			Aliases: u.Aliases, CustomerID: s.opts.CustomerID, CreationTime: "2024-01-02T03:04:05.000Z",
		}
		if u.PrimaryEmail != "" {
			j.Emails = append(j.Emails, email{Address: u.PrimaryEmail, Primary: true})
		}
		for _, a := range u.Aliases {
			j.Emails = append(j.Emails, email{Address: a})
		}
		if u.Deleted {
			j.DeletionTime = "2026-01-02T03:04:05.000Z"
		}
		items = append(items, j)
	}
	s.writeList(w, mask, "admin#directory#users", "users", items, len(items), next)
}

func (s *Server) listGroups(w http.ResponseWriter, q url.Values) {
	domain, ok := s.scope(w, q)
	if !ok {
		return
	}
	size, ok := s.pageSize(w, q, 200, 200)
	if !ok {
		return
	}
	mask, err := parseFields(q.Get("fields"), map[string][]string{
		"": {"kind", "etag", "groups", "nextPageToken"}, "groups": groupFields,
	})
	if err != nil {
		googleError(w, http.StatusBadRequest, "invalidParameter", "global", err.Error(), "")
		return
	}
	clauses, err := parseQuery(q.Get("query"), groupQueryFields)
	if err != nil {
		googleError(w, http.StatusBadRequest, "invalid", "global", "Invalid Input: "+err.Error(), "")
		return
	}
	var list []*Group
	for _, g := range s.groups {
		if (domain == "" || domainOf(g.Email) == domain) && matchGroup(clauses, g) {
			list = append(list, g)
		}
	}
	lo, hi, next, ok := page(w, q, len(list), size, fingerprint("groups", q.Get("customer"), domain, q.Get("query")))
	if !ok {
		return
	}
	type groupJSON struct {
		Kind               string `json:"kind"`
		ID                 string `json:"id"`
		Etag               string `json:"etag"`
		Email              string `json:"email"`
		Name               string `json:"name"`
		Description        string `json:"description"`
		DirectMembersCount string `json:"directMembersCount"`
		AdminCreated       bool   `json:"adminCreated"`
	}
	var items []groupJSON
	for _, g := range list[lo:hi] {
		items = append(items, groupJSON{Kind: "admin#directory#group", ID: g.ID, Etag: `"` + g.ID + `"`, Email: g.Email,
			Name: g.Name, DirectMembersCount: strconv.Itoa(len(g.Members)), AdminCreated: true})
	}
	s.writeList(w, mask, "admin#directory#groups", "groups", items, len(items), next)
}

// groupByKey finds a group by id or email. Callers hold s.mu.
func (s *Server) groupByKey(key string) *Group {
	for _, g := range s.groups {
		if g.ID == key || strings.EqualFold(g.Email, key) {
			return g
		}
	}
	return nil
}

func (s *Server) listMembers(w http.ResponseWriter, q url.Values, key string) {
	if k, err := url.PathUnescape(key); err == nil {
		key = k
	}
	g := s.groupByKey(key)
	if g == nil {
		googleError(w, http.StatusNotFound, "notFound", "global", "Resource Not Found: groupKey", "")
		return
	}
	size, ok := s.pageSize(w, q, 200, 200)
	if !ok {
		return
	}
	mask, err := parseFields(q.Get("fields"), map[string][]string{
		"": {"kind", "etag", "members", "nextPageToken"}, "members": memberFields,
	})
	if err != nil {
		googleError(w, http.StatusBadRequest, "invalidParameter", "global", err.Error(), "")
		return
	}
	members := g.Members
	if q.Get("includeDerivedMembership") == "true" {
		members = s.derived(g)
	}
	if roles := q.Get("roles"); roles != "" {
		var keep []Member
		for _, m := range members {
			role := m.Role
			if role == "" {
				role = "MEMBER"
			}
			if slices.ContainsFunc(strings.Split(roles, ","), func(r string) bool { return strings.EqualFold(strings.TrimSpace(r), role) }) {
				keep = append(keep, m)
			}
		}
		members = keep
	}
	lo, hi, next, ok := page(w, q, len(members), size, fingerprint("members", g.ID, q.Get("includeDerivedMembership"), q.Get("roles")))
	if !ok {
		return
	}
	type memberJSON struct {
		Kind   string `json:"kind"`
		ID     string `json:"id,omitempty"`
		Etag   string `json:"etag"`
		Email  string `json:"email,omitempty"`
		Role   string `json:"role"`
		Type   string `json:"type"`
		Status string `json:"status,omitempty"`
	}
	var items []memberJSON
	for _, m := range members[lo:hi] {
		j := memberJSON{Kind: "admin#directory#member", ID: m.ID, Etag: `"` + m.ID + `"`, Email: m.Email, Role: m.Role, Type: m.Type, Status: m.Status}
		if j.Role == "" {
			j.Role = "MEMBER"
		}
		if j.Type == "" {
			j.Type = "USER"
		}
		switch {
		case j.Status == "-":
			j.Status = ""
		case j.Status == "" && j.Type == "USER":
			j.Status = "ACTIVE"
			for _, u := range s.users {
				if u.ID == m.ID {
					if u.Suspended {
						j.Status = "SUSPENDED"
					} else if u.Archived {
						j.Status = "ARCHIVED"
					}
					if j.Email == "" {
						j.Email = strings.ToLower(strings.TrimSpace(u.PrimaryEmail))
					}
				}
			}
		}
		items = append(items, j)
	}
	s.writeList(w, mask, "admin#directory#members", "members", items, len(items), next)
}

// derived returns g's members with nested groups replaced by their members, recursively (cycle-safe),
// each member once: includeDerivedMembership=true.
func (s *Server) derived(g *Group) []Member {
	var out []Member
	seenGroup := map[string]bool{}
	seenMember := map[string]bool{}
	var walk func(g *Group)
	walk = func(g *Group) {
		if seenGroup[g.ID] {
			return
		}
		seenGroup[g.ID] = true
		for _, m := range g.Members {
			if strings.EqualFold(m.Type, "GROUP") {
				if child := s.groupByKey(m.ID); child != nil {
					walk(child)
				}
				continue
			}
			if !seenMember[m.ID] {
				seenMember[m.ID] = true
				out = append(out, m)
			}
		}
	}
	walk(g)
	return out
}

// writeList writes {"kind","etag",<field>:[...],"nextPageToken"} reduced to the mask. Google omits the
// list field when it is empty.
func (s *Server) writeList(w http.ResponseWriter, mask fieldMask, kind, field string, items any, n int, next string) {
	body := map[string]any{"kind": kind, "etag": `"fake-etag"`}
	if n > 0 {
		body[field] = items
	}
	if next != "" {
		body["nextPageToken"] = next
	}
	b, err := masked(mask, body)
	if err != nil {
		googleError(w, http.StatusInternalServerError, "backendError", "global", err.Error(), "")
		return
	}
	writeRaw(w, http.StatusOK, b)
}
