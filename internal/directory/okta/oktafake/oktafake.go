// Package oktafake is a faithful fake of the parts of Okta's Management API that dirconn's Okta adapter
// reads (specs/directories.md sections 4 and 6), for tests on loopback:
//
//   - GET /api/v1/users (limit default and maximum 200, `after` cursor, `filter`; DEPROVISIONED users are
//     left out unless the filter compares `status`), GET /api/v1/groups (limit default 10000, `after`,
//     `filter`) and GET /api/v1/groups/{id}/users (limit default 1000, `after`; 404 E0000007 for an
//     unknown group);
//   - `Authorization: SSWS <token>`; any other value gets 401 E0000011 "Invalid token provided";
//   - paging through two separate Link headers, rel="self" and rel="next", absolute https URLs on the
//     host the request was sent to, with no next link on the last page;
//   - on every response Date, X-Rate-Limit-Limit, X-Rate-Limit-Remaining and X-Rate-Limit-Reset (epoch
//     seconds) from a per-minute bucket per endpoint, and 429 with an E0000047 body once a bucket is
//     used up; a cap on requests in flight answers 429 E0000047 too;
//   - error bodies in Okta's shape: {"errorCode","errorSummary","errorLink","errorId","errorCauses"};
//   - a filter evaluator for the subset of Okta's filter language the list endpoints document; anything
//     else gets 400 E0000031 "Invalid search criteria";
//   - faults per route (a status N times, only past the first page, a malformed page, a delay, a 429
//     without its Date or X-Rate-Limit-Reset header) and a log of every request.
//
// Its clock (Options.Now) drives the rate-limit windows, so a test with a fake clock sees a window
// reset as soon as the client's fake sleep moves the clock past X-Rate-Limit-Reset.
package oktafake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dirconn/dirconn/internal/directory/directorytest"
	"github.com/dirconn/dirconn/internal/httpx/httpxtest"
)

// DefaultToken is the API token a Server accepts when Options.Token is empty.
const DefaultToken = "00fake-okta-api-token-for-tests"

// Rate-limit buckets, one per endpoint as Okta counts them. They are also the route names of Fault and
// Count.
const (
	RouteUsers   = "/api/v1/users"
	RouteGroups  = "/api/v1/groups"
	RouteMembers = "/api/v1/groups/{id}/users"
)

// Statuses of Okta users.
const (
	StatusActive          = "ACTIVE"
	StatusStaged          = "STAGED"
	StatusProvisioned     = "PROVISIONED"
	StatusRecovery        = "RECOVERY"
	StatusLockedOut       = "LOCKED_OUT"
	StatusPasswordExpired = "PASSWORD_EXPIRED"
	StatusSuspended       = "SUSPENDED"
	StatusDeprovisioned   = "DEPROVISIONED"
)

// Options configure a Server. Zero values take Okta's defaults.
type Options struct {
	// Token is the API token the server accepts (default DefaultToken).
	Token string
	// Now is the server's clock (default time.Now). It sets Date, the rate-limit windows and timestamps.
	Now func() time.Time
	// UsersMaxLimit caps the users page size (Okta: 200, also the default). Tests lower it to page a
	// small directory.
	UsersMaxLimit int
	// GroupsLimit is the groups page size when the request has no limit (Okta: 10000).
	GroupsLimit int
	// MembersLimit is the group members page size when the request has no limit (Okta: 1000).
	MembersLimit int
	// RateLimit is the number of requests per minute each bucket allows (default 600).
	RateLimit int
	// RateLimits overrides RateLimit per route (RouteUsers, RouteGroups, RouteMembers).
	RateLimits map[string]int
	// MaxConcurrent is the number of requests in flight above which the server answers 429 (default 15).
	MaxConcurrent int
}

// User is one Okta user. Profile holds login, email, firstName, lastName and any other attribute.
type User struct {
	ID          string
	Status      string
	Created     time.Time
	LastUpdated time.Time
	Profile     map[string]string
}

// Group is one Okta group with the ids of its members.
type Group struct {
	ID                    string
	Type                  string // OKTA_GROUP (default), APP_GROUP, BUILT_IN
	Name                  string
	Description           string
	Created               time.Time
	LastUpdated           time.Time
	LastMembershipUpdated time.Time
	Members               []string
}

