// Package graphfake is a faithful local stand-in for the parts of Microsoft Entra ID and Microsoft Graph
// that dirconn's Entra adapter uses, for tests on loopback (specs/directories.md section 6, "Microsoft
// Graph fake"):
//
//   - the v2.0 token endpoint, POST /{tenant}/oauth2/v2.0/token: client credentials in the form (or HTTP
//     Basic), the tenant, application id, secret and scope checked, errors as Entra writes them
//     ({"error":"invalid_client","error_description":"AADSTS7000215: ..."} with 400 or 401);
//   - a bearer check on every Graph call: a missing, unknown, expired or revoked token, or one issued by
//     another cloud, gets 401 InvalidAuthenticationToken;
//   - GET /v1.0/users, /v1.0/groups, /v1.0/groups/{id}/members, /v1.0/groups/{id}/transitiveMembers (also
//     cast to /microsoft.graph.user) and /v1.0/directory/administrativeUnits/{id}/members: $select honoured
//     (unselected properties left out, unknown ones refused with 400), Graph's default page of 100 or
//     $top from 1 to 999 (400 otherwise), absolute @odata.nextLink URLs carrying $skiptoken and none on the
//     last page, @odata.type on every item of a mixed collection (users, groups, devices, contacts,
//     service principals), transitive expansion deduplicated and cycle-safe, 404 Request_ResourceNotFound
//     for an unknown id and 400 for an id that is not a GUID;
//   - GET /v1.0/users/delta: an initial round with every current user, paged, ending in @odata.deltaLink;
//     replaying a delta link returns only the changes since it was issued (users added or changed, with
//     the properties of the first request's $select, and removed users as {"id", "@removed": {"reason":
//     "changed"}} when soft-deleted or "deleted" when deleted for good); a malformed token gets 400 and an
//     expired one (ExpireDeltaTokens) 410 syncStateNotFound, so a client restarts a full round;
//   - faults per route (Inject): 429, 503 and 504 with Retry-After and Graph's error JSON with innerError
//     date, request-id and client-request-id; any other status; a malformed page; slow answers;
//   - a log of every request, per cloud and route, to assert retries and "no request after giving up".
//
// One Fake holds one tenant. Handler(cloud) serves it as a given national cloud would: the global and the
// US-government clouds (and China) differ in the scope their token endpoint accepts (the cloud's Graph
// resource, e.g. https://graph.microsoft.us/.default) and a token from one is refused by the others, so a
// test can prove that every call of a client went to the cloud it was configured for. Links are built
// from the request's own host, so a fake served behind a proxy under a real host name (graph.microsoft.us)
// hands out links under that name, as Graph does.
//
// It is imported by tests only.
package graphfake

