// Package onelogin is the directory adapter for OneLogin (API v1, specs/directories.md section 5). It keeps
// the Directory Connector's settings and their names (clientId, clientSecret, region) and reads what that
// connector reads: users, and roles as groups, with role membership taken from each user's role_id.
//
// It is a thin client over golang.org/x/oauth2 and net/http and fixes what the Directory Connector gets
// wrong:
//
//   - every page of /api/1/users and /api/1/roles is read, following pagination.next_link to the end, and
//     any failed page (an HTTP error, an error status inside a 200, a body that does not parse) fails the
//     whole read: a short list never reaches the engine, so nobody is removed because a page went missing
//     (the Directory Connector keeps the partial list and can remove everyone it missed);
//   - a 429 is waited out (Retry-After, else OneLogin's X-RateLimit-Reset), within onelogin.maxWait for the
//     whole read, then the read fails with OneLogin's own message; 5xx and network errors are retried with
//     a capped backoff inside the same limit;
//   - a 401 in the middle of a read (a token revoked or expired) gets one new token and the page again;
//   - a groups-only read still reads users to fill the roles' members (the Directory Connector returns
//     member-less roles then);
//   - the API can be reached through any URL (onelogin.apiUrl: a proxy, a test server) with an extra CA
//     file (onelogin.caFile), HTTPS_PROXY/NO_PROXY are honoured, and filters that do not parse are shown
//     as errors instead of being ignored.
//
// Authentication: client credentials against {api}/auth/oauth2/v2/token, sent form-encoded (grant_type,
// client_id, client_secret in the body: x/oauth2's AuthStyleInParams, one of the two ways OneLogin
// documents; the Directory Connector uses Basic auth with a JSON body). API calls carry
// "Authorization: bearer:<token>", the form OneLogin's v1 documentation gives and the Directory Connector
// sends.
package onelogin

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/filter"
	"github.com/dirconn/dirconn/internal/httpx"
)

// Option names (keys onelogin.<name>). The first three are the Directory Connector's.
const (
	optClientID     = "clientId"
	optClientSecret = "clientSecret"
	optRegion       = "region"
	optAPIURL       = "apiUrl"
	optCAFile       = "caFile"
	optTimeout      = "timeout"
	optMaxWait      = "maxWait"
)

// Regions and their API roots.
const (
	RegionUS = "us"
	RegionEU = "eu"
)

// Defaults.
const (
	DefaultRegion  = RegionUS
	DefaultTimeout = time.Minute
	DefaultMaxWait = 5 * time.Minute
	// PageSize is the limit sent with every list call: OneLogin's documented page size for API v1.
	PageSize = 50
)

// Paths under the API root.
const (
	tokenPath = "/auth/oauth2/v2/token"
	usersPath = "/api/1/users"
	rolesPath = "/api/1/roles"
)

// regionRoot returns the API root of a region: https://api.<region>.onelogin.com.
func regionRoot(region string) string { return "https://api." + region + ".onelogin.com" }

const userFilterHelp = "Optional include: or exclude: followed by comma-separated emails (case does not matter; " +
	"users without an email are matched by username), then optionally | and a OneLogin API v1 query string " +
	"sent with GET /api/1/users: field=value pairs joined by &, with * as a wildcard. Examples: " +
	"`include: ann@company.com, bob@company.com`; `exclude: test@company.com`; `|email=*@company.com`; " +
	"`exclude: test@company.com | directory_id=123`. The query may not use fields, after_cursor or before_cursor."

const groupFilterHelp = "Groups are OneLogin roles. Optional include: or exclude: followed by comma-separated " +
	"role names (case does not matter), then optionally | and a OneLogin API v1 query string sent with " +
	"GET /api/1/roles, with * as a wildcard. With an include:/exclude: part, only users in a synced role are " +
	"synced (and disabled users when sync.removeDisabled is on, so they are removed). Examples: " +
	"`include: Engineering, Sales`; `exclude: Integration Test Role`; `|name=Eng*`."

var (
	userSyntax  = filter.Syntax{Keywords: []string{"include", "exclude"}, Native: true, What: "user filter"}
	groupSyntax = filter.Syntax{Keywords: []string{"include", "exclude"}, Native: true, What: "group filter"}
)

