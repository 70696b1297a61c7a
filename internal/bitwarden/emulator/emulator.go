// Package emulator is a faithful local Bitwarden server for dirconn's tests, its demo mode and
// `dirconn emulator`. It serves the organization API key login (POST /connect/token), the directory import
// (POST /public/organization/import) and the public read endpoints (GET /public/members, /public/groups),
// in both URL layouts on one handler (cloud: /connect/token, /public/...; self-hosted: /identity/connect/token,
// /api/public/...), and reproduces the server behaviour catalogued in specs/bitwarden-api.md: status codes and
// bodies, the order of checks, the non-transactional import steps, events, seats, owners, staging and email
// linking, for the cloud, self-hosted and Vaultwarden profiles.
//
// Test routes (emulator only):
//
//	GET  /__emulator/state          JSON of Snapshot()
//	POST /__emulator/reset          Reset()
//	POST /__emulator/faults         body: one Fault or an array of them (see Fault for the JSON form)
//	DELETE /__emulator/faults       drop pending faults
//	POST /__emulator/revoke-tokens  RevokeTokens()
//	GET  /__emulator/imports        JSON of Imports()
//
// The emulator logs nothing.
package emulator

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Profile selects the server the emulator behaves like.
type Profile string

const (
	// Cloud is bitwarden.com / bitwarden.eu: the 2000-entry guard, seat autoscaling, the identity rate limit.
	Cloud Profile = "cloud"
	// SelfHosted is a self-hosted Bitwarden server: no size guard, no rate limit, no autoscaling.
	SelfHosted Profile = "selfhosted"
	// Vaultwarden is the Vaultwarden server (specs/bitwarden-api.md section 5).
	Vaultwarden Profile = "vaultwarden"
)

// ParseProfile reads a profile name ("cloud", "selfhosted" or "self-hosted", "vaultwarden"); "" is Cloud.
func ParseProfile(s string) (Profile, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "cloud":
		return Cloud, nil
	case "selfhosted", "self-hosted", "self_hosted":
		return SelfHosted, nil
	case "vaultwarden":
		return Vaultwarden, nil
	}
	return "", fmt.Errorf("unknown emulator profile %q (want cloud, selfhosted or vaultwarden)", s)
}

// Options configures a Server. The zero value is a cloud organization with every feature enabled.
type Options struct {
	Profile           Profile          // default Cloud
	OrgID             string           // a GUID (the token route parses it); default: a random one
	APIKey            string           // default: 30 random alphanumeric characters
	OrgName           string           // default "Emulated Organization"
	TokenLifetime     time.Duration    // default 3600 s; expires_in and the JWT's exp follow it
	TokenRateLimit    *bool            // T5; default on for Cloud, off otherwise (Vaultwarden's login limit only when explicitly on)
	Seats             *int             // nil = unlimited
	MaxAutoscaleSeats *int             // cloud autoscaling ceiling; nil = no ceiling
	StagedFlag        bool             // feature flag pm-34423-staged-status
	DisableDirectory  bool             // org.UseDirectory = false
	DisableGroups     bool             // org.UseGroups = false
	DisableAPI        bool             // org.UseApi = false
	DisableOrg        bool             // org.Enabled = false
	VaultwardenGroups bool             // ORG_GROUPS_ENABLED (Vaultwarden profile)
	NoReadEndpoints   bool             // answer GET /public/members and /public/groups with 404, like an old server
	Now               func() time.Time // default time.Now
}

// Server is one emulated organization on an emulated server. It is safe for concurrent use.
type Server struct {
	opts      Options
	profile   Profile
	orgID     string
	apiKey    string
	apiKeyID  string // Vaultwarden's organization_api_key row uuid, the "sub" of its tokens
	rateLimit bool
	now       func() time.Time

	mu            sync.Mutex
	st            orgState
	imports       []Import
	tokenRequests int
	faults        []*pendingFault
	issued        map[string]int // sha256 of a token -> serial number
	serial        int
	revokedUpTo   int
	tokenWindows  map[string]*rateWindow // Bitwarden cloud: fixed one-minute window per IP
	loginTAT      map[string]time.Time   // Vaultwarden: GCRA theoretical arrival time per IP
}

// New creates a server seeded with one confirmed Owner that has a master password.
func New(o Options) *Server {
	if o.Profile == "" {
		o.Profile = Cloud
	}
	if o.OrgID == "" {
		o.OrgID = newGUID()
	}
	if o.APIKey == "" {
		o.APIKey = randomAlphanumeric(30)
	}
	if o.OrgName == "" {
		o.OrgName = "Emulated Organization"
	}
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{
		opts:      o,
		profile:   o.Profile,
		orgID:     strings.ToLower(o.OrgID),
		apiKey:    o.APIKey,
		apiKeyID:  newGUID(),
		rateLimit: o.Profile == Cloud,
		now:       o.Now,
		issued:    map[string]int{},
	}
	if o.TokenRateLimit != nil {
		s.rateLimit = *o.TokenRateLimit
	}
	s.Reset()
	return s
}

// OrgID returns the organization id.
func (s *Server) OrgID() string { return s.orgID }

// APIKey returns the organization API key (the client secret).
func (s *Server) APIKey() string { return s.apiKey }

// ClientID returns the client id of the organization API key: "organization." + OrgID.
func (s *Server) ClientID() string { return "organization." + s.orgID }

// Handler returns the HTTP handler serving every route of the emulator.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case p == "/connect/token" || p == "/identity/connect/token":
		s.handleToken(w, r)
	case p == "/public/organization/import" || p == "/api/public/organization/import":
		s.handleImport(w, r)
	case p == "/public/members" || p == "/api/public/members":
		s.handleList(w, r, "members")
	case p == "/public/groups" || p == "/api/public/groups":
		s.handleList(w, r, "groups")
	case strings.HasPrefix(p, "/__emulator/"):
		s.handleControl(w, r)
	default:
		s.notFound(r).write(w)
	}
}

func (s *Server) notFound(r *http.Request) reply {
	if s.profile != Vaultwarden {
		return empty(http.StatusNotFound)
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return vaultwardenNotFound()
	}
	return rocketCatcher(r, http.StatusNotFound)
}

// methodNotAllowed is ASP.NET's 405 for a known path; Rocket has no 405 and answers 404.
func (s *Server) methodNotAllowed(r *http.Request, allow string) reply {
	if s.profile == Vaultwarden {
		return s.notFound(r)
	}
	return empty(http.StatusMethodNotAllowed).with("Allow", allow)
}

// clientIP is the address rate limits count by: Bitwarden cloud trusts X-Connecting-IP, Vaultwarden
// X-Real-IP (its default IP_HEADER).
func (s *Server) clientIP(r *http.Request) string {
	header := "X-Connecting-IP"
	if s.profile == Vaultwarden {
		header = "X-Real-IP"
	}
	if ip := strings.TrimSpace(r.Header.Get(header)); ip != "" {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// origin is scheme://host of a request, the issuer the identity server puts in its tokens.
func origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = p
	}
	return strings.ToLower(scheme + "://" + r.Host)
}
