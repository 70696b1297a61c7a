package directory

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// CheckPositiveDuration is an Option.Check for durations that must be more than zero (timeouts).
func CheckPositiveDuration(v string) error {
	if d, _ := time.ParseDuration(v); d <= 0 {
		return fmt.Errorf("%q must be more than 0", v)
	}
	return nil
}

// CheckProxyURL is an Option.Check for proxy settings: an http, https, socks5 or socks5h URL with a host;
// host:port alone means http. It never repeats the value, which may hold a password.
func CheckProxyURL(v string) error {
	s := v
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("the proxy is not a URL such as http://proxy.example.com:3128")
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "socks5", "socks5h":
		return nil
	}
	return fmt.Errorf("proxy scheme %q is not http, https, socks5 or socks5h", u.Scheme)
}