// Adapter returns the OneLogin adapter's description: its option schema, filter checks and constructor.
func Adapter() directory.Adapter {
	return directory.Adapter{
		Name:   "onelogin",
		Title:  "OneLogin",
		Number: 4,
		Options: []directory.Option{
			{Name: optClientID, Label: "Client ID", Required: true,
				Help: "The client ID of a OneLogin API credential pair (Administration > Developers > API Credentials) with the \"Read users\" scope (or Manage users, Read all, Manage all)."},
			{Name: optClientSecret, Label: "Client secret", Secret: true, Required: true, Aliases: []string{"secret"},
				Help: "The client secret of that API credential pair; kept in the secret store. The Directory Connector's CLI calls it onelogin.secret."},
			{Name: optRegion, Label: "Region", Kind: directory.KindChoice, Default: DefaultRegion, Choices: []string{RegionUS, RegionEU},
				Help: "Where the OneLogin account lives: us (api.us.onelogin.com) or eu (api.eu.onelogin.com). Ignored when onelogin.apiUrl is set."},
			{Name: optAPIURL, Label: "API URL", Advanced: true, Check: checkAPIURL,
				Help: "The API root to use instead of the region's, e.g. https://company.onelogin.com or a proxy in front of OneLogin. The token is requested from <API URL>/auth/oauth2/v2/token and users from <API URL>/api/1/users. https only (http is accepted for 127.0.0.1 and localhost)."},
			{Name: optCAFile, Label: "Extra CA certificates", Kind: directory.KindPath, Advanced: true,
				Help: "A PEM file of CA certificates trusted in addition to the system's, for a TLS-inspecting proxy. Relative paths are relative to the data directory. Empty: dirconn's caFile setting."},
			{Name: optTimeout, Label: "Request timeout", Kind: directory.KindDuration, Default: DefaultTimeout.String(), Advanced: true, Check: directory.CheckPositiveDuration,
				Help: "How long one HTTP request to OneLogin may take."},
			{Name: optMaxWait, Label: "Longest wait for rate limits", Kind: directory.KindDuration, Default: DefaultMaxWait.String(), Advanced: true,
				Help: "How long one read may wait in total for OneLogin's rate limit (429) and between retries after server or network errors. A read that would need longer fails, and nothing is removed. 0: no waiting, fail at the first 429 or server error."},
		},
		UserFilterHelp:  userFilterHelp,
		GroupFilterHelp: groupFilterHelp,
		CheckFilters:    CheckFilters,
		New:             New,
	}
}

// filters are the parsed user and group filters.
type filters struct {
	user, group *filter.Filter
}

// CheckFilters parses the user and group filters, including their query strings, so a malformed filter is
// refused when it is set and before any read. Errors wrap directory.ErrFilter.
func CheckFilters(f directory.Filters) error {
	_, err := parseFilters(f)
	return err
}

