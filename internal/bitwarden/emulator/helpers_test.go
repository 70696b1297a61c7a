package emulator

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeClock is a settable Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

var epoch = time.Date(2026, 8, 20, 12, 0, 0, 0, time.UTC)

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// harness is one emulator driven through its HTTP handler with a fake clock.
type harness struct {
	t     *testing.T
	s     *Server
	clock *fakeClock
}

func newHarness(t *testing.T, o Options) *harness {
	t.Helper()
	clock := &fakeClock{t: epoch}
	if o.Now == nil {
		o.Now = clock.Now
	}
	return &harness{t: t, s: New(o), clock: clock}
}

// response is what a request got back.
type response struct {
	status int
	body   string
	header http.Header
}

func (h *harness) do(req *http.Request) response {
	h.t.Helper()
	rec := httptest.NewRecorder()
	h.s.Handler().ServeHTTP(rec, req)
	res := rec.Result()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return response{status: res.StatusCode, body: string(b), header: res.Header}
}

// tokenForm is the form the connector sends, for this server's key.
func (h *harness) tokenForm() url.Values {
	return url.Values{
		"scope":            {"api.organization"},
		"client_id":        {h.s.ClientID()},
		"deviceType":       {"8"},
		"deviceIdentifier": {"5a3e2c2e-0000-4000-8000-000000000001"},
		"deviceName":       {"linux"},
		"grant_type":       {"client_credentials"},
		"client_secret":    {h.s.APIKey()},
	}
}

// vaultwardenForm is the form with the snake_case device fields Vaultwarden requires.
func (h *harness) vaultwardenForm() url.Values {
	f := h.tokenForm()
	for _, k := range []string{"deviceType", "deviceIdentifier", "deviceName"} {
		f.Del(k)
	}
	f.Set("device_type", "8")
	f.Set("device_identifier", "5a3e2c2e-0000-4000-8000-000000000001")
	f.Set("device_name", "linux")
	return f
}

func (h *harness) postToken(path string, form url.Values) response {
	h.t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return h.do(req)
}

// token logs in through the token route and returns the access token.
func (h *harness) token() string {
	h.t.Helper()
	form := h.tokenForm()
	if h.s.profile == Vaultwarden {
		form = h.vaultwardenForm()
	}
	res := h.postToken("/connect/token", form)
	if res.status != http.StatusOK {
		h.t.Fatalf("token: HTTP %d %s", res.status, res.body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(res.body), &tok); err != nil {
		h.t.Fatal(err)
	}
	return tok.AccessToken
}

func (h *harness) importRequest(path, token, body string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// importBody posts an import body with a fresh token.
func (h *harness) importBody(body string) response {
	h.t.Helper()
	return h.do(h.importRequest("/public/organization/import", h.token(), body))
}

func (h *harness) get(path, token string) response {
	h.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return h.do(req)
}

// owner returns the seeded Owner.
func (h *harness) owner() Member {
	h.t.Helper()
	for _, m := range h.s.Snapshot().Members {
		if m.Type == TypeOwner {
			return m
		}
	}
	h.t.Fatal("no owner")
	return Member{}
}

// Request builders: JSON text exactly as a client would send it.
type mem struct {
	Email      any  `json:"email"`
	ExternalID any  `json:"externalId"`
	Deleted    bool `json:"deleted"`
}

type grp struct {
	Name              any `json:"name"`
	ExternalID        any `json:"externalId"`
	MemberExternalIDs any `json:"memberExternalIds"`
}

func active(email, ext string) mem  { return mem{email, ext, false} }
func deleted(email, ext string) mem { return mem{email, ext, true} }
func group(name, ext string, members ...string) grp {
	if members == nil {
		members = []string{}
	}
	return grp{name, ext, members}
}

type body struct {
	Groups                       any  `json:"groups"`
	Members                      any  `json:"members"`
	OverwriteExisting            bool `json:"overwriteExisting"`
	LargeImport                  bool `json:"largeImport"`
	InviteUsersAfterProvisioning bool `json:"inviteUsersAfterProvisioning"`
}

// importJSON builds a connector-style body (inviteUsersAfterProvisioning true).
func importJSON(groups []grp, members []mem, overwrite bool) string {
	if groups == nil {
		groups = []grp{}
	}
	if members == nil {
		members = []mem{}
	}
	b, err := json.Marshal(body{Groups: groups, Members: members, OverwriteExisting: overwrite, InviteUsersAfterProvisioning: true})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// view is a State written with emails and group names instead of ids, so expectations can be literal.
type view struct {
	Members []string
	Groups  []string
	Events  []string
	Outbox  []string
}

// viewOf renders st; ids are named from every state given (so removed members still have a name).
func viewOf(st State, named ...State) view {
	names := map[string]string{}
	for _, s := range append(named, st) {
		for _, m := range s.Members {
			names[m.ID] = m.Email
		}
		for _, g := range s.Groups {
			names[g.ID] = "group " + g.Name
		}
	}
	var v view
	for _, m := range st.Members {
		v.Members = append(v.Members, memberLine(m))
	}
	for _, g := range st.Groups {
		var ms []string
		for _, id := range g.MemberIDs {
			ms = append(ms, names[id])
		}
		slices.Sort(ms)
		v.Groups = append(v.Groups, fmt.Sprintf("%s ext=%s members=%v", g.Name, g.ExternalID, ms))
	}
	for _, e := range st.Events {
		v.Events = append(v.Events, fmt.Sprintf("%d %s", e.Type, names[e.ID]))
	}
	for _, m := range st.Outbox {
		v.Outbox = append(v.Outbox, m.Kind+" "+m.To)
	}
	return v
}

func memberLine(m Member) string {
	return fmt.Sprintf("%s ext=%s type=%d status=%d mp=%t", m.Email, m.ExternalID, m.Type, m.Status, m.HasMasterPassword)
}

const ownerLine = "owner@example.com ext= type=0 status=2 mp=true"

// check compares a response and the state after it with expectations.
func check(t *testing.T, got response, wantStatus int, wantBody string, gotView, wantView view) {
	t.Helper()
	if got.status != wantStatus {
		t.Errorf("status = %d, want %d (body %s)", got.status, wantStatus, got.body)
	}
	if got.body != wantBody {
		t.Errorf("body:\n got %s\nwant %s", got.body, wantBody)
	}
	if diff := cmp.Diff(wantView, gotView); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
}

// jwtPart decodes part i (0 header, 1 claims) of a JWT into a map.
func jwtPart(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

const (
	serverErrorBody = `{"object":"error","message":"An unhandled server error has occurred.","errors":null}`
	overwriteMPBody = `{"object":"error","message":"Sync failed. To proceed, disable the \u0027Remove and re-add users during next sync\u0027 setting and try again.","errors":null}`
)

func errorBody(msg string) string {
	return `{"object":"error","message":"` + msg + `","errors":null}`
}
