package google

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/httpx"
)

// retryTransport sends each request through httpx.Do, so every call the client library and the token
// source make is retried on Google's throttling and transient errors with the policy's capped backoff
// and bounded total wait. The library itself retries no list call.
type retryTransport struct {
	client *http.Client
	policy httpx.Policy
	// ctx is the read's context, used for requests that carry none (x/oauth2 posts the token request
	// without one).
	ctx context.Context
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if ctx.Done() == nil && t.ctx != nil {
		ctx = t.ctx
	}
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		// Token requests are small forms; read once, resent on every attempt.
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	return httpx.Do(ctx, t.client, t.policy, func(ctx context.Context) (*http.Request, error) {
		r := req.Clone(ctx)
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			r.ContentLength = int64(len(body))
		}
		return r, nil
	}, retryable)
}

// rateLimitReasons are the 403 reasons Google documents as "retry with exponential backoff".
var rateLimitReasons = []string{"userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded"}

// maxPeek bounds how much of a 403 body is read to find its reason.
const maxPeek = 64 << 10

// retryable is httpx.DefaultRetryable (network failures, 429, 500, 502, 503, 504) plus Google's 403
// rate-limit answers, which only the body's reason tells apart from a real refusal.
func retryable(resp *http.Response, err error) bool {
	if err != nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		return httpx.DefaultRetryable(resp, err)
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxPeek))
	// The caller still gets the whole body.
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	reason, _ := parseGoogleError(head)
	return isRateLimit(reason)
}

