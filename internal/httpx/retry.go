package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Policy says how Do retries. Zero fields take the value of DefaultPolicy, so Policy{} is the default
// policy and Policy{Sleep: fake} the default policy with a fake clock. To turn retries off, set
// MaxAttempts to 1.
type Policy struct {
	// MaxAttempts is the number of requests Do makes at most, the first one included.
	MaxAttempts int
	// BaseDelay is the backoff before the second attempt; it doubles per attempt up to MaxDelay. The
	// actual wait is jittered between half of that value and the value.
	BaseDelay, MaxDelay time.Duration
	// MaxWait bounds the total time Do spends waiting between attempts, Retry-After waits included. A
	// Retry-After longer than what is left of it makes Do give up at once (with an error that says so);
	// a backoff longer than what is left is shortened to it.
	MaxWait time.Duration
	// Sleep waits for d or until ctx is done, returning ctx's error then. Nil means a real timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock for Retry-After dates and for the elapsed time in errors. Nil means time.Now.
	Now func() time.Time
	// OnRetry, when set, is called before each wait with the attempt that failed (1-based), the wait
	// and that attempt's failure (a *StatusError for an HTTP answer). Callers use it to log retries.
	OnRetry func(attempt int, wait time.Duration, err error)
}

// DefaultPolicy returns the policy used for zero fields: 5 attempts, backoff from 1 s doubling up to
// 30 s, and at most 5 minutes of waiting in total.
func DefaultPolicy() Policy {
	return Policy{
		MaxAttempts: 5,
		BaseDelay:   time.Second,
		MaxDelay:    30 * time.Second,
		MaxWait:     5 * time.Minute,
		Sleep:       sleep,
		Now:         time.Now,
	}
}

func (p Policy) withDefaults() Policy {
	d := DefaultPolicy()
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = d.BaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = d.MaxDelay
	}
	if p.MaxDelay < p.BaseDelay {
		p.MaxDelay = p.BaseDelay
	}
	if p.MaxWait <= 0 {
		p.MaxWait = d.MaxWait
	}
	if p.Sleep == nil {
		p.Sleep = d.Sleep
	}
	if p.Now == nil {
		p.Now = d.Now
	}
	return p
}

// backoff returns the jittered wait after the given failed attempt (1-based): between half of
// min(BaseDelay·2^(attempt-1), MaxDelay) and that value.
func (p Policy) backoff(attempt int) time.Duration {
	d := p.MaxDelay
	if shift := attempt - 1; shift < 62 {
		if b := p.BaseDelay << shift; b > 0 && b < p.MaxDelay && b>>shift == p.BaseDelay {
			d = b
		}
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// maxErrorBody is how much of a failed answer's body StatusError keeps; maxDrain is how much more is
// read so the connection can be reused.
const (
	maxErrorBody = 64 << 10
	maxDrain     = 256 << 10
)

// Do sends the request newReq builds, again and again while retryable says the outcome is worth another
// try, up to p.MaxAttempts. newReq is called once per attempt, so request bodies are fresh each time.
// retryable nil means DefaultRetryable.
//
// Waits: for 429, 503 and 504 a Retry-After header (seconds or HTTP date) is honoured; every other
// retryable failure waits a capped, jittered exponential backoff (see Policy). The sum of waits never
// exceeds p.MaxWait.
//
// Outcome: when retryable says no, Do returns what the client returned (a response of any status, which
// the caller must close, or an error). When it gives up on retryable failures it returns a nil response
// and a *RetryError, whose Err is the last failure: a *StatusError (status, header and the start of the
// body) for an HTTP answer. Bodies of answers it does not return are drained and closed. When ctx ends,
// Do stops at once and its error matches ctx.Err() with errors.Is.
func Do(ctx context.Context, c *http.Client, p Policy, newReq func(ctx context.Context) (*http.Request, error),
	retryable func(resp *http.Response, err error) bool) (*http.Response, error) {
	if c == nil {
		return nil, errors.New("httpx: nil http client")
	}
	if retryable == nil {
		retryable = DefaultRetryable
	}
	p = p.withDefaults()
	start := p.Now()
	var waited time.Duration
	var last error
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, stopped(err, attempt-1, p.Now().Sub(start), last)
		}
		req, err := newReq(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := c.Do(req)
		if err != nil && ctx.Err() != nil {
			closeBody(resp)
			return nil, err // the client's error already says "context canceled"
		}
		if !retryable(resp, err) {
			return resp, err
		}
		var retryAfter time.Duration
		hasRetryAfter := false
		if err != nil {
			closeBody(resp)
			last = err
		} else if resp == nil {
			return nil, errors.New("httpx: http client returned neither a response nor an error")
		} else {
			se := newStatusError(req, resp)
			last = se
			switch resp.StatusCode {
			case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
				retryAfter, hasRetryAfter = ParseRetryAfter(resp.Header.Get("Retry-After"), p.Now())
			}
		}
		if attempt >= p.MaxAttempts {
			return nil, &RetryError{Attempts: attempt, Elapsed: p.Now().Sub(start), Err: last}
		}
		left := p.MaxWait - waited
		wait := p.backoff(attempt)
		if hasRetryAfter {
			wait = retryAfter
			if wait > left {
				return nil, &RetryError{Attempts: attempt, Elapsed: p.Now().Sub(start), Err: last,
					Reason: fmt.Sprintf("the server asked to retry after %s, more than the %s left of the %s wait limit",
						roundDuration(wait), roundDuration(left), roundDuration(p.MaxWait))}
			}
		} else if wait > left {
			if left <= 0 {
				return nil, &RetryError{Attempts: attempt, Elapsed: p.Now().Sub(start), Err: last,
					Reason: fmt.Sprintf("the %s wait limit is used up", roundDuration(p.MaxWait))}
			}
			wait = left
		}
		if p.OnRetry != nil {
			p.OnRetry(attempt, wait, last)
		}
		if err := p.Sleep(ctx, wait); err != nil {
			if ctx.Err() == nil {
				return nil, fmt.Errorf("httpx: wait before retry: %w", err)
			}
			return nil, stopped(ctx.Err(), attempt, p.Now().Sub(start), last)
		}
		waited += wait
	}
}

func stopped(ctxErr error, attempts int, elapsed time.Duration, last error) error {
	if attempts == 0 || last == nil {
		return ctxErr
	}
	return &RetryError{Attempts: attempts, Elapsed: elapsed, Err: last, Canceled: ctxErr}
}

func closeBody(resp *http.Response) {
	if resp != nil && resp.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		_ = resp.Body.Close()
	}
}

