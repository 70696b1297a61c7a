package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dirconn/dirconn/internal/bitwarden"
	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/plan"
	"github.com/dirconn/dirconn/internal/state"
)

// fakeSource returns a snapshot built by its function field.
type fakeSource struct {
	fetch func(ctx context.Context, req directory.FetchRequest) (*directory.Snapshot, error)
}

func (f *fakeSource) Fetch(ctx context.Context, req directory.FetchRequest) (*directory.Snapshot, error) {
	return f.fetch(ctx, req)
}

// fakeOrg records imports and answers with its function fields.
type fakeOrg struct {
	mu      sync.Mutex
	imports []bitwarden.ImportRequest
	onImp   func(n int, req *bitwarden.ImportRequest) error
	members func() ([]bitwarden.Member, error)
}

func (f *fakeOrg) Import(ctx context.Context, req *bitwarden.ImportRequest) error {
	f.mu.Lock()
	n := len(f.imports)
	f.mu.Unlock()
	if f.onImp != nil {
		if err := f.onImp(n, req); err != nil {
			return err
		}
	}
	f.mu.Lock()
	f.imports = append(f.imports, *req)
	f.mu.Unlock()
	return nil
}

func (f *fakeOrg) Members(ctx context.Context) ([]bitwarden.Member, error) {
	if f.members != nil {
		return f.members()
	}
	return nil, fmt.Errorf("GET /public/members: %w", bitwarden.ErrNotSupported)
}

func (f *fakeOrg) Groups(ctx context.Context) ([]bitwarden.Group, error) {
	return nil, fmt.Errorf("GET /public/groups: %w", bitwarden.ErrNotSupported)
}

func users(n int) []directory.User {
	out := make([]directory.User, n)
	for i := range out {
		out[i] = directory.User{ID: fmt.Sprintf("u%04d", i), Email: fmt.Sprintf("u%04d@example.com", i)}
	}
	return out
}

func complete(us []directory.User, gs []directory.Group) *directory.Snapshot {
	s := &directory.Snapshot{Users: us, Groups: gs, UsersRead: true, GroupsRead: true}
	s.Completeness.Add(directory.Read{What: "fake", Finished: true, Entries: len(us)})
	return s
}

func newEngine(t *testing.T, src *fakeSource, org *fakeOrg) *Engine {
	t.Helper()
	dir := t.TempDir()
	return &Engine{
		Source:  src,
		Org:     org,
		Store:   state.NewStore(dir),
		DataDir: dir,
		Settings: Settings{
			Plan:             plan.Options{Users: true, Groups: true, DeleteLimit: 50, DeleteLimitPercent: 10, BatchSize: 10},
			FullSyncInterval: 24 * time.Hour,
			OrgID:            "org-1",
			APIURL:           "http://bw.test/api",
			Directory:        "file",
		},
	}
}

