// Package entra is the directory adapter for Microsoft Entra ID (Azure AD), read through Microsoft Graph
// with a thin client of its own (net/http, encoding/json and golang.org/x/oauth2/clientcredentials; the
// Graph SDK is 194 MB of source and takes minutes to compile for six GET endpoints). It keeps the
// Directory Connector's settings and their names (specs/anchor-dc.md 1.2, specs/directories.md section 2)
// and its filter syntax, and fixes what that connector gets wrong:
//
//   - every call, the token request included, goes to the configured cloud: the Directory Connector
//     sends most Graph calls to the global endpoint even for US government tenants. China (21Vianet) is
//     supported too, and entra.graphUrl / entra.authorityUrl override both endpoints (national clouds,
//     reverse proxies, tests);
//   - every listing is paged to the end by following @odata.nextLink verbatim; a page that fails after
//     the retries fails the run, so nobody is ever removed because of a short list;
//   - 429, 503 and 504 answers are waited out as Graph asks (Retry-After), within a bounded total wait;
//   - users deleted in Entra reach the plan as removals: soft-deleted ("changed") and deleted-for-good
//     users from /users/delta are both returned as deleted users (the Directory Connector drops the
//     latter), and the delta link is kept in the snapshot's cursor; a delta link the server rejects starts
//     a new delta round;
//   - group-based user filters keep only users (/transitiveMembers/microsoft.graph.user, type checked),
//     not the nested groups and contacts the Directory Connector counts as users;
//   - a filter that does not parse is an error shown to the admin, never silently ignored; group ids in
//     filters are checked to be object ids before any request;
//   - administrative-unit group filters match the unit's groups by id, not by display name, so a group
//     outside the unit with the same name is not picked up;
//   - errors name the setting to fix (the AADSTS code of a refused secret, the missing permission).
package entra

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/httpx"
)

// Option names (keys entra.<name>). The first four are the Directory Connector's.
const (
	optIdentityAuthority = "identityAuthority"
	optTenant            = "tenant"
	optApplicationID     = "applicationId"
	optKey               = "key"
	optGraphURL          = "graphUrl"
	optAuthorityURL      = "authorityUrl"
	optCAFile            = "caFile"
	optProxy             = "proxy"
	optTimeout           = "timeout"
	optPageSize          = "pageSize"
)

// Defaults.
const (
	DefaultAuthority = "login.microsoftonline.com"
	DefaultTimeout   = time.Minute
	DefaultPageSize  = 999
	// MaxPageSize is the largest $top Graph accepts.
	MaxPageSize = 999
)

// cloud is one national cloud: its login authority host and its Graph root.
type cloud struct {
	authority string // the identityAuthority value
	name      string
	graph     string // Graph root and token resource
}

// clouds are the clouds entra.identityAuthority chooses from (https://learn.microsoft.com/graph/deployments).
var clouds = []cloud{
	{authority: "login.microsoftonline.com", name: "global", graph: "https://graph.microsoft.com"},
	{authority: "login.microsoftonline.us", name: "US government", graph: "https://graph.microsoft.us"},
	{authority: "login.chinacloudapi.cn", name: "China (21Vianet)", graph: "https://microsoftgraph.chinacloudapi.cn"},
}

// graphHosts are the Graph hosts of every cloud. When entra.graphUrl names one, tokens are asked for
// that resource (US government DoD: https://dod-graph.microsoft.us); any other host (a proxy, a test
// server) keeps the cloud's resource.
var graphHosts = []string{"graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us", "microsoftgraph.chinacloudapi.cn"}

func authorities() []string {
	out := make([]string, len(clouds))
	for i, c := range clouds {
		out[i] = c.authority
	}
	return out
}

const userFilterHelp = "Which users to sync (not OData). include:joe@company.com,bill@company.com or " +
	"exclude:joe@company.com match emails; includeGroup:<group object id>,<id> keeps only the members of " +
	"those groups, nested members included; excludeGroup:<group object id> keeps everyone else. After " +
	"includeGroup, further clauses after | subtract: includeGroup:<id>|excludeGroup:<id>|exclude:joe@company.com. " +
	"Group object ids are GUIDs (Entra admin center > Groups > the group > Object ID)."

const groupFilterHelp = "Which groups to sync (not OData). include:Sales,IT or exclude:Developers match group " +
	"names (case-insensitive); includeAdministrativeUnit:<unit object id> keeps the groups of those " +
	"administrative units, excludeAdministrativeUnit:<unit object id> every other group. With a group filter, " +
	"users who are in none of the synced groups are not synced."