func parseFilters(f directory.Filters) (filters, error) {
	var out filters
	var errs []error
	var err error
	if out.user, err = parseFilter(f.User, userSyntax); err != nil {
		errs = append(errs, err)
	}
	if out.group, err = parseFilter(f.Group, groupSyntax); err != nil {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

func parseFilter(s string, syn filter.Syntax) (*filter.Filter, error) {
	f, err := filter.Parse(s, syn)
	if err != nil {
		return nil, err
	}
	if f.Native != "" {
		q, err := nativeQuery(f.Native)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: the query after | %v", directory.ErrFilter, syn.What, err)
		}
		f.Native = q
	}
	return f, nil
}

// reserved are query parameters the adapter owns: fields would drop the attributes it reads, the cursors
// are its paging.
var reserved = map[string]string{
	"fields":        "would leave out attributes dirconn reads (email, status, role_id)",
	"after_cursor":  "is set by dirconn while paging",
	"before_cursor": "is set by dirconn while paging",
}

// nativeQuery checks the query string of a filter and returns it as it will be sent: the admin's text,
// with only the characters a URL cannot carry (spaces, quotes, non-ASCII, ...) percent-encoded, the way a
// browser sends a typed query. "%XX" escapes and "+" are kept as written.
func nativeQuery(raw string) (string, error) {
	raw = strings.TrimPrefix(strings.TrimSpace(raw), "?")
	if raw == "" {
		return "", nil
	}
	q := escapeQuery(raw)
	vals, err := url.ParseQuery(q)
	if err != nil {
		return "", fmt.Errorf("%q is not a query string (field=value&field=value): %v", raw, err)
	}
	for _, part := range strings.Split(q, "&") {
		if part == "" {
			continue
		}
		k, _, ok := strings.Cut(part, "=")
		if !ok || k == "" {
			return "", fmt.Errorf("%q: %q is not field=value (e.g. email=*@company.com)", raw, part)
		}
	}
	for k := range vals {
		if why, ok := reserved[strings.ToLower(k)]; ok {
			return "", fmt.Errorf("%q: %s %s", raw, k, why)
		}
	}
	return q, nil
}

// escapeQuery percent-encodes the bytes of s that may not appear in a URL query as they are.
func escapeQuery(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"#<>\^`+"`{|}", c) >= 0 {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// checkAPIURL accepts an https URL (http on loopback) with a host and no query or fragment.
func checkAPIURL(v string) error {
	_, err := parseAPIURL(v)
	return err
}

func parseAPIURL(v string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil ||
		(u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("%q is not an https URL such as https://api.us.onelogin.com", v)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return nil, fmt.Errorf("%q: use https (the client secret and tokens would cross the network unencrypted); http is accepted only for 127.0.0.1 and localhost", v)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// settings is the adapter's configuration, parsed.
type settings struct {
	clientID     string
	clientSecret string
	root         *url.URL // the API root, no trailing slash
	rootKey      string   // the setting the root comes from, for messages
	caFile       string
	proxy        string
	timeout      time.Duration
	maxWait      time.Duration
	userAgent    string
}

// Source reads one OneLogin account. Each Fetch gets its own token and HTTP client, so a Source is safe
// for concurrent use.
type Source struct {
	s   settings
	log *slog.Logger
	// policy is the retry policy (zero: httpx's default, with MaxWait from onelogin.maxWait per read);
	// tests set a fake clock here.
	policy httpx.Policy
}

var _ directory.Source = (*Source)(nil)

// New builds a Source from the adapter's settings (defaults applied, secret resolved). It does no I/O.
func New(cfg directory.Config) (directory.Source, error) {
	s, err := parseSettings(cfg)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Source{s: s, log: log.With("directory", "onelogin")}, nil
}

func parseSettings(cfg directory.Config) (settings, error) {
	v := cfg.Values
	str := func(name string) string { return strings.TrimSpace(v.String(name)) }
	var errs directory.ConfigErrors
	bad := func(name, reason string) {
		errs = append(errs, &directory.ConfigError{Key: "onelogin." + name, Reason: reason})
	}
	s := settings{
		clientID:     str(optClientID),
		clientSecret: strings.TrimSpace(v.String(optClientSecret)),
		caFile:       cmp.Or(cfg.Path(optCAFile), cfg.CAFile),
		proxy:        cfg.Proxy,
		timeout:      DefaultTimeout,
		maxWait:      DefaultMaxWait,
		userAgent:    "dirconn",
	}
	if cfg.Version != "" {
		s.userAgent = "dirconn/" + cfg.Version
	}
	if s.clientID == "" {
		bad(optClientID, "is required (the client ID of a OneLogin API credential pair: Administration > Developers > API Credentials)")
	}
	if s.clientSecret == "" {
		bad(optClientSecret, "is required (set it with dirconn config set onelogin.clientSecret --from-env VAR)")
	}
	if raw := str(optAPIURL); raw != "" {
		u, err := parseAPIURL(raw)
		if err != nil {
			bad(optAPIURL, err.Error())
		}
		s.root, s.rootKey = u, "onelogin."+optAPIURL
	} else {
		region := strings.ToLower(str(optRegion))
		if region == "" {
			region = DefaultRegion
		}
		if region != RegionUS && region != RegionEU {
			bad(optRegion, fmt.Sprintf("%q is not one of: us, eu", region))
		} else {
			s.root, _ = url.Parse(regionRoot(region))
			s.rootKey = "onelogin." + optRegion
		}
	}
	if x := str(optTimeout); x != "" {
		d, err := time.ParseDuration(x)
		if err != nil || d <= 0 {
			bad(optTimeout, fmt.Sprintf("%q is not a duration above 0 (e.g. 1m)", x))
		}
		s.timeout = d
	}
	if x := str(optMaxWait); x != "" {
		d, err := time.ParseDuration(x)
		if err != nil || d < 0 {
			bad(optMaxWait, fmt.Sprintf("%q is not a duration (e.g. 5m; 0 for no waiting)", x))
		}
		s.maxWait = d
	}
	if len(errs) > 0 {
		return settings{}, errs
	}
	return s, nil
}