import (
	"crypto/rand"
	"crypto/sha1"
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

// Cloud is a national cloud the fake can be served as.
type Cloud string

// The clouds. Their token endpoints accept only the scope of their own Graph resource.
const (
	Global Cloud = "global"
	USGov  Cloud = "usgov"
	China  Cloud = "china"
)

// Resource returns the Graph resource (token audience) of c; the scope a client asks for is
// Resource(c) + "/.default".
func Resource(c Cloud) string {
	switch c {
	case USGov:
		return "https://graph.microsoft.us"
	case China:
		return "https://microsoftgraph.chinacloudapi.cn"
	}
	return "https://graph.microsoft.com"
}

// Routes, as Inject and Requests name them.
const (
	RouteToken             = "token"
	RouteUsers             = "users"
	RouteDelta             = "users/delta"
	RouteGroups            = "groups"
	RouteMembers           = "members"
	RouteTransitiveMembers = "transitiveMembers"
	RouteAdminUnitMembers  = "administrativeUnits/members"
	RouteUnknown           = "unknown"
)

// Object types as Graph writes them in @odata.type.
const (
	TypeUser             = "#microsoft.graph.user"
	TypeGroup            = "#microsoft.graph.group"
	TypeDevice           = "#microsoft.graph.device"
	TypeOrgContact       = "#microsoft.graph.orgContact"
	TypeServicePrincipal = "#microsoft.graph.servicePrincipal"
)

// DefaultPageSize is Graph's page size when a request has no $top.
const DefaultPageSize = 100

// User is a user of the tenant.
type User struct {
	ID                string
	DisplayName       string
	Mail              string
	UserPrincipalName string
	AccountEnabled    bool
}

// Group is a group of the tenant. Members are the ids of its direct members: users, groups or Objects.
type Group struct {
	ID          string
	DisplayName string
	Members     []string
}

// Object is a directory object that is neither a user nor a group (a device, an organizational contact,
// a service principal); groups and administrative units can hold them.
type Object struct {
	ID          string
	Type        string // TypeDevice, TypeOrgContact or TypeServicePrincipal
	DisplayName string
	Mail        string
}

// AdminUnit is an administrative unit; Members are ids of users and groups.
type AdminUnit struct {
	ID          string
	DisplayName string
	Members     []string
}

// Options configure a Fake. Zero fields get the defaults shown.
type Options struct {
	// TenantID and TenantDomain are the two names the token endpoint accepts for the tenant
	// (default: a fixed GUID and "contoso.onmicrosoft.com").
	TenantID     string
	TenantDomain string
	// ClientID and Secret are the application's credentials (default: a fixed GUID and "s3cret~value").
	ClientID string
	Secret   string
	// TokenLifetime is how long an access token is valid (default 1h).
	TokenLifetime time.Duration
	// Now is the clock tokens expire by (default time.Now).
	Now func() time.Time
}

// Defaults of Options.
const (
	DefaultTenantID     = "8d2f1a36-5c4b-4e0f-9a71-3b6c2d9e0f14"
	DefaultTenantDomain = "contoso.onmicrosoft.com"
	DefaultClientID     = "0c6c7a1e-2b3d-4f5e-8a9b-1c2d3e4f5a6b"
	DefaultSecret       = "s3cret~value"
)

// Fault makes requests of one route fail. Faults are checked in the order they were injected; the first
// that matches a request and still has requests to spoil answers it.
type Fault struct {
	// Cloud limits the fault to one cloud ("" for all).
	Cloud Cloud
	// Route is the route it applies to (RouteUsers, ...).
	Route string
	// PathContains, when set, limits the fault to requests whose path contains it (one group's members).
	PathContains string
	// Skip lets this many matching requests through first (Skip 1 on RouteUsers spoils page 2 onwards).
	Skip int
	// Times is how many matching requests it spoils after Skip; 0 means all of them.
	Times int
	// Status is the HTTP status to answer with (429, 503, 504, 500, 401, 403, ...). With Malformed it
	// defaults to 200.
	Status int
	// RetryAfter is the Retry-After header value to send ("" for none).
	RetryAfter string
	// Code and Message override the Graph error code and message of the answer.
	Code, Message string
	// Malformed answers with a page whose JSON is cut short.
	Malformed bool
	// Delay holds the answer back this long (or until the client gives up).
	Delay time.Duration
}

type faultRec struct {
	Fault
	seen, spoiled int
}

// Request is one request the fake received.
type Request struct {
	Cloud  Cloud
	Method string
	Host   string
	Route  string
	Path   string
	Query  string
	Status int
}

type userRec struct {
	User
	state   int // live, softDeleted, hardDeleted
	changed int64
}

const (
	live = iota
	softDeleted
	hardDeleted
)

type tokenRec struct {
	cloud   Cloud
	expires time.Time
}

// Fake is one Entra tenant. It is safe for concurrent use.
type Fake struct {
	o Options

	mu      sync.Mutex
	users   map[string]*userRec
	groups  map[string]*Group
	objects map[string]*Object
	aus     map[string]*AdminUnit
	seq     int64
	// minDelta is the oldest delta token sequence still accepted (ExpireDeltaTokens).
	minDelta int64
	epoch    string // distinguishes this fake's paging tokens from any other's
	tokens   map[string]tokenRec
	faults   []*faultRec
	log      []Request
}

// New returns an empty tenant.
func New(o Options) *Fake {
	if o.TenantID == "" {
		o.TenantID = DefaultTenantID
	}
	if o.TenantDomain == "" {
		o.TenantDomain = DefaultTenantDomain
	}
	if o.ClientID == "" {
		o.ClientID = DefaultClientID
	}
	if o.Secret == "" {
		o.Secret = DefaultSecret
	}
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Fake{
		o:       o,
		users:   map[string]*userRec{},
		groups:  map[string]*Group{},
		objects: map[string]*Object{},
		aus:     map[string]*AdminUnit{},
		epoch:   randomHex(4),
		tokens:  map[string]tokenRec{},
	}
}

// Options returns the fake's options with defaults applied.
func (f *Fake) Options() Options { return f.o }

// Serve starts a loopback HTTP server answering as cloud c and returns its URL (no trailing slash). It
// is closed when the test ends. The URL is both the login authority and the Graph root of that cloud.
func (f *Fake) Serve(t testing.TB, c Cloud) string {
	t.Helper()
	srv := httptest.NewServer(f.Handler(c))
	t.Cleanup(srv.Close)
	return srv.URL
}

// ID returns a deterministic object id (a GUID) for name: the same name always gives the same id.
func ID(name string) string {
	sum := sha1.Sum([]byte("graphfake:" + name))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// AddUser adds u, or replaces the user with u's id (a change the delta reports).
func (f *Fake) AddUser(u User) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	f.users[u.ID] = &userRec{User: u, state: live, changed: f.seq}
}

// SetAccountEnabled enables or disables user id.
func (f *Fake) SetAccountEnabled(id string, enabled bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u, ok := f.users[id]; ok {
		f.seq++
		u.AccountEnabled = enabled
		u.changed = f.seq
	}
}

// DeleteUser deletes user id: soft (restorable for 30 days; the delta reports reason "changed") or, with
// permanent, for good (reason "deleted"). Either way Entra takes the user out of every group and
// administrative unit.
func (f *Fake) DeleteUser(id string, permanent bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[id]
	if !ok {
		return
	}
	f.seq++
	u.state = softDeleted
	if permanent {
		u.state = hardDeleted
	}
	u.changed = f.seq
	for _, g := range f.groups {
		g.Members = slices.DeleteFunc(g.Members, func(m string) bool { return m == id })
	}
	for _, au := range f.aus {
		au.Members = slices.DeleteFunc(au.Members, func(m string) bool { return m == id })
	}
}

// AddGroup adds g, or replaces the group with g's id.
func (f *Fake) AddGroup(g Group) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g.Members = slices.Clone(g.Members)
	f.groups[g.ID] = &g
}

