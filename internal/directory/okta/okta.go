// Package okta is the directory adapter for Okta, read through the Okta Management API with an API token
// (specs/directories.md section 4). It keeps the Directory Connector's settings (okta.orgUrl, okta.token)
// and its filter syntax, and fixes what that connector gets wrong:
//
//   - rate limits are respected: X-Rate-Limit-Remaining and X-Rate-Limit-Reset are read on every answer
//     and dirconn waits for the window to reset before the limit is hit (keeping okta.rateLimitReserve
//     percent of it for the org's other applications); a 429 (E0000047) is waited out until
//     X-Rate-Limit-Reset instead of aborting the sync;
//   - every listing is paged to its end by following the rel="next" Link exactly as Okta sends it, and
//     any error on any page fails the read, so the engine never sees a short list;
//   - DEPROVISIONED users, which Okta leaves out of listings, are always read with a second, explicit
//     query, so users deactivated in Okta are removed from the organization;
//   - filters that do not parse are errors shown when they are set, not silently ignored;
//   - errors say what to fix: a refused token (E0000011), missing admin rights (E0000006), a filter Okta
//     refused (E0000031), an untrusted TLS certificate (okta.caFile), an unreachable org.
//
// The adapter is a thin net/http client (httpx) rather than github.com/okta/okta-sdk-golang/v2: that
// SDK's NewClient always reads ~/.okta/okta.yaml, a .okta.yaml at the SDK's build-time source path and
// every OKTA_* environment variable (printing "error parsing" to standard output when one is malformed),
// its retry loop retries io.EOF failures without counting them (hundreds of requests a second against a
// server that drops connections, until the context ends), its 429 handling gives up without a Date or
// X-Rate-Limit-Reset header and never slows down on X-Rate-Limit-Remaining, and it rebuilds next-page
// links against the org URL instead of following them.
package okta

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/filter"
	"github.com/dirconn/dirconn/internal/httpx"
)

// Option names (keys okta.<name>). orgUrl and token are the Directory Connector's names.
const (
	optOrgURL           = "orgUrl"
	optToken            = "token"
	optCAFile           = "caFile"
	optTimeout          = "timeout"
	optRateLimitReserve = "rateLimitReserve"
)

// Defaults.
const (
	// DefaultTimeout bounds one HTTP request.
	DefaultTimeout = 60 * time.Second
	// DefaultRateLimitReserve is the share of each rate limit, in percent, dirconn leaves to the org's
	// other API clients.
	DefaultRateLimitReserve = 10
	// usersPageSize is the users page size asked for: Okta's maximum (and default) for /api/v1/users.
	usersPageSize = 200
)

const userFilterHelp = "include:<emails> or exclude:<emails> (comma-separated, any case), then optionally | and an " +
	"Okta filter expression, sent to Okta as the filter parameter of /api/v1/users. Okta documents filter for " +
	"status, lastUpdated, id, profile.login, profile.email, profile.firstName and profile.lastName, compared with " +
	"eq (lastUpdated also with gt, ge, lt, le) and joined with and/or; values in double quotes. " +
	"Examples: exclude:joe@company.com | profile.firstName eq \"John\"; include:ann@company.com,bob@company.com; " +
	"| status eq \"ACTIVE\". Deactivated (DEPROVISIONED) users are always read too, so they are removed."

const groupFilterHelp = "include:<group names> or exclude:<group names> (comma-separated, any case), then optionally " +
	"| and an Okta filter expression for /api/v1/groups (type, id, lastUpdated, lastMembershipUpdated). " +
	"Examples: include:Sales,IT | type eq \"OKTA_GROUP\"; exclude:Everyone; | type eq \"APP_GROUP\". " +
	"With an include:/exclude: list, users who are in none of the kept groups are not synced."

