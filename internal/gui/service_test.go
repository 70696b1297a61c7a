package gui

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/dirconn/dirconn/internal/connector"
	"github.com/dirconn/dirconn/internal/demo"
	"github.com/dirconn/dirconn/internal/directory/all"
)

// TestRealServiceWithEmulator drives a real connector.Service over the demo (Bitwarden emulator and the
// bundled directory): Test Now, Preview, Sync Now, and the Dashboard and history show what it did.
func TestRealServiceWithEmulator(t *testing.T) {
	ctx := context.Background()
	d, err := demo.Start(ctx, demo.Options{Registry: all.Registry(), Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	svc, err := connector.NewService(d.ConnectorOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	ui := newTestUI(t, svc, all.Registry())
	ui.opts.DataDir = d.Dir
	if ui.shown != "main" {
		t.Fatalf("the demo is logged in, but the app shows %q", ui.shown)
	}
	dash := ui.dash

	test.Tap(dash.testButton)
	if dash.lastTest == nil || len(dash.lastTest.EnabledUsers) == 0 || dash.results.Items[0].Text != "Users (55)" {
		t.Fatalf("Test Now: %v, tabs %v", dash.testError.Text, dash.results.Items)
	}
	test.Tap(dash.planButton)
	if dash.lastPlan == nil || dash.results.Items[0].Text != "Invites (55)" {
		t.Fatalf("Preview: %v", dash.testError.Text)
	}

	test.Tap(dash.syncButton)
	deadline := time.Now().Add(30 * time.Second)
	for svc.Status().LastResult == nil || svc.Status().Running {
		if time.Now().After(deadline) {
			t.Fatal("the sync did not finish")
		}
		time.Sleep(20 * time.Millisecond)
	}
	ui.apply(svc.Status())
	if !strings.Contains(dash.lastRun.Text, "Succeeded") || !strings.Contains(dash.lastRun.Text, "55 invites") {
		t.Errorf("last result %q", dash.lastRun.Text)
	}
	if !strings.HasPrefix(dash.lastUser.Text, "Today") {
		t.Errorf("last user sync %q", dash.lastUser.Text)
	}
	if n := len(d.Emulator.Snapshot().Members); n != 56 {
		t.Errorf("the emulated organization has %d members, want 56 (owner + 55 invited)", n)
	}
	ui.tabs.SelectIndex(2)
	if len(ui.more.history.rows) != 1 || !strings.Contains(ui.more.history.rows[0].main, "OK") {
		t.Errorf("history %+v", ui.more.history.rows)
	}
	ui.tabs.SelectIndex(1)
	if ui.settings.dirSelect.Selected != "File (JSON, CSV or LDIF)" || ui.settings.dirForms["file"].byKey["file.path"].entry.Text != "demo.json" {
		t.Errorf("settings show %q, path %q", ui.settings.dirSelect.Selected, ui.settings.dirForms["file"].byKey["file.path"].entry.Text)
	}
}