// Fault makes requests to a route fail.
type Fault struct {
	// Route is RouteUsers, RouteGroups or RouteMembers; "" matches every route.
	Route string
	// AfterOnly limits the fault to requests with an `after` cursor: pages past the first.
	AfterOnly bool
	// Times is how many matching requests fail; 0 means all of them.
	Times int
	// Status is the HTTP status to answer (with an Okta error body), e.g. 401, 429, 500, 503.
	Status int
	// Code overrides the body's errorCode (default: Okta's code for Status).
	Code string
	// Malformed answers 200 with a body that is not JSON instead of Status.
	Malformed bool
	// Delay waits this long (real time) before answering.
	Delay time.Duration
	// NoDate and NoReset leave the Date and X-Rate-Limit-Reset headers out of the answer.
	NoDate, NoReset bool
}

// Request is one request the server received.
type Request struct {
	Route  string
	Path   string
	Query  url.Values
	Auth   string // the Authorization header as received
	Status int
	Time   time.Time // the server's clock when the request arrived
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	mu       sync.Mutex
	o        Options
	token    string
	users    []*User
	groups   []*Group
	faults   []*Fault
	log      []Request
	buckets  map[string]*bucket
	inFlight int
	seq      int
}

type bucket struct {
	window time.Time
	used   int
}

// New returns an empty server.
func New(o Options) *Server {
	if o.Token == "" {
		o.Token = DefaultToken
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.UsersMaxLimit <= 0 {
		o.UsersMaxLimit = 200
	}
	if o.GroupsLimit <= 0 {
		o.GroupsLimit = 10000
	}
	if o.MembersLimit <= 0 {
		o.MembersLimit = 1000
	}
	if o.RateLimit <= 0 {
		o.RateLimit = 600
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 15
	}
	return &Server{o: o, token: o.Token, buckets: map[string]*bucket{}}
}

// Start serves s over TLS on 127.0.0.1 with a certificate from a CA made for the test, and returns the
// server's URL (the org URL, https://127.0.0.1:port) and the path of a PEM file holding the CA, for the
// adapter's okta.caFile. The server closes when the test ends.
func Start(tb testing.TB, s *Server) (orgURL, caFile string) {
	tb.Helper()
	ca := httpxtest.NewCA(tb)
	srv := ca.NewTLSServer(tb, s.Handler())
	return srv.URL, ca.File(tb)
}

// SetToken replaces the token the server accepts (a revoked or rotated token).
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

func (s *Server) nextID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%013d%s", prefix, s.seq, "fk0h7")[:20]
}

// AddUser adds u (a new id when u.ID is empty; status ACTIVE when empty) and returns it.
func (s *Server) AddUser(u User) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Now().UTC()
	if u.ID == "" {
		u.ID = s.nextID("00u")
	}
	if u.Status == "" {
		u.Status = StatusActive
	}
	if u.Created.IsZero() {
		u.Created = now
	}
	if u.LastUpdated.IsZero() {
		u.LastUpdated = u.Created
	}
	u.Profile = cloneMap(u.Profile)
	s.users = append(s.users, &u)
	slices.SortFunc(s.users, func(a, b *User) int { return strings.Compare(a.ID, b.ID) })
	return u
}

// AddGroup adds g (a new id when g.ID is empty; type OKTA_GROUP when empty) and returns it.
func (s *Server) AddGroup(g Group) Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Now().UTC()
	if g.ID == "" {
		g.ID = s.nextID("00g")
	}
	if g.Type == "" {
		g.Type = "OKTA_GROUP"
	}
	if g.Created.IsZero() {
		g.Created = now
	}
	if g.LastUpdated.IsZero() {
		g.LastUpdated = g.Created
	}
	if g.LastMembershipUpdated.IsZero() {
		g.LastMembershipUpdated = g.Created
	}
	g.Members = slices.Clone(g.Members)
	s.groups = append(s.groups, &g)
	slices.SortFunc(s.groups, func(a, b *Group) int { return strings.Compare(a.ID, b.ID) })
	return g
}

// SetStatus changes a user's status (SUSPENDED, DEPROVISIONED, ACTIVE, ...).
func (s *Server) SetStatus(userID, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.ID == userID {
			u.Status = status
			u.LastUpdated = s.o.Now().UTC()
		}
	}
}

