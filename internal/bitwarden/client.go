package bitwarden

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dirconn/dirconn/internal/httpx"
)

// refreshMargin is how long before its expiry a token is replaced, as the Directory Connector does.
const refreshMargin = 300 * time.Second

// defaultTokenLifetime is assumed when a token answer says nothing about expiry (Bitwarden's and
// Vaultwarden's tokens live 3600 s). Guessing long is safe: a 401 makes the client log in again.
const defaultTokenLifetime = time.Hour

// clientName is sent as Bitwarden-Client-Name. The server only parses it; sending the Directory
// Connector's own value avoids surprises in server-side client statistics and checks.
const clientName = "connector"

// Options configures New.
type Options struct {
	Env Environment
	// ClientID and ClientSecret are the organization API key: "organization.<guid>" and its secret.
	ClientID, ClientSecret string
	// DeviceID is this installation's device identifier, a UUID the caller generates once and keeps
	// (Vaultwarden requires one). Empty means a random one for this Client only.
	DeviceID string
	// Version is dirconn's version, sent in Bitwarden-Client-Version and User-Agent. Empty means "0.0.0".
	Version string
	// HTTP is the client to use; nil means httpx.NewClient with default options (proxy from the
	// environment, system CAs). Build one with httpx.NewClient to set a proxy or a CA file.
	HTTP *http.Client
	// Retry is the retry policy for 429, 5xx and network failures; zero fields take httpx defaults.
	// When Retry.Now is nil, Now is used.
	Retry httpx.Policy
	// Now is the clock for token expiry; nil means time.Now.
	Now func() time.Time
	// Logger receives debug lines per request and warnings per retry; nil discards. Secrets and tokens
	// are never logged.
	Logger *slog.Logger
}

