package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/httpx"
)

// tokenMargin is how long before its expiry a token is renewed (the Directory Connector's 2 minutes).
const tokenMargin = 2 * time.Minute

// maxPages bounds one listing, against a server that never stops handing out next links.
const maxPages = 1_000_000

// maxBody bounds one decoded page (999 objects with a few properties are well under 1 MiB).
const maxBody = 64 << 20

// client makes the Graph calls of a Source. It is safe for concurrent use.
type client struct {
	s      *settings
	log    *slog.Logger
	http   *http.Client
	policy httpx.Policy

	tokenHTTP *http.Client // for the token endpoint: retries 429/5xx as Graph calls do
	creds     clientcredentials.Config

	mu  sync.Mutex
	tok *oauth2.Token
}

func newClient(s *settings, log *slog.Logger, base *http.Client, policy httpx.Policy) *client {
	return &client{
		s:         s,
		log:       log,
		http:      base,
		policy:    policy,
		tokenHTTP: &http.Client{Transport: &retryTransport{client: base, policy: policy}},
		creds: clientcredentials.Config{
			ClientID:     s.clientID,
			ClientSecret: s.secret,
			TokenURL:     s.tokenURL,
			Scopes:       []string{s.scope},
			AuthStyle:    oauth2.AuthStyleInParams,
		},
	}
}

// retryTransport sends token requests through httpx.Do, so a throttled or briefly unavailable token
// endpoint is waited out like Graph itself. Answers that are not worth a retry (400, 401: a refused
// secret) are returned for x/oauth2 to read Entra's error from.
type retryTransport struct {
	client *http.Client
	policy httpx.Policy
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return httpx.Do(req.Context(), t.client, t.policy, func(ctx context.Context) (*http.Request, error) {
		r := req.Clone(ctx)
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = body
		}
		return r, nil
	}, nil)
}

// token returns a token valid for at least tokenMargin, fetching a new one when needed.
func (c *client) token(ctx context.Context) (*oauth2.Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok != nil && (c.tok.Expiry.IsZero() || time.Until(c.tok.Expiry) > tokenMargin) {
		return c.tok, nil
	}
	tok, err := c.creds.Token(context.WithValue(ctx, oauth2.HTTPClient, c.tokenHTTP))
	if err != nil {
		return nil, c.tokenError(ctx, err)
	}
	c.tok = tok
	c.log.Debug("entra: signed in", "tokenUrl", c.s.tokenURL, "scope", c.s.scope, "expires", tok.Expiry)
	return tok, nil
}

// dropToken forgets tok (after a 401), so the next call fetches a new one.
func (c *client) dropToken(tok *oauth2.Token) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok == tok {
		c.tok = nil
	}
}

// tokenError explains a failed token request: Entra's error in the Directory Connector's form
// ("<error> (<status>): <first line of error_description>") and the setting to check.
func (c *client) tokenError(ctx context.Context, err error) error {
	where := "sign in to Entra ID at " + c.s.tokenURL
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", where, ctx.Err())
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return networkError(where, err, optAuthorityURL)
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	desc, _, _ := strings.Cut(strings.ReplaceAll(re.ErrorDescription, "\r\n", "\n"), "\n")
	msg := fmt.Sprintf("%s (%d): %s", re.ErrorCode, status, desc)
	if re.ErrorCode == "" {
		msg = fmt.Sprintf("HTTP %d: %s", status, firstLine(string(re.Body)))
	}
	hint := ""
	switch code := aadsts(re.ErrorDescription); code {
	case "7000215":
		hint = "entra.key is wrong: set the client secret's Value (not its Secret ID)"
	case "7000222":
		hint = "the client secret in entra.key has expired: create a new one under Certificates & secrets and set entra.key"
	case "700016":
		hint = "check entra.applicationId, and that the app is registered in the tenant of entra.tenant"
	case "90002", "900023", "90023":
		hint = "check entra.tenant (the directory (tenant) ID or a domain of the tenant) and entra.identityAuthority (the cloud)"
	case "500011", "1002012":
		hint = "the tenant or app is not in this cloud: check entra.identityAuthority (and entra.graphUrl)"
	case "7000112", "700024":
		hint = "the app registration is disabled or not valid in this tenant: check it in the Entra admin center"
	}
	if hint != "" {
		msg += "; " + hint
	}
	return fmt.Errorf("%w: %s: %s", directory.ErrAuth, where, msg)
}