// SeedDataset adds the users and groups of ds and returns the Okta id of each dataset key. Disabled
// users are SUSPENDED, deleted users DEPROVISIONED; login is the username at login.example (or the key
// when there is none); members that are not users of ds (dangling keys) are left out: an Okta group holds
// only existing users. Nested group lists are ignored: Okta groups do not nest.
func (s *Server) SeedDataset(ds directorytest.Dataset) map[string]string {
	ids := map[string]string{}
	for _, du := range ds.Users {
		status := StatusActive
		switch {
		case du.Deleted:
			status = StatusDeprovisioned
		case du.Disabled:
			status = StatusSuspended
		}
		login := du.Username
		if login == "" {
			login = du.Key
		}
		first, last, _ := strings.Cut(du.Name, " ")
		p := map[string]string{"login": login + "@login.example", "firstName": first, "lastName": last}
		if du.Email != "" {
			p["email"] = du.Email
		}
		ids[du.Key] = s.AddUser(User{Status: status, Profile: p}).ID
	}
	for _, dg := range ds.Groups {
		var members []string
		for _, k := range dg.Users {
			if id, ok := ids[k]; ok {
				members = append(members, id)
			}
		}
		ids[dg.Key] = s.AddGroup(Group{Name: dg.Name, Members: members}).ID
	}
	return ids
}

// AddFault adds f; faults are checked in the order added.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Requests returns every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// Count returns how many requests reached route ("" for all routes).
func (s *Server) Count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.log {
		if route == "" || r.Route == route {
			n++
		}
	}
	return n
}

// Handler serves the fake API.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// apiError is Okta's error body.
type apiError struct {
	ErrorCode    string       `json:"errorCode"`
	ErrorSummary string       `json:"errorSummary"`
	ErrorLink    string       `json:"errorLink"`
	ErrorID      string       `json:"errorId"`
	ErrorCauses  []errorCause `json:"errorCauses"`
}

type errorCause struct {
	ErrorSummary string `json:"errorSummary"`
}

var errorCodes = map[int][2]string{
	http.StatusBadRequest:          {"E0000031", "Invalid search criteria."},
	http.StatusUnauthorized:        {"E0000011", "Invalid token provided"},
	http.StatusForbidden:           {"E0000006", "You do not have permission to perform the requested action"},
	http.StatusNotFound:            {"E0000007", "Not found: Resource not found"},
	http.StatusTooManyRequests:     {"E0000047", "API call exceeded rate limit due to too many requests."},
	http.StatusInternalServerError: {"E0000009", "Internal Server Error"},
	http.StatusServiceUnavailable:  {"E0000010", "Service is in read only mode"},
}

func route(p string) (string, string, bool) {
	switch {
	case p == RouteUsers:
		return RouteUsers, "", true
	case p == RouteGroups:
		return RouteGroups, "", true
	}
	rest, ok := strings.CutPrefix(p, RouteGroups+"/")
	if !ok {
		return "", "", false
	}
	id, tail, ok := strings.Cut(rest, "/")
	if !ok || tail != "users" || id == "" {
		return "", "", false
	}
	return RouteMembers, id, true
}