// ParseRetryAfter parses a Retry-After header value, either delay-seconds or an HTTP date (relative to
// now). A date in the past gives 0. ok is false when v is empty or malformed.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, false
		}
		if secs > uint64(math.MaxInt64/int64(time.Second)) {
			return time.Duration(math.MaxInt64), true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

// DefaultRetryable reports whether an outcome is worth another try: 429, 500, 502, 503 and 504 answers,
// and network failures (refused or reset connections, timeouts, an early EOF, a temporary DNS failure).
// It says no to a cancelled context, to TLS certificate errors and to a host name that does not exist:
// trying again cannot fix those.
func DefaultRetryable(resp *http.Response, err error) bool {
	if err != nil {
		return retryableError(err)
	}
	if resp == nil {
		return false
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func retryableError(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	if IsTLSVerification(err) {
		return false
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return !dnsErr.IsNotFound
	}
	// Client and dial timeouts. (*url.Error implements net.Error, so only Timeout() is asked here.)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE)
}

// IsTLSVerification reports whether err is a TLS certificate verification failure (an untrusted CA, a
// name mismatch, an expired certificate) or a server that does not speak TLS. Callers use it to suggest
// the CA file setting.
func IsTLSVerification(err error) bool {
	var (
		verr  *tls.CertificateVerificationError
		uaErr x509.UnknownAuthorityError
		hErr  x509.HostnameError
		cErr  x509.CertificateInvalidError
		rhErr tls.RecordHeaderError
	)
	return errors.As(err, &verr) || errors.As(err, &uaErr) || errors.As(err, &hErr) ||
		errors.As(err, &cErr) || errors.As(err, &rhErr)
}

// StatusError is an HTTP answer Do gave up on. The response itself is closed; its status, header and
// the first 64 KiB of its body are kept for the caller to read the server's message from.
type StatusError struct {
	Method     string
	URL        string // without query string and user info
	StatusCode int
	Header     http.Header
	Body       []byte
}

func newStatusError(req *http.Request, resp *http.Response) *StatusError {
	se := &StatusError{Method: req.Method, URL: cleanURL(req.URL), StatusCode: resp.StatusCode, Header: resp.Header}
	if resp.Body != nil {
		se.Body, _ = io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	}
	closeBody(resp)
	return se
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
}

// cleanURL renders u for error messages: no user info, no query (which may hold tokens or paging
// cursors), no fragment.
func cleanURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	c.RawQuery = ""
	c.ForceQuery = false
	c.Fragment = ""
	c.RawFragment = ""
	return c.String()
}

// RetryError is Do giving up: after Attempts tries over Elapsed, because the attempts or the wait limit
// ran out (Reason says which when it was not the attempts) or because the context ended (Canceled).
// Err is the last attempt's failure. Its message reads
// "gave up after 3 attempts over 7s: GET https://x/y: HTTP 503 Service Unavailable".
type RetryError struct {
	Attempts int
	Elapsed  time.Duration
	Reason   string
	Err      error
	Canceled error // ctx.Err() when the context ended during a wait, else nil
}

func (e *RetryError) Error() string {
	attempts := "1 attempt"
	if e.Attempts != 1 {
		attempts = fmt.Sprintf("%d attempts", e.Attempts)
	}
	if e.Canceled != nil {
		return fmt.Sprintf("stopped waiting to retry after %s over %s: %v; last error: %v",
			attempts, roundDuration(e.Elapsed), e.Canceled, e.Err)
	}
	if e.Reason != "" {
		return fmt.Sprintf("gave up after %s over %s (%s): %v", attempts, roundDuration(e.Elapsed), e.Reason, e.Err)
	}
	return fmt.Sprintf("gave up after %s over %s: %v", attempts, roundDuration(e.Elapsed), e.Err)
}

// Unwrap returns the last failure and, when the context ended, the context's error.
func (e *RetryError) Unwrap() []error {
	if e.Canceled != nil {
		return []error{e.Err, e.Canceled}
	}
	return []error{e.Err}
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	default:
		return d.Round(time.Millisecond)
	}
}
