package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dirconn/dirconn/internal/directory"
)

// Names of the global keys code refers to.
const (
	KeyServer       = "server"
	KeyAPIURL       = "apiUrl"
	KeyIdentityURL  = "identityUrl"
	KeyWebVaultURL  = "webVaultUrl"
	KeyProxy        = "proxy"
	KeyCAFile       = "caFile"
	KeyTimeout      = "timeout"
	KeyClientID     = "clientId"
	KeyClientSecret = "clientSecret"
	KeyDirectory    = "directory"
)

// SyncSection is the section, and key prefix, of SyncOptions.
const SyncSection = "sync"

// Cloud server URLs (specs/bitwarden-api.md §1).
const (
	CloudUS = "https://vault.bitwarden.com"
	CloudEU = "https://vault.bitwarden.eu"
)

// GlobalOptions are the keys without a section: the Bitwarden environment, the organization API key and
// the directory type. The "directory" option is a plain string here; Keys and ResolveKey return it as a
// KindChoice over the registry's adapter names. Forms should be built from Keys (or from these options
// with Config.Set doing the saving: Set also turns "bitwarden.eu" into a URL and the like).
var GlobalOptions = []directory.Option{
	{Name: KeyServer, Label: "Server URL", Aliases: []string{"base"}, Default: CloudUS, Check: checkURL,
		Help: "The Bitwarden server: empty or bitwarden.com for the US cloud, bitwarden.eu for the EU cloud, " +
			"or the URL of your self-hosted server (https:// is added when missing)."},
	{Name: KeyAPIURL, Label: "API URL", Aliases: []string{"api"}, Advanced: true, Check: checkURL,
		Help: "Only when the API is not at <server>/api (self-hosted) or the cloud's API host."},
	{Name: KeyIdentityURL, Label: "Identity URL", Aliases: []string{"identity"}, Advanced: true, Check: checkURL,
		Help: "Only when the identity service is not at <server>/identity (self-hosted) or the cloud's identity host."},
	{Name: KeyWebVaultURL, Label: "Web vault URL", Aliases: []string{"webVault"}, Advanced: true, Check: checkURL,
		Help: "Only when the web vault is not at the server URL. Used for links shown to people."},
	{Name: KeyProxy, Label: "HTTP proxy", Advanced: true, Check: directory.CheckProxyURL,
		Help: "Proxy for every connection (http, https, socks5 or socks5h URL; host:port means http). " +
			"Empty uses HTTPS_PROXY, HTTP_PROXY and NO_PROXY from the environment."},
	{Name: KeyCAFile, Label: "Extra CA certificates", Kind: directory.KindPath, Advanced: true,
		Help: "A PEM file of certificates trusted in addition to the system's, for a company TLS proxy or " +
			"a private CA. Relative paths are relative to the data directory."},
	{Name: KeyTimeout, Label: "Request timeout", Kind: directory.KindDuration, Default: "300s", Advanced: true,
		Check: directory.CheckPositiveDuration, Help: "How long one HTTP request may take, e.g. 300s or 10m."},
	{Name: KeyClientID, Label: "Client ID", Check: checkClientID,
		Help: "The organization API key's client_id, organization.<guid> (Admin Console > Settings > " +
			"Organization info > View API key). Set by dirconn login."},
	{Name: KeyClientSecret, Label: "Client secret", Secret: true,
		Help: "The organization API key's client_secret. Set by dirconn login; kept in the secret store."},
	{Name: KeyDirectory, Label: "Directory type",
		Help: "The directory to sync from: an adapter name or alias, or the Directory Connector's number " +
			"(0 LDAP/AD, 1 Entra ID, 2 Google Workspace, 3 Okta, 4 OneLogin)."},
}