// answer is what serve decided, written once the lock is released.
type answer struct {
	status  int
	header  http.Header
	body    []byte
	delay   time.Duration
	noDate  bool
	noReset bool
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	a := s.handle(r)
	if a.delay > 0 {
		select {
		case <-time.After(a.delay):
		case <-r.Context().Done():
		}
	}
	h := w.Header()
	for k, v := range a.header {
		h[k] = v
	}
	if a.noDate {
		h["Date"] = nil // net/http then sends none
	}
	if a.noReset {
		h.Del("X-Rate-Limit-Reset")
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
}

func (s *Server) handle(r *http.Request) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight++
	now := s.o.Now().UTC()
	rt, groupID, known := route(r.URL.Path)
	q := r.URL.Query()
	entry := Request{Route: rt, Path: r.URL.Path, Query: q, Auth: r.Header.Get("Authorization"), Time: now}
	a := answer{header: http.Header{}}
	a.header.Set("Content-Type", "application/json")
	a.header.Set("Date", now.Format(http.TimeFormat))
	a.header.Set("X-Okta-Request-Id", fmt.Sprintf("fakereq%06d", len(s.log)+1))
	defer func() {
		entry.Status = a.status
		s.log = append(s.log, entry)
	}()
	fail := func(status int, code, summary string, causes ...string) answer {
		if code == "" {
			code, summary = errorCodes[status][0], errorCodes[status][1]
		}
		if code == "" {
			code, summary = "E0000009", http.StatusText(status)
		}
		e := apiError{ErrorCode: code, ErrorSummary: summary, ErrorLink: code,
			ErrorID: fmt.Sprintf("oaefake%06d", len(s.log)+1), ErrorCauses: []errorCause{}}
		for _, c := range causes {
			e.ErrorCauses = append(e.ErrorCauses, errorCause{ErrorSummary: c})
		}
		a.status = status
		a.body, _ = json.Marshal(e)
		return a
	}
	// Rate limits: the bucket of the route, per minute of the server's clock.
	limit := s.o.RateLimit
	if n, ok := s.o.RateLimits[rt]; ok && n > 0 {
		limit = n
	}
	window := now.Truncate(time.Minute)
	name := rt
	if !known {
		name = "other"
	}
	b := s.buckets[name]
	if b == nil || !b.window.Equal(window) {
		b = &bucket{window: window}
		s.buckets[name] = b
	}
	reset := window.Add(time.Minute).Unix()
	setLimits := func(remaining int) {
		a.header.Set("X-Rate-Limit-Limit", strconv.Itoa(limit))
		a.header.Set("X-Rate-Limit-Remaining", strconv.Itoa(max(remaining, 0)))
		a.header.Set("X-Rate-Limit-Reset", strconv.FormatInt(reset, 10))
	}
	if s.inFlight > s.o.MaxConcurrent || b.used >= limit {
		setLimits(0)
		return fail(http.StatusTooManyRequests, "", "")
	}
	b.used++
	setLimits(limit - b.used)
	if r.Method != http.MethodGet || !known {
		return fail(http.StatusNotFound, "E0000022", "The endpoint does not support the provided HTTP method")
	}

	for _, f := range s.faults {
		if f.Times < 0 || (f.Route != "" && f.Route != rt) || (f.AfterOnly && q.Get("after") == "") {
			continue
		}
		if f.Times > 0 {
			if f.Times--; f.Times == 0 {
				f.Times = -1 // used up
			}
		}
		a.delay, a.noDate, a.noReset = f.Delay, f.NoDate, f.NoReset
		if f.Malformed {
			a.status = http.StatusOK
			a.body = []byte(`[{"id":"00u-broken", "status": `)
			return a
		}
		if f.Status != 0 {
			if f.Status == http.StatusTooManyRequests {
				setLimits(0)
			}
			code, summary := f.Code, ""
			if code != "" {
				summary = "Injected fault"
			}
			return fail(f.Status, code, summary)
		}
		break
	}

	if auth := r.Header.Get("Authorization"); auth != "SSWS "+s.token || s.token == "" {
		return fail(http.StatusUnauthorized, "", "")
	}

	base := "https://" + r.Host
	switch rt {
	case RouteUsers:
		if q.Has("search") || q.Has("q") {
			return fail(http.StatusBadRequest, "", "", "this fake supports filter only")
		}
		var keep func(*User) bool
		withDeprovisioned := false
		if f := q.Get("filter"); strings.TrimSpace(f) != "" {
			e, status, err := parseFilter(f, userAttrs)
			if err != nil {
				return fail(http.StatusBadRequest, "", "", "Invalid filter: "+err.Error())
			}
			withDeprovisioned = status
			keep = func(u *User) bool { return e.eval(u.attr) }
		}
		var list []*User
		for _, u := range s.users {
			if u.Status == StatusDeprovisioned && !withDeprovisioned {
				continue
			}
			if keep == nil || keep(u) {
				list = append(list, u)
			}
		}
		return page(a, base, r, list, pageLimit(q, s.o.UsersMaxLimit, s.o.UsersMaxLimit), func(u *User) string { return u.ID },
			func(u *User) any { return u.json(base) })
	case RouteGroups:
		if q.Has("search") || q.Has("q") {
			return fail(http.StatusBadRequest, "", "", "this fake supports filter only")
		}
		var keep func(*Group) bool
		if f := q.Get("filter"); strings.TrimSpace(f) != "" {
			e, _, err := parseFilter(f, groupAttrs)
			if err != nil {
				return fail(http.StatusBadRequest, "", "", "Invalid filter: "+err.Error())
			}
			keep = func(g *Group) bool { return e.eval(g.attr) }
		}
		var list []*Group
		for _, g := range s.groups {
			if keep == nil || keep(g) {
				list = append(list, g)
			}
		}
		return page(a, base, r, list, pageLimit(q, s.o.GroupsLimit, 10000), func(g *Group) string { return g.ID },
			func(g *Group) any { return g.json(base) })
	default: // members
		i := slices.IndexFunc(s.groups, func(g *Group) bool { return g.ID == groupID })
		if i < 0 {
			return fail(http.StatusNotFound, "E0000007", "Not found: Resource not found: "+groupID+" (UserGroup)")
		}
		var list []*User
		for _, u := range s.users {
			if slices.Contains(s.groups[i].Members, u.ID) {
				list = append(list, u)
			}
		}
		return page(a, base, r, list, pageLimit(q, s.o.MembersLimit, 10000), func(u *User) string { return u.ID },
			func(u *User) any { return u.json(base) })
	}
}

