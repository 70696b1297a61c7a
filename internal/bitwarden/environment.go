package bitwarden

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Environment is where the organization lives: a server base URL (self-hosted, or a cloud vault
// address) and optional explicit API, identity and web vault URLs, as the Directory Connector's
// "environment" settings hold them.
type Environment struct {
	Server      string // base URL, e.g. "https://vault.example.com"; empty means the US cloud
	APIURL      string // explicit API URL; wins over Server
	IdentityURL string // explicit identity URL; wins over Server
	WebVaultURL string // explicit web vault URL; wins over Server
}

// Cloud hosts.
const (
	usAPI      = "https://api.bitwarden.com"
	usIdentity = "https://identity.bitwarden.com"
	usVault    = "https://vault.bitwarden.com"
	euAPI      = "https://api.bitwarden.eu"
	euIdentity = "https://identity.bitwarden.eu"
	euVault    = "https://vault.bitwarden.eu"
)

type cloud struct{ api, identity, vault string }

var (
	cloudUS = cloud{usAPI, usIdentity, usVault}
	cloudEU = cloud{euAPI, euIdentity, euVault}
)

// cloudHosts maps the server host names people type for the cloud to its region.
var cloudHosts = map[string]cloud{
	"bitwarden.com":       cloudUS,
	"vault.bitwarden.com": cloudUS,
	"bitwarden.eu":        cloudEU,
	"vault.bitwarden.eu":  cloudEU,
}

// Resolve returns the API, identity and web vault URLs, following the Directory Connector's rules: an
// explicit URL wins; otherwise a known cloud server ("bitwarden.com", "https://vault.bitwarden.com",
// "bitwarden.eu", "https://vault.bitwarden.eu", or no server at all) maps to that region's hosts, and any
// other server gives server+"/api", server+"/identity" and the server itself. Every URL is trimmed, loses
// its trailing "/", and gets "https://" when it has no scheme. A URL that is not an http(s) URL with a
// host, or that holds a user name, password, query or fragment, is an error naming the setting.
func (e Environment) Resolve() (api, identity, webVault string, err error) {
	server, err := normalizeURL("server URL", e.Server)
	if err != nil {
		return "", "", "", err
	}
	if api, err = normalizeURL("API URL", e.APIURL); err != nil {
		return "", "", "", err
	}
	if identity, err = normalizeURL("identity URL", e.IdentityURL); err != nil {
		return "", "", "", err
	}
	if webVault, err = normalizeURL("web vault URL", e.WebVaultURL); err != nil {
		return "", "", "", err
	}
	c, isCloud := cloudUS, true
	if server != "" {
		c, isCloud = cloudServer(server)
	}
	pick := func(explicit, cloudURL, selfHosted string) string {
		switch {
		case explicit != "":
			return explicit
		case isCloud:
			return cloudURL
		default:
			return selfHosted
		}
	}
	return pick(api, c.api, server+"/api"), pick(identity, c.identity, server+"/identity"),
		pick(webVault, c.vault, server), nil
}

// cloudServer reports whether a normalized server URL names the cloud, and which region.
func cloudServer(server string) (cloud, bool) {
	u, err := url.Parse(server)
	if err != nil || u.Port() != "" || strings.Trim(u.Path, "/") != "" {
		return cloud{}, false
	}
	c, ok := cloudHosts[strings.ToLower(u.Hostname())]
	return c, ok
}

// normalizeURL trims s, strips trailing slashes, adds "https://" when there is no scheme and checks
// the result. Empty stays empty.
func normalizeURL(field, s string) (string, error) {
	raw := s
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if i := strings.Index(s, "://"); i < 0 {
		s = "https://" + s
	} else {
		s = strings.ToLower(s[:i]) + s[i:]
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("the %s %q is not valid: %w", field, strings.TrimSpace(raw), err)
	}
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("the %s %q is not valid: %s", field, u.Redacted(), why)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return bad(fmt.Sprintf("the scheme must be https or http, not %q", u.Scheme))
	case u.Hostname() == "":
		return bad("it has no host name")
	case u.User != nil:
		return bad("it must not hold a user name or password")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return bad("it must not have a query (?...) or fragment (#...)")
	case u.Opaque != "":
		return bad("it is not a hierarchical URL")
	}
	return strings.TrimRight(s, "/"), nil
}