// AddObject adds a device, contact or service principal.
func (f *Fake) AddObject(o Object) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objects[o.ID] = &o
}

// AddAdminUnit adds an administrative unit.
func (f *Fake) AddAdminUnit(au AdminUnit) {
	f.mu.Lock()
	defer f.mu.Unlock()
	au.Members = slices.Clone(au.Members)
	f.aus[au.ID] = &au
}

// ExpireDeltaTokens makes every delta link handed out so far expire: replaying one gets 410.
func (f *Fake) ExpireDeltaTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	f.minDelta = f.seq
}

// RevokeTokens invalidates every access token issued so far: the next Graph call with one gets 401.
func (f *Fake) RevokeTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.tokens)
}

// Inject adds a fault.
func (f *Fake) Inject(ft Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, &faultRec{Fault: ft})
}

// ClearFaults removes every fault.
func (f *Fake) ClearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
}

// Requests returns every request so far, in order.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

// Count returns how many requests cloud c got on route ("" counts every route; c "" every cloud).
func (f *Fake) Count(c Cloud, route string) int {
	n := 0
	for _, r := range f.Requests() {
		if (c == "" || r.Cloud == c) && (route == "" || r.Route == route) {
			n++
		}
	}
	return n
}

// ResetLog forgets the requests logged so far.
func (f *Fake) ResetLog() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = nil
}

// Handler returns the HTTP handler that serves the tenant as cloud c.
func (f *Fake) Handler(c Cloud) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.serve(c, w, r) })
}

