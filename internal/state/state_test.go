package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dirconn/dirconn/internal/plan"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	st := NewStore(t.TempDir())
	s, err := st.Load()
	if err != nil || len(s.Synced.Members) != 0 {
		t.Fatalf("Load of a missing file = %+v, %v; want an empty state", s, err)
	}
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	s.Synced.Members["a"] = plan.SyncedMember{Email: "a@x.io"}
	s.Synced.Groups["g"] = plan.SyncedGroup{Name: "G", Members: []string{"a"}}
	s.LastUserSync = &now
	if err := st.Save(s); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(st.Path())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode = %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	got, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got.Synced.Members["a"].Email != "a@x.io" || got.Synced.Groups["g"].Members[0] != "a" || !got.LastUserSync.Equal(now) {
		t.Errorf("round trip lost data: %+v", got)
	}
}

func TestDamagedAndFutureFilesAreKeptAside(t *testing.T) {
	for name, content := range map[string]string{"damaged": `{"synced": [`, "future": `{"version": 99}`} {
		t.Run(name, func(t *testing.T) {
			st := NewStore(t.TempDir())
			os.WriteFile(st.Path(), []byte(content), 0o600)
			_, err := st.Load()
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Load = %v, want ErrCorrupt", err)
			}
			kept, _ := filepath.Glob(st.Path() + ".damaged-*")
			if len(kept) != 1 {
				t.Fatalf("kept copies %v, want one", kept)
			}
			if data, _ := os.ReadFile(kept[0]); string(data) != content {
				t.Errorf("kept copy = %q, want the original bytes", data)
			}
			if s, err := st.Load(); err != nil || len(s.History) != 0 {
				t.Errorf("Load after the move = %+v, %v; want a fresh state", s, err)
			}
		})
	}
}

func TestHistoryKeepsTheNewest(t *testing.T) {
	s := New()
	for i := range MaxHistory + 5 {
		s.AddRun(Run{ID: string(rune('a' + i%26)), Accepted: i})
	}
	if len(s.History) != MaxHistory || s.History[0].Accepted != 5 || s.LastRun().Accepted != MaxHistory+4 {
		t.Errorf("history has %d runs from %d to %d", len(s.History), s.History[0].Accepted, s.LastRun().Accepted)
	}
}

func TestClearCache(t *testing.T) {
	s := New()
	now := time.Now()
	s.Synced.Members["a"] = plan.SyncedMember{Email: "a@x.io"}
	s.LastUserSync, s.LastFullSync, s.Cursor = &now, &now, "delta"
	s.AddRun(Run{ID: "r1"})
	s.ClearCache()
	if len(s.Synced.Members) != 0 || s.LastUserSync != nil || s.LastFullSync != nil || s.Cursor != "" || !s.FullPending {
		t.Errorf("ClearCache left %+v", s)
	}
	if len(s.History) != 1 {
		t.Error("ClearCache dropped the history")
	}
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	l1, err := Acquire(context.Background(), dir, "dirconn sync (cli)", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(context.Background(), dir, "other", 0)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Acquire = %v, want ErrLocked", err)
	}
	if want := "dirconn sync (cli), pid"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name the holder (%q)", err, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx, dir, "other", time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting Acquire with a short ctx = %v, want DeadlineExceeded", err)
	}
	if err := l1.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(context.Background(), dir, "other", 0)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l2.Release()
}
