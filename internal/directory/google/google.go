// Package google is the directory adapter for Google Workspace, over the Admin SDK Directory API
// (google.golang.org/api/admin/directory/v1) with a service account that impersonates an administrator
// through domain-wide delegation (golang.org/x/oauth2/jwt). It keeps the Directory Connector's settings
// and their names (specs/anchor-dc.md 1.2, specs/directories.md section 3) and its mapping: users from
// users.list (disabled = suspended or archived) plus a second listing with showDeleted=true for deleted
// users, groups from groups.list with their members from members.list (USER, nested GROUP, and CUSTOMER
// members, which stand for every synced user).
//
// What it does better than the Directory Connector:
//
//   - the service account's JSON key file can be named (google.keyFile) instead of copying its fields; the
//     key is read from the file at every run and never stored in config.json;
//   - 403 userRateLimitExceeded, rateLimitExceeded and quotaExceeded, 429 and 5xx answers are retried
//     with capped backoff and a bounded total wait (Retry-After honoured); any listing that cannot finish
//     fails the read, so a short list never removes anyone;
//   - filters that do not parse are refused, and a search query Google rejects is reported as a filter
//     error with Google's message;
//   - errors say what to fix: a missing domain-wide delegation or scope names the client ID and the scopes
//     to authorize, an impersonated user who is not an administrator is named, and so on;
//   - members of a suspended user are kept (the user's own state decides), members are read for several
//     groups at once, and only the fields dirconn uses are asked for;
//   - google.domain may be left empty when google.customer is set, to read every domain of the account.
package google

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/filter"
	"github.com/dirconn/dirconn/internal/httpx"
)

// Option names (keys google.<name>). The names are the Directory Connector's where it has the setting.
const (
	optDomain      = "domain"
	optAdminUser   = "adminUser"
	optCustomer    = "customer"
	optKeyFile     = "keyFile"
	optClientEmail = "clientEmail"
	optPrivateKey  = "privateKey"
	optAPIURL      = "apiUrl"
	optTokenURL    = "tokenUrl"
)

// Google's endpoints, the defaults of google.apiUrl and google.tokenUrl.
const (
	DefaultAPIURL   = "https://admin.googleapis.com/"
	DefaultTokenURL = "https://oauth2.googleapis.com/token"
)

// Scopes are the read-only scopes dirconn asks for, the Directory Connector's three. An admin authorizes
// exactly these for the service account's client ID.
var Scopes = []string{
	"https://www.googleapis.com/auth/admin.directory.user.readonly",
	"https://www.googleapis.com/auth/admin.directory.group.readonly",
	"https://www.googleapis.com/auth/admin.directory.group.member.readonly",
}

// Syntaxes of the user and group filters: the Directory Connector's shared grammar with a Google search
// query after "|".
var (
	userSyntax  = filter.Syntax{Keywords: []string{"include", "exclude"}, Native: true, What: "user filter"}
	groupSyntax = filter.Syntax{Keywords: []string{"include", "exclude"}, Native: true, What: "group filter"}
)

const userFilterHelp = "include:a@company.com,b@company.com or exclude:... (primary emails, any case), optionally " +
	"followed by | and a Google user search query passed to users.list, e.g. " +
	"exclude:joe@company.com | orgUnitPath=/Engineering, or |orgUnitPath='/Sales Team' isSuspended=false. " +
	"A filter that does not parse, and a query Google refuses, stop the sync with the reason."

const groupFilterHelp = "include:Sales,IT or exclude:... (group names, any case), optionally followed by | and " +
	"a Google group search query passed to groups.list, e.g. |name:Engineering*. With an include: or exclude: " +
	"list, only users in the kept groups are synced (deleted users, and disabled ones with sync.removeDisabled, " +
	"are kept so their removal reaches Bitwarden)."