// Adapter returns the Entra ID adapter's description: its option schema, filter checks and constructor.
func Adapter() directory.Adapter {
	return directory.Adapter{
		Name:    "entra",
		Title:   "Microsoft Entra ID",
		Number:  1,
		Aliases: []string{"azure"},
		Options: []directory.Option{
			{Name: optIdentityAuthority, Label: "Cloud (identity authority)", Kind: directory.KindChoice,
				Choices: authorities(), Default: DefaultAuthority,
				Help: "The Microsoft cloud of the tenant: login.microsoftonline.com (global), login.microsoftonline.us " +
					"(US government, Graph at graph.microsoft.us) or login.chinacloudapi.cn (China, operated by 21Vianet). " +
					"Every call, the sign-in included, goes to this cloud."},
			{Name: optTenant, Label: "Tenant", Required: true, Check: checkTenant,
				Help: "The directory (tenant) ID, a GUID, or a domain of the tenant such as company.onmicrosoft.com."},
			{Name: optApplicationID, Label: "Application (client) ID", Required: true, Check: checkGUID,
				Help: "The Application (client) ID of the app registration dirconn signs in as (a GUID)."},
			{Name: optKey, Label: "Client secret", Secret: true, Required: true, Aliases: []string{"clientSecret"},
				Help: "The Value of a client secret of the app registration (not its Secret ID); kept in the secret store."},
			{Name: optGraphURL, Label: "Graph URL", Advanced: true, Check: checkURL,
				Help: "Overrides the Microsoft Graph root of the cloud, e.g. https://dod-graph.microsoft.us or a reverse proxy. " +
					"Empty: the cloud's (https://graph.microsoft.com, https://graph.microsoft.us, https://microsoftgraph.chinacloudapi.cn)."},
			{Name: optAuthorityURL, Label: "Sign-in URL", Advanced: true, Check: checkURL,
				Help: "Overrides the sign-in (login authority) URL of the cloud; tokens come from <url>/<tenant>/oauth2/v2.0/token. " +
					"Empty: https://<entra.identityAuthority>."},
			{Name: optCAFile, Label: "Extra CA certificates", Kind: directory.KindPath, Advanced: true,
				Help: "A PEM file of CA certificates trusted in addition to the system's, for a TLS-inspecting proxy. " +
					"Relative paths are relative to the data directory. Empty: dirconn's caFile setting."},
			{Name: optProxy, Label: "HTTP proxy", Advanced: true, Check: directory.CheckProxyURL,
				Help: "Proxy for the calls to Entra and Graph (http, https, socks5 or socks5h URL; host:port means http). " +
					"Empty: dirconn's proxy setting, else HTTPS_PROXY, HTTP_PROXY and NO_PROXY from the environment."},
			{Name: optTimeout, Label: "Request timeout", Kind: directory.KindDuration, Default: DefaultTimeout.String(),
				Advanced: true, Check: directory.CheckPositiveDuration,
				Help: "How long one request to Entra or Graph may take. Throttled requests are retried (Retry-After honoured) for up to 5 minutes in total."},
			{Name: optPageSize, Label: "Page size", Kind: directory.KindInt, Default: strconv.Itoa(DefaultPageSize),
				Min: 0, Max: MaxPageSize, Advanced: true,
				Help: "Objects asked for per page ($top, at most 999) of users, groups and members: fewer requests, less throttling. " +
					"0 sends no $top: Graph's page of 100, as the Directory Connector."},
		},
		UserFilterHelp:  userFilterHelp,
		GroupFilterHelp: groupFilterHelp,
		CheckFilters:    CheckFilters,
		New:             New,
	}
}

func checkTenant(v string) error {
	if strings.Contains(v, "://") || strings.ContainsAny(v, "/\\ ?#") {
		return fmt.Errorf("%q is not a tenant: give the directory (tenant) ID or a domain such as company.onmicrosoft.com", v)
	}
	return nil
}

func checkGUID(v string) error {
	if !isGUID(v) {
		return fmt.Errorf("%q is not an id such as 0c6c7a1e-2b3d-4f5e-8a9b-1c2d3e4f5a6b (copy the Application (client) ID from the app registration's Overview)", v)
	}
	return nil
}

// isGUID reports whether s has the form of an Entra object id.
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
			if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f' || ch >= 'A' && ch <= 'F') {
				return false
			}
		}
	}
	return true
}

// parseRoot checks an endpoint URL and returns it without a trailing slash. Plain http is allowed only
// to loopback addresses (tests, a local proxy): the client secret and tokens never cross a network
// unencrypted.
func parseRoot(v string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("%q is not a URL such as https://graph.microsoft.us", v)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%q must be a plain https:// URL, without user, query or fragment", v)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return "", fmt.Errorf("%q: use https:// (plain http is accepted only for 127.0.0.1, ::1 and localhost)", v)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func loopback(host string) bool {
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}

func checkURL(v string) error {
	_, err := parseRoot(v)
	return err
}