// Client talks to one organization's Bitwarden server. It is safe for concurrent use; concurrent calls
// share one token and log in at most once at a time.
type Client struct {
	api, identity, webVault string
	clientID, secret, orgID string
	deviceID, version       string
	deviceType              int
	deviceName              string
	userAgent               string
	http                    *http.Client
	retry                   httpx.Policy
	now                     func() time.Time
	log                     *slog.Logger

	login chan struct{} // holds one token at a time: only one login runs

	mu       sync.Mutex
	token    string
	expires  time.Time
	oldToken string // the token before, kept only to redact it
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

const orgPrefix = "organization."

// New checks o and returns a Client. It makes no request; call Login to test the credentials.
func New(o Options) (*Client, error) {
	clientID := strings.TrimSpace(o.ClientID)
	secret := strings.TrimSpace(o.ClientSecret)
	switch {
	case clientID == "":
		return nil, errors.New("the client id is required")
	case !strings.HasPrefix(clientID, orgPrefix):
		return nil, errors.New("the client id must belong to an organization: organization.<GUID>")
	case !guidRE.MatchString(clientID[len(orgPrefix):]):
		return nil, errors.New("the client id is not valid: the part after \"organization.\" must be a GUID")
	case secret == "":
		return nil, errors.New("the client secret is required")
	}
	api, identity, webVault, err := o.Env.Resolve()
	if err != nil {
		return nil, err
	}
	c := &Client{
		api: api, identity: identity, webVault: webVault,
		clientID: clientID, secret: secret, orgID: clientID[len(orgPrefix):],
		deviceID: strings.TrimSpace(o.DeviceID), version: strings.TrimSpace(o.Version),
		now: o.Now, log: o.Logger, retry: o.Retry,
		login: make(chan struct{}, 1),
	}
	if c.deviceID == "" {
		c.deviceID = randomUUID()
	}
	if c.version == "" {
		c.version = "0.0.0"
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.retry.Now == nil {
		c.retry.Now = c.now
	}
	userOnRetry := c.retry.OnRetry
	c.retry.OnRetry = func(attempt int, wait time.Duration, err error) {
		c.log.Warn("bitwarden: retrying", "attempt", attempt, "wait", wait, "error", c.redact(err.Error()))
		if userOnRetry != nil {
			userOnRetry(attempt, wait, err)
		}
	}
	c.deviceType, c.deviceName = device(runtime.GOOS)
	c.userAgent = fmt.Sprintf("dirconn/%s (%s)", c.version, runtime.GOOS)
	base := o.HTTP
	if base == nil {
		if base, err = httpx.NewClient(httpx.Options{UserAgent: c.userAgent}); err != nil {
			return nil, err
		}
	}
	// A copy, so the caller's client keeps its own redirect policy.
	c.http = &http.Client{Transport: base.Transport, Jar: base.Jar, Timeout: base.Timeout,
		CheckRedirect: sameMethodRedirects(base.CheckRedirect)}
	return c, nil
}

// device returns the Directory Connector's device type and name for an operating system.
func device(goos string) (int, string) {
	switch goos {
	case "windows":
		return 6, "windows"
	case "darwin":
		return 7, "macos"
	default:
		return 8, "linux"
	}
}

func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// sameMethodRedirects refuses a redirect that would turn a POST into a GET (301, 302, 303): the body
// would be lost and a web page could answer 200. It says where the server points instead.
func sameMethodRedirects(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && via[0].Method != req.Method {
			return fmt.Errorf("the server redirects %s %s to %s: check the server URLs",
				via[0].Method, cleanURL(via[0].URL), cleanURL(req.URL))
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// OrgID returns the organization id, the GUID part of the client id.
func (c *Client) OrgID() string { return c.orgID }

// APIURL returns the resolved API URL.
func (c *Client) APIURL() string { return c.api }

// IdentityURL returns the resolved identity URL.
func (c *Client) IdentityURL() string { return c.identity }

// WebVaultURL returns the resolved web vault URL.
func (c *Client) WebVaultURL() string { return c.webVault }

// Login gets a new access token now, whatever the state of the current one. Use it to test the
// credentials; the other calls log in by themselves when needed.
func (c *Client) Login(ctx context.Context) error {
	_, err := c.accessToken(ctx, true, "")
	return err
}

// accessToken returns a token with more than refreshMargin left, logging in when there is none, when
// it is about to expire, when force is set, or when the current one is the token the server just
// refused (stale).
func (c *Client) accessToken(ctx context.Context, force bool, stale string) (string, error) {
	usable := func() (string, bool) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.token == "" || c.token == stale || c.expires.Sub(c.now()) < refreshMargin {
			return "", false
		}
		return c.token, true
	}
	if !force {
		if tok, ok := usable(); ok {
			return tok, nil
		}
	}
	select {
	case c.login <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("bitwarden login: %w", ctx.Err())
	}
	defer func() { <-c.login }()
	if !force {
		// Another call may have logged in while this one waited.
		if tok, ok := usable(); ok {
			return tok, nil
		}
	}
	tok, expires, err := c.fetchToken(ctx)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.oldToken, c.token, c.expires = c.token, tok, expires
	c.mu.Unlock()
	return tok, nil
}

// fetchToken runs the client_credentials login.
func (c *Client) fetchToken(ctx context.Context) (string, time.Time, error) {
	// Field order as the Directory Connector sends them.
	form := strings.Join([]string{
		"scope=api.organization",
		"client_id=" + url.QueryEscape(c.clientID),
		"deviceType=" + strconv.Itoa(c.deviceType),
		"deviceIdentifier=" + url.QueryEscape(c.deviceID),
		"deviceName=" + c.deviceName,
		"grant_type=client_credentials",
		"client_secret=" + url.QueryEscape(c.secret),
	}, "&")
	endpoint := c.identity + "/connect/token"
	resp, err := c.send(ctx, "login", func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form))
		if err != nil {
			return nil, err
		}
		c.setHeaders(req)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		req.Header.Set("Accept", "application/json")
		return req, nil
	})
	if err != nil {
		return "", time.Time{}, err
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		he := c.httpError(resp)
		if he.Status == http.StatusBadRequest && refusesCredentials(he) {
			he.credentials = true
			return "", time.Time{}, fmt.Errorf("bitwarden login: the client id or client secret is wrong, "+
				"or the organization is disabled or may not use the API: %w", he)
		}
		return "", time.Time{}, fmt.Errorf("bitwarden login: %w", he)
	}
	var body struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		TokenType   string          `json:"token_type"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return "", time.Time{}, fmt.Errorf("bitwarden login: the answer of %s is not a token (check the identity URL): %w",
			endpoint, err)
	}
	if body.AccessToken == "" {
		return "", time.Time{}, fmt.Errorf("bitwarden login: the answer of %s holds no access token (check the identity URL)", endpoint)
	}
	if body.TokenType != "" && !strings.EqualFold(body.TokenType, "bearer") {
		c.log.Warn("bitwarden: unexpected token type, using it as a bearer token", "tokenType", body.TokenType)
	}
	now := c.now()
	expires, source := now.Add(defaultTokenLifetime), "default"
	expiresIn := parseSeconds(body.ExpiresIn)
	if exp, ok := jwtExpiry(body.AccessToken); ok {
		expires, source = exp, "jwt"
		if exp.Sub(now) < refreshMargin && expiresIn > refreshMargin {
			// A fresh token that already looks expired means this machine's clock is off; trusting exp
			// would mean a login before every call.
			c.log.Warn("bitwarden: the token's expiry is in the past by this machine's clock; check the clock",
				"exp", exp, "now", now)
			expires, source = now.Add(expiresIn), "expires_in"
		}
	} else if expiresIn > 0 {
		expires, source = now.Add(expiresIn), "expires_in"
	}
	c.log.Info("bitwarden: logged in", "org", c.orgID, "identity", c.identity, "expires", expires, "expirySource", source)
	return body.AccessToken, expires, nil
}

// refusesCredentials reports whether a 400 token answer is about the API key itself: Bitwarden's
// OAuth codes, or Vaultwarden's messages naming client_id or client_secret.
func refusesCredentials(he *HTTPError) bool {
	switch he.Code {
	case "invalid_client", "unauthorized_client":
		return true
	}
	m := strings.ToLower(he.Message)
	return strings.Contains(m, "client_id") || strings.Contains(m, "client_secret")
}

func parseSeconds(raw json.RawMessage) time.Duration {
	s := strings.Trim(string(raw), `" `)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || f > 1e9 {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

// jwtExpiry reads the exp claim of a JWT without checking its signature, as the Directory Connector
// does: three dot-separated parts, a base64url JSON payload with a numeric exp.
func jwtExpiry(tok string) (time.Time, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return time.Time{}, false
	}
	exp, err := claims.Exp.Float64()
	if err != nil || exp <= 0 || exp > 1e11 {
		return time.Time{}, false
	}
	sec := int64(exp)
	return time.Unix(sec, int64((exp-float64(sec))*1e9)), true
}

