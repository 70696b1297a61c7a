package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dirconn/dirconn/internal/bitwarden/emulator"
	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/file"
	"github.com/dirconn/dirconn/internal/httpx"
	"github.com/dirconn/dirconn/internal/secret"
)

// world is one end-to-end setup: the real CLI in-process, a data dir, a directory file, and the Bitwarden
// emulator over real HTTP on loopback.
type world struct {
	t       *testing.T
	dir     string
	dirFile string
	emu     *emulator.Server
	url     string
	secrets secret.Store
	env     map[string]string
	// registry is the adapters dirconn runs with (default: testRegistry).
	registry *directory.Registry

	mu     sync.Mutex
	sleeps []time.Duration
	clock  time.Time // the emulator's clock
	onImp  func()    // runs before the emulator handles each import
}

func newWorld(t *testing.T, o emulator.Options) *world {
	t.Helper()
	w := &world{t: t, dir: t.TempDir(), secrets: secret.Memory(), env: map[string]string{}, clock: time.Now()}
	o.Now = w.now
	if o.TokenRateLimit == nil {
		off := false
		o.TokenRateLimit = &off // every CLI run logs in once; T5 has its own tests in the emulator
	}
	w.emu = emulator.New(o)
	h := w.emu.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/organization/import") {
			w.mu.Lock()
			f := w.onImp
			w.mu.Unlock()
			if f != nil {
				f()
			}
		}
		h.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	w.url = srv.URL
	w.dirFile = filepath.Join(w.dir, "directory.json")
	return w
}

func (w *world) now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.clock
}

func (w *world) advance(d time.Duration) {
	w.mu.Lock()
	w.clock = w.clock.Add(d)
	w.mu.Unlock()
}

// testRegistry has the real file adapter and "flaky", a file adapter whose read can be marked incomplete
// (a page that failed), to test what only LDAP and cloud adapters can produce.
func testRegistry() *directory.Registry {
	r := &directory.Registry{}
	r.Register(file.Adapter())
	flaky := file.Adapter()
	flaky.Name, flaky.Title, flaky.Number = "flaky", "file with an unfinished read", 0
	flaky.Options = append(slices.Clone(flaky.Options), directory.Option{Name: "incomplete", Kind: directory.KindBool, Help: "mark the read incomplete"})
	flaky.New = func(cfg directory.Config) (directory.Source, error) {
		src, err := file.New(cfg)
		if err != nil {
			return nil, err
		}
		return &flakySource{src: src, incomplete: cfg.Values.Bool("incomplete")}, nil
	}
	r.Register(flaky)
	return r
}

type flakySource struct {
	src        directory.Source
	incomplete bool
}

func (f *flakySource) Fetch(ctx context.Context, req directory.FetchRequest) (*directory.Snapshot, error) {
	s, err := f.src.Fetch(ctx, req)
	if err == nil && f.incomplete {
		s.Completeness.Add(directory.Read{What: "users page 2", Pages: 1, Reason: "the server closed the connection"})
	}
	return s, err
}

func (w *world) reg() *directory.Registry {
	if w.registry != nil {
		return w.registry
	}
	return testRegistry()
}

// run runs dirconn with args and returns stdout, stderr and the exit code.
func (w *world) run(args ...string) (string, string, int) {
	w.t.Helper()
	var out, errOut bytes.Buffer
	retry := httpx.Policy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxWait: 10 * time.Minute,
		Sleep: func(ctx context.Context, d time.Duration) error {
			w.mu.Lock()
			w.sleeps = append(w.sleeps, d)
			w.mu.Unlock()
			return ctx.Err()
		}}
	code := Main(context.Background(), append([]string{"--data-dir", w.dir}, args...), IO{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
		Env:     func(k string) string { return w.env[k] },
		Secrets: w.secrets, Retry: &retry, Registry: w.reg(),
	})
	return out.String(), errOut.String(), code
}