// parseGoogleError reads the reason and message of a Google error body
// {"error":{"code","message","errors":[{"reason","message"}]}}.
func parseGoogleError(body []byte) (reason, message string) {
	var e struct {
		Error struct {
			Message string `json:"message"`
			Errors  []struct {
				Reason  string `json:"reason"`
				Message string `json:"message"`
			} `json:"errors"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	message = e.Error.Message
	for _, it := range e.Error.Errors {
		if reason == "" {
			reason = it.Reason
		}
		if message == "" {
			message = it.Message
		}
	}
	return reason, message
}

// call describes one listing for error messages.
type call struct {
	name string // "users.list", "groups.list", "members.list"
	what string // "users", "deleted users", "groups", "members of group Sales"
	// query and queryKey are the native search query sent, and the setting it comes from.
	query, queryKey string
}

// failure is a Google answer the read could not use, reduced to what explains it.
type failure struct {
	status          int
	reason, message string
	retry           *httpx.RetryError // set when retries ran out
}

// asFailure extracts the HTTP answer behind err: a googleapi.Error from the library, or the last answer
// of retries that ran out.
func asFailure(err error) (*failure, bool) {
	var re *httpx.RetryError
	if errors.As(err, &re) {
		var se *httpx.StatusError
		if errors.As(re.Err, &se) {
			f := &failure{status: se.StatusCode, retry: re}
			f.reason, f.message = parseGoogleError(se.Body)
			return f, true
		}
		return nil, false
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		f := &failure{status: ge.Code, message: ge.Message}
		for _, it := range ge.Errors {
			if f.reason == "" {
				f.reason = it.Reason
			}
			if f.message == "" {
				f.message = it.Message
			}
		}
		if f.reason == "" && f.message == "" {
			f.reason, f.message = parseGoogleError([]byte(ge.Body))
		}
		return f, true
	}
	return nil, false
}

func (f *failure) String() string {
	s := fmt.Sprintf("HTTP %d", f.status)
	if f.reason != "" {
		s += " " + f.reason
	}
	if f.message != "" && f.message != f.reason {
		s += ": " + f.message
	}
	return s
}

// retried says how long retries went on, for messages about answers that did not go away.
func (f *failure) retried() string {
	if f.retry == nil {
		return ""
	}
	attempts := fmt.Sprintf("%d attempts", f.retry.Attempts)
	if f.retry.Attempts == 1 {
		attempts = "1 attempt"
	}
	if f.retry.Reason != "" {
		return fmt.Sprintf(" (gave up after %s over %s: %s)", attempts, f.retry.Elapsed.Round(100*time.Millisecond), f.retry.Reason)
	}
	return fmt.Sprintf(" (gave up after %s over %s)", attempts, f.retry.Elapsed.Round(100*time.Millisecond))
}

// explain turns the error of a listing into one that says what failed and what to fix, wrapping the
// directory sentinel that fits. It never includes tokens or keys.
func (c *conn) explain(cl call, err error) error {
	if ctxErr := c.ctx.Err(); ctxErr != nil {
		return fmt.Errorf("read %s: %w", cl.what, ctxErr)
	}
	var te *oauth2.RetrieveError
	if errors.As(err, &te) {
		return c.tokenError(te)
	}
	f, ok := asFailure(err)
	if !ok {
		return c.networkError("read "+cl.what+" ("+cl.name+")", err)
	}
	s := c.src.s
	prefix := fmt.Sprintf("read %s (%s): %s", cl.what, cl.name, f)
	switch {
	case f.status == http.StatusUnauthorized:
		return fmt.Errorf("%w: %s: Google refused the access token it issued for %s", directory.ErrAuth, prefix, s.adminUser)
	case f.status == http.StatusForbidden && f.reason == "insufficientPermissions":
		return fmt.Errorf("%w: %s: the token lacks a scope; authorize client ID %s for exactly these scopes in the Admin console (Security > Access and data control > API controls > Manage Domain Wide Delegation): %s",
			directory.ErrAuth, prefix, c.creds.clientIDHint(), strings.Join(Scopes, ","))
	case f.status == http.StatusForbidden && isRateLimit(f.reason):
		return fmt.Errorf("%s: Google's quota did not recover%s; try again later, or raise the Admin SDK quota of the service account's project", prefix, f.retried())
	case f.status == http.StatusForbidden:
		where := "google.domain " + s.domain
		if s.domain == "" {
			where = "google.customer " + s.customer
		} else if s.customer != "" {
			where += " and google.customer " + s.customer
		}
		return fmt.Errorf("%w: %s: google.adminUser %s must be an administrator allowed to read users and groups (e.g. a super admin), and %s must belong to its Workspace account",
			directory.ErrAuth, prefix, s.adminUser, where)
	case f.status == http.StatusBadRequest && cl.query != "":
		guide := "search-users"
		if cl.name == "groups.list" {
			guide = "search-groups"
		}
		return fmt.Errorf("%w: %s: Google refused the search query %q of %s; see https://developers.google.com/admin-sdk/directory/v1/guides/%s",
			directory.ErrFilter, prefix, cl.query, cl.queryKey, guide)
	case f.status == http.StatusBadRequest || (f.status == http.StatusNotFound && cl.name != "members.list"):
		return fmt.Errorf("%w: %s: check google.domain and google.customer", directory.ErrConfig, prefix)
	case f.retry != nil:
		return fmt.Errorf("%s%s", prefix, f.retried())
	}
	return errors.New(prefix)
}

func isRateLimit(reason string) bool {
	for _, r := range rateLimitReasons {
		if r == reason {
			return true
		}
	}
	return false
}

// networkError explains a failure without an HTTP answer.
func (c *conn) networkError(what string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL holds paging cursors and queries: name the host only
	}
	var re *httpx.RetryError
	msg := err.Error()
	if errors.As(err, &re) {
		msg = fmt.Sprintf("gave up after %d attempt(s) over %s: %v", re.Attempts, re.Elapsed.Round(100*time.Millisecond), stripURL(re.Err))
	}
	host := c.src.s.apiURL
	if u, perr := url.Parse(host); perr == nil {
		host = u.Host
	}
	if httpx.IsTLSVerification(err) {
		return fmt.Errorf("%w: %s: the TLS certificate of %s is not trusted (if a TLS-inspecting proxy is in the way, set caFile to its CA certificate): %s",
			directory.ErrUnreachable, what, host, msg)
	}
	var se *httpx.StatusError
	if errors.As(err, &se) {
		return fmt.Errorf("%s: %s", what, msg)
	}
	if strings.Contains(msg, "invalid character") || strings.Contains(msg, "unexpected end of JSON") {
		return fmt.Errorf("%s: %s sent an answer that is not valid JSON: %s", what, host, msg)
	}
	return fmt.Errorf("%w: %s: cannot reach %s: %s", directory.ErrUnreachable, what, host, msg)
}

// retryCause describes a failed attempt for the retry log: Google's status and reason for an answer.
func retryCause(err error) string {
	var se *httpx.StatusError
	if errors.As(err, &se) {
		f := &failure{status: se.StatusCode}
		f.reason, f.message = parseGoogleError(se.Body)
		return se.Method + " " + se.URL + ": " + f.String()
	}
	return stripURL(err).Error()
}

// stripURL drops the URL (queries, paging cursors) from a *url.Error.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// tokenError explains a refusal of the token endpoint.
func (c *conn) tokenError(te *oauth2.RetrieveError) error {
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(te.Body, &body)
	code, desc := body.Error, body.Description
	if code == "" {
		code = te.ErrorCode
	}
	if desc == "" {
		desc = te.ErrorDescription
	}
	status := 0
	if te.Response != nil {
		status = te.Response.StatusCode
	}
	s := c.src.s
	who := fmt.Sprintf("the service account %s acting as google.adminUser %s", c.creds.email, s.adminUser)
	head := fmt.Sprintf("Google refused a token to %s (HTTP %d %s: %s)", who, status, code, desc)
	var hint string
	switch {
	case code == "unauthorized_client":
		hint = fmt.Sprintf("domain-wide delegation or scopes missing for client id %s: in the Admin console, Security > Access and data control > API controls > Manage Domain Wide Delegation, authorize it for %s",
			c.creds.clientIDHint(), strings.Join(Scopes, ","))
	case code == "invalid_grant" && strings.Contains(desc, "email or User ID"):
		hint = fmt.Sprintf("google.adminUser %s is not an active user of the Workspace account", s.adminUser)
	case code == "invalid_grant" && strings.Contains(desc, "Signature"):
		hint = "the private key does not belong to " + c.creds.email + ", or it was deleted: create a new JSON key"
	case code == "invalid_grant" && strings.Contains(desc, "account not found"):
		hint = "the service account " + c.creds.email + " does not exist: check google.clientEmail or google.keyFile"
	case code == "invalid_grant" && (strings.Contains(desc, "iat") || strings.Contains(desc, "timeframe")):
		hint = "this computer's clock is wrong: set it right (NTP)"
	case code == "invalid_grant" && strings.Contains(desc, "audience"):
		hint = "the token endpoint expects another audience: google.tokenUrl must lead to Google's token endpoint"
	case code == "invalid_client" || code == "disabled_client":
		hint = "the service account or its key is disabled or deleted"
	case code == "invalid_scope":
		hint = "the scopes asked for are not valid"
	}
	if hint != "" {
		return fmt.Errorf("%w: %s: %s", directory.ErrAuth, head, hint)
	}
	return fmt.Errorf("%w: %s", directory.ErrAuth, head)
}