// statusWriter records the status a handler sends in the log entry i.
type statusWriter struct {
	http.ResponseWriter
	f      *Fake
	i      int
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
		s.f.mu.Lock()
		if s.i < len(s.f.log) {
			s.f.log[s.i].Status = code
		}
		s.f.mu.Unlock()
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

func (f *Fake) serve(c Cloud, w http.ResponseWriter, r *http.Request) {
	route, rest := routeOf(r)
	// Logged on arrival (a client may send its next request before this handler returns); the status
	// is filled in when the header is written, before the client can see the answer.
	f.mu.Lock()
	sw := &statusWriter{ResponseWriter: w, f: f, i: len(f.log)}
	f.log = append(f.log, Request{Cloud: c, Method: r.Method, Host: r.Host, Route: route, Path: r.URL.Path, Query: r.URL.RawQuery})
	f.mu.Unlock()
	if ft := f.fault(c, route, r.URL.Path); ft != nil {
		if ft.Delay > 0 {
			t := time.NewTimer(ft.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if ft.Status != 0 || ft.Malformed {
			f.writeFault(sw, r, route, ft)
			return
		}
	}
	if route == RouteToken {
		f.token(c, sw, r)
		return
	}
	if route == RouteUnknown {
		graphError(sw, r, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+lastSegment(r.URL.Path)+"'.")
		return
	}
	if r.Method != http.MethodGet {
		graphError(sw, r, http.StatusMethodNotAllowed, "Request_BadRequest", "The HTTP method '"+r.Method+"' is not allowed here.")
		return
	}
	if !f.authorized(c, sw, r) {
		return
	}
	switch route {
	case RouteDelta:
		f.delta(sw, r)
	default:
		f.list(sw, r, route, rest)
	}
}

// routeOf classifies a request; rest holds the object id of member routes and the cast of transitive
// members.
func routeOf(r *http.Request) (route string, rest []string) {
	p := strings.Trim(r.URL.Path, "/")
	parts := strings.Split(p, "/")
	if len(parts) == 4 && parts[1] == "oauth2" && parts[2] == "v2.0" && parts[3] == "token" {
		return RouteToken, []string{parts[0]}
	}
	if len(parts) < 2 || parts[0] != "v1.0" {
		return RouteUnknown, nil
	}
	parts = parts[1:]
	switch {
	case len(parts) == 1 && parts[0] == "users":
		return RouteUsers, nil
	case len(parts) == 2 && parts[0] == "users" && (parts[1] == "delta" || parts[1] == "microsoft.graph.delta"):
		return RouteDelta, nil
	case len(parts) == 1 && parts[0] == "groups":
		return RouteGroups, nil
	case len(parts) == 3 && parts[0] == "groups" && parts[2] == "members":
		return RouteMembers, []string{parts[1]}
	case len(parts) == 3 && parts[0] == "groups" && parts[2] == "transitiveMembers":
		return RouteTransitiveMembers, []string{parts[1], ""}
	case len(parts) == 4 && parts[0] == "groups" && parts[2] == "transitiveMembers":
		return RouteTransitiveMembers, []string{parts[1], parts[3]}
	case len(parts) == 4 && parts[0] == "directory" && parts[1] == "administrativeUnits" && parts[3] == "members":
		return RouteAdminUnitMembers, []string{parts[2]}
	}
	return RouteUnknown, nil
}

func lastSegment(p string) string {
	p = strings.TrimRight(p, "/")
	return p[strings.LastIndex(p, "/")+1:]
}

func (f *Fake) fault(c Cloud, route, path string) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ft := range f.faults {
		if ft.Route != route || (ft.Cloud != "" && ft.Cloud != c) || (ft.PathContains != "" && !strings.Contains(path, ft.PathContains)) {
			continue
		}
		ft.seen++
		if ft.seen <= ft.Skip {
			continue
		}
		if ft.Times > 0 && ft.spoiled >= ft.Times {
			continue
		}
		ft.spoiled++
		out := ft.Fault
		return &out
	}
	return nil
}

func (f *Fake) writeFault(w http.ResponseWriter, r *http.Request, route string, ft *Fault) {
	if ft.RetryAfter != "" {
		w.Header().Set("Retry-After", ft.RetryAfter)
	}
	if ft.Malformed {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(cmpOr(ft.Status, http.StatusOK))
		_, _ = w.Write([]byte(`{"@odata.context":"x","value":[{"id":"0000`))
		return
	}
	if route == RouteToken {
		tokenError(w, ft.Status, cmpStr(ft.Code, "temporarily_unavailable"), cmpStr(ft.Message, "AADSTS50196: The server terminated an operation because it encountered a client request loop."))
		return
	}
	code, msg := ft.Code, ft.Message
	if code == "" {
		switch ft.Status {
		case http.StatusTooManyRequests:
			code, msg = "TooManyRequests", "Too many requests."
		case http.StatusServiceUnavailable:
			code, msg = "serviceNotAvailable", "Service is unavailable. Please try again later."
		case http.StatusGatewayTimeout:
			code, msg = "UnknownError", "The operation has timed out."
		case http.StatusUnauthorized:
			code, msg = "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
		case http.StatusForbidden:
			code, msg = "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
		default:
			code, msg = "generalException", "An unexpected error occurred."
		}
	}
	graphError(w, r, ft.Status, code, msg)
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// graphError writes Graph's error shape.
func graphError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	inner := map[string]string{
		"date":       time.Now().UTC().Format("2006-01-02T15:04:05"),
		"request-id": newGUID(),
	}
	inner["client-request-id"] = cmpStr(r.Header.Get("client-request-id"), newGUID())
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg, "innerError": inner}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func newGUID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// token serves POST /{tenant}/oauth2/v2.0/token.
func (f *Fake) token(c Cloud, w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		tokenError(w, http.StatusMethodNotAllowed, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests. Received a "+r.Method+" request.")
		return
	}
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
		return
	}
	tenant := strings.Split(strings.Trim(r.URL.Path, "/"), "/")[0]
	if !strings.EqualFold(tenant, f.o.TenantID) && !strings.EqualFold(tenant, f.o.TenantDomain) {
		tokenError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("AADSTS90002: Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", tenant))
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, _ = url.QueryUnescape(u)
		secret, _ = url.QueryUnescape(p)
	}
	switch gt := r.PostForm.Get("grant_type"); {
	case gt == "":
		tokenError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
		return
	case gt != "client_credentials":
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type '"+gt+"'.")
		return
	}
	if id != f.o.ClientID {
		tokenError(w, http.StatusBadRequest, "unauthorized_client", fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", id, f.o.TenantDomain))
		return
	}
	if secret != f.o.Secret {
		tokenError(w, http.StatusUnauthorized, "invalid_client", fmt.Sprintf("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", id))
		return
	}
	scope := r.PostForm.Get("scope")
	if want := Resource(c) + "/.default"; scope != want {
		if strings.HasSuffix(scope, "/.default") {
			tokenError(w, http.StatusBadRequest, "invalid_resource", fmt.Sprintf("AADSTS500011: The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", strings.TrimSuffix(scope, "/.default"), f.o.TenantDomain))
			return
		}
		tokenError(w, http.StatusBadRequest, "invalid_scope", fmt.Sprintf("AADSTS1002012: The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope))
		return
	}
	tok := string(c) + "." + randomHex(16)
	f.mu.Lock()
	f.tokens[tok] = tokenRec{cloud: c, expires: f.o.Now().Add(f.o.TokenLifetime)}
	f.mu.Unlock()
	secs := int(f.o.TokenLifetime / time.Second)
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok})
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	n := 0
	if i := strings.Index(desc, ":"); strings.HasPrefix(desc, "AADSTS") && i > 6 {
		n, _ = strconv.Atoi(desc[6:i])
	}
	now := time.Now().UTC()
	writeJSON(w, status, map[string]any{
		"error": code,
		"error_description": desc + "\r\nTrace ID: " + newGUID() + "\r\nCorrelation ID: " + newGUID() +
			"\r\nTimestamp: " + now.Format("2006-01-02 15:04:05Z"),
		"error_codes":    []int{n},
		"timestamp":      now.Format("2006-01-02 15:04:05Z"),
		"trace_id":       newGUID(),
		"correlation_id": newGUID(),
		"error_uri":      "https://login.microsoftonline.com/error?code=" + strconv.Itoa(n),
	})
}

// authorized checks the bearer token and answers 401 when it is no good.
func (f *Fake) authorized(c Cloud, w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		graphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return false
	}
	f.mu.Lock()
	rec, known := f.tokens[tok]
	now := f.o.Now()
	f.mu.Unlock()
	switch {
	case !known && strings.Contains(tok, "."):
		graphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
	case !known:
		graphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed, there are no dots (.).")
	case rec.cloud != c:
		graphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
	case !now.Before(rec.expires):
		graphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
	default:
		return true
	}
	return false
}

