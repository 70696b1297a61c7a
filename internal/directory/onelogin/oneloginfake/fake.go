// Package oneloginfake is a faithful stand-in for the parts of the OneLogin API the onelogin adapter uses,
// served on loopback for tests (specs/directories.md sections 5 and 6):
//
//   - POST /auth/oauth2/v2/token (client credentials). Credentials are taken, as OneLogin documents, from
//     a form body (grant_type, client_id, client_secret), from HTTP Basic auth with a JSON or form body
//     (the Directory Connector sends Basic + JSON), or from the v1 header "client_id:<id>,
//     client_secret:<secret>" with a JSON body. It answers {access_token, created_at, expires_in: 36000,
//     refresh_token, token_type: "bearer", account_id} and, like OneLogin, the same token for the same
//     client until it expires (10 hours) or is revoked. A wrong grant_type is 400 "grant_type is
//     incorrect/absent", an unsupported content type 400, wrong or missing credentials (invalid_client)
//     401 "Authentication Failure", all in OneLogin's status envelope {"status":{"error","code","type",
//     "message"}}, or, with Options.OAuthErrors, as RFC 6749 errors (invalid_client,
//     unsupported_grant_type, invalid_request).
//   - GET /api/1/users and /api/1/roles with "Authorization: bearer:<token>" (OneLogin's v1 form; the
//     standard "Bearer <token>" is accepted too, and each request records which one it carried). Answers
//     have the envelope {"status", "pagination": {"before_cursor", "after_cursor", "previous_link",
//     "next_link"}, "data"}; pages hold `limit` entries (default and maximum 50), cursors are opaque, and
//     next_link/previous_link are absolute URLs back to the fake that keep the request's other query
//     parameters. Search is `field=value` with `*` wildcards, case-insensitive (users: email, username,
//     firstname, lastname, id, role_id, directory_id, external_id, samaccountname, userprincipalname,
//     plus since/until on created_at; roles: id, name); `sort=+field`/`-field` orders by one of those (by
//     id otherwise); `fields` limits the attributes returned (id is always there). An unknown parameter,
//     a bad limit or a bad cursor is 400.
//   - Users carry a numeric id, email (null when unset), username, firstname, lastname, status (1 active,
//     2 suspended, ...), state and role_id[] among OneLogin's other user attributes; roles carry id and
//     name.
//   - Rate limit: every API answer has X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset
//     (seconds until the hourly window ends, as OneLogin's Get Rate Limit API documents it); a token past
//     its budget gets 429 with the status envelope (and Retry-After only when Options.RetryAfter is set:
//     whether OneLogin sends it is not known).
//   - Faults per route (Inject): N answers with a status (429, 5xx, ...), a truncated body, a slow answer,
//     or every token revoked, so the request and the rest of the walk get 401. Requests are recorded.
//
// Not verified against the live API, and chosen here: the token endpoint's error bodies use the status
// envelope (OneLogin documents that envelope for its v1 token endpoint and 401 answers), and so do 429
// answers; unknown query parameters are refused rather than ignored.
package oneloginfake

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Routes, as used by Fault.Route and Request.Route.
const (
	RouteToken = "token"
	RouteUsers = "users"
	RouteRoles = "roles"
	RouteOther = "other"
)

// Paths of the routes.
const (
	TokenPath = "/auth/oauth2/v2/token"
	UsersPath = "/api/1/users"
	RolesPath = "/api/1/roles"
)

// Defaults.
const (
	DefaultClientID     = "fake-onelogin-client-id"
	DefaultClientSecret = "fake-onelogin-client-secret"
	DefaultLimit        = 50
	DefaultBudget       = 5000
	TokenLifetime       = 10 * time.Hour
	RateWindow          = time.Hour
)

// User statuses (OneLogin's user resource).
const (
	StatusUnactivated = 0
	StatusActive      = 1
	StatusSuspended   = 2
	StatusLocked      = 3
)

// User is one OneLogin user.
type User struct {
	ID int64
	// Email is rendered as null when empty.
	Email       string
	Username    string
	Firstname   string
	Lastname    string
	Status      int
	State       int
	RoleIDs     []int64
	DirectoryID int64 // 0: null
	ExternalID  string
	CreatedAt   time.Time // zero: 2020-01-01
}

// Role is one OneLogin role.
type Role struct {
	ID   int64
	Name string
}

