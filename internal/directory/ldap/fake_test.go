package ldap

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirconn/dirconn/internal/directory"
)

// fakeResult is one result a fake search returns: an entry, a referral, the final controls, or an error.
type fakeResult struct {
	entry    *goldap.Entry
	referral string
	controls []goldap.Control
	err      error
}

// fakeConn answers searches with a function of the request, recording every request.
type fakeConn struct {
	closed bool // IsClosing
	mu     sync.Mutex
	reqs   []*goldap.SearchRequest
	answer func(req *goldap.SearchRequest) []fakeResult
}

func (f *fakeConn) SearchAsync(ctx context.Context, req *goldap.SearchRequest, _ int) goldap.Response {
	f.mu.Lock()
	cp := *req
	cp.Controls = append([]goldap.Control(nil), req.Controls...)
	f.reqs = append(f.reqs, &cp)
	f.mu.Unlock()
	return &fakeResponse{ctx: ctx, results: f.answer(&cp)}
}

func (f *fakeConn) IsClosing() bool { return f.closed }

func (f *fakeConn) requests() []*goldap.SearchRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*goldap.SearchRequest(nil), f.reqs...)
}

// fakeResponse plays results like go-ldap's searchResponse: an error ends the stream, a cancelled
// context ends it silently.
type fakeResponse struct {
	ctx     context.Context
	results []fakeResult
	cur     fakeResult
	err     error
}

func (r *fakeResponse) Next() bool {
	if r.ctx.Err() != nil || len(r.results) == 0 {
		return false
	}
	r.cur, r.results = r.results[0], r.results[1:]
	if r.cur.err != nil {
		r.err = r.cur.err
		return false
	}
	return true
}

func (r *fakeResponse) Entry() *goldap.Entry       { return r.cur.entry }
func (r *fakeResponse) Referral() string           { return r.cur.referral }
func (r *fakeResponse) Controls() []goldap.Control { return r.cur.controls }
func (r *fakeResponse) Err() error                 { return r.err }

// entry builds an entry; attrs alternate name, values ("a|b" for two values).
func entry(dn string, attrs ...string) *goldap.Entry {
	m := map[string][]string{}
	var order []string
	for i := 0; i+1 < len(attrs); i += 2 {
		if _, ok := m[attrs[i]]; !ok {
			order = append(order, attrs[i])
		}
		if attrs[i+1] != "" {
			m[attrs[i]] = append(m[attrs[i]], strings.Split(attrs[i+1], "|")...)
		} else {
			m[attrs[i]] = append(m[attrs[i]], []string{}...)
		}
	}
	e := &goldap.Entry{DN: dn}
	for _, n := range order {
		e.Attributes = append(e.Attributes, goldap.NewEntryAttribute(n, m[n]))
	}
	return e
}

// withGUID adds an objectGUID attribute with raw bytes b.
func withGUID(e *goldap.Entry, b []byte) *goldap.Entry {
	e.Attributes = append(e.Attributes, &goldap.EntryAttribute{Name: "objectGUID", Values: []string{string(b)}, ByteValues: [][]byte{b}})
	return e
}

func ok(entries ...*goldap.Entry) []fakeResult {
	var out []fakeResult
	for _, e := range entries {
		out = append(out, fakeResult{entry: e})
	}
	return out
}

func pageDone(cookie string) fakeResult {
	pc := goldap.NewControlPaging(0)
	pc.SetCookie([]byte(cookie))
	return fakeResult{controls: []goldap.Control{pc}}
}

func ldapErr(code uint16, msg string) error {
	return &goldap.Error{ResultCode: code, Err: errorString(msg)}
}

type errorString string

func (e errorString) Error() string { return string(e) }

func cookieOf(req *goldap.SearchRequest) string {
	if pc, _ := goldap.FindControl(req.Controls, goldap.ControlTypePaging).(*goldap.ControlPaging); pc != nil {
		return string(pc.Cookie)
	}
	return ""
}

// testSettings returns parsed settings for values on top of a minimal valid configuration.
func testSettings(t *testing.T, kv ...string) settings {
	t.Helper()
	v := directory.Values{"hostname": "ldap.test", "username": "cn=admin,dc=test", "password": "pw", "rootPath": "dc=test"}
	for i := 0; i+1 < len(kv); i += 2 {
		v[kv[i]] = kv[i+1]
	}
	s, err := parseSettings(directory.Config{Values: v})
	if err != nil {
		t.Fatalf("parseSettings = %v", err)
	}
	return s
}

// fakeReader returns a reader over f with settings kv.
func fakeReader(t *testing.T, f *fakeConn, kv ...string) *reader {
	s := testSettings(t, kv...)
	return &reader{s: &s, log: slog.New(slog.DiscardHandler), conn: f, host: s.hosts[0]}
}
