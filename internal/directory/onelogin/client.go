package onelogin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/httpx"
)

// Error is a failed OneLogin read: a message for people that names what to fix, the sentinel errors it
// matches (directory.ErrAuth, ErrUnreachable, ErrConfig, ErrFilter) and its cause (which may be
// context.Canceled).
type Error struct {
	Msg   string
	Kinds []error
	Cause error
}

func (e *Error) Error() string { return "onelogin: " + e.Msg }

// Unwrap returns the sentinel kinds and the cause.
func (e *Error) Unwrap() []error {
	out := append([]error(nil), e.Kinds...)
	if e.Cause != nil {
		out = append(out, e.Cause)
	}
	return out
}

func newError(cause error, msg string, kinds ...error) *Error {
	return &Error{Msg: msg, Kinds: kinds, Cause: cause}
}

// maxBody bounds the body of one answer (a page of 50 users is a few tens of KiB).
const maxBody = 16 << 20

// maxPages bounds one paged listing, against a server whose links never end.
const maxPages = 200000

// conn is one Fetch's session: its HTTP client, its token and what the read has waited so far.
type conn struct {
	s   *settings
	log *slog.Logger
	hc  *http.Client
	cc  clientcredentials.Config
	// tctx is the token source's context: the Fetch's, carrying hc for x/oauth2.
	tctx    context.Context
	ts      oauth2.TokenSource
	policy  httpx.Policy
	waited  time.Duration
	renewed bool
}

// connect builds the HTTP client and gets a first token, so credential problems are reported before
// anything is read.
func (s *Source) connect(ctx context.Context) (*conn, error) {
	hc, err := httpx.NewClient(httpx.Options{Timeout: s.s.timeout, CAFile: s.s.caFile, Proxy: s.s.proxy, UserAgent: s.s.userAgent})
	if err != nil {
		msg := err.Error()
		if s.s.caFile != "" && strings.Contains(msg, "CA file") {
			msg = "onelogin.caFile: " + msg
		}
		return nil, newError(err, "cannot set up HTTPS: "+msg, directory.ErrConfig)
	}
	hc.Transport = &rateLimitTransport{base: hc.Transport}
	c := &conn{s: &s.s, log: s.log, hc: hc, policy: s.policy}
	c.cc = clientcredentials.Config{
		ClientID:     s.s.clientID,
		ClientSecret: s.s.clientSecret,
		TokenURL:     s.s.root.String() + tokenPath,
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	c.tctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	c.ts = c.cc.TokenSource(c.tctx)
	if _, err := c.token(); err != nil {
		hc.CloseIdleConnections()
		return nil, err
	}
	return c, nil
}

func (c *conn) close() { c.hc.CloseIdleConnections() }

// token returns the current access token, getting a new one when it is about to expire.
func (c *conn) token() (string, error) {
	t, err := c.ts.Token()
	if err != nil {
		return "", c.tokenError(err)
	}
	return t.AccessToken, nil
}

// renew drops the current token and gets a new one.
func (c *conn) renew() (string, error) {
	c.ts = c.cc.TokenSource(c.tctx)
	return c.token()
}

func (c *conn) tokenError(err error) error {
	what := "get an access token from " + c.cc.TokenURL
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return c.requestError(c.tctx, what, err)
	}
	code := re.Response.StatusCode
	detail := fmt.Sprintf("HTTP %d%s", code, serverMessage(re.Body, re.ErrorCode, re.ErrorDescription))
	switch {
	case code == http.StatusBadRequest || code == http.StatusUnauthorized || code == http.StatusForbidden:
		return newError(err, fmt.Sprintf("OneLogin refused the API credentials (%s): check onelogin.clientId, onelogin.clientSecret and %s",
			detail, c.s.rootKey), directory.ErrAuth)
	case code == http.StatusNotFound:
		return newError(err, fmt.Sprintf("%s: no OneLogin token endpoint there (%s): check %s", what, detail, c.s.rootKey), directory.ErrConfig)
	case code == http.StatusInternalServerError:
		return newError(err, fmt.Sprintf("%s: %s; OneLogin also answers 500 when the administrator who created the API credentials was deleted: then create new credentials",
			what, detail), directory.ErrUnreachable)
	}
	return newError(err, fmt.Sprintf("%s: %s", what, detail), directory.ErrUnreachable)
}