// Adapter returns the Okta adapter's description: its option schema, filter checks and constructor.
func Adapter() directory.Adapter {
	return directory.Adapter{
		Name:   "okta",
		Title:  "Okta",
		Number: 3,
		Options: []directory.Option{
			{Name: optOrgURL, Label: "Organization URL", Required: true, Check: checkOrgURL,
				Help: "Your Okta organization's URL, e.g. https://company.okta.com (https:// is added when missing; not the -admin URL of the admin console). API calls go to <URL>/api/v1/."},
			{Name: optToken, Label: "API token", Secret: true, Required: true,
				Help: "An Okta API token (Security > API > Tokens > Create token); it acts with the rights of the admin who created it, and a Read-Only Administrator is enough. Kept in the secret store."},
			{Name: optCAFile, Label: "Extra CA certificates", Kind: directory.KindPath, Advanced: true,
				Help: "A PEM file of CA certificates trusted in addition to the system's, for a TLS-inspecting proxy between dirconn and Okta. Empty: dirconn's caFile setting. The proxy is dirconn's proxy setting, else HTTPS_PROXY and NO_PROXY."},
			{Name: optTimeout, Label: "Request timeout", Kind: directory.KindDuration, Default: DefaultTimeout.String(), Advanced: true,
				Check: directory.CheckPositiveDuration,
				Help:  "How long one HTTP request to Okta may take, e.g. 60s. Waits for rate limits come on top."},
			{Name: optRateLimitReserve, Label: "Rate limit left to other apps (%)", Kind: directory.KindInt,
				Default: strconv.Itoa(DefaultRateLimitReserve), Min: 0, Max: 90, Advanced: true,
				Help: "Okta's API rate limits are shared by every application of the org. When less than this share of an endpoint's per-minute limit is left (X-Rate-Limit-Remaining), dirconn waits for the limit to reset (X-Rate-Limit-Reset) before its next request. 0 uses the limit to its end."},
		},
		UserFilterHelp:  userFilterHelp,
		GroupFilterHelp: groupFilterHelp,
		CheckFilters:    CheckFilters,
		New:             New,
	}
}

var (
	userSyntax  = filter.Syntax{Keywords: []string{"include", "exclude"}, Native: true, What: "user filter"}
	groupSyntax = filter.Syntax{Keywords: []string{"include", "exclude"}, Native: true, What: "group filter"}
)

// CheckFilters parses the user and group filters: the include:/exclude: set and the syntax of the Okta
// expression after "|". Whether Okta accepts the expression's attributes is known only when it answers.
// Errors wrap directory.ErrFilter.
func CheckFilters(f directory.Filters) error {
	_, _, err := parseFilters(f)
	return err
}