// SyncOptions are the sync.* keys. Names and meanings are the Directory Connector's (specs/anchor-dc.md
// §1.1); the defaults are dirconn's where its Help says so.
var SyncOptions = []directory.Option{
	{Name: "users", Label: "Sync users", Kind: directory.KindBool, Default: "true",
		Help: "Read users and keep the organization's members in step (dirconn's default is on; the Directory Connector's is off)."},
	{Name: "groups", Label: "Sync groups", Kind: directory.KindBool, Default: "true",
		Help: "Read groups and keep the organization's groups and their members in step (dirconn's default is on)."},
	{Name: "interval", Label: "Sync interval", Kind: directory.KindDuration, Default: "5m", Check: checkInterval,
		Help: "How often the service and the desktop app sync, e.g. 5m or 1h. The minimum is 5m; 0 turns scheduled syncs off."},
	{Name: "userFilter", Label: "User filter", Kind: directory.KindText,
		Help: "Which users to sync, in the directory's own filter syntax (empty: all)."},
	{Name: "groupFilter", Label: "Group filter", Kind: directory.KindText,
		Help: "Which groups to sync, in the directory's own filter syntax (empty: all)."},
	{Name: "removeDisabled", Label: "Remove disabled users", Kind: directory.KindBool, Default: "false",
		Help: "Remove users the directory marks disabled from the organization."},
	{Name: "overwriteExisting", Label: "Overwrite existing organization users", Kind: directory.KindBool,
		Default: "false", Advanced: true,
		Help: "Send the full state on every sync and let the server remove members and groups it does not " +
			"contain. It goes in one request, so it fails when largeImport has to split a sync into batches."},
	{Name: "largeImport", Label: "More than 2000 users or groups", Kind: directory.KindBool, Default: "false",
		Advanced: true, Help: "Split imports into batches of 2000."},
	{Name: "inviteUsersAfterProvisioning", Label: "Send invitations to new users", Kind: directory.KindBool,
		Default: "true",
		Help: "Invite new users by email as soon as they are added. Turning this off adds them as staged users " +
			"without an invitation, which needs the staged-users feature enabled on the Bitwarden server; " +
			"on a server without it the users would never be invited, so new dirconn installs default to on."},
	{Name: "useEmailPrefixSuffix", Label: "Build missing emails from prefix and suffix", Kind: directory.KindBool,
		Default: "false", Help: "For users without an email address, use the directory's username attribute plus sync.emailSuffix."},
	{Name: "emailSuffix", Label: "Email suffix", Check: checkEmailSuffix,
		Help: "The domain appended when building emails, e.g. @example.com (needed with useEmailPrefixSuffix)."},
	{Name: "deleteLimit", Label: "Hold deletions above (users)", Kind: directory.KindInt, Default: "50",
		Check: checkNonNegative,
		Help:  "Hold all removals of a sync that would remove more than this many users, until approved. 0: no count limit."},
	{Name: "deleteLimitPercent", Label: "Hold deletions above (percent)", Kind: directory.KindInt, Default: "10",
		Min: 0, Max: 100,
		Help: "Hold all removals of a sync that would remove more than this share of the synced users, until approved. 0: no percent limit."},
	{Name: "fullSyncInterval", Label: "Full sync every", Kind: directory.KindDuration, Default: "24h",
		Advanced: true, Help: "How often to resend the whole desired state to repair drift. 0: never."},
}

// checkURL accepts an http or https URL with a host and no query or fragment.
func checkURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q is not an http(s) URL such as https://bitwarden.example.com", v)
	}
	return nil
}

// MinInterval is the shortest sync interval, as in the Directory Connector.
const MinInterval = 5 * time.Minute

func checkInterval(v string) error {
	if d, _ := time.ParseDuration(v); d != 0 && d < MinInterval {
		return fmt.Errorf("%s is below the minimum of 5m (0 turns scheduled syncs off)", v)
	}
	return nil
}

func checkNonNegative(v string) error {
	if n, err := strconv.Atoi(v); err != nil || n < 0 {
		return fmt.Errorf("%s must be 0 (no limit) or more", v)
	}
	return nil
}

var (
	clientIDPattern = regexp.MustCompile(`^organization\.[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainPattern   = regexp.MustCompile(`^@?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`)
)

func checkClientID(v string) error {
	if !clientIDPattern.MatchString(v) {
		return fmt.Errorf("%q is not an organization API key client_id (organization.<guid>)", v)
	}
	return nil
}

func checkEmailSuffix(v string) error {
	if !domainPattern.MatchString(v) {
		return fmt.Errorf("%q is not a domain such as @example.com or example.com", v)
	}
	return nil
}

// prepare turns the shorthands people type for a global key into its stored form before Normalize:
// "bitwarden.com" → the US cloud (stored empty), "bitwarden.eu" → the EU cloud URL, https:// added to
// URLs without a scheme (http:// to a proxy), trailing "/" removed.
func prepare(key, v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return v
	}
	switch key {
	case KeyServer:
		switch strings.ToLower(strings.TrimRight(v, "/")) {
		case "null", "cloud", "us", "bitwarden.com", "https://bitwarden.com", "vault.bitwarden.com", strings.ToLower(CloudUS):
			return ""
		case "eu", "bitwarden.eu", "https://bitwarden.eu", "vault.bitwarden.eu", strings.ToLower(CloudEU):
			return CloudEU
		}
		fallthrough
	case KeyAPIURL, KeyIdentityURL, KeyWebVaultURL:
		if !strings.Contains(v, "://") {
			v = "https://" + v
		}
		return strings.TrimRight(v, "/")
	case KeyProxy:
		if !strings.Contains(v, "://") {
			v = "http://" + v
		}
		return strings.TrimRight(v, "/")
	}
	return v
}

// Endpoints are the Bitwarden URLs dirconn talks to.
type Endpoints struct {
	API, Identity, WebVault string
}

// Endpoints derives the Bitwarden URLs from server, apiUrl, identityUrl and webVaultUrl as the Directory
// Connector does (an explicit URL wins, else <server>/api and <server>/identity), except that the EU
// cloud uses its api. and identity. hosts like the US one.
func (c *Config) Endpoints() Endpoints {
	base := c.global[KeyServer]
	var e Endpoints
	switch base {
	case "", CloudUS:
		e = Endpoints{API: "https://api.bitwarden.com", Identity: "https://identity.bitwarden.com", WebVault: CloudUS}
	case CloudEU:
		e = Endpoints{API: "https://api.bitwarden.eu", Identity: "https://identity.bitwarden.eu", WebVault: CloudEU}
	default:
		e = Endpoints{API: base + "/api", Identity: base + "/identity", WebVault: base}
	}
	if v := c.global[KeyAPIURL]; v != "" {
		e.API = v
	}
	if v := c.global[KeyIdentityURL]; v != "" {
		e.Identity = v
	}
	if v := c.global[KeyWebVaultURL]; v != "" {
		e.WebVault = v
	}
	return e
}