// serverMessage renders the message of an error body (OneLogin's status envelope or an OAuth error) as
// ": message", or "" when there is none.
func serverMessage(body []byte, code, desc string) string {
	var env struct {
		Status *apiStatus `json:"status"`
		Error  any        `json:"error"`
		Desc   string     `json:"error_description"`
	}
	var parts []string
	if json.Unmarshal(body, &env) == nil {
		if env.Status != nil {
			parts = append(parts, strings.TrimSpace(env.Status.Message))
		}
		if s, ok := env.Error.(string); ok && code == "" {
			code = s
		}
		if desc == "" {
			desc = env.Desc
		}
	}
	parts = append(parts, code, desc)
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" && !contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return ""
	}
	msg := strings.Join(out, ": ")
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	return ": " + msg
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// apiStatus is OneLogin's status envelope.
type apiStatus struct {
	Error   bool   `json:"error"`
	Code    int    `json:"code"`
	Type    string `json:"type"`
	Message string `json:"message"`
}

// pagination is the pagination object of a v1 list answer.
type pagination struct {
	BeforeCursor string `json:"before_cursor"`
	AfterCursor  string `json:"after_cursor"`
	PreviousLink string `json:"previous_link"`
	NextLink     string `json:"next_link"`
}

// page is one v1 list answer.
type page struct {
	Status     *apiStatus         `json:"status"`
	Pagination *pagination        `json:"pagination"`
	Data       *[]json.RawMessage `json:"data"`
}

// retryPolicy returns the policy for one request: the read's remaining wait budget (onelogin.maxWait
// minus what it has waited so far) as MaxWait, with every wait counted.
func (c *conn) retryPolicy() httpx.Policy {
	p := c.policy
	sleep := p.Sleep
	if sleep == nil {
		sleep = timerSleep
	}
	left := c.s.maxWait - c.waited
	if left <= 0 {
		p.MaxAttempts = 1
		left = time.Nanosecond // a zero MaxWait means httpx's default
	}
	p.MaxWait = left
	p.Sleep = func(ctx context.Context, d time.Duration) error {
		c.waited += d
		return sleep(ctx, d)
	}
	p.OnRetry = func(attempt int, wait time.Duration, err error) {
		var se *httpx.StatusError
		if errors.As(err, &se) && se.StatusCode == http.StatusTooManyRequests {
			c.log.Warn("onelogin: rate limited (HTTP 429), waiting before trying again", "wait", wait.String(), "attempt", attempt)
			return
		}
		c.log.Warn("onelogin: request failed, trying again", "wait", wait.String(), "attempt", attempt, "error", err.Error())
	}
	return p
}

func timerSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// get reads one page at u. A 401 gets one new token per read and the page again; every other failure
// is an error.
func (c *conn) get(ctx context.Context, what, u string, native bool) (*page, error) {
	tok, err := c.token()
	if err != nil {
		return nil, err
	}
	for {
		resp, err := httpx.Do(ctx, c.hc, c.retryPolicy(), func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Authorization", "bearer:"+tok)
			req.Header.Set("Accept", "application/json")
			return req, nil
		}, nil)
		if err != nil {
			return nil, c.requestError(ctx, what, err)
		}
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
		resp.Body.Close()
		if rerr != nil {
			return nil, c.requestError(ctx, what, rerr)
		}
		if resp.StatusCode == http.StatusUnauthorized && !c.renewed {
			c.renewed = true
			c.log.Info("onelogin: the API refused the token (HTTP 401), getting a new one", "read", what)
			if tok, err = c.renew(); err != nil {
				var e *Error
				if errors.As(err, &e) {
					return nil, &Error{Msg: what + ": the API refused the token (HTTP 401) and a new one could not be had: " + e.Msg,
						Kinds: e.Kinds, Cause: e.Cause}
				}
				return nil, err
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return nil, c.statusError(what, u, resp.StatusCode, body, native)
		}
		if len(body) > maxBody {
			return nil, newError(nil, fmt.Sprintf("%s: the answer is larger than %d MiB", what, maxBody>>20))
		}
		var p page
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, newError(err, fmt.Sprintf("%s: the answer is not OneLogin's JSON: %v", what, err))
		}
		if p.Status != nil && (p.Status.Error || (p.Status.Code != 0 && p.Status.Code != http.StatusOK)) {
			return nil, newError(nil, fmt.Sprintf("%s: the API call failed (status %d%s)", what, p.Status.Code,
				serverMessage(body, "", "")))
		}
		if p.Data == nil {
			return nil, newError(nil, fmt.Sprintf("%s: the answer has no data list", what))
		}
		return &p, nil
	}
}

