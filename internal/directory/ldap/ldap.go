// Package ldap is the directory adapter for Active Directory and any other LDAP directory (OpenLDAP, 389
// Directory Server, FreeIPA, ...). It keeps the Directory Connector's settings and their names
// (specs/anchor-dc.md 1.2, specs/directories.md section 1) and fixes what that connector gets wrong:
//
//   - AD groups with more members than the server returns at once are read in full: member;range=...
//     is walked until the last range, and a walk that cannot finish marks the read incomplete;
//   - searches are paged with the RFC 2696 control (ldap.pagedSearch, on by default) by a loop of our own
//     that turns each entry into a directory.User or directory.Group as it arrives, asking only for the
//     attributes it uses, so memory grows with the directory's users and memberships, never with its raw
//     entries (50,000 users and 1,000 groups: about 75 MiB of heap at the peak);
//   - on AD every search carries the Domain Scope control, so a search at the domain root is not answered
//     with continuation references to the configuration and DNS partitions;
//   - a page that fails is an error; a size or time limit, a referral not followed, a range walk or a
//     deleted-objects read that cannot finish mark the snapshot incomplete, so the engine removes nobody;
//   - outside AD, a rename-safe attribute (entryUUID, nsUniqueId, ipaUniqueID) can replace the DN as the
//     externalId (ldap.externalIdAttribute);
//   - member values are matched to entries by normalized DN (case, escaping and spacing do not matter);
//   - failover hosts, connection and search timeouts, and errors that name their cause: unreachable, which
//     TLS check failed, wrong credentials (with AD's reason), a search base that does not exist.
package ldap

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirconn/dirconn/internal/directory"
)

// Option names (keys ldap.<name>). The names are the Directory Connector's where it has the setting.
const (
	optHostname             = "hostname"
	optPort                 = "port"
	optSSL                  = "ssl"
	optStartTLS             = "startTls"
	optTLSCaPath            = "tlsCaPath"
	optSSLCaPath            = "sslCaPath"
	optSSLCertPath          = "sslCertPath"
	optSSLKeyPath           = "sslKeyPath"
	optSSLAllowUnauthorized = "sslAllowUnauthorized"
	optFailoverHosts        = "failoverHosts"
	optTimeout              = "timeout"
	optSearchTimeLimit      = "searchTimeLimit"
	optUsername             = "username"
	optPassword             = "password"
	optRootPath             = "rootPath"
	optAD                   = "ad"
	optPagedSearch          = "pagedSearch"
	optPageSize             = "pageSize"
	optRangeSize            = "rangeSize"
	optExternalIDAttribute  = "externalIdAttribute"
	optIncludeDeleted       = "includeDeleted"
	optUserPath             = "userPath"
	optGroupPath            = "groupPath"
	optUserObjectClass      = "userObjectClass"
	optGroupObjectClass     = "groupObjectClass"
	optUserEmailAttribute   = "userEmailAttribute"
	optGroupNameAttribute   = "groupNameAttribute"
	optMemberAttribute      = "memberAttribute"
	optEmailPrefixAttribute = "emailPrefixAttribute"
)

// Defaults.
const (
	DefaultPort            = 389
	DefaultLDAPSPort       = 636
	DefaultPageSize        = 500
	DefaultRangeSize       = 1500
	DefaultTimeout         = 30 * time.Second
	DefaultSearchTimeLimit = 300 * time.Second
)

// adDefaults are the values the Directory Connector forces when ldap.ad is on (specs/anchor-dc.md 1.1);
// dirconn applies them only to settings the admin left empty.
var adDefaults = map[string]string{
	optUserObjectClass:      "person",
	optGroupObjectClass:     "group",
	optUserEmailAttribute:   "mail",
	optGroupNameAttribute:   "name",
	optMemberAttribute:      "member",
	optEmailPrefixAttribute: "sAMAccountName",
	optUserPath:             "CN=Users",
	optGroupPath:            "CN=Users",
}

// ldapDefaults are the defaults outside AD. groupObjectClass follows memberAttribute (see
// defaultGroupClass).
var ldapDefaults = map[string]string{
	optUserObjectClass:      "person",
	optUserEmailAttribute:   "mail",
	optGroupNameAttribute:   "cn",
	optMemberAttribute:      "member",
	optEmailPrefixAttribute: "uid",
}