func TestSyncCommitsPerBatchAndResumes(t *testing.T) {
	snap := complete(users(25), nil)
	src := &fakeSource{fetch: func(context.Context, directory.FetchRequest) (*directory.Snapshot, error) { return snap, nil }}
	failSecond := errors.New("HTTP 500: An unhandled server error has occurred.")
	org := &fakeOrg{onImp: func(n int, _ *bitwarden.ImportRequest) error {
		if n == 1 {
			return failSecond
		}
		return nil
	}}
	e := newEngine(t, src, org)
	res, err := e.Sync(context.Background(), SyncOptions{})
	if !errors.Is(err, failSecond) {
		t.Fatalf("Sync error = %v, want the batch 2 failure", err)
	}
	if res == nil || res.Accepted != 1 || res.Requests != 3 || res.Outcome != "failed" {
		t.Fatalf("result = %+v, want 1 of 3 requests accepted and outcome failed", res)
	}
	st, err := e.Store.Load()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(st.Synced.Members); n != 10 {
		t.Errorf("cache holds %d members after batch 1 only, want 10", n)
	}
	if st.LastUserSync != nil {
		t.Error("a failed run recorded a last user sync time")
	}
	if last := st.LastRun(); last == nil || last.Result != "failed" || !strings.Contains(last.Error, "request 2 of 3") {
		t.Errorf("history = %+v, want a failed run naming request 2 of 3", last)
	}

	// The next run sends only what was not accepted, and completes.
	org.onImp = nil
	org.imports = nil
	res, err = e.Sync(context.Background(), SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var sent int
	for _, r := range org.imports {
		sent += len(r.Members)
	}
	if sent != 15 || res.Outcome != "ok" {
		t.Errorf("second run sent %d members (outcome %s), want the 15 not accepted before", sent, res.Outcome)
	}
	st, _ = e.Store.Load()
	if len(st.Synced.Members) != 25 || st.LastUserSync == nil {
		t.Errorf("cache holds %d members, last sync %v; want 25 and a time", len(st.Synced.Members), st.LastUserSync)
	}

	// A third run has nothing to send.
	org.imports = nil
	if _, err := e.Sync(context.Background(), SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(org.imports) != 0 {
		t.Errorf("an unchanged directory sent %d requests", len(org.imports))
	}
}

func TestDryRunSendsAndWritesNothing(t *testing.T) {
	snap := complete(users(3), nil)
	src := &fakeSource{fetch: func(context.Context, directory.FetchRequest) (*directory.Snapshot, error) { return snap, nil }}
	org := &fakeOrg{}
	e := newEngine(t, src, org)
	res, err := e.Sync(context.Background(), SyncOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(org.imports) != 0 || res.Plan.Counts.Invites != 3 || res.Requests != 1 {
		t.Errorf("dry run: %d imports, plan %+v; want none sent and 3 invites planned", len(org.imports), res.Plan.Counts)
	}
	if _, err := os.Stat(e.Store.Path()); !os.IsNotExist(err) {
		t.Errorf("dry run wrote %s (stat err %v)", e.Store.Path(), err)
	}
}

func TestCancelStopsBetweenBatches(t *testing.T) {
	snap := complete(users(30), nil)
	src := &fakeSource{fetch: func(context.Context, directory.FetchRequest) (*directory.Snapshot, error) { return snap, nil }}
	ctx, cancel := context.WithCancel(context.Background())
	org := &fakeOrg{onImp: func(n int, _ *bitwarden.ImportRequest) error {
		if n == 0 {
			cancel()
		}
		return nil
	}}
	e := newEngine(t, src, org)
	res, err := e.Sync(ctx, SyncOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(org.imports) != 1 || res.Accepted != 1 || res.Outcome != "cancelled" {
		t.Errorf("%d imports, result %+v; want exactly the batch in flight, outcome cancelled", len(org.imports), res)
	}
}

func TestReadFailureDeletesNothing(t *testing.T) {
	var fail bool
	src := &fakeSource{fetch: func(context.Context, directory.FetchRequest) (*directory.Snapshot, error) {
		if fail {
			return nil, fmt.Errorf("search page 2: %w", directory.ErrUnreachable)
		}
		return complete(users(5), nil), nil
	}}
	org := &fakeOrg{}
	e := newEngine(t, src, org)
	if _, err := e.Sync(context.Background(), SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	fail = true
	org.imports = nil
	if _, err := e.Sync(context.Background(), SyncOptions{AllowDeletes: true}); !errors.Is(err, directory.ErrUnreachable) {
		t.Fatalf("err = %v, want the read error", err)
	}
	if len(org.imports) != 0 {
		t.Errorf("a failed read sent %d requests", len(org.imports))
	}
	st, _ := e.Store.Load()
	if len(st.Synced.Members) != 5 {
		t.Errorf("cache lost members after a failed read: %d", len(st.Synced.Members))
	}
}

func TestHeldDeletionsRecorded(t *testing.T) {
	n := 100
	src := &fakeSource{fetch: func(context.Context, directory.FetchRequest) (*directory.Snapshot, error) {
		return complete(users(n), nil), nil
	}}
	org := &fakeOrg{}
	e := newEngine(t, src, org)
	e.Settings.Plan.BatchSize = 0
	if _, err := e.Sync(context.Background(), SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	n = 40
	res, err := e.Sync(context.Background(), SyncOptions{})
	if err != nil || !res.Held() || res.Outcome != "held" {
		t.Fatalf("err %v result %+v: want 60 removals held", err, res)
	}
	st, _ := e.Store.Load()
	if st.Held == nil || len(st.Held.Removals) != 60 || !st.Held.Approvable {
		t.Fatalf("state.Held = %+v, want 60 approvable removals", st.Held)
	}
	res, err = e.Sync(context.Background(), SyncOptions{AllowDeletes: true})
	if err != nil || res.Held() || res.Plan.Counts.Removals != 60 {
		t.Fatalf("approved run: err %v counts %+v", err, res.Plan.Counts)
	}
	st, _ = e.Store.Load()
	if st.Held != nil || len(st.Synced.Members) != 40 {
		t.Errorf("after approval: held %+v, %d members; want none held and 40 members", st.Held, len(st.Synced.Members))
	}
}

func TestDamagedStateKeptAside(t *testing.T) {
	src := &fakeSource{fetch: func(context.Context, directory.FetchRequest) (*directory.Snapshot, error) {
		return complete(users(2), nil), nil
	}}
	org := &fakeOrg{}
	e := newEngine(t, src, org)
	if err := os.WriteFile(e.Store.Path(), []byte(`{"version":1,"synced":{`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := e.Sync(context.Background(), SyncOptions{})
	if !errors.Is(err, state.ErrCorrupt) || !strings.Contains(err.Error(), "damaged-") {
		t.Fatalf("err = %v, want ErrCorrupt naming the kept copy", err)
	}
	if len(org.imports) != 0 {
		t.Error("a run with a damaged state file sent requests")
	}
	matches, _ := filepath.Glob(e.Store.Path() + ".damaged-*")
	if len(matches) != 1 {
		t.Fatalf("kept copies = %v, want one", matches)
	}
	if data, _ := os.ReadFile(matches[0]); string(data) != `{"version":1,"synced":{` {
		t.Errorf("kept copy = %q, want the damaged content unchanged", data)
	}
	// The next run starts from an empty cache and works.
	if _, err := e.Sync(context.Background(), SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	st, _ := e.Store.Load()
	if len(st.History) != 2 || st.History[0].Result != "failed" {
		t.Errorf("history = %+v, want the failure then the success", st.History)
	}
}

func TestOrgChangeClearsCache(t *testing.T) {
	src := &fakeSource{fetch: func(context.Context, directory.FetchRequest) (*directory.Snapshot, error) {
		return complete(users(3), nil), nil
	}}
	org := &fakeOrg{}
	e := newEngine(t, src, org)
	if _, err := e.Sync(context.Background(), SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	e.Settings.OrgID = "org-2"
	org.imports = nil
	res, err := e.Sync(context.Background(), SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Plan.Counts.Invites != 3 || !strings.Contains(strings.Join(res.Plan.Notes, "\n"), "organization changed") {
		t.Errorf("plan after an org change: %+v notes %q; want everything invited and a note", res.Plan.Counts, res.Plan.Notes)
	}
}

func TestSecondRunWaitsOrFailsOnLock(t *testing.T) {
	src := &fakeSource{fetch: func(context.Context, directory.FetchRequest) (*directory.Snapshot, error) {
		return complete(users(1), nil), nil
	}}
	e := newEngine(t, src, &fakeOrg{})
	lock, err := state.Acquire(context.Background(), e.DataDir, "dirconn serve", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Sync(context.Background(), SyncOptions{})
	if !errors.Is(err, state.ErrLocked) || !strings.Contains(err.Error(), "dirconn serve") {
		t.Fatalf("err = %v, want ErrLocked naming the holder", err)
	}
	e.LockWait = 5 * time.Second
	go func() {
		time.Sleep(300 * time.Millisecond)
		lock.Release()
	}()
	if _, err := e.Sync(context.Background(), SyncOptions{}); err != nil {
		t.Fatalf("waiting run: %v", err)
	}
}

func TestTestResult(t *testing.T) {
	us := []directory.User{
		{ID: "b", Email: "Bob@Example.com"},
		{ID: "a", Email: "alice@example.com"},
		{ID: "d", Email: "dis@example.com", Disabled: true},
		{ID: "x", Email: "gone@example.com", Deleted: true},
		{ID: "n"},
	}
	gs := []directory.Group{{ID: "g2", Name: "Sub", Users: []string{"b"}}, {ID: "g1", Name: "All", Users: []string{"a"}, Groups: []string{"g2"}}}
	src := &fakeSource{fetch: func(_ context.Context, req directory.FetchRequest) (*directory.Snapshot, error) {
		if !req.Full {
			t.Error("test without --last asked for a delta read")
		}
		return complete(us, gs), nil
	}}
	e := newEngine(t, src, nil)
	r, err := e.Test(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%v|%v|%v|%v|%d", r.EnabledUsers, r.DisabledUsers, r.DeletedUsers, r.Groups, len(r.Skipped))
	want := "[{a alice@example.com} {b bob@example.com}]|[{d dis@example.com}]|[{x gone@example.com}]|[{g1 All [a b] [Sub]} {g2 Sub [b] []}]|1"
	if got != want {
		t.Errorf("test result\n got %s\nwant %s", got, want)
	}
}
