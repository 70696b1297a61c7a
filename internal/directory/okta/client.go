package okta

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
	"sync"
	"time"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/httpx"
)

// maxPageBytes bounds one page's body: 200 users with large profiles stay far below it.
const maxPageBytes = 64 << 20

// resetMargin is added to every wait for a rate-limit window: X-Rate-Limit-Reset has whole seconds, and
// a request sent in the very second of the reset may still be counted in the old window.
const resetMargin = time.Second

// client is one Fetch's connection to Okta.
type client struct {
	hc      *http.Client
	base    *url.URL
	token   string
	policy  httpx.Policy
	limits  *rateLimits
	reserve int
	log     *slog.Logger
	// movedHost is set once a next link pointed at another host, so the warning is logged once.
	movedHost bool
}

func (s *Source) newClient() (*client, error) {
	hc, err := httpx.NewClient(httpx.Options{Timeout: s.s.timeout, CAFile: s.s.caFile, Proxy: s.s.proxy, UserAgent: s.s.userAgent})
	if err != nil {
		if s.s.caFile != "" && strings.Contains(err.Error(), "CA file") {
			return nil, &directory.ConfigError{Key: "okta." + optCAFile, Reason: err.Error()}
		}
		return nil, fmt.Errorf("%w: %v", directory.ErrConfig, err)
	}
	p := s.policy
	d := httpx.DefaultPolicy()
	if p.Sleep == nil {
		p.Sleep = d.Sleep
	}
	if p.Now == nil {
		p.Now = d.Now
	}
	if p.MaxWait <= 0 {
		p.MaxWait = d.MaxWait
	}
	log := s.log
	p.OnRetry = func(attempt int, wait time.Duration, err error) {
		var se *httpx.StatusError
		if errors.As(err, &se) && se.StatusCode == http.StatusTooManyRequests {
			log.Warn("okta: rate limit exceeded (429); waiting for X-Rate-Limit-Reset", "attempt", attempt, "wait", wait, "url", se.URL)
			return
		}
		log.Warn("okta: request failed; retrying", "attempt", attempt, "wait", wait, "error", err)
	}
	hc.Transport = &rateTransport{base: hc.Transport, limits: s.limits, now: p.Now}
	return &client{hc: hc, base: s.s.orgURL, token: s.s.token, policy: p, limits: s.limits, reserve: s.s.reserve, log: s.log}, nil
}

// endpoint returns the URL of an API path (e.g. "/api/v1/users") under the org URL, with query q.
func (c *client) endpoint(path string, q url.Values) *url.URL {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawPath = ""
	u.RawQuery = q.Encode()
	return &u
}

// listing is one paged read.
type listing struct {
	what  string   // for people: "users", "deprovisioned users", "members of group Sales"
	first *url.URL // the first page
	// filterWhat and expr name the filter sent, when there is one, so a 400 can be blamed on it.
	filterWhat, expr string
}

// list reads every page of l, following the rel="next" Link until there is none, and calls each for
// every item. Any failure on any page is an error: the read is never returned short.
func (c *client) list(ctx context.Context, l listing, each func(raw json.RawMessage) error) (directory.Read, error) {
	read := directory.Read{What: l.what}
	seen := map[string]bool{}
	u := l.first
	for {
		if seen[u.String()] {
			return read, fmt.Errorf("read okta %s: Okta sent a next-page link to a page already read (page %d); stopping instead of looping", l.what, read.Pages+1)
		}
		seen[u.String()] = true
		body, next, err := c.get(ctx, u, l, read.Pages+1)
		if err != nil {
			return read, err
		}
		read.Pages++
		var items []json.RawMessage
		if err := json.Unmarshal(body, &items); err != nil {
			return read, fmt.Errorf("read okta %s: page %d from %s is not a JSON list: %v", l.what, read.Pages, u.Redacted(), err)
		}
		for _, it := range items {
			if err := each(it); err != nil {
				return read, err
			}
		}
		read.Entries += len(items)
		if next == nil {
			read.Finished = true
			return read, nil
		}
		u = next
	}
}