// defaultGroupClass is the group object class outside AD when the admin set none: the class that holds
// the member attribute in use.
func defaultGroupClass(memberAttr string) string {
	switch strings.ToLower(memberAttr) {
	case "uniquemember":
		return "groupOfUniqueNames"
	case "memberuid":
		return "posixGroup"
	}
	return "groupOfNames"
}

const filterHelp = "A raw LDAP filter (RFC 4515), ANDed with the object class: (&(objectClass=<class>)<filter>). " +
	"Several filters in a row are ANDed too. Examples: (&(givenName=John)(|(l=Dallas)(l=Austin))); " +
	"AD enabled users only: (!(userAccountControl:1.2.840.113556.1.4.803:=2)); " +
	"AD direct members of a group: (memberOf=CN=Heroes,OU=Groups,DC=company,DC=com); " +
	"AD nested members: (memberOf:1.2.840.113556.1.4.1941:=CN=Heroes,OU=Groups,DC=company,DC=com); " +
	"groups: (&(!(cn=Sales*))(!(cn=IT*)))."

// Adapter returns the LDAP/AD adapter's description: its option schema, filter checks and constructor.
func Adapter() directory.Adapter {
	return directory.Adapter{
		Name:   "ldap",
		Title:  "Active Directory / LDAP",
		Number: 0,
		Options: []directory.Option{
			{Name: optHostname, Label: "Server hostname", Required: true, Check: checkHost,
				Help: "The directory server's host name or IP address, e.g. dc1.company.com. With TLS it must be a name the server certificate holds."},
			{Name: optPort, Label: "Port", Kind: directory.KindInt, Min: 1, Max: 65535,
				Help: "The server's LDAP port. Empty: 389, or 636 when ldap.ssl (LDAPS) is on and ldap.startTls is off."},
			{Name: optSSL, Label: "Use SSL (LDAPS)", Kind: directory.KindBool, Default: "false",
				Help: "Connect with LDAPS (TLS from the first byte, usually port 636). With ldap.startTls also on, StartTLS is used instead, as in the Directory Connector."},
			{Name: optStartTLS, Label: "Use TLS (STARTTLS)", Kind: directory.KindBool, Default: "false",
				Help: "Connect on the plain LDAP port and upgrade the connection with StartTLS before binding."},
			{Name: optTLSCaPath, Label: "CA certificate (StartTLS)", Kind: directory.KindPath,
				Help: "A PEM file with the CA certificate(s) that signed the server certificate, trusted besides the system's CAs. ldap.tlsCaPath and ldap.sslCaPath are the Directory Connector's two names for it; dirconn trusts both files for LDAPS and StartTLS."},
			{Name: optSSLCaPath, Label: "CA certificate (LDAPS)", Kind: directory.KindPath,
				Help: "A PEM file with the CA certificate(s) that signed the server certificate (see ldap.tlsCaPath; either name works)."},
			{Name: optSSLCertPath, Label: "Client certificate", Kind: directory.KindPath,
				Help: "A PEM client certificate for servers that require one (mutual TLS), with ldap.sslKeyPath. Used with LDAPS and StartTLS."},
			{Name: optSSLKeyPath, Label: "Client certificate key", Kind: directory.KindPath,
				Help: "The PEM private key of ldap.sslCertPath."},
			{Name: optSSLAllowUnauthorized, Label: "Do not verify server certificates (not recommended)", Kind: directory.KindBool,
				Default: "false", Advanced: true,
				Help: "Accept any server certificate, so anyone on the network path can read the bind password and the directory. Logged as a warning on every connection. Prefer ldap.tlsCaPath."},
			{Name: optFailoverHosts, Label: "Failover hosts", Kind: directory.KindList, Advanced: true, Check: checkHosts,
				Help: "Other servers of the same directory, host or host:port separated by commas (port default: ldap.port), tried in order when the servers before them cannot be reached. Never tried after a refused bind."},
			{Name: optTimeout, Label: "Timeout", Kind: directory.KindDuration, Default: DefaultTimeout.String(), Advanced: true, Check: directory.CheckPositiveDuration,
				Help: "How long to wait for the connection, the TLS handshake and the bind. Searches wait ldap.searchTimeLimit plus this."},
			{Name: optSearchTimeLimit, Label: "Search time limit", Kind: directory.KindDuration, Default: "5m0s", Advanced: true,
				Help: "The time limit sent with each search (whole seconds; 0: none), 5 minutes as in the Directory Connector. A search the server stops at its limit makes the read incomplete, and no one is removed."},
			{Name: optUsername, Label: "Username", Required: true,
				Help: "The account to bind as (simple bind): a DN such as cn=admin,dc=company,dc=com, or on Active Directory also company\\admin or admin@company.com."},
			{Name: optPassword, Label: "Password", Secret: true, Required: true,
				Help: "The bind account's password; kept in the secret store."},
			{Name: optRootPath, Label: "Root path", Required: true,
				Help: "The base DN of the directory, e.g. dc=company,dc=com. Searches start at <path>,<root path> (see ldap.userPath); unlike the Directory Connector, dirconn keeps the part of the root path before dc= (ou=Corp,dc=company,dc=com stays as it is)."},
			{Name: optAD, Label: "This server uses Active Directory", Kind: directory.KindBool, Default: "true",
				Help: "Active Directory mode: externalIds from objectGUID, disabled users from userAccountControl, ranged member retrieval, deleted users (ldap.includeDeleted), and AD defaults for the search settings the admin left empty."},
			{Name: optPagedSearch, Label: "This server pages search results", Kind: directory.KindBool, Default: "true",
				Help: "Read with the paged-results control (RFC 2696). Off: one unpaged search per read, which a server size limit (AD: 1000 entries) cuts short; such a read is reported incomplete and no one is removed."},
			{Name: optPageSize, Label: "Page size", Kind: directory.KindInt, Default: strconv.Itoa(DefaultPageSize), Min: 1, Max: 100000, Advanced: true,
				Help: "Entries per page of a paged search. At most the server's limit (AD MaxPageSize: 1000)."},
			{Name: optRangeSize, Label: "Member range size", Kind: directory.KindInt, Default: strconv.Itoa(DefaultRangeSize), Min: 0, Max: 1000000, Advanced: true,
				Help: "Active Directory: member values asked for per request (member;range=0-1499, then 1500-2999, ...) until the last range, so groups of any size are read in full. 1500 is AD's MaxValRange; 0 asks for the plain attribute and follows only the ranges the server imposes."},
			{Name: optExternalIDAttribute, Label: "externalId attribute", Advanced: true, Check: checkAttribute,
				Help: "The attribute whose value identifies users and groups in Bitwarden. Empty: objectGUID (as a GUID string) on Active Directory, the DN elsewhere, as in the Directory Connector. A DN changes when an entry is renamed or moved, which removes and re-invites the user; entryUUID (OpenLDAP), nsUniqueId (389 DS) or ipaUniqueID (FreeIPA) do not. Changing it changes every externalId: existing members are matched again by email."},
			{Name: optIncludeDeleted, Label: "Read deleted users", Kind: directory.KindBool, Default: "false",
				Help: "Active Directory: also read deleted users from CN=Deleted Objects (Show Deleted control), so they are removed even if the sync cache was lost. The bind account needs the right to list deleted objects (e.g. a member of Administrators); if the read fails, the read is reported incomplete and no one is removed."},
			{Name: optUserPath, Label: "User path",
				Help: "Where users are searched, relative to ldap.rootPath (e.g. ou=People), or a full DN that ends with the root path. Empty: the root path, or CN=Users on Active Directory (the Directory Connector's default); to search a whole AD root path, set the root path itself here. Also settable as sync.userPath."},
			{Name: optGroupPath, Label: "Group path",
				Help: "Where groups are searched, relative to ldap.rootPath (e.g. ou=Groups), or a full DN that ends with the root path. Empty: the root path, or CN=Users on Active Directory (the Directory Connector's default); to search a whole AD root path, set the root path itself here. Also settable as sync.groupPath."},
			{Name: optUserObjectClass, Label: "User object class", Check: checkAttribute,
				Help: "The object class of users. Default: person (on Active Directory and elsewhere; inetOrgPerson entries are persons too)."},
			{Name: optGroupObjectClass, Label: "Group object class", Check: checkAttribute,
				Help: "The object class of groups. Default: group on Active Directory; elsewhere groupOfNames, or groupOfUniqueNames when ldap.memberAttribute is uniqueMember, posixGroup when it is memberUid."},
			{Name: optUserEmailAttribute, Label: "User email attribute", Check: checkAttribute,
				Help: "The attribute that holds a user's email address. Default: mail."},
			{Name: optGroupNameAttribute, Label: "Group name attribute", Check: checkAttribute,
				Help: "The attribute that holds a group's name (cn is used when it is missing). Default: name on Active Directory, cn elsewhere."},
			{Name: optMemberAttribute, Label: "Member attribute", Check: checkAttribute,
				Help: "The group attribute that lists members: member or uniqueMember (DNs of users and nested groups) or memberUid (user names, matched to the users' uid). Default: member."},
			{Name: optEmailPrefixAttribute, Label: "Email prefix attribute", Check: checkAttribute,
				Help: "The user attribute combined with sync.emailSuffix for users without an email when sync.useEmailPrefixSuffix is on. Default: sAMAccountName on Active Directory, uid elsewhere."},
		},
		UserFilterHelp:  filterHelp,
		GroupFilterHelp: filterHelp,
		CheckFilters:    CheckFilters,
		New:             New,
	}
}