// settings is the adapter's configuration, parsed.
type settings struct {
	cloud     cloud
	tenant    string
	clientID  string
	secret    string
	graphRoot string // without trailing slash; requests go to <graphRoot>/v1.0/...
	tokenURL  string
	scope     string
	caFile    string
	proxy     string
	timeout   time.Duration
	pageSize  int
}

func parseSettings(cfg directory.Config) (settings, error) {
	v := cfg.Values
	str := func(name string) string { return strings.TrimSpace(v.String(name)) }
	var errs directory.ConfigErrors
	bad := func(name, reason string) {
		errs = append(errs, &directory.ConfigError{Key: "entra." + name, Reason: reason})
	}
	s := settings{
		tenant:   str(optTenant),
		clientID: str(optApplicationID),
		secret:   v.String(optKey),
		caFile:   cmp.Or(cfg.Path(optCAFile), cfg.CAFile),
		proxy:    cmp.Or(str(optProxy), cfg.Proxy),
		timeout:  DefaultTimeout,
		pageSize: DefaultPageSize,
	}

	auth := str(optIdentityAuthority)
	if auth == "" {
		auth = DefaultAuthority
	}
	i := slices.IndexFunc(clouds, func(c cloud) bool { return strings.EqualFold(c.authority, auth) })
	if i < 0 {
		bad(optIdentityAuthority, fmt.Sprintf("%q is not one of: %s", auth, strings.Join(authorities(), ", ")))
		i = 0
	}
	s.cloud = clouds[i]

	switch {
	case s.tenant == "":
		bad(optTenant, "is required (the directory (tenant) ID or a domain such as company.onmicrosoft.com)")
	case checkTenant(s.tenant) != nil:
		bad(optTenant, checkTenant(s.tenant).Error())
	}
	switch {
	case s.clientID == "":
		bad(optApplicationID, "is required (the Application (client) ID of the app registration)")
	case !isGUID(s.clientID):
		bad(optApplicationID, checkGUID(s.clientID).Error())
	}
	if strings.TrimSpace(s.secret) == "" {
		bad(optKey, "is required (a client secret Value of the app registration; set it with dirconn config set entra.key)")
	}

	s.graphRoot = s.cloud.graph
	if g := str(optGraphURL); g != "" {
		root, err := parseRoot(g)
		if err != nil {
			bad(optGraphURL, err.Error())
		} else {
			// A root given with the API version still means the root.
			s.graphRoot = strings.TrimSuffix(strings.TrimSuffix(root, "/v1.0"), "/beta")
		}
	}
	s.scope = s.cloud.graph + "/.default"
	if u, err := url.Parse(s.graphRoot); err == nil && slices.Contains(graphHosts, strings.ToLower(u.Hostname())) {
		s.scope = "https://" + strings.ToLower(u.Hostname()) + "/.default"
	}
	authority := "https://" + s.cloud.authority
	if a := str(optAuthorityURL); a != "" {
		root, err := parseRoot(a)
		if err != nil {
			bad(optAuthorityURL, err.Error())
		} else {
			authority = root
		}
	}
	s.tokenURL = authority + "/" + url.PathEscape(s.tenant) + "/oauth2/v2.0/token"

	if t := str(optTimeout); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 {
			bad(optTimeout, fmt.Sprintf("%q is not a duration above 0 (e.g. 60s)", t))
		} else {
			s.timeout = d
		}
	}
	if p := str(optPageSize); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > MaxPageSize {
			bad(optPageSize, fmt.Sprintf("%q is not a whole number from 0 to %d", p, MaxPageSize))
		} else {
			s.pageSize = n
		}
	}
	if s.proxy != "" {
		if err := directory.CheckProxyURL(s.proxy); err != nil {
			bad(optProxy, err.Error())
		}
	}
	if len(errs) > 0 {
		return settings{}, errs
	}
	return s, nil
}

// New builds a Source from the adapter's settings (defaults applied, the key resolved). It does no I/O:
// the CA file and the proxy are read, and the first token fetched, by Fetch.
func New(cfg directory.Config) (directory.Source, error) {
	return newSource(cfg, httpx.Policy{})
}

func newSource(cfg directory.Config, policy httpx.Policy) (*Source, error) {
	s, err := parseSettings(cfg)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("directory", "entra")
	ua := "dirconn"
	if cfg.Version != "" {
		ua += "/" + cfg.Version
	}
	if policy.MaxAttempts == 0 {
		policy.MaxAttempts = 8
	}
	if policy.MaxWait == 0 {
		policy.MaxWait = 5 * time.Minute
	}
	if policy.OnRetry == nil {
		policy.OnRetry = func(attempt int, wait time.Duration, err error) {
			log.Info("entra: Graph asked to wait or failed; retrying", "attempt", attempt, "wait", wait, "err", describeRetry(err))
		}
	}
	return &Source{s: s, log: log, userAgent: ua, policy: policy, concurrency: defaultConcurrency}, nil
}