func parseFilters(f directory.Filters) (user, group *filter.Filter, err error) {
	var errs []error
	for _, x := range []struct {
		text string
		syn  filter.Syntax
		out  **filter.Filter
	}{{f.User, userSyntax, &user}, {f.Group, groupSyntax, &group}} {
		p, err := filter.Parse(x.text, x.syn)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if p.Native != "" {
			if err := checkExpr(p.Native); err != nil {
				errs = append(errs, fmt.Errorf("%w: %s: Okta expression %q: %v", directory.ErrFilter, x.syn.What, p.Native, err))
				continue
			}
		}
		*x.out = p
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return user, group, nil
}

// normalizeOrgURL turns an okta.orgUrl value into the URL API paths are appended to: https, a host, no
// query, no trailing slash.
func normalizeOrgURL(v string) (*url.URL, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, errors.New("is empty")
	}
	if !strings.Contains(v, "://") {
		v = "https://" + v
	}
	u, err := url.Parse(v)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL", v)
	}
	switch {
	case !strings.EqualFold(u.Scheme, "https"):
		return nil, fmt.Errorf("%q must start with https:// (Okta serves its API over https only)", v)
	case u.Hostname() == "":
		return nil, fmt.Errorf("%q has no host name", v)
	case u.User != nil:
		return nil, fmt.Errorf("%s must not hold a user name or password (the API token is okta.token)", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("%q must not have a query or fragment; give the organization URL only, e.g. https://company.okta.com", v)
	}
	host := strings.ToLower(u.Hostname())
	for _, admin := range []string{"-admin.okta.com", "-admin.oktapreview.com", "-admin.okta-emea.com", "-admin.okta-gov.com"} {
		if strings.HasSuffix(host, admin) {
			return nil, fmt.Errorf("%q is the admin console's address: use the organization URL without -admin, e.g. https://%s%s",
				v, strings.TrimSuffix(host, admin), strings.TrimPrefix(admin, "-admin"))
		}
	}
	u.Scheme = "https"
	u.Host = strings.ToLower(u.Host)
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

func checkOrgURL(v string) error {
	_, err := normalizeOrgURL(v)
	return err
}

// settings is the adapter's configuration, parsed.
type settings struct {
	orgURL    *url.URL
	token     string
	caFile    string
	proxy     string
	timeout   time.Duration
	reserve   int // percent of each rate limit left to other clients
	userAgent string
}

func parseSettings(cfg directory.Config) (settings, error) {
	v := cfg.Values
	var errs directory.ConfigErrors
	bad := func(name, reason string) {
		errs = append(errs, &directory.ConfigError{Key: "okta." + name, Reason: reason})
	}
	s := settings{
		token:     strings.TrimSpace(v.String(optToken)),
		caFile:    cmp.Or(cfg.Path(optCAFile), cfg.CAFile),
		proxy:     cfg.Proxy,
		timeout:   DefaultTimeout,
		reserve:   DefaultRateLimitReserve,
		userAgent: "dirconn",
	}
	if cfg.Version != "" {
		s.userAgent += "/" + cfg.Version
	}
	if strings.TrimSpace(v.String(optOrgURL)) == "" {
		bad(optOrgURL, "is required (your Okta organization's URL, e.g. https://company.okta.com)")
	} else if u, err := normalizeOrgURL(v.String(optOrgURL)); err != nil {
		bad(optOrgURL, err.Error())
	} else {
		s.orgURL = u
	}
	if s.token == "" {
		bad(optToken, "is required (an Okta API token; set it with dirconn config set okta.token)")
	} else if strings.ContainsAny(s.token, " \t\r\n") {
		bad(optToken, "holds spaces or line breaks: paste the token alone, without \"SSWS \"")
	}
	if t := strings.TrimSpace(v.String(optTimeout)); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 {
			bad(optTimeout, fmt.Sprintf("%q is not a duration above 0 (e.g. 60s)", t))
		} else {
			s.timeout = d
		}
	}
	if r := strings.TrimSpace(v.String(optRateLimitReserve)); r != "" {
		n, err := strconv.Atoi(r)
		if err != nil || n < 0 || n > 90 {
			bad(optRateLimitReserve, fmt.Sprintf("%q is not a whole number from 0 to 90", r))
		} else {
			s.reserve = n
		}
	}
	if len(errs) > 0 {
		return settings{}, errs
	}
	return s, nil
}

// Source reads one Okta organization. It is safe for concurrent use; the rate-limit state it learns from
// Okta's answers is shared by all its reads.
type Source struct {
	s      settings
	log    *slog.Logger
	limits *rateLimits
	// policy is the retry policy of every request (zero: httpx's default); tests give it a fake clock.
	policy httpx.Policy
}

var _ directory.Source = (*Source)(nil)

// New builds a Source from the adapter's settings (defaults applied, token resolved). It does no I/O: the
// CA file is read by each Fetch.
func New(cfg directory.Config) (directory.Source, error) {
	return newSource(cfg)
}

func newSource(cfg directory.Config) (*Source, error) {
	s, err := parseSettings(cfg)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Source{s: s, log: log.With("directory", "okta"), limits: newRateLimits()}, nil
}