// CheckFilters compiles the user and group filters as the adapter will send them, so a malformed filter
// is refused when it is set and before any search. Errors wrap directory.ErrFilter.
func CheckFilters(f directory.Filters) error {
	var errs []error
	for _, x := range []struct{ what, filter string }{{"user", f.User}, {"group", f.Group}} {
		if err := checkFilter(x.filter); err != nil {
			errs = append(errs, fmt.Errorf("%w: %s filter: %v", directory.ErrFilter, x.what, err))
		}
	}
	return errors.Join(errs...)
}

func checkFilter(filter string) error {
	filter = strings.TrimSpace(filter)
	if filter == "" {
		return nil
	}
	if !strings.HasPrefix(filter, "(") {
		return fmt.Errorf("%q does not start with \"(\": write LDAP filters in parentheses, e.g. (givenName=John)", filter)
	}
	if _, err := goldap.CompileFilter("(&" + filter + ")"); err != nil {
		msg := err.Error()
		var le *goldap.Error
		if errors.As(err, &le) && le.Err != nil {
			msg = le.Err.Error()
		}
		return fmt.Errorf("%q is not a valid LDAP filter: %s", filter, strings.TrimPrefix(msg, "ldap: "))
	}
	return nil
}

// buildFilter returns (&(objectClass=<class>)<filter>).
func buildFilter(class, filter string) string {
	return "(&(objectClass=" + goldap.EscapeFilter(class) + ")" + strings.TrimSpace(filter) + ")"
}