// Options configures a Server.
type Options struct {
	// ClientID and ClientSecret are the one API credential pair the token endpoint accepts (defaults:
	// DefaultClientID, DefaultClientSecret).
	ClientID, ClientSecret string
	Users                  []User
	Roles                  []Role
	// MaxLimit is the largest page size (default DefaultLimit, which is also the default page size).
	MaxLimit int
	// Budget is the number of API calls a token may make per hourly window (default DefaultBudget).
	Budget int
	// RetryAfter adds a Retry-After header (the seconds of X-RateLimit-Reset) to 429 answers.
	RetryAfter bool
	// Now is the fake's clock (tokens, rate-limit windows); nil means time.Now.
	Now func() time.Time
	// LinkBase, when set, is the scheme://host[/prefix] pagination links point at instead of the
	// request's own (a server behind a reverse proxy).
	LinkBase string
	// AccountID is returned with tokens.
	AccountID int64
	// OAuthErrors makes the token endpoint answer errors the RFC 6749 way ({"error": "invalid_client",
	// "error_description": ...}) instead of in OneLogin's status envelope: which of the two OneLogin's v2
	// endpoint uses is not verified, and the adapter must explain either.
	OAuthErrors bool
}

// Fault is an injected misbehaviour of one route.
type Fault struct {
	Route string
	// Skip is how many requests of the route are answered normally before the fault applies.
	Skip int
	// Times is how many requests the fault applies to (0 means 1; -1 means every one from then on).
	Times int
	// Status answers with this HTTP status and OneLogin's status envelope (429 adds the rate-limit
	// headers; RetryAfter adds a Retry-After header).
	Status     int
	RetryAfter string
	// Malformed answers 200 with a JSON body cut in the middle.
	Malformed bool
	// Revoke revokes every token issued so far before the request is checked, so it gets 401.
	Revoke bool
	// Delay holds the answer back this long, or until the client gives up.
	Delay time.Duration

	applied int
}

// Request is one request the fake answered.
type Request struct {
	Route  string
	Method string
	// URL is the path and query.
	URL string
	// Auth is the API authorization scheme used: "bearer:", "Bearer" or "" (none); for the token route,
	// how the credentials came: "form", "basic+form", "basic+json", "header+json" or "".
	Auth   string
	Status int
}

type token struct {
	value, refresh string
	client         string
	created        time.Time
	revoked        bool
	windowStart    time.Time
	used           int
}

// Server is the fake. It is safe for concurrent use.
type Server struct {
	mu       sync.Mutex
	opts     Options
	users    []User
	roles    []Role
	tokens   map[string]*token
	current  map[string]*token // client id -> its current token
	faults   []*Fault
	counts   map[string]int
	requests []Request
}

// New returns a fake holding o.Users and o.Roles.
func New(o Options) *Server {
	if o.ClientID == "" {
		o.ClientID = DefaultClientID
	}
	if o.ClientSecret == "" {
		o.ClientSecret = DefaultClientSecret
	}
	if o.MaxLimit <= 0 {
		o.MaxLimit = DefaultLimit
	}
	if o.Budget <= 0 {
		o.Budget = DefaultBudget
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.AccountID == 0 {
		o.AccountID = 555555
	}
	s := &Server{opts: o, tokens: map[string]*token{}, current: map[string]*token{}, counts: map[string]int{}}
	s.SetDirectory(o.Users, o.Roles)
	return s
}

// SetDirectory replaces the users and roles (sorted by id, as OneLogin pages them).
func (s *Server) SetDirectory(users []User, roles []Role) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = slices.Clone(users)
	s.roles = slices.Clone(roles)
	slices.SortStableFunc(s.users, func(a, b User) int { return cmpInt(a.ID, b.ID) })
	slices.SortStableFunc(s.roles, func(a, b Role) int { return cmpInt(a.ID, b.ID) })
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ClientID and ClientSecret return the credentials the token endpoint accepts.
func (s *Server) ClientID() string     { return s.opts.ClientID }
func (s *Server) ClientSecret() string { return s.opts.ClientSecret }

// Inject adds a fault. Faults of one route apply in the order they were added.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
}

// RevokeTokens revokes every token issued so far.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokeLocked()
}

func (s *Server) revokeLocked() {
	for _, t := range s.tokens {
		t.revoked = true
	}
	clear(s.current)
}

// Requests returns every request answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Count returns how many requests of route were answered.
func (s *Server) Count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[route]
}

// TokensIssued returns how many distinct tokens the token endpoint handed out.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens)
}

// Handler returns the fake's HTTP handler.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

