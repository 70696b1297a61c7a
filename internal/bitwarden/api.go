package bitwarden

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/dirconn/dirconn/internal/httpx"
)

// Import sends one import request to POST {api}/public/organization/import. Only a 200 answer is
// success. Groups, Members and each group's MemberExternalIDs are sent as arrays even when nil, and
// the three flags are always sent. Batching, de-duplication and the 2000-entry limit are the caller's
// business; Import sends what it is given.
func (c *Client) Import(ctx context.Context, r *ImportRequest) error {
	if r == nil {
		return errors.New("bitwarden import: nil request")
	}
	body, err := importBody(r)
	if err != nil {
		return fmt.Errorf("bitwarden import: %w", err)
	}
	endpoint := c.api + "/public/organization/import"
	c.log.Debug("bitwarden: import", "members", len(r.Members), "groups", len(r.Groups),
		"overwriteExisting", r.OverwriteExisting, "largeImport", r.LargeImport, "bytes", len(body))
	resp, err := c.authed(ctx, "import", func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		return req, nil
	})
	if err != nil {
		return err
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bitwarden import: %w", c.httpError(resp))
	}
	// The server answers 200 with an empty body. A web page means the URL reached something else (a
	// web vault or a portal) that happily answers 200: that must not pass for a successful sync.
	if isHTML(resp.Header) {
		if b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096)); len(bytes.TrimSpace(b)) > 0 {
			return fmt.Errorf("bitwarden import: POST %s answered 200 with a web page, not the Bitwarden API: check the API URL",
				endpoint)
		}
	}
	return nil
}