func checkHost(v string) error {
	if strings.Contains(v, "://") || strings.ContainsAny(v, "/ ") {
		return fmt.Errorf("%q is not a host name: give the name only, e.g. dc1.company.com (use ldap.ssl and ldap.port for the scheme and port)", v)
	}
	return nil
}

func checkHosts(v string) error {
	for _, h := range strings.Split(v, ",") {
		if h = strings.TrimSpace(h); h == "" {
			continue
		}
		if _, _, err := splitHostPort(h, DefaultPort); err != nil {
			return err
		}
	}
	return nil
}

func checkAttribute(v string) error {
	for _, r := range v {
		if !(r == '-' || r == '.' || r == ';' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("%q is not an LDAP attribute or object class name", v)
		}
	}
	return nil
}

// splitHostPort parses host or host:port ([v6]:port), with def as the port when none is given.
func splitHostPort(s string, def int) (string, int, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "://") || strings.ContainsAny(s, "/ ") || s == "" {
		return "", 0, fmt.Errorf("%q is not host or host:port", s)
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port (or a bare IPv6 address).
		return strings.Trim(s, "[]"), def, nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || host == "" {
		return "", 0, fmt.Errorf("%q is not host or host:port", s)
	}
	return host, n, nil
}

// settings is the adapter's configuration, parsed and with the defaults of its mode applied.
type settings struct {
	hosts    []hostPort // ldap.hostname:port first, then the failover hosts
	ldaps    bool       // TLS from the first byte
	startTLS bool
	caPaths  []string
	certPath string
	keyPath  string
	insecure bool // sslAllowUnauthorized

	timeout   time.Duration
	timeLimit time.Duration // server-side search time limit; 0: none

	username string
	password string

	rootPath       string
	ad             bool
	paged          bool
	pageSize       int
	rangeSize      int
	externalIDAttr string // "" = objectGUID (AD) or DN
	includeDeleted bool

	userBase, groupBase string
	// userBaseKey and groupBaseKey name the settings a search base comes from, for messages.
	userBaseKey, groupBaseKey string

	userClass, groupClass string
	emailAttr             string
	groupNameAttr         string
	memberAttr            string
	prefixAttr            string
}