// baseURL returns scheme://host of the request, as links must point back at what the client called.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// isGUID reports whether s is a GUID, as every Entra object id is.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, ch := range s {
		switch i {
		case 8, 13, 18, 23:
			if ch != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", ch) {
				return false
			}
		}
	}
	return true
}

// pageToken is what $skiptoken and $deltatoken carry, opaque to clients.
type pageToken struct {
	Epoch  string   `json:"e"`
	After  string   `json:"a,omitempty"`  // last id of the previous page
	Since  int64    `json:"s,omitempty"`  // delta: changes after this sequence
	Upto   int64    `json:"u,omitempty"`  // delta: the round's snapshot sequence
	Select []string `json:"se,omitempty"` // delta: the first request's $select
	Delta  bool     `json:"d,omitempty"`  // a delta (not skip) token
	Init   bool     `json:"i,omitempty"`  // delta: initial round
}

func (f *Fake) encodeToken(t pageToken) string {
	t.Epoch = f.epoch
	b, _ := json.Marshal(t)
	return "RFNwd" + base64.RawURLEncoding.EncodeToString(b)
}

func (f *Fake) decodeToken(s string) (pageToken, bool) {
	var t pageToken
	raw, ok := strings.CutPrefix(s, "RFNwd")
	if !ok {
		return t, false
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || json.Unmarshal(b, &t) != nil || t.Epoch != f.epoch {
		return t, false
	}
	return t, true
}

// Properties of each object type, and the ones Graph returns without $select.
var (
	userProps = []string{"id", "displayName", "mail", "userPrincipalName", "accountEnabled", "givenName", "surname",
		"jobTitle", "mobilePhone", "officeLocation", "preferredLanguage", "businessPhones"}
	userDefault  = []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}
	groupProps   = []string{"id", "displayName", "description", "mail", "mailEnabled", "securityEnabled", "groupTypes"}
	groupDefault = groupProps
	objectProps  = []string{"id", "displayName", "mail", "accountEnabled", "deviceId", "appId"}
)