// get fetches one page and returns its body and the next page's URL (nil on the last page).
func (c *client) get(ctx context.Context, u *url.URL, l listing, pageNo int) ([]byte, *url.URL, error) {
	bucket := bucketOf(u.Path)
	newReq := func(ctx context.Context) (*http.Request, error) {
		if err := c.pace(ctx, bucket); err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "SSWS "+c.token)
		req.Header.Set("Accept", "application/json")
		return req, nil
	}
	resp, err := httpx.Do(ctx, c.hc, c.policy, newReq, nil)
	if err != nil {
		return nil, nil, c.failure(ctx, l, pageNo, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, nil, c.statusError(l, pageNo, resp.StatusCode, resp.Header, body, nil)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPageBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("read okta %s: %w", l.what, ctx.Err())
		}
		return nil, nil, fmt.Errorf("%w: read okta %s: page %d broke off: %v", directory.ErrUnreachable, l.what, pageNo, err)
	}
	if len(body) > maxPageBytes {
		return nil, nil, fmt.Errorf("read okta %s: page %d is larger than %d MiB", l.what, pageNo, maxPageBytes>>20)
	}
	return body, c.nextURL(resp.Request.URL, resp.Header), nil
}

// pace waits, before a request to bucket, for the rate-limit window to reset when Okta's last answer
// for it left no more than the reserved share of the limit.
func (c *client) pace(ctx context.Context, bucket string) error {
	wait, st := c.limits.wait(bucket, c.policy.Now(), c.reserve)
	if wait <= 0 {
		return nil
	}
	if wait > c.policy.MaxWait {
		// A reset that far away is not a per-minute window; let Okta decide.
		c.log.Warn("okta: rate limit nearly used up and resets late; not waiting", "endpoint", bucket,
			"remaining", st.remaining, "limit", st.limit, "resetIn", wait)
		return nil
	}
	c.log.Info("okta: rate limit nearly used up; waiting for it to reset", "endpoint", bucket,
		"remaining", st.remaining, "limit", st.limit, "reservePercent", c.reserve, "wait", wait)
	if err := c.policy.Sleep(ctx, wait); err != nil {
		return err
	}
	c.limits.waited(bucket)
	return nil
}

// nextURL returns the rel="next" link of an answer resolved against the request's URL, or nil. The link
// is followed as Okta sent it; only when it names another host is it sent to the org URL's host instead,
// so the API token never goes anywhere else.
func (c *client) nextURL(reqURL *url.URL, h http.Header) *url.URL {
	target := parseLinks(h.Values("Link"))["next"]
	if target == "" {
		return nil
	}
	ref, err := url.Parse(target)
	if err != nil {
		c.log.Warn("okta: next-page link does not parse; treating the page as the last", "link", target)
		return nil
	}
	u := reqURL.ResolveReference(ref)
	if !strings.EqualFold(u.Host, c.base.Host) || u.Scheme != c.base.Scheme {
		if !c.movedHost {
			c.movedHost = true
			c.log.Warn("okta: next-page link names another host; following it on the organization URL's host",
				"linkHost", u.Host, "orgHost", c.base.Host)
		}
		u.Scheme, u.Host, u.User = c.base.Scheme, c.base.Host, nil
	}
	return u
}

// parseLinks parses Link header values (RFC 8288), whether sent as separate headers or joined with
// commas, and returns each relation's first target.
func parseLinks(values []string) map[string]string {
	out := map[string]string{}
	for _, v := range values {
		s := v
		for {
			s = strings.TrimLeft(s, " \t,")
			if !strings.HasPrefix(s, "<") {
				break
			}
			end := strings.IndexByte(s, '>')
			if end < 0 {
				break
			}
			target := s[1:end]
			s = s[end+1:]
			var rels []string
			for {
				s = strings.TrimLeft(s, " \t")
				if !strings.HasPrefix(s, ";") {
					break
				}
				s = strings.TrimLeft(s[1:], " \t")
				name, rest, _ := strings.Cut(s, "=")
				name = strings.ToLower(strings.TrimSpace(name))
				var val string
				rest = strings.TrimLeft(rest, " \t")
				if strings.HasPrefix(rest, `"`) {
					j := strings.IndexByte(rest[1:], '"')
					if j < 0 {
						val, s = rest[1:], ""
					} else {
						val, s = rest[1:j+1], rest[j+2:]
					}
				} else {
					j := strings.IndexAny(rest, ";,")
					if j < 0 {
						j = len(rest)
					}
					val, s = strings.TrimSpace(rest[:j]), rest[j:]
				}
				if name == "rel" {
					rels = append(rels, strings.Fields(strings.ToLower(val))...)
				}
			}
			for _, r := range rels {
				if _, ok := out[r]; !ok {
					out[r] = target
				}
			}
			// Skip to the next link-value.
			if i := strings.IndexByte(s, ','); i >= 0 {
				s = s[i:]
			} else {
				break
			}
		}
	}
	return out
}