// importBody marshals r with every array present (null arrays make the server answer 500).
func importBody(r *ImportRequest) ([]byte, error) {
	out := *r
	if out.Members == nil {
		out.Members = []ImportMember{}
	}
	out.Groups = make([]ImportGroup, len(r.Groups))
	for i, g := range r.Groups {
		if g.MemberExternalIDs == nil {
			g.MemberExternalIDs = []string{}
		}
		out.Groups[i] = g
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&out); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Members returns every member of the organization (GET {api}/public/members, following
// continuationToken). A server without the endpoint (404 or 405) gives an error wrapping ErrNotSupported.
func (c *Client) Members(ctx context.Context) ([]Member, error) {
	return list[Member](ctx, c, "members", "/public/members")
}

// Groups returns every group of the organization (GET {api}/public/groups, following
// continuationToken). A server without the endpoint (404 or 405) gives an error wrapping ErrNotSupported.
func (c *Client) Groups(ctx context.Context) ([]Group, error) {
	return list[Group](ctx, c, "groups", "/public/groups")
}

// maxPages stops a server that keeps sending continuation tokens.
const maxPages = 100000

func list[T any](ctx context.Context, c *Client, op, path string) ([]T, error) {
	out := []T{}
	seen := map[string]bool{}
	next := ""
	for page := 0; ; page++ {
		if page == maxPages {
			return nil, fmt.Errorf("bitwarden %s: stopped after %d pages", op, maxPages)
		}
		endpoint := c.api + path
		if next != "" {
			endpoint += "?continuationToken=" + url.QueryEscape(next)
		}
		items, token, err := listPage[T](ctx, c, op, endpoint)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if token == "" {
			return out, nil
		}
		if seen[token] {
			return nil, fmt.Errorf("bitwarden %s: the server sent the same continuation token twice", op)
		}
		seen[token] = true
		next = token
	}
}

func listPage[T any](ctx context.Context, c *Client, op, endpoint string) ([]T, string, error) {
	resp, err := c.authed(ctx, op, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		return req, nil
	})
	if err != nil {
		return nil, "", err
	}
	defer drain(resp)
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return nil, "", fmt.Errorf("bitwarden %s: %w: %w", op, ErrNotSupported, c.httpError(resp))
	default:
		return nil, "", fmt.Errorf("bitwarden %s: %w", op, c.httpError(resp))
	}
	var body struct {
		Object            string  `json:"object"`
		Data              []T     `json:"data"`
		ContinuationToken *string `json:"continuationToken"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, "", fmt.Errorf("bitwarden %s: the answer of GET %s is not a Bitwarden list (check the API URL): %w",
			op, cleanURL(resp.Request.URL), err)
	}
	if body.Object != "" && body.Object != "list" {
		return nil, "", fmt.Errorf("bitwarden %s: the answer of GET %s is a %q, not a list", op, cleanURL(resp.Request.URL), body.Object)
	}
	token := ""
	if body.ContinuationToken != nil {
		token = *body.ContinuationToken
	}
	return body.Data, token, nil
}

// maxErrorBody is how much of an error answer is read.
const maxErrorBody = 64 << 10

// httpError reads a non-success answer into an *HTTPError. It does not close the body.
func (c *Client) httpError(resp *http.Response) *HTTPError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return c.statusHTTPError(resp.Request.Method, cleanURL(resp.Request.URL), resp.StatusCode, resp.Header, b)
}

// statusHTTPError builds an *HTTPError from an answer's parts. It reads the server's message from every
// error shape in use: the public API's {"message","errors"}, the internal model's and Vaultwarden's
// {"message","validationErrors","errorModel":{"message"}}, OAuth's {"error","error_description"}; a
// plain-text or HTML body gives its text or title.
func (c *Client) statusHTTPError(method, rawURL string, status int, header http.Header, body []byte) *HTTPError {
	he := &HTTPError{Method: method, URL: rawURL, Status: status}
	if d, ok := httpx.ParseRetryAfter(header.Get("Retry-After"), c.now()); ok {
		he.RetryAfter = d
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return he
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) == nil {
		f := lowerKeys(fields)
		he.Code = jsonString(f["error"])
		he.Message = cmp.Or(jsonString(f["message"]), nestedMessage(f["errormodel"]), jsonString(f["error_description"]), he.Code)
		he.Details = mergeDetails(detailMap(f["errors"]), detailMap(f["validationerrors"]))
	} else if isHTML(header) || bytes.HasPrefix(body, []byte("<")) {
		he.Message = htmlTitle(body)
	} else {
		he.Message = oneLine(string(body), 200)
	}
	he.Message = c.redact(he.Message)
	for k, vs := range he.Details {
		// Vaultwarden repeats its message as {"": [message]}: keep it once.
		if slices.IndexFunc(vs, func(v string) bool { return v != he.Message }) < 0 {
			delete(he.Details, k)
			continue
		}
		for i := range vs {
			vs[i] = c.redact(vs[i])
		}
		if rk := c.redact(k); rk != k {
			delete(he.Details, k)
			he.Details[rk] = vs
		}
	}
	if len(he.Details) == 0 {
		he.Details = nil
	}
	return he
}

func lowerKeys(m map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		k = strings.ToLower(k)
		if _, dup := out[k]; !dup || string(v) != "null" {
			out[k] = v
		}
	}
	return out
}

func jsonString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return strings.TrimSpace(s)
}

func nestedMessage(raw json.RawMessage) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	return jsonString(lowerKeys(m)["message"])
}

// detailMap reads {"field": ["msg", ...]} (a single string value is accepted too).
func detailMap(raw json.RawMessage) map[string][]string {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	out := map[string][]string{}
	for k, v := range m {
		var list []string
		if json.Unmarshal(v, &list) != nil {
			if s := jsonString(v); s != "" {
				list = []string{s}
			}
		}
		if len(list) > 0 {
			out[k] = list
		}
	}
	return out
}

func mergeDetails(a, b map[string][]string) map[string][]string {
	if len(a) == 0 {
		return b
	}
	for k, v := range b {
		a[k] = append(a[k], v...)
	}
	return a
}

func isHTML(h http.Header) bool {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && (mt == "text/html" || mt == "application/xhtml+xml")
}

var titleRE = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

// htmlTitle returns the title of an HTML error page (a proxy's "502 Bad Gateway"), or a generic text.
func htmlTitle(b []byte) string {
	if m := titleRE.FindSubmatch(b); m != nil {
		if t := oneLine(html.UnescapeString(string(m[1])), 200); t != "" {
			return t
		}
	}
	return "the answer is a web page, not the Bitwarden API"
}

// oneLine collapses whitespace and cuts s to at most n bytes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		cut := n
		for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