// setHeaders sets the headers every request carries.
func (c *Client) setHeaders(req *http.Request) {
	req.Header.Set("Device-Type", strconv.Itoa(c.deviceType))
	req.Header.Set("Bitwarden-Client-Name", clientName)
	req.Header.Set("Bitwarden-Client-Version", c.version)
	req.Header.Set("User-Agent", c.userAgent)
}

// send makes one logical request through httpx.Do (429, 5xx and network retries). The response it
// returns has any status; the caller closes it. op names the call in errors.
func (c *Client) send(ctx context.Context, op string, newReq func(ctx context.Context) (*http.Request, error)) (*http.Response, error) {
	start := c.now()
	resp, err := httpx.Do(ctx, c.http, c.retry, newReq, httpx.DefaultRetryable)
	if err != nil {
		if resp != nil {
			drain(resp)
		}
		return nil, fmt.Errorf("bitwarden %s: %w", op, c.transportError(err))
	}
	c.log.Debug("bitwarden: request", "op", op, "method", resp.Request.Method, "url", cleanURL(resp.Request.URL),
		"status", resp.StatusCode, "duration", c.now().Sub(start))
	return resp, nil
}

// authed sends an authenticated request. A 401 makes it log in again and send once more; a second 401
// is an error wrapping ErrUnauthorized. The response it returns has any other status; the caller
// closes it.
func (c *Client) authed(ctx context.Context, op string, build func(ctx context.Context) (*http.Request, error)) (*http.Response, error) {
	var refused string
	for try := 0; ; try++ {
		tok, err := c.accessToken(ctx, false, refused)
		if err != nil {
			return nil, err
		}
		resp, err := c.send(ctx, op, func(ctx context.Context) (*http.Request, error) {
			req, err := build(ctx)
			if err != nil {
				return nil, err
			}
			c.setHeaders(req)
			req.Header.Set("Authorization", "Bearer "+tok)
			return req, nil
		})
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusUnauthorized {
			return resp, nil
		}
		if try > 0 {
			defer drain(resp)
			return nil, fmt.Errorf("bitwarden %s: the server refused a fresh access token: %w", op, c.httpError(resp))
		}
		drain(resp)
		c.log.Info("bitwarden: access token refused, logging in again", "op", op)
		refused = tok
	}
}

// transportError turns an httpx failure into the error the caller sees: the server's own message
// (as an *HTTPError) when the last attempt was an HTTP answer, and a hint on TLS failures.
func (c *Client) transportError(err error) error {
	var re *httpx.RetryError
	var se *httpx.StatusError
	if errors.As(err, &re) && errors.As(re.Err, &se) {
		cp := *re
		cp.Err = c.statusHTTPError(se.Method, se.URL, se.StatusCode, se.Header, se.Body)
		return &cp
	}
	if httpx.IsTLSVerification(err) {
		return fmt.Errorf("%w (if the server's certificate comes from a private CA, set the CA file)", err)
	}
	return err
}

// drain reads what is left of a body (up to a limit, so the connection can be reused) and closes it.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 256<<10))
	_ = resp.Body.Close()
}

// cleanURL renders u for errors and logs: no user info, query or fragment.
func cleanURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = "", false, "", ""
	return c.String()
}

// redact removes the client secret and any token this client holds from s: server messages end up in
// errors and logs, and a server (or a proxy) could echo what it was sent.
func (c *Client) redact(s string) string {
	c.mu.Lock()
	tok, old := c.token, c.oldToken
	c.mu.Unlock()
	for _, v := range []string{c.secret, url.QueryEscape(c.secret), tok, old} {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}