// apiError is Okta's error body.
type apiError struct {
	ErrorCode    string `json:"errorCode"`
	ErrorSummary string `json:"errorSummary"`
	ErrorID      string `json:"errorId"`
	ErrorCauses  []struct {
		ErrorSummary string `json:"errorSummary"`
	} `json:"errorCauses"`
}

// describe renders Okta's error for people: "E0000011 Invalid token provided (errorId oae...)".
func describeError(status int, h http.Header, body []byte) string {
	var e apiError
	_ = json.Unmarshal(body, &e)
	var b strings.Builder
	if e.ErrorCode != "" {
		b.WriteString(e.ErrorCode + " ")
	}
	if e.ErrorSummary != "" {
		b.WriteString(strings.TrimSpace(e.ErrorSummary))
	} else {
		fmt.Fprintf(&b, "HTTP %d %s", status, http.StatusText(status))
	}
	for _, c := range e.ErrorCauses {
		if c.ErrorSummary != "" {
			b.WriteString("; " + strings.TrimSpace(c.ErrorSummary))
		}
	}
	id := e.ErrorID
	if id == "" && h != nil {
		id = h.Get("X-Okta-Request-Id")
	}
	if id != "" {
		b.WriteString(", errorId " + id)
	}
	return b.String()
}

// failure turns an httpx.Do error into one that says what to do.
func (c *client) failure(ctx context.Context, l listing, pageNo int, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("read okta %s: %w", l.what, ctx.Err())
	}
	var re *httpx.RetryError
	var se *httpx.StatusError
	if errors.As(err, &re) && errors.As(re.Err, &se) {
		return c.statusError(l, pageNo, se.StatusCode, se.Header, se.Body, re)
	}
	host := c.base.Host
	if httpx.IsTLSVerification(err) {
		return fmt.Errorf("%w: okta %s: the TLS certificate of %s is not trusted (%v); if a TLS-inspecting proxy sits between dirconn and Okta, set okta.caFile to its CA certificate",
			directory.ErrUnreachable, l.what, host, err)
	}
	return fmt.Errorf("%w: okta %s: cannot reach %s (check okta.orgUrl, the network and HTTPS_PROXY): %v", directory.ErrUnreachable, l.what, host, err)
}

// statusError explains an answer other than 200. re is set when retries were given up.
func (c *client) statusError(l listing, pageNo, status int, h http.Header, body []byte, re *httpx.RetryError) error {
	okta := describeError(status, h, body)
	where := fmt.Sprintf("okta %s (page %d)", l.what, pageNo)
	switch status {
	case http.StatusUnauthorized:
		return fmt.Errorf("%w: %s: Okta refused the API token (%s); check okta.token: a token stops working when it is revoked, when it has not been used for 30 days, or when the admin who created it is deactivated",
			directory.ErrAuth, where, okta)
	case http.StatusForbidden:
		return fmt.Errorf("%w: %s: the API token may not read this (%s); create the token while signed in as an admin with at least the Read-Only Administrator role",
			directory.ErrAuth, where, okta)
	case http.StatusBadRequest:
		if l.expr != "" {
			return fmt.Errorf("%w: %s: Okta refused the %s's expression %q (%s)", directory.ErrFilter, where, l.filterWhat, l.expr, okta)
		}
	case http.StatusNotFound:
		if pageNo == 1 && !strings.HasPrefix(l.what, "members") {
			return &directory.ConfigError{Key: "okta." + optOrgURL, Reason: fmt.Sprintf(
				"%s answered 404 Not Found for %s (%s): is it your Okta organization's URL, e.g. https://company.okta.com?",
				c.base.Redacted(), l.first.Path, okta)}
		}
	case http.StatusTooManyRequests:
		if re != nil {
			return fmt.Errorf("%s: Okta's rate limit is still used up (%s): %s; the org's other API clients share this limit, try again later",
				where, okta, retrySummary(re))
		}
	}
	if re != nil {
		return fmt.Errorf("%s: Okta answered HTTP %d (%s): %s", where, status, okta, retrySummary(re))
	}
	return fmt.Errorf("%s: Okta answered HTTP %d (%s)", where, status, okta)
}