func routeOf(p string) string {
	switch strings.TrimSuffix(p, "/") {
	case TokenPath:
		return RouteToken
	case UsersPath:
		return RouteUsers
	case RolesPath:
		return RouteRoles
	}
	return RouteOther
}

// statusWriter records the status of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	route := routeOf(r.URL.Path)
	sw := &statusWriter{ResponseWriter: w}
	rec := Request{Route: route, Method: r.Method, URL: r.URL.RequestURI()}

	s.mu.Lock()
	s.counts[route]++
	n := s.counts[route]
	var fault *Fault
	for _, f := range s.faults {
		if f.Route == route && n > f.Skip && (f.Times < 0 || f.applied < f.Times) {
			f.applied++
			fault = f
			break
		}
	}
	if fault != nil && fault.Revoke {
		s.revokeLocked()
	}
	s.mu.Unlock()

	if fault != nil && fault.Delay > 0 {
		t := time.NewTimer(fault.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	switch {
	case fault != nil && fault.Status != 0:
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		if fault.Status == http.StatusTooManyRequests {
			w.Header().Set("X-RateLimit-Limit", strconv.Itoa(s.opts.Budget))
			w.Header().Set("X-RateLimit-Remaining", "0")
			if w.Header().Get("X-RateLimit-Reset") == "" {
				w.Header().Set("X-RateLimit-Reset", "1")
			}
		}
		rec.Auth = authScheme(r.Header.Get("Authorization"))
		writeStatus(sw, fault.Status, "")
	case fault != nil && fault.Malformed:
		rec.Auth = authScheme(r.Header.Get("Authorization"))
		sw.Header().Set("Content-Type", "application/json")
		sw.WriteHeader(http.StatusOK)
		_, _ = sw.Write([]byte(`{"status":{"error":false,"code":200,"type":"success","message":"Success"},"pagination":{"before_cursor":null,"after_cursor":"b2Zmc2V0OjUw","previous_link":null,"next_link":null},"data":[{"id":1,"email":"tru`))
	default:
		switch route {
		case RouteToken:
			rec.Auth = s.serveToken(sw, r)
		case RouteUsers, RouteRoles:
			rec.Auth = authScheme(r.Header.Get("Authorization"))
			s.serveList(sw, r, route)
		default:
			writeStatus(sw, http.StatusNotFound, "No Route Exists")
		}
	}
	rec.Status = sw.status
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
}

// statusBody is OneLogin's status envelope.
type statusBody struct {
	Error   bool   `json:"error"`
	Code    int    `json:"code"`
	Type    string `json:"type"`
	Message string `json:"message"`
}

var statusTypes = map[int]string{
	http.StatusBadRequest:          "bad request",
	http.StatusUnauthorized:        "Unauthorized",
	http.StatusForbidden:           "Forbidden",
	http.StatusNotFound:            "not found",
	http.StatusTooManyRequests:     "Too Many Requests",
	http.StatusInternalServerError: "Internal Server Error",
	http.StatusServiceUnavailable:  "Service Unavailable",
}

var statusMessages = map[int]string{
	http.StatusUnauthorized:        "Authentication Failure",
	http.StatusForbidden:           "Forbidden",
	http.StatusNotFound:            "No Route Exists",
	http.StatusTooManyRequests:     "Too Many Requests",
	http.StatusInternalServerError: "Internal Server Error",
}

func writeStatus(w http.ResponseWriter, code int, msg string) {
	if msg == "" {
		msg = statusMessages[code]
	}
	if msg == "" {
		msg = http.StatusText(code)
	}
	typ := statusTypes[code]
	if typ == "" {
		typ = strings.ToLower(http.StatusText(code))
	}
	writeJSON(w, code, map[string]any{"status": statusBody{Error: true, Code: code, Type: typ, Message: msg}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// authScheme names the authorization scheme of an API request.
func authScheme(h string) string {
	switch {
	case strings.HasPrefix(strings.ToLower(h), "bearer:"):
		return "bearer:"
	case strings.HasPrefix(strings.ToLower(h), "bearer "):
		return "Bearer"
	}
	return ""
}

// bearerToken returns the token of an API request's Authorization header.
func bearerToken(h string) string {
	h = strings.TrimSpace(h)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer:") {
		return strings.TrimSpace(h[7:])
	}
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// serveToken answers the token endpoint and returns how the credentials came.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) string {
	if r.Method != http.MethodPost {
		writeStatus(w, http.StatusNotFound, "No Route Exists")
		return ""
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var grant, id, secret, how string
	basicID, basicSecret, hasBasic := r.BasicAuth()
	switch ct {
	case "application/json":
		var body struct {
			GrantType string `json:"grant_type"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil {
			s.tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type is incorrect/absent")
			return "json"
		}
		grant = body.GrantType
		switch {
		case hasBasic:
			id, secret, how = basicID, basicSecret, "basic+json"
		default:
			id, secret = v1Credentials(r.Header.Get("Authorization"))
			if id != "" {
				how = "header+json"
			}
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			s.tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type is incorrect/absent")
			return "form"
		}
		grant = r.PostForm.Get("grant_type")
		switch {
		case hasBasic:
			id, secret, how = basicID, basicSecret, "basic+form"
		case r.PostForm.Get("client_id") != "":
			id, secret, how = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), "form"
		}
	default:
		s.tokenError(w, http.StatusBadRequest, "invalid_request", "Content Type is not specified or content type is not supported")
		return ""
	}
	if grant != "client_credentials" {
		s.tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type is incorrect/absent")
		return how
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" || id != s.opts.ClientID || secret != s.opts.ClientSecret {
		s.tokenError(w, http.StatusUnauthorized, "invalid_client", "Authentication Failure")
		return how
	}
	now := s.opts.Now()
	t := s.current[id]
	if t == nil || t.revoked || !now.Before(t.created.Add(TokenLifetime)) {
		t = &token{value: randomString(32), refresh: randomString(32), client: id, created: now, windowStart: now}
		s.tokens[t.value] = t
		s.current[id] = t
	}
	left := int(t.created.Add(TokenLifetime).Sub(now) / time.Second)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":  t.value,
		"created_at":    t.created.UTC().Format("2006-01-02T15:04:05.000Z"),
		"expires_in":    left,
		"refresh_token": t.refresh,
		"token_type":    "bearer",
		"account_id":    s.opts.AccountID,
	})
	return how
}

// tokenError answers a failed token request in OneLogin's status envelope, or as an RFC 6749 error
// (code) with Options.OAuthErrors.
func (s *Server) tokenError(w http.ResponseWriter, status int, code, msg string) {
	if s.opts.OAuthErrors {
		writeJSON(w, status, map[string]any{"error": code, "error_description": msg})
		return
	}
	writeStatus(w, status, msg)
}

// v1Credentials parses OneLogin's "client_id:<id>, client_secret:<secret>" header.
func v1Credentials(h string) (id, secret string) {
	for _, part := range strings.Split(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "client_id":
			id = strings.TrimSpace(v)
		case "client_secret":
			secret = strings.TrimSpace(v)
		}
	}
	return id, secret
}

// authorize checks an API request's token and its rate limit, writing the rate-limit headers. It
// returns false after answering the request itself.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[bearerToken(r.Header.Get("Authorization"))]
	now := s.opts.Now()
	if t == nil || t.revoked || !now.Before(t.created.Add(TokenLifetime)) {
		writeStatus(w, http.StatusUnauthorized, "Authentication Failure")
		return false
	}
	for !now.Before(t.windowStart.Add(RateWindow)) {
		t.windowStart = t.windowStart.Add(RateWindow)
		t.used = 0
	}
	reset := t.windowStart.Add(RateWindow).Sub(now)
	resetSecs := int((reset + time.Second - 1) / time.Second)
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.opts.Budget))
	h.Set("X-RateLimit-Reset", strconv.Itoa(resetSecs))
	if t.used >= s.opts.Budget {
		h.Set("X-RateLimit-Remaining", "0")
		if s.opts.RetryAfter {
			h.Set("Retry-After", strconv.Itoa(resetSecs))
		}
		writeStatus(w, http.StatusTooManyRequests, "Too Many Requests")
		return false
	}
	t.used++
	h.Set("X-RateLimit-Remaining", strconv.Itoa(s.opts.Budget-t.used))
	return true
}

// userFields are the searchable user attributes.
var userFields = []string{"email", "username", "firstname", "lastname", "id", "role_id", "directory_id",
	"external_id", "samaccountname", "userprincipalname"}

var roleFields = []string{"id", "name"}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request, route string) {
	if r.Method != http.MethodGet {
		writeStatus(w, http.StatusNotFound, "No Route Exists")
		return
	}
	if !s.authorize(w, r) {
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeStatus(w, http.StatusBadRequest, "Invalid query string")
		return
	}
	limit := DefaultLimit
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			writeStatus(w, http.StatusBadRequest, "Invalid limit")
			return
		}
		limit = min(n, s.opts.MaxLimit)
	}
	limit = min(limit, s.opts.MaxLimit)
	offset := 0
	after, before := q.Get("after_cursor"), q.Get("before_cursor")
	switch {
	case after != "" && before != "":
		writeStatus(w, http.StatusBadRequest, "Use either after_cursor or before_cursor")
		return
	case after != "" || before != "":
		cur := after + before
		n, ok := decodeCursor(cur)
		if !ok {
			writeStatus(w, http.StatusBadRequest, "Invalid cursor")
			return
		}
		offset = n
		if before != "" {
			offset = max(n-limit, 0)
		}
	}
	var fields []string
	if f := q.Get("fields"); f != "" {
		for _, x := range strings.Split(f, ",") {
			if x = strings.TrimSpace(x); x != "" {
				fields = append(fields, x)
			}
		}
	}
	searchable := userFields
	if route == RouteRoles {
		searchable = roleFields
	}
	type cond struct{ field, pattern string }
	var conds []cond
	var since, until time.Time
	var sortField string
	var sortDesc bool
	for k, vs := range q {
		switch {
		case k == "limit" || k == "after_cursor" || k == "before_cursor" || k == "fields":
		case k == "sort":
			// "+field" or "-field"; a "+" typed into a query string arrives as a space.
			f := strings.TrimSpace(vs[0])
			sortDesc = strings.HasPrefix(f, "-")
			sortField = strings.TrimLeft(f, "+-")
			if sortField != "id" && !slices.Contains(searchable, sortField) {
				writeStatus(w, http.StatusBadRequest, "Invalid sort field: "+sortField)
				return
			}
		case route == RouteUsers && (k == "since" || k == "until"):
			t, err := time.Parse(time.RFC3339, vs[0])
			if err != nil {
				writeStatus(w, http.StatusBadRequest, "Invalid "+k+" value")
				return
			}
			if k == "since" {
				since = t
			} else {
				until = t
			}
		case slices.Contains(searchable, k):
			for _, v := range vs {
				conds = append(conds, cond{k, v})
			}
		default:
			writeStatus(w, http.StatusBadRequest, "Invalid query parameter: "+k)
			return
		}
	}

	s.mu.Lock()
	var items []map[string]any
	if route == RouteUsers {
		for _, u := range s.users {
			ok := true
			for _, c := range conds {
				ok = ok && matchAny(userValues(u, c.field), c.pattern)
			}
			created := createdAt(u)
			if !since.IsZero() && !created.After(since) || !until.IsZero() && !created.Before(until) {
				ok = false
			}
			if ok {
				items = append(items, userJSON(u))
			}
		}
	} else {
		for _, ro := range s.roles {
			ok := true
			for _, c := range conds {
				v := ro.Name
				if c.field == "id" {
					v = strconv.FormatInt(ro.ID, 10)
				}
				ok = ok && match(v, c.pattern)
			}
			if ok {
				items = append(items, map[string]any{"id": ro.ID, "name": ro.Name})
			}
		}
	}
	s.mu.Unlock()
	if sortField != "" {
		slices.SortStableFunc(items, func(a, b map[string]any) int {
			c := compareValues(a[sortField], b[sortField])
			if sortDesc {
				c = -c
			}
			return c
		})
	}

	offset = min(offset, len(items))
	end := min(offset+limit, len(items))
	page := items[offset:end]
	if fields != nil {
		for i, it := range page {
			sel := map[string]any{"id": it["id"]}
			for _, f := range fields {
				if v, ok := it[f]; ok {
					sel[f] = v
				}
			}
			page[i] = sel
		}
	}
	if page == nil {
		page = []map[string]any{}
	}
	base := s.linkBase(r)
	link := func(param, cursor string) string {
		v := url.Values{}
		for k, vs := range q {
			if k != "after_cursor" && k != "before_cursor" {
				v[k] = vs
			}
		}
		v.Set(param, cursor)
		return base + r.URL.Path + "?" + v.Encode()
	}
	var pg struct {
		BeforeCursor *string `json:"before_cursor"`
		AfterCursor  *string `json:"after_cursor"`
		PreviousLink *string `json:"previous_link"`
		NextLink     *string `json:"next_link"`
	}
	if offset > 0 {
		c := encodeCursor(offset)
		l := link("before_cursor", c)
		pg.BeforeCursor, pg.PreviousLink = &c, &l
	}
	if end < len(items) {
		c := encodeCursor(end)
		l := link("after_cursor", c)
		pg.AfterCursor, pg.NextLink = &c, &l
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status":     statusBody{Code: 200, Type: "success", Message: "Success"},
		"pagination": pg,
		"data":       page,
	})
}

// compareValues orders two attribute values of the fake's JSON: numbers by value, the rest as lowercase
// text, nulls first.
func compareValues(a, b any) int {
	if x, ok := a.(int64); ok {
		if y, ok := b.(int64); ok {
			return cmpInt(x, y)
		}
	}
	sa, sb := "", ""
	if a != nil {
		sa = strings.ToLower(fmt.Sprint(a))
	}
	if b != nil {
		sb = strings.ToLower(fmt.Sprint(b))
	}
	return strings.Compare(sa, sb)
}

func (s *Server) linkBase(r *http.Request) string {
	if s.opts.LinkBase != "" {
		return strings.TrimSuffix(s.opts.LinkBase, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func encodeCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset)))
}

func decodeCursor(c string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
	if err != nil || n < 0 || !strings.HasPrefix(string(b), "offset:") {
		return 0, false
	}
	return n, true
}

func createdAt(u User) time.Time {
	if u.CreatedAt.IsZero() {
		return time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return u.CreatedAt
}

func userValues(u User, field string) []string {
	switch field {
	case "email":
		return []string{u.Email}
	case "username":
		return []string{u.Username}
	case "firstname":
		return []string{u.Firstname}
	case "lastname":
		return []string{u.Lastname}
	case "id":
		return []string{strconv.FormatInt(u.ID, 10)}
	case "role_id":
		var out []string
		for _, id := range u.RoleIDs {
			out = append(out, strconv.FormatInt(id, 10))
		}
		return out
	case "directory_id":
		if u.DirectoryID == 0 {
			return nil
		}
		return []string{strconv.FormatInt(u.DirectoryID, 10)}
	case "external_id":
		return []string{u.ExternalID}
	}
	return nil // samaccountname, userprincipalname: not modelled, never match
}

func matchAny(values []string, pattern string) bool {
	return slices.ContainsFunc(values, func(v string) bool { return match(v, pattern) })
}

// match reports whether v matches pattern, where * stands for any run of characters; case is ignored.
func match(v, pattern string) bool {
	v, pattern = strings.ToLower(v), strings.ToLower(pattern)
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return v == pattern
	}
	if !strings.HasPrefix(v, parts[0]) {
		return false
	}
	v = v[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(v, p)
		if i < 0 {
			return false
		}
		v = v[i+len(p):]
	}
	return len(v) >= len(last) && strings.HasSuffix(v, last)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// userJSON renders a user as OneLogin's v1 API does (a representative subset of its attributes).
func userJSON(u User) map[string]any {
	roles := u.RoleIDs
	if roles == nil {
		roles = []int64{}
	}
	var dir any
	if u.DirectoryID != 0 {
		dir = u.DirectoryID
	}
	created := createdAt(u).UTC().Format("2006-01-02T15:04:05.000Z")
	return map[string]any{
		"id":                     u.ID,
		"email":                  nullString(u.Email),
		"username":               nullString(u.Username),
		"firstname":              u.Firstname,
		"lastname":               u.Lastname,
		"status":                 u.Status,
		"state":                  u.State,
		"role_id":                roles,
		"directory_id":           dir,
		"external_id":            nullString(u.ExternalID),
		"group_id":               nil,
		"distinguished_name":     nil,
		"member_of":              nil,
		"samaccountname":         nil,
		"userprincipalname":      nil,
		"manager_ad_id":          nil,
		"manager_user_id":        nil,
		"openid_name":            u.Username,
		"locale_code":            nil,
		"phone":                  "",
		"company":                "",
		"department":             "",
		"title":                  "",
		"notes":                  nil,
		"invalid_login_attempts": 0,
		"locked_until":           nil,
		"invitation_sent_at":     nil,
		"activated_at":           created,
		"created_at":             created,
		"updated_at":             created,
		"last_login":             nil,
		"password_changed_at":    created,
		"trusted_idp_id":         nil,
		"custom_attributes":      map[string]any{},
	}
}

// String describes a request for test messages.
func (r Request) String() string {
	return fmt.Sprintf("%s %s (%s) -> %d", r.Method, r.URL, r.Auth, r.Status)
}