type hostPort struct {
	host string
	port int
}

func (h hostPort) String() string { return net.JoinHostPort(h.host, strconv.Itoa(h.port)) }

// Source reads one LDAP directory. Each Fetch opens its own connection, so a Source is safe for
// concurrent use.
type Source struct {
	s   settings
	log *slog.Logger
	// hookPage, when set, is called after every page of every search (tests break servers mid-read).
	hookPage func(what string, page int)
}

var _ directory.Source = (*Source)(nil)

// New builds a Source from the adapter's settings (defaults applied, password resolved). It checks the
// settings together and applies the defaults of the mode (AD or not) to those left empty; it does no I/O.
func New(cfg directory.Config) (directory.Source, error) {
	s, err := parseSettings(cfg)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("directory", "ldap")
	if (s.certPath != "" || len(s.caPaths) > 0 || s.insecure) && !s.ldaps && !s.startTLS {
		// Not an error (the Directory Connector keeps such settings around), but they do nothing.
		log.Warn("ldap: TLS settings are set but neither ldap.ssl nor ldap.startTls is on: the connection is not encrypted")
	}
	return &Source{s: s, log: log}, nil
}

func parseSettings(cfg directory.Config) (settings, error) {
	v := cfg.Values
	str := func(name string) string { return strings.TrimSpace(v.String(name)) }
	boolean := func(name string, def bool) bool {
		if str(name) == "" {
			return def
		}
		return v.Bool(name)
	}
	var errs directory.ConfigErrors
	bad := func(name, reason string) {
		errs = append(errs, &directory.ConfigError{Key: "ldap." + name, Reason: reason})
	}

	s := settings{
		ldaps:          boolean(optSSL, false) && !boolean(optStartTLS, false),
		startTLS:       boolean(optStartTLS, false),
		insecure:       boolean(optSSLAllowUnauthorized, false),
		username:       str(optUsername),
		password:       v.String(optPassword),
		rootPath:       str(optRootPath),
		ad:             boolean(optAD, true),
		paged:          boolean(optPagedSearch, true),
		externalIDAttr: str(optExternalIDAttribute),
		includeDeleted: boolean(optIncludeDeleted, false),
		certPath:       cfg.Path(optSSLCertPath),
		keyPath:        cfg.Path(optSSLKeyPath),
	}
	for _, name := range []string{optTLSCaPath, optSSLCaPath} {
		if p := cfg.Path(name); p != "" && !contains(s.caPaths, p) {
			s.caPaths = append(s.caPaths, p)
		}
	}
	if (s.certPath == "") != (s.keyPath == "") {
		bad(optSSLKeyPath, "ldap.sslCertPath and ldap.sslKeyPath go together: set both or neither")
	}

	defPort := DefaultPort
	if s.ldaps {
		defPort = DefaultLDAPSPort
	}
	port := defPort
	if p := str(optPort); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			bad(optPort, fmt.Sprintf("%q is not a port (1 to 65535)", p))
		}
		port = n
	}
	host := str(optHostname)
	switch {
	case host == "":
		bad(optHostname, "is required (the directory server's host name, e.g. dc1.company.com)")
	case checkHost(host) != nil:
		bad(optHostname, checkHost(host).Error())
	default:
		s.hosts = append(s.hosts, hostPort{strings.Trim(host, "[]"), port})
	}
	for _, h := range v.List(optFailoverHosts) {
		hn, hp, err := splitHostPort(h, port)
		if err != nil {
			bad(optFailoverHosts, err.Error())
			continue
		}
		s.hosts = append(s.hosts, hostPort{hn, hp})
	}

	s.timeout = DefaultTimeout
	if str(optTimeout) != "" {
		s.timeout = v.Duration(optTimeout)
		if s.timeout <= 0 {
			bad(optTimeout, fmt.Sprintf("%q is not a duration above 0 (e.g. 30s)", str(optTimeout)))
		}
	}
	s.timeLimit = DefaultSearchTimeLimit
	if str(optSearchTimeLimit) != "" {
		d, err := time.ParseDuration(str(optSearchTimeLimit))
		if err != nil || d < 0 {
			bad(optSearchTimeLimit, fmt.Sprintf("%q is not a duration (e.g. 5m; 0 for none)", str(optSearchTimeLimit)))
		}
		s.timeLimit = d
	}
	intOpt := func(name string, def, lo, hi int) int {
		if str(name) == "" {
			return def
		}
		n, err := strconv.Atoi(str(name))
		if err != nil || n < lo || n > hi {
			bad(name, fmt.Sprintf("%q is not a whole number from %d to %d", str(name), lo, hi))
			return def
		}
		return n
	}
	s.pageSize = intOpt(optPageSize, DefaultPageSize, 1, 100000)
	s.rangeSize = intOpt(optRangeSize, DefaultRangeSize, 0, 1000000)

	if s.username == "" {
		bad(optUsername, "is required (the account to bind as, e.g. cn=admin,dc=company,dc=com or company\\admin)")
	}
	if s.password == "" {
		bad(optPassword, "is required (set it with dirconn config set ldap.password)")
	}
	rootOK := false
	if s.rootPath == "" {
		bad(optRootPath, "is required (the base DN of the directory, e.g. dc=company,dc=com)")
	} else if _, err := goldap.ParseDN(s.rootPath); err != nil {
		bad(optRootPath, fmt.Sprintf("%q is not a DN: %v", s.rootPath, err))
	} else {
		rootOK = true
	}

	attr := func(name string) string {
		if x := str(name); x != "" {
			return x
		}
		if s.ad {
			return adDefaults[name]
		}
		return ldapDefaults[name]
	}
	s.userClass = attr(optUserObjectClass)
	s.emailAttr = attr(optUserEmailAttribute)
	s.groupNameAttr = attr(optGroupNameAttribute)
	s.memberAttr = attr(optMemberAttribute)
	s.prefixAttr = attr(optEmailPrefixAttribute)
	s.groupClass = attr(optGroupObjectClass)
	if s.groupClass == "" {
		s.groupClass = defaultGroupClass(s.memberAttr)
	}
	for _, name := range []string{optUserObjectClass, optGroupObjectClass, optUserEmailAttribute, optGroupNameAttribute,
		optMemberAttribute, optEmailPrefixAttribute, optExternalIDAttribute} {
		if err := checkAttribute(str(name)); err != nil {
			bad(name, err.Error())
		}
	}

	userPath, groupPath := attr(optUserPath), attr(optGroupPath)
	s.userBase, s.userBaseKey = searchBase(userPath, s.rootPath), baseKey(userPath, optUserPath)
	s.groupBase, s.groupBaseKey = searchBase(groupPath, s.rootPath), baseKey(groupPath, optGroupPath)
	for _, x := range []struct{ name, path, base string }{{optUserPath, userPath, s.userBase}, {optGroupPath, groupPath, s.groupBase}} {
		if x.path == "" || !rootOK {
			continue
		}
		if _, err := goldap.ParseDN(x.base); err != nil {
			bad(x.name, fmt.Sprintf("%q does not make a DN with the root path (%q): %v", x.path, x.base, err))
		}
	}
	if len(errs) > 0 {
		return settings{}, errs
	}
	return s, nil
}

// searchBase returns the base DN of a search: path,rootPath when a path is set (path alone when it already
// ends with the root path), else rootPath. Unlike the Directory Connector, nothing of rootPath is dropped.
func searchBase(path, rootPath string) string {
	path = strings.TrimSpace(path)
	rootPath = strings.TrimSpace(rootPath)
	switch {
	case path == "":
		return rootPath
	case rootPath == "":
		return path
	case endsWithDN(path, rootPath):
		return path
	}
	return path + "," + rootPath
}

func baseKey(path, name string) string {
	if path == "" {
		return "ldap." + optRootPath
	}
	return "ldap." + name + " and ldap." + optRootPath
}

// endsWithDN reports whether dn ends with the RDNs of suffix (compared normalized).
func endsWithDN(dn, suffix string) bool {
	d, err1 := goldap.ParseDN(dn)
	s, err2 := goldap.ParseDN(suffix)
	if err1 != nil || err2 != nil || len(s.RDNs) == 0 || len(d.RDNs) < len(s.RDNs) {
		return false
	}
	return (&goldap.DN{RDNs: d.RDNs[len(d.RDNs)-len(s.RDNs):]}).EqualFold(s)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