// pageLimit reads the limit parameter: def when absent or not a number, at most max.
func pageLimit(q url.Values, def, maxLimit int) int {
	n, err := strconv.Atoi(q.Get("limit"))
	if err != nil || n <= 0 {
		n = def
	}
	return min(n, maxLimit)
}

// page answers one page of list (sorted by id) after the request's cursor, with the self and next
// Link headers.
func page[T any](a answer, base string, r *http.Request, list []T, limit int, id func(T) string, render func(T) any) answer {
	q := r.URL.Query()
	start := 0
	if after := q.Get("after"); after != "" {
		start = len(list)
		for i, x := range list {
			if id(x) > after {
				start = i
				break
			}
		}
	}
	end := min(start+limit, len(list))
	items := make([]any, 0, end-start)
	for _, x := range list[start:end] {
		items = append(items, render(x))
	}
	a.header.Add("Link", "<"+base+r.URL.RequestURI()+`>; rel="self"`)
	if end < len(list) {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("after", id(list[end-1]))
		nq.Set("limit", strconv.Itoa(limit))
		a.header.Add("Link", "<"+base+r.URL.Path+"?"+nq.Encode()+`>; rel="next"`)
	}
	a.status = http.StatusOK
	a.body, _ = json.Marshal(items)
	return a
}

func (u *User) attr(name string) string {
	switch name {
	case "status":
		return u.Status
	case "id":
		return u.ID
	case "lastUpdated":
		return u.LastUpdated.UTC().Format(oktaTime)
	}
	if p, ok := strings.CutPrefix(name, "profile."); ok {
		return u.Profile[p]
	}
	return ""
}

func (g *Group) attr(name string) string {
	switch name {
	case "type":
		return g.Type
	case "id":
		return g.ID
	case "lastUpdated":
		return g.LastUpdated.UTC().Format(oktaTime)
	case "lastMembershipUpdated":
		return g.LastMembershipUpdated.UTC().Format(oktaTime)
	}
	return ""
}

// oktaTime is how Okta writes timestamps: 2026-08-20T12:00:00.000Z.
const oktaTime = "2006-01-02T15:04:05.000Z"

func (u *User) json(base string) any {
	profile := map[string]any{}
	for k, v := range u.Profile {
		profile[k] = v
	}
	for _, k := range []string{"email", "login", "firstName", "lastName", "mobilePhone", "secondEmail"} {
		if _, ok := profile[k]; !ok {
			profile[k] = nil
		}
	}
	ts := u.LastUpdated.UTC().Format(oktaTime)
	var activated any
	if u.Status != StatusStaged {
		activated = u.Created.UTC().Format(oktaTime)
	}
	return map[string]any{
		"id":              u.ID,
		"status":          u.Status,
		"created":         u.Created.UTC().Format(oktaTime),
		"activated":       activated,
		"statusChanged":   ts,
		"lastLogin":       nil,
		"lastUpdated":     ts,
		"passwordChanged": nil,
		"type":            map[string]string{"id": "otyfake0000000000000"},
		"profile":         profile,
		"credentials":     map[string]any{"provider": map[string]string{"type": "OKTA", "name": "OKTA"}},
		"_links":          map[string]any{"self": map[string]string{"href": base + "/api/v1/users/" + u.ID}},
	}
}

func (g *Group) json(base string) any {
	return map[string]any{
		"id":                    g.ID,
		"created":               g.Created.UTC().Format(oktaTime),
		"lastUpdated":           g.LastUpdated.UTC().Format(oktaTime),
		"lastMembershipUpdated": g.LastMembershipUpdated.UTC().Format(oktaTime),
		"objectClass":           []string{"okta:user_group"},
		"type":                  g.Type,
		"profile":               map[string]any{"name": g.Name, "description": g.Description},
		"_links": map[string]any{
			"users": map[string]string{"href": base + "/api/v1/groups/" + g.ID + "/users"},
			"apps":  map[string]string{"href": base + "/api/v1/groups/" + g.ID + "/apps"},
		},
	}
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
