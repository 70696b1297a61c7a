package connector

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dirconn/dirconn/internal/bitwarden/emulator"
	"github.com/dirconn/dirconn/internal/config"
	"github.com/dirconn/dirconn/internal/directory/all"
	"github.com/dirconn/dirconn/internal/secret"
)

type rig struct {
	t       *testing.T
	svc     *Service
	emu     *emulator.Server
	dirFile string
}

func newRig(t *testing.T, users int) *rig {
	t.Helper()
	off := false
	emu := emulator.New(emulator.Options{TokenRateLimit: &off})
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	r := &rig{t: t, emu: emu, dirFile: filepath.Join(dir, "people.json")}
	r.write(users)
	svc, err := NewService(Options{DataDir: dir, Registry: all.Registry(), Env: func(string) string { return "" }, Secrets: secret.Memory()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	r.svc = svc
	err = svc.EditConfig(func(cfg *config.Config, sec secret.Store) error {
		for _, kv := range [][2]string{{"server", srv.URL}, {"directory", "file"}, {"file.path", r.dirFile}} {
			if err := cfg.Set(all.Registry(), kv[0], kv[1], sec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Login(context.Background(), emu.ClientID(), secret.Secret(emu.APIKey())); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) write(n int) {
	var users []map[string]any
	for i := range n {
		users = append(users, map[string]any{"id": fmt.Sprintf("u%03d", i), "email": fmt.Sprintf("u%03d@example.com", i)})
	}
	data, _ := json.Marshal(map[string]any{"users": users})
	if err := os.WriteFile(r.dirFile, data, 0o600); err != nil {
		r.t.Fatal(err)
	}
}

// await waits until a status satisfies ok.
func (r *rig) await(what string, ok func(Status) bool) Status {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch := r.svc.Subscribe(ctx)
	for {
		select {
		case st := <-ch:
			if ok(st) {
				return st
			}
		case <-ctx.Done():
			r.t.Fatalf("timed out waiting for %s; status %+v", what, r.svc.Status())
		}
	}
}

func members(e *emulator.Server) int { return len(e.Snapshot().Members) - 1 }

func TestServiceSyncsAndReports(t *testing.T) {
	r := newRig(t, 20)
	if st := r.svc.Status(); !st.LoggedIn || st.Directory != "file" {
		t.Fatalf("status after login = %+v", st)
	}
	r.svc.Start()
	st := r.await("the first scheduled sync", func(s Status) bool { return !s.Running && s.LastResult != nil })
	if !st.Scheduled || st.Next.IsZero() || st.LastUserSync == nil || st.LastResult.Outcome != "ok" {
		t.Errorf("status after the first sync = %+v", st)
	}
	if members(r.emu) != 20 {
		t.Errorf("org has %d members, want 20", members(r.emu))
	}
	r.svc.Stop()
	if st := r.await("stopped", func(s Status) bool { return !s.Scheduled }); !st.Next.IsZero() {
		t.Errorf("Next = %v after Stop", st.Next)
	}
}

func TestServiceKeepsLastErrorUntilSuccess(t *testing.T) {
	r := newRig(t, 3)
	os.Remove(r.dirFile)
	r.svc.SyncNow()
	st := r.await("a failure", func(s Status) bool { return s.LastError != "" && !s.Running })
	if st.LastErrorAt.IsZero() || st.Failures != 1 {
		t.Errorf("status = %+v, want the error kept with its time and one failure", st)
	}
	r.write(3)
	r.svc.SyncNow()
	st = r.await("a success", func(s Status) bool { return s.LastError == "" && !s.Running && s.LastResult != nil })
	if st.Failures != 0 {
		t.Errorf("failures = %d after a success", st.Failures)
	}
}

func TestServiceApprovesHeldRemovals(t *testing.T) {
	r := newRig(t, 100)
	r.svc.SyncNow()
	r.await("the first sync", func(s Status) bool { return s.LastResult != nil && !s.Running })
	r.write(40)
	r.svc.SyncNow()
	st := r.await("held removals", func(s Status) bool { return s.Held != nil && !s.Running })
	if len(st.Held.Removals) != 60 || members(r.emu) != 100 {
		t.Fatalf("held = %d, org = %d; want 60 held and nobody removed", len(st.Held.Removals), members(r.emu))
	}
	r.svc.Approve()
	st = r.await("approval", func(s Status) bool {
		return s.Held == nil && !s.Running && s.LastResult != nil && s.LastResult.Plan.Counts.Removals == 60
	})
	if members(r.emu) != 40 {
		t.Errorf("org has %d members after approval, want 40", members(r.emu))
	}
	// Approval is one-shot: the next hold needs a new one.
	r.write(10)
	r.svc.SyncNow()
	r.await("held again", func(s Status) bool { return s.Held != nil && !s.Running })
	if members(r.emu) != 40 {
		t.Errorf("an earlier approval released a later hold: %d members", members(r.emu))
	}
}

func TestServiceTestAndPlanSendNothing(t *testing.T) {
	r := newRig(t, 5)
	tr, err := r.svc.Test(context.Background(), false)
	if err != nil || len(tr.EnabledUsers) != 5 {
		t.Fatalf("Test = %v, %v", tr, err)
	}
	res, err := r.svc.Plan(context.Background())
	if err != nil || res.Plan.Counts.Invites != 5 {
		t.Fatalf("Plan = %+v, %v", res, err)
	}
	if len(r.emu.Imports()) != 0 {
		t.Error("Test or Plan sent an import")
	}
}