// Adapter returns the Google Workspace adapter's description: its option schema, filter checks and
// constructor.
func Adapter() directory.Adapter {
	return directory.Adapter{
		Name:    "google",
		Title:   "Google Workspace",
		Number:  2,
		Aliases: []string{"gsuite"},
		Options: []directory.Option{
			{Name: optDomain, Label: "Domain", Check: checkDomain,
				Help: "The Workspace domain whose users and groups are read, e.g. company.com. Required unless google.customer is set, which then reads every domain of the account."},
			{Name: optAdminUser, Label: "Admin user", Required: true, Check: checkEmail,
				Help: "The email of a Workspace administrator the service account acts as (domain-wide delegation), e.g. admin@company.com. It needs the right to read users and groups (a super admin, or a role with those privileges)."},
			{Name: optCustomer, Label: "Customer ID", Check: checkCustomer,
				Help: "Your Workspace customer ID (Admin console > Account > Account settings), e.g. C03az79cb, or my_customer. Sent with every listing next to google.domain; empty: only the domain is sent."},
			{Name: optKeyFile, Label: "Service account key file (JSON)", Kind: directory.KindPath,
				Help: "The service account's JSON key as downloaded from the Google Cloud console. Its client_email and private_key are read from the file at every sync (nothing of it is copied into config.json); then google.clientEmail and google.privateKey are not needed. A relative path is resolved against the data directory."},
			{Name: optClientEmail, Label: "Service account email",
				Check: checkEmail,
				Help:  "The service account's email (client_email of its JSON key), e.g. dirconn@project.iam.gserviceaccount.com. Needed with google.privateKey when google.keyFile is not set."},
			{Name: optPrivateKey, Label: "Service account private key", Kind: directory.KindText, Secret: true, Aliases: []string{"key"},
				Help: "The service account's private key (private_key of its JSON key, -----BEGIN PRIVATE KEY----- ...); \\n escapes are turned into line breaks. Kept in the secret store. Not needed when google.keyFile is set."},
			{Name: optAPIURL, Label: "Admin SDK URL", Default: DefaultAPIURL, Advanced: true, Check: checkURL,
				Help: "The root of the Admin SDK API; change it only for a proxy in front of Google (or a test server)."},
			{Name: optTokenURL, Label: "Token URL", Default: DefaultTokenURL, Advanced: true, Check: checkURL,
				Help: "Google's OAuth token endpoint; change it only for a proxy in front of Google (or a test server)."},
		},
		UserFilterHelp:  userFilterHelp,
		GroupFilterHelp: groupFilterHelp,
		CheckFilters:    CheckFilters,
		New:             New,
	}
}

// CheckFilters parses the user and group filters, so a malformed filter is refused when it is set and
// before any read. Errors wrap directory.ErrFilter.
func CheckFilters(f directory.Filters) error {
	_, _, err := parseFilters(f)
	return err
}

func parseFilters(f directory.Filters) (user, group *filter.Filter, err error) {
	var errs []error
	user, err = filter.Parse(f.User, userSyntax)
	if err != nil {
		errs = append(errs, err)
	}
	group, err = filter.Parse(f.Group, groupSyntax)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return user, group, nil
}

var domainPattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$`)

func checkDomain(v string) error {
	if !domainPattern.MatchString(v) {
		return fmt.Errorf("%q is not a domain name such as company.com", v)
	}
	return nil
}

func checkEmail(v string) error {
	local, domain, ok := strings.Cut(v, "@")
	if !ok || local == "" || strings.ContainsAny(v, " \t<>,;") || checkDomain(domain) != nil {
		return fmt.Errorf("%q is not an email address such as admin@company.com", v)
	}
	return nil
}

func checkCustomer(v string) error {
	for _, r := range v {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("%q is not a customer ID such as C03az79cb or my_customer", v)
		}
	}
	return nil
}

func checkURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q is not an http(s) URL such as https://admin.googleapis.com/", v)
	}
	return nil
}

// settings is the adapter's configuration, checked.
type settings struct {
	domain    string
	adminUser string
	customer  string
	// keyFile, when set, is where the credentials come from (read at every Fetch).
	keyFile string
	// clientEmail and privateKey are the credentials given directly (without keyFile), or the
	// clientEmail the key file must agree with.
	clientEmail string
	privateKey  []byte
	apiURL      string
	tokenURL    string
}

// Source reads one Google Workspace account. It is safe for concurrent use.
type Source struct {
	s   settings
	log *slog.Logger
	// http configures the HTTP client each Fetch builds (proxy, CA file, user agent).
	http httpx.Options
	// policy is the retry policy of every request (zero: httpx.DefaultPolicy).
	policy httpx.Policy
	// workers is how many groups' members are read at once.
	workers int
}

var _ directory.Source = (*Source)(nil)

// memberWorkers is how many members.list listings run at once: well below Google's concurrency quota.
const memberWorkers = 4

// New builds a Source from the adapter's settings (defaults applied, secrets resolved) and dirconn's
// proxy and CA file settings. It checks the settings together and parses a private key given directly;
// it does no I/O (the key file and the CA file are read by Fetch).
func New(cfg directory.Config) (directory.Source, error) {
	s, err := parseSettings(cfg)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("directory", "google")
	if s.keyFile != "" && len(s.privateKey) > 0 {
		log.Warn("google: both google.keyFile and google.privateKey are set; the key file is used")
		s.privateKey = nil
	}
	ua := "dirconn"
	if cfg.Version != "" {
		ua += "/" + cfg.Version
	}
	ho := httpx.Options{UserAgent: ua, Proxy: cfg.Proxy, CAFile: cfg.CAFile}
	if cfg.CAFile != "" && !filepath.IsAbs(cfg.CAFile) && cfg.BaseDir != "" {
		ho.CAFile = filepath.Join(cfg.BaseDir, cfg.CAFile)
	}
	return &Source{s: s, log: log, http: ho, workers: memberWorkers}, nil
}

func parseSettings(cfg directory.Config) (settings, error) {
	v := cfg.Values
	str := func(name string) string { return strings.TrimSpace(v.String(name)) }
	var errs directory.ConfigErrors
	bad := func(name, reason string) {
		errs = append(errs, &directory.ConfigError{Key: "google." + name, Reason: reason})
	}
	s := settings{
		domain:      strings.ToLower(str(optDomain)),
		adminUser:   str(optAdminUser),
		customer:    str(optCustomer),
		keyFile:     cfg.Path(optKeyFile),
		clientEmail: str(optClientEmail),
		apiURL:      str(optAPIURL),
		tokenURL:    str(optTokenURL),
	}
	switch {
	case s.domain == "" && s.customer == "":
		bad(optDomain, "is required (the Workspace domain, e.g. company.com; or set google.customer to read every domain of the account)")
	case s.domain != "" && checkDomain(s.domain) != nil:
		bad(optDomain, checkDomain(s.domain).Error())
	}
	if s.customer != "" && checkCustomer(s.customer) != nil {
		bad(optCustomer, checkCustomer(s.customer).Error())
	}
	switch {
	case s.adminUser == "":
		bad(optAdminUser, "is required (the email of the administrator the service account acts as, e.g. admin@company.com)")
	case checkEmail(s.adminUser) != nil:
		bad(optAdminUser, checkEmail(s.adminUser).Error())
	}
	if s.clientEmail != "" && checkEmail(s.clientEmail) != nil {
		bad(optClientEmail, checkEmail(s.clientEmail).Error())
	}
	if s.keyFile == "" {
		if s.clientEmail == "" {
			bad(optClientEmail, "is required when google.keyFile is not set (the service account's email, client_email in its JSON key); or set google.keyFile")
		}
		pk := normalizeKey(v.String(optPrivateKey))
		switch {
		case pk == "":
			bad(optPrivateKey, "is required when google.keyFile is not set (private_key of the service account's JSON key; set it with dirconn config set google.privateKey --from-file or --from-env); or set google.keyFile")
		default:
			if err := checkPrivateKey([]byte(pk)); err != nil {
				bad(optPrivateKey, err.Error())
			} else {
				s.privateKey = []byte(pk)
			}
		}
	} else if pk := normalizeKey(v.String(optPrivateKey)); pk != "" {
		s.privateKey = []byte(pk)
	}
	if s.apiURL == "" {
		s.apiURL = DefaultAPIURL
	}
	if s.tokenURL == "" {
		s.tokenURL = DefaultTokenURL
	}
	for _, x := range []struct{ name, value string }{{optAPIURL, s.apiURL}, {optTokenURL, s.tokenURL}} {
		if err := checkURL(x.value); err != nil {
			bad(x.name, err.Error())
		}
	}
	if !strings.HasSuffix(s.apiURL, "/") {
		s.apiURL += "/"
	}
	if len(errs) > 0 {
		return settings{}, errs
	}
	return s, nil
}

// normalizeKey turns a private key as pasted or stored into PEM text: literal \n escapes (the JSON key's
// form, and the Directory Connector's) become line breaks, CRLF becomes LF, and quotes around a value
// copied from the JSON file are dropped.
func normalizeKey(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	s = strings.ReplaceAll(s, `\r\n`, "\n")
	s = strings.ReplaceAll(s, `\n`, "\n")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	return s + "\n"
}

// checkPrivateKey reports whether key is a PEM RSA private key (PKCS #8, as Google issues them, or
// PKCS #1). Its errors never quote the key.
func checkPrivateKey(key []byte) error {
	const what = "is not a service account private key: give the private_key value of the JSON key, -----BEGIN PRIVATE KEY----- to -----END PRIVATE KEY----- (or set google.keyFile)"
	block, _ := pem.Decode(key)
	if block == nil {
		return errors.New(what)
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if _, ok := k.(*rsa.PrivateKey); ok {
			return nil
		}
		return errors.New("is not an RSA key; Google service account keys are RSA: download a new JSON key")
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return nil
	}
	return errors.New(what)
}