func retrySummary(re *httpx.RetryError) string {
	s := fmt.Sprintf("gave up after %d attempts over %s", re.Attempts, re.Elapsed.Round(time.Second))
	if re.Reason != "" {
		s += " (" + re.Reason + ")"
	}
	return s
}

// bucketOf names the rate-limit bucket of an API path: the endpoint with ids replaced, as Okta counts.
func bucketOf(path string) string {
	i := strings.Index(path, "/api/v1/")
	if i < 0 {
		return path
	}
	parts := strings.Split(strings.Trim(path[i+len("/api/v1/"):], "/"), "/")
	if len(parts) >= 2 {
		parts[1] = "{id}"
	}
	return "/api/v1/" + strings.Join(parts, "/")
}

// rateLimits is what Okta's X-Rate-Limit-* headers said last, per bucket.
type rateLimits struct {
	mu      sync.Mutex
	buckets map[string]*limitState
}

type limitState struct {
	limit, remaining int
	resetAt          time.Time // on the local clock
}

func newRateLimits() *rateLimits { return &rateLimits{buckets: map[string]*limitState{}} }

// observe records an answer's rate-limit headers, received at now. The reset time is moved onto the
// local clock through the answer's Date, so a skewed local clock does not matter.
func (r *rateLimits) observe(bucket string, h http.Header, now time.Time) {
	remaining, err1 := strconv.Atoi(strings.TrimSpace(h.Get("X-Rate-Limit-Remaining")))
	limit, err2 := strconv.Atoi(strings.TrimSpace(h.Get("X-Rate-Limit-Limit")))
	wait, ok := untilReset(h, now)
	if err1 != nil || err2 != nil || !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buckets[bucket] = &limitState{limit: limit, remaining: remaining, resetAt: now.Add(wait)}
}

// wait returns how long to wait before the next request to bucket: until the window resets when no
// more than reserve percent of the limit is left, else 0.
func (r *rateLimits) wait(bucket string, now time.Time, reserve int) (time.Duration, limitState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.buckets[bucket]
	if st == nil {
		return 0, limitState{}
	}
	if st.remaining > st.limit*reserve/100 || !now.Before(st.resetAt) {
		return 0, *st
	}
	return st.resetAt.Sub(now) + resetMargin, *st
}

// waited forgets bucket's state after a wait for its reset: the next answer tells the new one.
func (r *rateLimits) waited(bucket string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.buckets, bucket)
}

// untilReset returns how long after the answer's Date (or now, without one) X-Rate-Limit-Reset is.
func untilReset(h http.Header, now time.Time) (time.Duration, bool) {
	reset, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-Rate-Limit-Reset")), 10, 64)
	if err != nil {
		return 0, false
	}
	from := now
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		from = d
	}
	return max(time.Unix(reset, 0).Sub(from), 0), true
}

// rateTransport records the rate-limit headers of every answer, and gives a 429 without Retry-After
// (Okta sends none) one computed from X-Rate-Limit-Reset, so httpx.Do waits exactly until the window
// resets.
type rateTransport struct {
	base   http.RoundTripper
	limits *rateLimits
	now    func() time.Time
}

func (t *rateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp == nil {
		return resp, err
	}
	now := t.now()
	t.limits.observe(bucketOf(req.URL.Path), resp.Header, now)
	if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
		if wait, ok := untilReset(resp.Header, now); ok {
			secs := int64((wait + resetMargin + time.Second - 1) / time.Second)
			resp.Header = resp.Header.Clone()
			resp.Header.Set("Retry-After", strconv.FormatInt(secs, 10))
		}
	}
	return resp, nil
}

// CloseIdleConnections lets (*http.Client).CloseIdleConnections reach the wrapped transport.
func (t *rateTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