// aadsts returns the number of the AADSTS code an error description starts with ("" when none).
func aadsts(desc string) string {
	rest, ok := strings.CutPrefix(strings.TrimSpace(desc), "AADSTS")
	if !ok {
		return ""
	}
	n, _, _ := strings.Cut(rest, ":")
	return n
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// networkError explains a request that got no answer worth reading. setting is the URL setting to check.
func networkError(where string, err error, setting string) error {
	var re *httpx.RetryError
	if errors.As(err, &re) {
		var se *httpx.StatusError
		if errors.As(re.Err, &se) {
			// Graph kept throttling or failing: its own message says why.
			return fmt.Errorf("%s: %w", where, &retryGaveUp{re: re, api: apiErrorFrom(se.StatusCode, se.URL, se.Header, se.Body)})
		}
	}
	switch {
	case httpx.IsTLSVerification(err):
		return fmt.Errorf("%w: %s: the server's TLS certificate is not trusted (a TLS-inspecting proxy needs its CA in entra.caFile): %v", directory.ErrUnreachable, where, err)
	}
	return fmt.Errorf("%w: %s: %v (check the network, entra.proxy or HTTPS_PROXY, and %s)", directory.ErrUnreachable, where, err, "entra."+setting)
}

// retryGaveUp is httpx giving up on Graph answers (throttling, 5xx) with Graph's message.
type retryGaveUp struct {
	re  *httpx.RetryError
	api *apiError
}

func (e *retryGaveUp) Error() string {
	what := "gave up"
	if e.re.Canceled != nil {
		what = "stopped waiting"
	}
	reason := ""
	if e.re.Reason != "" {
		reason = " (" + e.re.Reason + ")"
	}
	attempts := "1 attempt"
	if e.re.Attempts != 1 {
		attempts = fmt.Sprintf("%d attempts", e.re.Attempts)
	}
	return fmt.Sprintf("%s after %s over %s%s: %v", what, attempts, e.re.Elapsed.Round(time.Millisecond), reason, e.api)
}

func (e *retryGaveUp) Unwrap() []error { return []error{e.re, e.api} }

// apiError is an error answer of Graph.
type apiError struct {
	Status    int
	URL       string // without query
	Code      string
	Message   string
	RequestID string
	Date      string
}

func (e *apiError) Error() string {
	s := fmt.Sprintf("HTTP %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request-id " + e.RequestID
		if e.Date != "" {
			s += ", " + e.Date
		}
		s += ")"
	}
	return s
}

func apiErrorFrom(status int, rawURL string, _ http.Header, body []byte) *apiError {
	var doc struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID string `json:"request-id"`
				Date      string `json:"date"`
			} `json:"innerError"`
		} `json:"error"`
	}
	e := &apiError{Status: status, URL: rawURL}
	if json.Unmarshal(body, &doc) == nil && doc.Error.Code != "" {
		e.Code, e.Message = doc.Error.Code, doc.Error.Message
		e.RequestID, e.Date = doc.Error.InnerError.RequestID, doc.Error.InnerError.Date
	} else if t := firstLine(string(body)); t != "" {
		e.Message = t
	}
	return e
}

// stripQuery returns rawURL without its query (which holds paging tokens) for messages.
func stripQuery(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(a malformed URL)"
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}

// underRoot reports whether rawURL is under the configured Graph root: next and delta links are followed
// verbatim, but never to another host (the token would go with them).
func (c *client) underRoot(rawURL string) bool {
	return strings.HasPrefix(rawURL, c.s.graphRoot+"/")
}