func (u *userRec) props() map[string]any {
	given, sur, _ := strings.Cut(u.DisplayName, " ")
	return map[string]any{
		"id": u.ID, "displayName": nullable(u.DisplayName), "mail": nullable(u.Mail),
		"userPrincipalName": u.UserPrincipalName, "accountEnabled": u.AccountEnabled,
		"givenName": nullable(given), "surname": nullable(sur), "jobTitle": nil, "mobilePhone": nil,
		"officeLocation": nil, "preferredLanguage": nil, "businessPhones": []string{},
	}
}

func groupMap(g *Group) map[string]any {
	return map[string]any{"id": g.ID, "displayName": g.DisplayName, "description": nil, "mail": nil,
		"mailEnabled": false, "securityEnabled": true, "groupTypes": []string{}}
}

func objectMap(o *Object) map[string]any {
	return map[string]any{"id": o.ID, "displayName": o.DisplayName, "mail": nullable(o.Mail), "accountEnabled": true,
		"deviceId": nil, "appId": nil}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// selection parses $select for a collection whose items have the given properties. typed is false for
// directoryObject collections, where a property of any member type may be asked for.
func selection(r *http.Request, allowed, def []string, typeName string) ([]string, error) {
	raw := r.URL.Query().Get("$select")
	if raw == "" {
		return def, nil
	}
	var out []string
	for _, p := range strings.Split(raw, ",") {
		p = strings.TrimSpace(p)
		i := slices.IndexFunc(allowed, func(a string) bool { return strings.EqualFold(a, p) })
		if i < 0 {
			return nil, fmt.Errorf("Could not find a property named '%s' on type '%s'.", p, typeName)
		}
		if !slices.Contains(out, allowed[i]) {
			out = append(out, allowed[i])
		}
	}
	if !slices.Contains(out, "id") {
		out = append(out, "id") // Graph always returns the id
	}
	return out, nil
}

func project(m map[string]any, sel []string) map[string]any {
	out := make(map[string]any, len(sel)+1)
	for _, p := range sel {
		if v, ok := m[p]; ok {
			out[p] = v
		}
	}
	return out
}

// item is one element of a collection before projection.
type item struct {
	id    string
	typ   string // @odata.type; "" in typed collections
	props map[string]any
}

// list serves the plain collections.
func (f *Fake) list(w http.ResponseWriter, r *http.Request, route string, rest []string) {
	q := r.URL.Query()
	top := DefaultPageSize
	if s := q.Get("$top"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 999 {
			graphError(w, r, http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and 999 inclusive.", s))
			return
		}
		top = n
	}
	var after string
	if s := q.Get("$skiptoken"); s != "" {
		t, ok := f.decodeToken(s)
		if !ok || t.Delta {
			graphError(w, r, http.StatusBadRequest, "Directory_ExpiredPageToken", "The specified page token value has expired and can no longer be included in your request.")
			return
		}
		after = t.After
	}
	items, sel, context, status, code, msg := f.collect(r, route, rest)
	if status != 0 {
		graphError(w, r, status, code, msg)
		return
	}
	slices.SortFunc(items, func(a, b item) int { return strings.Compare(a.id, b.id) })
	start := 0
	if after != "" {
		start, _ = slices.BinarySearchFunc(items, after, func(it item, id string) int {
			if it.id <= id {
				return -1
			}
			return 1
		})
	}
	end := min(start+top, len(items))
	value := make([]map[string]any, 0, end-start)
	for _, it := range items[start:end] {
		m := project(it.props, sel)
		if it.typ != "" {
			m["@odata.type"] = it.typ
		}
		value = append(value, m)
	}
	body := map[string]any{"@odata.context": baseURL(r) + "/v1.0/$metadata#" + context, "value": value}
	if end < len(items) {
		nq := url.Values{}
		for k, v := range q {
			if k != "$skiptoken" {
				nq[k] = v
			}
		}
		nq.Set("$skiptoken", f.encodeToken(pageToken{After: items[end-1].id}))
		body["@odata.nextLink"] = baseURL(r) + r.URL.Path + "?" + encodeQuery(nq)
	}
	writeJSON(w, http.StatusOK, body)
}

// encodeQuery encodes q like url.Values.Encode but leaves "$" and "," readable, as Graph's links do.
func encodeQuery(q url.Values) string {
	s := q.Encode()
	return strings.NewReplacer("%24", "$", "%2C", ",").Replace(s)
}

// collect returns the items of a collection, the selection, and the @odata.context suffix; or an error
// status, code and message.
func (f *Fake) collect(r *http.Request, route string, rest []string) (items []item, sel []string, context string, status int, code, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	notFound := func(id string) (int, string, string) {
		return http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
	}
	badID := func(id string) (int, string, string) {
		return http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Invalid object identifier '%s'.", id)
	}
	var err error
	switch route {
	case RouteUsers:
		if sel, err = selection(r, userProps, userDefault, "microsoft.graph.user"); err != nil {
			return nil, nil, "", http.StatusBadRequest, "Request_BadRequest", err.Error()
		}
		for _, u := range f.users {
			if u.state == live {
				items = append(items, item{id: u.ID, props: u.props()})
			}
		}
		return items, sel, "users", 0, "", ""
	case RouteGroups:
		if sel, err = selection(r, groupProps, groupDefault, "microsoft.graph.group"); err != nil {
			return nil, nil, "", http.StatusBadRequest, "Request_BadRequest", err.Error()
		}
		for _, g := range f.groups {
			items = append(items, item{id: g.ID, props: groupMap(g)})
		}
		return items, sel, "groups", 0, "", ""
	}

	// directoryObject collections.
	id := rest[0]
	if !isGUID(id) {
		status, code, msg = badID(id)
		return nil, nil, "", status, code, msg
	}
	var members []string
	switch route {
	case RouteMembers:
		g, ok := f.groups[strings.ToLower(id)]
		if !ok {
			status, code, msg = notFound(id)
			return nil, nil, "", status, code, msg
		}
		members = g.Members
		context = "directoryObjects"
	case RouteTransitiveMembers:
		g, ok := f.groups[strings.ToLower(id)]
		if !ok {
			status, code, msg = notFound(id)
			return nil, nil, "", status, code, msg
		}
		members = f.transitive(g)
		context = "directoryObjects"
	case RouteAdminUnitMembers:
		au, ok := f.aus[strings.ToLower(id)]
		if !ok {
			status, code, msg = notFound(id)
			return nil, nil, "", status, code, msg
		}
		members = au.Members
		context = "directoryObjects"
	}
	cast := ""
	if route == RouteTransitiveMembers && rest[1] != "" {
		switch rest[1] {
		case "microsoft.graph.user", "microsoft.graph.group", "microsoft.graph.device", "microsoft.graph.orgContact", "microsoft.graph.servicePrincipal":
			cast = "#" + rest[1]
			context = "users"
		default:
			return nil, nil, "", http.StatusBadRequest, "BadRequest", "Resource not found for the segment '" + rest[1] + "'."
		}
	}
	allowed := slices.Concat(userProps, groupProps, objectProps)
	def := []string{"id", "displayName", "mail", "userPrincipalName", "accountEnabled"}
	typeName := "microsoft.graph.directoryObject"
	if cast == TypeUser {
		allowed, def, typeName = userProps, userDefault, "microsoft.graph.user"
	}
	if sel, err = selection(r, dedupe(allowed), def, typeName); err != nil {
		return nil, nil, "", http.StatusBadRequest, "Request_BadRequest", err.Error()
	}
	for _, m := range members {
		var it item
		if u, ok := f.users[m]; ok && u.state == live {
			it = item{id: m, typ: TypeUser, props: u.props()}
		} else if g, ok := f.groups[m]; ok {
			it = item{id: m, typ: TypeGroup, props: groupMap(g)}
		} else if o, ok := f.objects[m]; ok {
			it = item{id: m, typ: o.Type, props: objectMap(o)}
		} else {
			continue // Graph lists only objects that exist
		}
		if cast != "" && it.typ != cast {
			continue
		}
		items = append(items, it)
	}
	return items, sel, context, 0, "", ""
}

func dedupe(list []string) []string {
	var out []string
	for _, s := range list {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// transitive returns the ids of every member of g, directly or through nested groups (nested groups
// included), each once; cycles end the walk. Called with f.mu held.
func (f *Fake) transitive(g *Group) []string {
	seen := map[string]bool{g.ID: true}
	var out []string
	queue := []*Group{g}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, m := range cur.Members {
			if seen[m] {
				continue
			}
			seen[m] = true
			out = append(out, m)
			if ng, ok := f.groups[m]; ok {
				queue = append(queue, ng)
			}
		}
	}
	return out
}

// delta serves GET /v1.0/users/delta.
func (f *Fake) delta(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var t pageToken
	switch {
	case q.Get("$deltatoken") != "":
		dt, ok := f.decodeToken(q.Get("$deltatoken"))
		if !ok || !dt.Delta {
			graphError(w, r, http.StatusBadRequest, "Request_BadRequest", "Invalid delta token.")
			return
		}
		f.mu.Lock()
		expired := dt.Since < f.minDelta
		upto := f.seq
		f.mu.Unlock()
		if expired {
			graphError(w, r, http.StatusGone, "syncStateNotFound", "The sync state generation is not found. The delta token is expired and the client must restart a full synchronization.")
			return
		}
		t = pageToken{Since: dt.Since, Upto: upto, Select: dt.Select}
	case q.Get("$skiptoken") != "":
		st, ok := f.decodeToken(q.Get("$skiptoken"))
		if !ok || st.Delta {
			graphError(w, r, http.StatusBadRequest, "Directory_ExpiredPageToken", "The specified page token value has expired and can no longer be included in your request.")
			return
		}
		t = st
	default:
		sel, err := selection(r, userProps, userDefault, "microsoft.graph.user")
		if err != nil {
			graphError(w, r, http.StatusBadRequest, "Request_BadRequest", err.Error())
			return
		}
		f.mu.Lock()
		t = pageToken{Init: true, Upto: f.seq, Select: sel}
		f.mu.Unlock()
	}

	f.mu.Lock()
	var items []item
	for _, u := range f.users {
		if u.changed > t.Upto || (!t.Init && u.changed <= t.Since) || (t.After != "" && u.ID <= t.After) {
			continue
		}
		switch u.state {
		case live:
			items = append(items, item{id: u.ID, props: project(u.props(), t.Select)})
		case softDeleted, hardDeleted:
			if t.Init {
				continue // an initial round lists what exists
			}
			reason := "changed"
			if u.state == hardDeleted {
				reason = "deleted"
			}
			items = append(items, item{id: u.ID, props: map[string]any{"id": u.ID, "@removed": map[string]string{"reason": reason}}})
		}
	}
	f.mu.Unlock()
	slices.SortFunc(items, func(a, b item) int { return strings.Compare(a.id, b.id) })
	end := min(DefaultPageSize, len(items))
	value := make([]map[string]any, 0, end)
	for _, it := range items[:end] {
		value = append(value, it.props)
	}
	body := map[string]any{"@odata.context": baseURL(r) + "/v1.0/$metadata#users", "value": value}
	if end < len(items) {
		next := t
		next.After = items[end-1].id
		body["@odata.nextLink"] = baseURL(r) + "/v1.0/users/delta?$skiptoken=" + f.encodeToken(next)
	} else {
		body["@odata.deltaLink"] = baseURL(r) + "/v1.0/users/delta?$deltatoken=" + f.encodeToken(pageToken{Delta: true, Since: t.Upto, Select: t.Select})
	}
	writeJSON(w, http.StatusOK, body)
}