// statusError explains an HTTP answer other than 200.
func (c *conn) statusError(what, u string, code int, body []byte, native bool) error {
	detail := fmt.Sprintf("HTTP %d %s%s", code, http.StatusText(code), serverMessage(body, "", ""))
	switch code {
	case http.StatusUnauthorized:
		return newError(nil, fmt.Sprintf("%s: OneLogin refused the access token (%s), a new one too: check that the API credentials (onelogin.clientId) still exist",
			what, detail), directory.ErrAuth)
	case http.StatusForbidden:
		return newError(nil, fmt.Sprintf("%s: the API credentials may not read this (%s): give them the \"Read users\" scope (or Manage users, Read all, Manage all)",
			what, detail), directory.ErrAuth)
	case http.StatusNotFound:
		return newError(nil, fmt.Sprintf("%s: no OneLogin API at %s (%s): check %s", what, cleanURL(u), detail, c.s.rootKey), directory.ErrConfig)
	case http.StatusBadRequest:
		if native {
			return newError(nil, fmt.Sprintf("%s: OneLogin refused the query (%s): check the query after | in the filter", what, detail), directory.ErrFilter)
		}
	}
	return newError(nil, fmt.Sprintf("%s: %s", what, detail))
}

// requestError explains a request that got no usable answer: cancelled, unreachable, untrusted TLS, or
// retries given up on.
func (c *conn) requestError(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return newError(ctx.Err(), fmt.Sprintf("%s: %v", what, ctx.Err()))
	}
	var re *httpx.RetryError
	if errors.As(err, &re) {
		var se *httpx.StatusError
		if errors.As(re.Err, &se) {
			msg := serverMessage(se.Body, "", "")
			if se.StatusCode == http.StatusTooManyRequests {
				limit := se.Header.Get("X-RateLimit-Limit")
				if limit != "" {
					limit = " of " + limit + " calls an hour"
				}
				return newError(err, fmt.Sprintf("%s: OneLogin's rate limit%s is used up (HTTP 429%s) and waiting for it would take longer than onelogin.maxWait (%s) allows: %v",
					what, limit, msg, c.s.maxWait, re), directory.ErrUnreachable)
			}
			return newError(err, fmt.Sprintf("%s: OneLogin answered HTTP %d %s%s: %v", what, se.StatusCode, http.StatusText(se.StatusCode), msg, re),
				directory.ErrUnreachable)
		}
		err = re.Err
	}
	if httpx.IsTLSVerification(err) {
		return newError(err, fmt.Sprintf("%s: the server's TLS certificate is not trusted (%v): if a proxy inspects TLS, set onelogin.caFile to its CA certificate", what, err),
			directory.ErrConfig)
	}
	return newError(err, fmt.Sprintf("%s: cannot reach OneLogin (%v): check %s, the network and HTTPS_PROXY", what, err, c.s.rootKey),
		directory.ErrUnreachable)
}