// get fetches rawURL (under the Graph root) into out. Throttling and server errors are retried as httpx
// does; a 401 is retried once with a new token (it may have been revoked or expired mid-run). Any other
// answer than 200 is an *apiError (wrapped with directory.ErrAuth for 401 and 403).
func (c *client) get(ctx context.Context, what, rawURL string, out any) error {
	if !c.underRoot(rawURL) {
		return fmt.Errorf("%s: Graph returned a link outside the Graph root %s (%s); refusing to send the token there (check entra.graphUrl)",
			what, c.s.graphRoot, stripQuery(rawURL))
	}
	for attempt := 1; ; attempt++ {
		tok, err := c.token(ctx)
		if err != nil {
			return err
		}
		resp, err := httpx.Do(ctx, c.http, c.policy, func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			req.Header.Set("Accept", "application/json")
			return req, nil
		}, nil)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%s: %w", what, ctx.Err())
			}
			return networkError(what+" (GET "+stripQuery(rawURL)+")", err, optGraphURL)
		}
		if resp.StatusCode == http.StatusOK {
			err := decode(resp, out)
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("%s: %w", what, ctx.Err())
				}
				return fmt.Errorf("%s (GET %s): the answer is not a Graph page: %v", what, stripQuery(rawURL), err)
			}
			return nil
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		ae := apiErrorFrom(resp.StatusCode, stripQuery(rawURL), resp.Header, body)
		if resp.StatusCode == http.StatusUnauthorized && attempt == 1 {
			c.dropToken(tok)
			continue
		}
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			return fmt.Errorf("%w: %s (GET %s): Graph refused the token twice: %v", directory.ErrAuth, what, ae.URL, ae)
		case http.StatusForbidden:
			return fmt.Errorf("%w: %s (GET %s): %v; the app registration needs the application permission %s, with admin consent granted (App registrations > the app > API permissions)",
				directory.ErrAuth, what, ae.URL, ae, permissionFor(ae.URL))
		}
		return fmt.Errorf("%s (GET %s): %w", what, ae.URL, ae)
	}
}

func decode(resp *http.Response, out any) error {
	defer resp.Body.Close()
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxBody))
	if err := dec.Decode(out); err != nil {
		return err
	}
	return nil
}

// page is one page of a Graph collection.
type page[T any] struct {
	Value     []T    `json:"value"`
	NextLink  string `json:"@odata.nextLink"`
	DeltaLink string `json:"@odata.deltaLink"`
}

// list reads a collection from first to the last page, calling each for every item, and returns the
// read's record and, for delta rounds, the delta link of the last page.
func list[T any](ctx context.Context, c *client, what, first string, each func(T) error) (directory.Read, string, error) {
	r := directory.Read{What: what}
	next := first
	seen := map[string]bool{}
	for next != "" {
		if r.Pages >= maxPages {
			return r, "", fmt.Errorf("%s: more than %d pages; stopped", what, maxPages)
		}
		if seen[next] {
			return r, "", fmt.Errorf("%s: Graph returned the same next link twice (%s); stopped", what, stripQuery(next))
		}
		seen[next] = true
		var p page[T]
		label := what
		if r.Pages > 0 {
			label = fmt.Sprintf("%s, page %d", what, r.Pages+1)
		}
		if err := c.get(ctx, label, next, &p); err != nil {
			return r, "", err
		}
		r.Pages++
		c.log.Debug("entra: page read", "read", what, "page", r.Pages, "entries", len(p.Value))
		for _, v := range p.Value {
			r.Entries++
			if err := each(v); err != nil {
				return r, "", err
			}
		}
		if p.NextLink == "" {
			r.Finished = true
			return r, p.DeltaLink, nil
		}
		next = p.NextLink
	}
	return r, "", nil
}

// describeRetry shortens a retry's failure for the log line.
func describeRetry(err error) string {
	var se *httpx.StatusError
	if errors.As(err, &se) {
		return apiErrorFrom(se.StatusCode, se.URL, se.Header, se.Body).Error() + " " + se.URL
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

// permissionFor names the Graph application permission a request needs.
func permissionFor(rawURL string) string {
	switch {
	case strings.Contains(rawURL, "/administrativeUnits/"):
		return "AdministrativeUnit.Read.All"
	case strings.Contains(rawURL, "/v1.0/groups"):
		return "Group.Read.All"
	}
	return "User.Read.All"
}