// must runs dirconn and fails the test unless it exits with want.
func (w *world) must(want int, args ...string) string {
	w.t.Helper()
	out, errOut, code := w.run(args...)
	if code != want {
		w.t.Fatalf("dirconn %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out
}

// setup logs in and points the file adapter at the directory file.
func (w *world) setup(settings ...string) {
	w.t.Helper()
	w.must(0, "config", "set", "server", w.url)
	w.env["BW_CLIENTID"], w.env["BW_CLIENTSECRET"] = w.emu.ClientID(), w.emu.APIKey()
	w.must(0, "login")
	delete(w.env, "BW_CLIENTID")
	delete(w.env, "BW_CLIENTSECRET")
	w.must(0, "config", "set", "directory", "file")
	w.must(0, "config", "set", "file.path", w.dirFile)
	for i := 0; i+1 < len(settings); i += 2 {
		w.must(0, "config", "set", settings[i], settings[i+1])
	}
}

type fUser struct {
	ID       string `json:"id"`
	Email    string `json:"email,omitempty"`
	Disabled bool   `json:"disabled,omitempty"`
	Deleted  bool   `json:"deleted,omitempty"`
}

type fGroup struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Members []string `json:"members"`
	Groups  []string `json:"groups,omitempty"`
}

func (w *world) writeDir(users []fUser, groups []fGroup) {
	w.t.Helper()
	data, err := json.Marshal(map[string]any{"users": users, "groups": groups})
	if err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(w.dirFile, data, 0o600); err != nil {
		w.t.Fatal(err)
	}
}

func people(n int) []fUser {
	out := make([]fUser, n)
	for i := range out {
		out[i] = fUser{ID: fmt.Sprintf("u%05d", i), Email: fmt.Sprintf("User%05d@Example.com", i)}
	}
	return out
}

// orgMembers returns the emulated organization's non-owner members as externalId -> email.
func (w *world) orgMembers() map[string]string {
	out := map[string]string{}
	for _, m := range w.emu.Snapshot().Members {
		if m.Type != 0 {
			out[m.ExternalID] = m.Email
		}
	}
	return out
}

// orgGroups returns the emulated organization's groups as name -> sorted member externalIds.
func (w *world) orgGroups() map[string][]string {
	st := w.emu.Snapshot()
	ext := map[string]string{}
	for _, m := range st.Members {
		ext[m.ID] = m.ExternalID
	}
	out := map[string][]string{}
	for _, g := range st.Groups {
		var ms []string
		for _, id := range g.MemberIDs {
			ms = append(ms, ext[id])
		}
		slices.Sort(ms)
		out[g.Name] = ms
	}
	return out
}

func (w *world) imports() []emulator.Import { return w.emu.Imports() }

func TestE2EInviteRemoveAndGroups(t *testing.T) {
	w := newWorld(t, emulator.Options{})
	w.setup("sync.removeDisabled", "true", "sync.deleteLimitPercent", "0")
	users := people(6)
	w.writeDir(users, []fGroup{
		{ID: "g-eng", Name: "Engineering", Members: []string{"u00000", "u00001"}, Groups: []string{"g-be"}},
		{ID: "g-be", Name: "Backend", Members: []string{"u00002"}},
		{ID: "g-sales", Name: "Sales", Members: []string{"u00003"}},
	})
	out := w.must(0, "sync")
	if !strings.Contains(out, "Invited 6") {
		t.Errorf("sync output does not report 6 invites:\n%s", out)
	}
	if got := w.orgMembers(); len(got) != 6 || got["u00003"] != "user00003@example.com" {
		t.Fatalf("org members = %v, want the 6 users, emails lowercased", got)
	}
	want := map[string][]string{"Engineering": {"u00000", "u00001", "u00002"}, "Backend": {"u00002"}, "Sales": {"u00003"}}
	if diff := fmt.Sprint(w.orgGroups()); diff != fmt.Sprint(want) {
		t.Fatalf("org groups = %v, want %v (nested Backend flattened into Engineering)", w.orgGroups(), want)
	}

	// u00004 deleted, u00005 disabled (removeDisabled), u00001 vanishes; Sales renamed; Backend gains u00003.
	users[4].Deleted, users[5].Disabled = true, true
	users = slices.Delete(users, 1, 2)
	w.writeDir(users, []fGroup{
		{ID: "g-eng", Name: "Engineering", Members: []string{"u00000"}, Groups: []string{"g-be"}},
		{ID: "g-be", Name: "Backend", Members: []string{"u00002", "u00003"}},
		{ID: "g-sales", Name: "Sales & Marketing", Members: []string{"u00003"}},
	})
	before := len(w.imports())
	w.must(0, "sync")
	got := w.orgMembers()
	if _, ok := got["u00004"]; ok || len(got) != 3 {
		t.Errorf("org members after removals = %v, want u00000, u00002, u00003", got)
	}
	want = map[string][]string{"Engineering": {"u00000", "u00002", "u00003"}, "Backend": {"u00002", "u00003"}, "Sales & Marketing": {"u00003"}}
	if fmt.Sprint(w.orgGroups()) != fmt.Sprint(want) {
		t.Errorf("org groups = %v, want %v", w.orgGroups(), want)
	}
	// Only the changes went out: 3 deletions, then the 3 changed groups.
	var members, groups int
	for _, im := range w.imports()[before:] {
		members += im.Members
		groups += im.Groups
	}
	if members != 3 || groups != 3 {
		t.Errorf("second sync sent %d members and %d groups, want 3 removals and 3 changed groups", members, groups)
	}
}

func TestE2EUnchangedAndChangedUser(t *testing.T) {
	w := newWorld(t, emulator.Options{})
	w.setup("sync.removeDisabled", "true", "sync.deleteLimitPercent", "0")
	users := people(50)
	groups := []fGroup{{ID: "g1", Name: "One", Members: []string{"u00001", "u00002"}}, {ID: "g2", Name: "Two", Members: []string{"u00003"}}}
	w.writeDir(users, groups)
	w.must(0, "sync")
	n := len(w.imports())
	w.must(0, "sync")
	if len(w.imports()) != n {
		t.Fatalf("an unchanged second sync sent %d request(s)", len(w.imports())-n)
	}
	users[2].Disabled = true
	w.writeDir(users, groups)
	w.must(0, "sync")
	sent := w.imports()[n:]
	if len(sent) != 2 || sent[0].Members != 1 || sent[0].DeletedMembers != 1 || sent[1].Groups != 1 {
		t.Fatalf("a changed user sent %+v; want one member request with that user, then one group request with One", sent)
	}
	if !strings.Contains(sent[1].Body, `"name":"One"`) {
		t.Errorf("group request = %s, want group One", sent[1].Body)
	}
}

func TestE2ELargeImportBatches(t *testing.T) {
	w := newWorld(t, emulator.Options{})
	w.setup()
	users := people(4500)
	var groups []fGroup
	for i := range 2100 {
		groups = append(groups, fGroup{ID: fmt.Sprintf("g%04d", i), Name: fmt.Sprintf("Team %04d", i), Members: []string{users[i].ID}})
	}
	w.writeDir(users, groups)
	w.must(0, "sync")
	var shape []string
	for _, im := range w.imports() {
		shape = append(shape, fmt.Sprintf("%d/%d large=%v status=%d", im.Members, im.Groups, im.LargeImport, im.Status))
	}
	want := []string{"2000/0 large=true status=200", "2000/0 large=true status=200", "500/0 large=true status=200",
		"0/2000 large=true status=200", "0/100 large=true status=200"}
	if !slices.Equal(shape, want) {
		t.Errorf("requests = %v\nwant       %v", shape, want)
	}
	if m := len(w.orgMembers()); m != 4500 {
		t.Errorf("org has %d members, want 4500", m)
	}
	if g := len(w.orgGroups()); g != 2100 {
		t.Errorf("org has %d groups, want 2100", g)
	}
}

func TestE2EGuardHoldsUntilApproved(t *testing.T) {
	w := newWorld(t, emulator.Options{})
	w.setup()
	users := people(1000)
	w.writeDir(users, nil)
	w.must(0, "sync")
	w.writeDir(users[:940], nil)
	out := w.must(ExitHeld, "sync")
	if !strings.Contains(out, "HELD removals: not sent (60)") || !strings.Contains(out, "sync.deleteLimit") {
		t.Errorf("held sync output:\n%s", out)
	}
	if len(w.orgMembers()) != 1000 {
		t.Fatalf("held deletions reached the organization: %d members left", len(w.orgMembers()))
	}
	js := w.must(ExitHeld, "--json", "plan")
	var doc struct {
		Object string `json:"object"`
		Plan   struct {
			Held  []struct{ ExternalID string }   `json:"held"`
			Guard struct{ Held, Approvable bool } `json:"guard"`
		} `json:"plan"`
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil || doc.Object != "plan" || len(doc.Plan.Held) != 60 || !doc.Plan.Guard.Approvable {
		t.Errorf("plan --json = %.300s (err %v): want 60 approvable held removals", js, err)
	}
	w.must(0, "sync", "--allow-deletes")
	if len(w.orgMembers()) != 940 {
		t.Errorf("after approval the org has %d members, want 940", len(w.orgMembers()))
	}
}

func TestE2EIncompleteReadPushesAdditionsOnly(t *testing.T) {
	w := newWorld(t, emulator.Options{})
	w.setup()
	w.must(0, "config", "set", "directory", "flaky")
	w.must(0, "config", "set", "flaky.path", w.dirFile)
	users := people(20)
	w.writeDir(users, nil)
	w.must(0, "sync")
	w.must(0, "config", "set", "flaky.incomplete", "true")
	users[0].Deleted = true
	w.writeDir(append(users[:15], fUser{ID: "new", Email: "new@example.com"}), nil)
	out := w.must(ExitHeld, "sync", "--allow-deletes")
	got := w.orgMembers()
	if _, ok := got["new"]; !ok || len(got) != 20 {
		t.Errorf("org = %d members (new present: %v); want the addition pushed and nobody removed", len(got), ok)
	}
	if !strings.Contains(out, "INCOMPLETE") || !strings.Contains(out, "users page 2") {
		t.Errorf("sync output does not explain the incomplete read:\n%s", out)
	}
	// The explicit deletion (u00000 deleted) was approved and goes; the 5 users missing from the bad read stay.
	if _, ok := got["u00000"]; !ok {
		t.Log("u00000 was removed: explicit deletions follow --allow-deletes")
	} else {
		t.Error("u00000, deleted in the directory and approved, is still a member")
	}
}

func TestE2EDuplicateEmailSkipsOnlyThoseRecords(t *testing.T) {
	w := newWorld(t, emulator.Options{})
	w.setup()
	users := people(5)
	users = append(users, fUser{ID: "dup1", Email: "same@example.com"}, fUser{ID: "dup2", Email: "SAME@example.com"})
	w.writeDir(users, nil)
	out := w.must(0, "sync")
	got := w.orgMembers()
	if len(got) != 5 {
		t.Errorf("org = %v, want the 5 good users only", got)
	}
	if strings.Count(out, "shared with another directory record") != 2 {
		t.Errorf("sync output does not report both duplicate records:\n%s", out)
	}
}

func TestE2EFailedBatchResumes(t *testing.T) {
	w := newWorld(t, emulator.Options{})
	w.setup()
	w.writeDir(people(4100), nil)
	w.emu.InjectFault(emulator.Fault{Route: "import", Skip: 1, Count: 4, Status: 500})
	out, errOut, code := w.run("sync")
	if code != ExitError || !strings.Contains(errOut, "An unhandled server error has occurred") || !strings.Contains(errOut, "request 2 of 3") {
		t.Fatalf("exit %d, stderr %q: want a failure naming request 2 of 3 and the server's message\n%s", code, errOut, out)
	}
	st := w.stateMembers()
	if st != 2000 {
		t.Errorf("state holds %d members after batch 1 only, want 2000", st)
	}
	if len(w.orgMembers()) != 2000 {
		t.Errorf("org has %d members, want the 2000 of batch 1", len(w.orgMembers()))
	}
	before := len(w.imports())
	w.must(0, "sync")
	var sent int
	for _, im := range w.imports()[before:] {
		sent += im.Members
	}
	if sent != 2100 || len(w.orgMembers()) != 4100 || w.stateMembers() != 4100 {
		t.Errorf("resumed run sent %d members; org %d, state %d; want 2100 sent and 4100 everywhere", sent, len(w.orgMembers()), w.stateMembers())
	}
}

func (w *world) stateMembers() int {
	data, err := os.ReadFile(filepath.Join(w.dir, "state.json"))
	if err != nil {
		w.t.Fatal(err)
	}
	var st struct {
		Synced struct {
			Members map[string]any `json:"members"`
		} `json:"synced"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		w.t.Fatal(err)
	}
	return len(st.Synced.Members)
}

func TestE2ERetryAfterIsWaitedOut(t *testing.T) {
	w := newWorld(t, emulator.Options{})
	w.setup()
	w.writeDir(people(3), nil)
	w.emu.InjectFault(emulator.Fault{Route: "import", Count: 1, Status: 429, RetryAfter: 7 * time.Second})
	w.must(0, "sync")
	if !slices.Contains(w.sleeps, 7*time.Second) {
		t.Errorf("waits = %v, want the 7s Retry-After honoured", w.sleeps)
	}
	if len(w.orgMembers()) != 3 {
		t.Errorf("org has %d members after the 429, want 3", len(w.orgMembers()))
	}
}

func TestE2EExpiredTokenIsRenewed(t *testing.T) {
	w := newWorld(t, emulator.Options{})
	w.setup()
	w.writeDir(people(4500), nil)
	// Every import request finds the emulator's clock an hour later: the token the run started with has
	// expired by the second batch, so the server answers 401 and the client must log in again.
	w.onImp = func() { w.advance(61 * time.Minute) }
	tokens := w.emu.TokenRequests()
	w.must(0, "sync")
	if n := w.emu.TokenRequests() - tokens; n < 3 {
		t.Errorf("%d token requests during the run, want a fresh login for each expired token", n)
	}
	var statuses []int
	for _, im := range w.imports() {
		statuses = append(statuses, im.Status)
	}
	if len(w.orgMembers()) != 4500 {
		t.Errorf("org has %d members, want 4500 (import statuses %v)", len(w.orgMembers()), statuses)
	}
}

func TestE2EDryRunAndPlanSendNothing(t *testing.T) {
	w := newWorld(t, emulator.Options{})
	w.setup()
	w.writeDir(people(10), nil)
	for _, args := range [][]string{{"plan"}, {"sync", "--dry-run"}, {"--json", "plan"}, {"test"}} {
		out := w.must(0, args...)
		if len(w.imports()) != 0 {
			t.Fatalf("dirconn %v sent an import", args)
		}
		if args[0] == "plan" && !strings.Contains(out, "Nothing was sent") {
			t.Errorf("dirconn %v output:\n%s", args, out)
		}
	}
	if _, err := os.Stat(filepath.Join(w.dir, "state.json")); !os.IsNotExist(err) {
		t.Errorf("a dry run wrote state.json (stat: %v)", err)
	}
}

func TestE2ETestJSONKeepsBwdcShape(t *testing.T) {
	w := newWorld(t, emulator.Options{})
	w.setup()
	w.writeDir([]fUser{{ID: "a", Email: "A@x.io"}, {ID: "b", Email: "b@x.io", Disabled: true}, {ID: "c", Email: "c@x.io", Deleted: true}},
		[]fGroup{{ID: "g", Name: "G", Members: []string{"a", "b"}}})
	out := w.must(0, "test", "--json")
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("test --json is not one JSON document: %v\n%s", err, out)
	}
	for k, want := range map[string]string{
		"object":        `"test"`,
		"groups":        `[{"externalId":"g","displayName":"G","userIds":["a","b"]}]`,
		"enabledUsers":  `[{"externalId":"a","displayName":"a@x.io"}]`,
		"disabledUsers": `[{"externalId":"b","displayName":"b@x.io"}]`,
		"deletedUsers":  `[{"externalId":"c","displayName":"c@x.io"}]`,
	} {
		var got, exp any
		json.Unmarshal(doc[k], &got)
		json.Unmarshal([]byte(want), &exp)
		if fmt.Sprint(got) != fmt.Sprint(exp) {
			t.Errorf("test --json %s = %s, want %s", k, doc[k], want)
		}
	}
}