// cleanURL drops the query of u, for messages.
func cleanURL(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// rateLimitTransport gives a 429 without Retry-After one from OneLogin's X-RateLimit-Reset (the seconds
// until the hourly window starts again), so httpx.Do waits exactly that long.
type rateLimitTransport struct {
	base http.RoundTripper
}

func (t *rateLimitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "" {
		return resp, err
	}
	if n, perr := strconv.Atoi(strings.TrimSpace(resp.Header.Get("X-RateLimit-Reset"))); perr == nil && n >= 0 {
		resp.Header.Set("Retry-After", strconv.Itoa(max(n, 1)))
	}
	return resp, nil
}

// CloseIdleConnections lets (*http.Client).CloseIdleConnections reach the wrapped transport.
func (t *rateLimitTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// firstURL returns the URL of a listing's first page: root + path, the filter's query, and limit=50
// unless the query sets its own.
func (c *conn) firstURL(path, native string) string {
	q := native
	if !hasParam(native, "limit") {
		if q != "" {
			q += "&"
		}
		q += "limit=" + strconv.Itoa(PageSize)
	}
	return c.s.root.String() + path + "?" + q
}

func hasParam(query, name string) bool {
	for _, part := range strings.Split(query, "&") {
		k, _, _ := strings.Cut(part, "=")
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// nextURL returns the next page's URL after the page at cur, or "" at the end: pagination.next_link as
// given when it points at the configured API root; moved onto the root (path and query kept) when it
// points elsewhere (a proxy's upstream host), so the token never goes anywhere else; built from
// after_cursor when there is a cursor but no link.
func (c *conn) nextURL(cur string, p *pagination) (string, error) {
	if p == nil {
		return "", nil
	}
	link := strings.TrimSpace(p.NextLink)
	if link == "" {
		if p.AfterCursor == "" {
			return "", nil
		}
		u, err := url.Parse(cur)
		if err != nil {
			return "", err
		}
		q := u.Query()
		q.Del("before_cursor")
		q.Set("after_cursor", p.AfterCursor)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	base, _ := url.Parse(cur)
	u, err := base.Parse(link)
	if err != nil {
		return "", fmt.Errorf("next_link %q is not a URL: %v", link, err)
	}
	root := c.s.root
	if strings.EqualFold(u.Scheme, root.Scheme) && strings.EqualFold(u.Host, root.Host) &&
		(root.Path == "" || strings.HasPrefix(u.Path, root.Path+"/")) {
		return u.String(), nil
	}
	moved := *u
	moved.Scheme, moved.Host, moved.User = root.Scheme, root.Host, nil
	if root.Path != "" && !strings.HasPrefix(u.Path, root.Path+"/") {
		moved.Path = root.Path + u.Path
		moved.RawPath = ""
	}
	c.log.Debug("onelogin: next_link points at another host; following it on the configured API root",
		"host", u.Host, "root", root.Host)
	return moved.String(), nil
}

// list reads every page of a listing and returns its records as raw JSON, in the API's order. Any page
// that fails fails the listing.
func (c *conn) list(ctx context.Context, what, path, native string) ([]json.RawMessage, directory.Read, error) {
	read := directory.Read{What: what}
	var out []json.RawMessage
	seen := map[string]bool{}
	for u := c.firstURL(path, native); u != ""; {
		if read.Pages >= maxPages {
			return nil, read, newError(nil, fmt.Sprintf("read %s: more than %d pages; stopping", what, maxPages))
		}
		seen[u] = true
		p, err := c.get(ctx, fmt.Sprintf("read %s (page %d)", what, read.Pages+1), u, native != "")
		if err != nil {
			return nil, read, err
		}
		read.Pages++
		read.Entries += len(*p.Data)
		out = append(out, *p.Data...)
		next, err := c.nextURL(u, p.Pagination)
		if err != nil {
			return nil, read, newError(err, fmt.Sprintf("read %s (page %d): %v", what, read.Pages, err))
		}
		if next != "" && seen[next] {
			return nil, read, newError(nil, fmt.Sprintf("read %s (page %d): OneLogin sent a next_link to a page already read; stopping instead of looping", what, read.Pages))
		}
		u = next
	}
	read.Finished = true
	return out, read, nil
}
