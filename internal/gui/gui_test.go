package gui

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/config"
	"github.com/dirconn/dirconn/internal/connector"
	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/all"
	"github.com/dirconn/dirconn/internal/engine"
	"github.com/dirconn/dirconn/internal/plan"
	"github.com/dirconn/dirconn/internal/state"
)

func testRegistry() *directory.Registry {
	reg := all.Registry()
	reg.Register(fakeAdapter())
	return reg
}

func wantCalls(t *testing.T, f *fakeService, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, f.called()); diff != "" {
		t.Errorf("service calls (-want +got):\n%s", diff)
	}
}

func TestLoginValidation(t *testing.T) {
	f := newFake(t)
	f.status.LoggedIn, f.status.ClientID = false, ""
	ui := newTestUI(t, f, nil)
	if ui.shown != "login" {
		t.Fatalf("logged out: shown = %q, want login", ui.shown)
	}
	v := ui.login
	for _, tc := range []struct {
		id, secret       string
		idErr, secretErr string
	}{
		{"", "", "Enter the client ID", "Enter the client secret"},
		{"user.3e0f2a44-1b6c-4d55-9a0e-5b7f2f0c9a11", "s", "not an organization API key", ""},
		{"organization.not-a-guid", "s", "organization.<GUID>", ""},
		{"organization.3e0f2a44-1b6c-4d55-9a0e-5b7f2f0c9a11", "", "", "Enter the client secret"},
	} {
		v.clientID.SetText(tc.id)
		v.clientSecret.SetText(tc.secret)
		test.Tap(v.loginButton)
		for _, x := range []struct {
			l    *widget.Label
			want string
		}{{v.idError, tc.idErr}, {v.secretError, tc.secretErr}} {
			switch {
			case x.want == "" && x.l.Visible():
				t.Errorf("%q/%q: unexpected message %q", tc.id, tc.secret, x.l.Text)
			case x.want != "" && (!x.l.Visible() || !strings.Contains(x.l.Text, x.want)):
				t.Errorf("%q/%q: message %q (visible %v), want %q", tc.id, tc.secret, x.l.Text, x.l.Visible(), x.want)
			}
		}
	}
	wantCalls(t, f)

	f.err = errors.New("invalid_client")
	test.Type(v.clientID, "")
	v.clientID.SetText(" organization.3e0f2a44-1b6c-4d55-9a0e-5b7f2f0c9a11 ")
	v.clientSecret.SetText("secret")
	test.Tap(v.loginButton)
	if !v.result.Visible() || !strings.Contains(v.result.Text, "invalid_client") {
		t.Errorf("failed login: result %q, want the server's error", v.result.Text)
	}
	f.err = nil
	test.Tap(v.loginButton)
	if ui.shown != "main" {
		t.Errorf("after login: shown = %q, want main", ui.shown)
	}
	if want := []string{"organization.3e0f2a44-1b6c-4d55-9a0e-5b7f2f0c9a11", "organization.3e0f2a44-1b6c-4d55-9a0e-5b7f2f0c9a11"}; !slices.Equal(f.loginIDs, want) {
		t.Errorf("login ids %q, want %q (trimmed)", f.loginIDs, want)
	}
	if v.clientSecret.Text != "" {
		t.Error("the secret stays in the form after login")
	}
}

func TestLoginScreenMarkup(t *testing.T) {
	f := newFake(t)
	f.status.LoggedIn, f.status.ClientID = false, ""
	a := test.NewTempApp(t)
	a.SetIcon(Icon)
	ui := New(a, f, Options{Registry: &directory.Registry{}, DataDir: t.TempDir(),
		TryDemo: func(context.Context) (Service, Options, func(), error) {
			return nil, Options{}, nil, errors.New("no demo")
		}}, defaultPrefs())
	ui.spawn = func(fn func()) { fn() }
	t.Cleanup(ui.Close)
	ui.win.Resize(DefaultSize)
	test.AssertObjectRendersToMarkup(t, "login.xml", ui.win.Content())
	test.Tap(ui.login.demoButton)
	if !strings.Contains(ui.login.result.Text, "no demo") {
		t.Errorf("a demo that cannot start: %q", ui.login.result.Text)
	}
}

func TestEnvironmentDialogSaves(t *testing.T) {
	f := newFake(t)
	f.status.LoggedIn = false
	ui := newTestUI(t, f, all.Registry())
	d := newEnvDialog(ui, nil)
	d.load(environment{})
	d.dlg = dialog.NewCustomWithoutButtons("Environment Settings", d.content(), ui.win)
	if d.kind.Selected != envUS {
		t.Fatalf("default environment %q, want %q", d.kind.Selected, envUS)
	}
	d.kind.SetSelected(envSelf)
	d.fields[config.KeyServer].SetText("")
	d.onSave()
	if !d.errors[config.KeyServer].Visible() {
		t.Error("self-hosted without a URL: no message under the field")
	}
	d.fields[config.KeyServer].SetText("bitwarden.company.com")
	d.fields[config.KeyAPIURL].SetText("ftp://x")
	d.onSave()
	if !d.errors[config.KeyAPIURL].Visible() || !strings.Contains(d.errors[config.KeyAPIURL].Text, "not an http(s) URL") {
		t.Errorf("bad API URL: message %q", d.errors[config.KeyAPIURL].Text)
	}
	d.fields[config.KeyAPIURL].SetText("")
	d.onSave()
	cfg, err := config.Load(f.cfg.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.GlobalValues()[config.KeyServer]; got != "https://bitwarden.company.com" {
		t.Errorf("saved server %q, want https://bitwarden.company.com", got)
	}
	d.kind.SetSelected(envEU)
	d.onSave()
	cfg, _ = config.Load(f.cfg.Dir())
	if got := cfg.GlobalValues()[config.KeyServer]; got != config.CloudEU {
		t.Errorf("saved server %q, want %s", got, config.CloudEU)
	}
}

func TestEveryTabBuilds(t *testing.T) {
	for _, reg := range []*directory.Registry{all.Registry(), testRegistry(), {}} {
		f := newFake(t)
		ui := newTestUI(t, f, reg)
		if ui.shown != "main" {
			t.Fatalf("logged in: shown = %q, want main", ui.shown)
		}
		var names []string
		for i, item := range ui.tabs.Items {
			ui.tabs.SelectIndex(i)
			names = append(names, item.Text)
			if item.Content == nil || item.Content.MinSize().Width <= 0 {
				t.Errorf("tab %s has no content", item.Text)
			}
		}
		if want := []string{"Dashboard", "Settings", "More"}; !slices.Equal(names, want) {
			t.Errorf("tabs %q, want %q", names, want)
		}
		if min := ui.win.Content().MinSize(); min.Width > DefaultSize.Width || min.Height > DefaultSize.Height {
			t.Errorf("the window's content needs %v, more than the default %v", min, DefaultSize)
		}
	}
}

func TestDemoIsMarked(t *testing.T) {
	f := newFake(t)
	a := test.NewTempApp(t)
	ui := New(a, f, Options{Registry: all.Registry(), DataDir: t.TempDir(), Demo: true}, defaultPrefs())
	t.Cleanup(ui.Close)
	if !strings.Contains(ui.win.Title(), "DEMO") {
		t.Errorf("title %q does not say DEMO", ui.win.Title())
	}
	if !strings.Contains(test.RenderObjectToMarkup(ui.header.build()), "DEMO") {
		t.Error("the header does not show the DEMO badge")
	}
}

// settingsUI shows the Settings tab of a UI over f with the fake adapter registered.
func settingsUI(t *testing.T, f *fakeService) *settingsView {
	t.Helper()
	ui := newTestUI(t, f, testRegistry())
	ui.tabs.SelectIndex(1)
	v := ui.settings
	if !v.loaded {
		t.Fatal("the Settings tab did not load the settings")
	}
	return v
}

func TestSettingsFormFromSchema(t *testing.T) {
	f := newFake(t)
	v := settingsUI(t, f)
	v.dirSelect.SetSelected("Fake directory")
	form := v.dirForms["fake"]
	if form == nil {
		t.Fatal("no form for the fake adapter")
	}
	kinds := map[string]string{}
	for _, fd := range form.fields {
		switch {
		case fd.check != nil:
			kinds[fd.key] = "check"
		case fd.choice != nil:
			kinds[fd.key] = "select:" + strings.Join(fd.choice.Options, "|")
		case fd.entry.Password:
			kinds[fd.key] = "password"
		case fd.entry.MultiLine:
			kinds[fd.key] = "multiline"
		default:
			kinds[fd.key] = "entry"
		}
	}
	want := map[string]string{"fake.host": "entry", "fake.notes": "multiline", "fake.port": "entry", "fake.tls": "check",
		"fake.mode": "select:a|b", "fake.ca": "entry", "fake.timeout": "entry", "fake.attrs": "entry", "fake.password": "password"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("widgets by kind (-want +got):\n%s", diff)
	}
	if !strings.Contains(test.RenderObjectToMarkup(form.byKey["fake.ca"].row[1]), "Browse") {
		t.Error("a path option has no Browse button")
	}
	if form.byKey["fake.port"].entry.Text != "389" {
		t.Errorf("port shows %q, want the default 389", form.byKey["fake.port"].entry.Text)
	}
	if form.advanced == nil {
		t.Error("the advanced option is not folded away")
	}
	if uf := v.syncForm.byKey["sync.userFilter"]; !uf.row[1].Visible() || !strings.Contains(uf.help.Text, "(objectClass=person)") {
		t.Errorf("user filter: visible %v, help %q; want the adapter's filter help", uf.row[1].Visible(), uf.help.Text)
	}
	v.dirSelect.SetSelected("File (JSON, CSV or LDIF)")
	if uf := v.syncForm.byKey["sync.userFilter"]; uf.row[1].Visible() {
		t.Error("the file adapter takes no filter, but the filter field shows")
	}
}

func TestSettingsSavePersists(t *testing.T) {
	f := newFake(t)
	v := settingsUI(t, f)
	if v.saveButton.Disabled() == false {
		t.Error("Save is enabled before anything changed")
	}
	v.dirSelect.SetSelected("Fake directory")
	form := v.dirForms["fake"]
	test.Type(form.byKey["fake.host"].entry, "ldap.example.com")
	test.Type(form.byKey["fake.password"].entry, "hunter2")
	form.byKey["fake.tls"].check.SetChecked(true)
	v.syncForm.byKey["sync.interval"].entry.SetText("1h")
	v.syncForm.byKey["sync.userFilter"].entry.SetText("(objectClass=person)")
	if v.saveButton.Disabled() {
		t.Fatal("Save is disabled after edits")
	}
	test.Tap(v.saveButton)
	if !v.saveResult.Visible() || !strings.Contains(v.saveResult.Text, "saved") {
		t.Fatalf("save result %q", v.saveResult.Text)
	}
	cfg, err := config.Load(f.cfg.Dir())
	if err != nil {
		t.Fatal(err)
	}
	reg := testRegistry()
	for key, want := range map[string]string{"directory": "fake", "fake.host": "ldap.example.com", "fake.tls": "true",
		"sync.interval": "1h0m0s", "sync.userFilter": "(objectClass=person)"} {
		if got, _, err := cfg.Get(reg, key, nil, nil); err != nil || got != want {
			t.Errorf("saved %s = %q (%v), want %q", key, got, err, want)
		}
	}
	if s, _ := f.secrets.Get("fake.password"); s != "hunter2" {
		t.Errorf("the secret went to the store as %q", s)
	}
	data, _ := os.ReadFile(cfg.Path())
	if strings.Contains(string(data), "hunter2") {
		t.Error("config.json holds the secret")
	}
	if !v.saveButton.Disabled() {
		t.Error("Save stays enabled after saving")
	}
	if pw := v.dirForms["fake"].byKey["fake.password"].entry; pw.Text != "" || !strings.Contains(pw.PlaceHolder, "Stored") {
		t.Errorf("the secret field after saving: text %q, placeholder %q", pw.Text, pw.PlaceHolder)
	}
}

func TestSettingsBadValueShowsMessageNextToField(t *testing.T) {
	f := newFake(t)
	v := settingsUI(t, f)
	v.dirSelect.SetSelected("Fake directory")
	form := v.dirForms["fake"]
	form.byKey["fake.host"].entry.SetText("ldap.example.com")
	form.byKey["fake.password"].entry.SetText("pw")
	form.byKey["fake.port"].entry.SetText("99999")
	v.syncForm.byKey["sync.interval"].entry.SetText("1m")
	test.Tap(v.saveButton)
	for key, want := range map[string]string{"fake.port": "99999 is out of range (1 to 65535)", "sync.interval": "below the minimum of 5m"} {
		fd := form.byKey[key]
		if fd == nil {
			fd = v.syncForm.byKey[key]
		}
		if !fd.err.Visible() || !strings.Contains(fd.err.Text, want) {
			t.Errorf("%s: message %q (visible %v), want %q", key, fd.err.Text, fd.err.Visible(), want)
		}
	}
	if _, err := os.Stat(f.cfg.Path()); err == nil {
		t.Error("bad values were saved")
	}

	// A value only the whole configuration can refuse: the adapter's filter check, with its message next to the filter.
	form.byKey["fake.port"].entry.SetText("636")
	v.syncForm.byKey["sync.interval"].entry.SetText("")
	v.syncForm.byKey["sync.userFilter"].entry.SetText("objectClass=person")
	test.Tap(v.saveButton)
	uf := v.syncForm.byKey["sync.userFilter"]
	if !uf.err.Visible() || !strings.Contains(uf.err.Text, "A filter starts with (") {
		t.Errorf("filter: message %q (visible %v)", uf.err.Text, uf.err.Visible())
	}
	if cfg, _ := config.Load(f.cfg.Dir()); cfg.Directory() != "" {
		t.Errorf("a refused save changed the settings: directory %q", cfg.Directory())
	}

	// A required option left empty.
	uf.entry.SetText("")
	form.byKey["fake.host"].entry.SetText("")
	test.Tap(v.saveButton)
	if h := form.byKey["fake.host"]; !h.err.Visible() || !strings.Contains(h.err.Text, "Is required") {
		t.Errorf("required host: message %q", h.err.Text)
	}
}

func TestSettingsTestConnection(t *testing.T) {
	f := newFake(t)
	v := settingsUI(t, f)
	v.dirSelect.SetSelected("Fake directory")
	form := v.dirForms["fake"]
	form.byKey["fake.host"].entry.SetText("ldap.example.com")
	form.byKey["fake.password"].entry.SetText("wrong")
	test.Tap(v.testButton)
	if !strings.Contains(v.testResult.Text, "authentication failed") {
		t.Errorf("wrong password: %q", v.testResult.Text)
	}
	form.byKey["fake.password"].entry.SetText("hunter2")
	test.Tap(v.testButton)
	if !strings.Contains(v.testResult.Text, "Connection works: read 1 user and 0 groups") {
		t.Errorf("good settings: %q", v.testResult.Text)
	}
	if _, err := os.Stat(f.cfg.Path()); err == nil {
		t.Error("Test Connection saved the settings")
	}
}

func TestSyncNowDrivesServiceAndDashboardShowsProgressAndErrors(t *testing.T) {
	f := newFake(t)
	ui := newTestUI(t, f, nil)
	d := ui.dash
	test.Tap(d.syncButton)
	wantCalls(t, f, "SyncNow")

	ui.apply(connector.Status{LoggedIn: true, Running: true, Stage: "push", Done: 1, Total: 4})
	if !d.progressBox.Visible() || d.progress.Value != 1 || d.progress.Max != 4 {
		t.Errorf("progress: visible %v, %v of %v", d.progressBox.Visible(), d.progress.Value, d.progress.Max)
	}
	if !strings.Contains(d.stage.Text, "Sending changes (1 of 4 requests)") {
		t.Errorf("stage %q", d.stage.Text)
	}
	if !d.syncButton.Disabled() {
		t.Error("Sync Now is enabled while a sync runs")
	}
	test.Tap(d.cancelButton)
	wantCalls(t, f, "SyncNow", "Cancel")

	now := time.Now()
	failed := connector.Status{LoggedIn: true, LastError: "read the directory: authentication failed", LastErrorAt: now,
		LastResult: &engine.Result{Outcome: "failed", Finished: now}}
	ui.apply(failed)
	if d.progressBox.Visible() {
		t.Error("progress stays after the run")
	}
	if !d.errorBox.Visible() || d.errorText.Text != failed.LastError {
		t.Errorf("error banner: visible %v, %q", d.errorBox.Visible(), d.errorText.Text)
	}
	// The error stays through other updates until a sync succeeds.
	failed.Scheduled = true
	ui.apply(failed)
	if !d.errorBox.Visible() {
		t.Error("the error went away before a sync succeeded")
	}
	ui.apply(connector.Status{LoggedIn: true, LastUserSync: &now, LastGroupSync: &now,
		LastResult: &engine.Result{Outcome: "ok", Finished: now, Plan: &plan.Plan{Counts: plan.Counts{Invites: 3, Removals: 1}}}})
	if d.errorBox.Visible() {
		t.Error("the error stays after a successful sync")
	}
	if !strings.HasPrefix(d.lastUser.Text, "Today") || !strings.Contains(d.lastRun.Text, "3 invites, 1 removal") {
		t.Errorf("last sync %q, last result %q", d.lastUser.Text, d.lastRun.Text)
	}
	if !d.detailsButton.Visible() {
		t.Fatal("no Show Details for the last result")
	}
	test.Tap(d.detailsButton)
	if d.lastPlan == nil || !strings.Contains(d.resultsTitle.Text, "What the last sync did") {
		t.Errorf("details: %q", d.resultsTitle.Text)
	}
}

func TestTestNowAndPreviewShowResults(t *testing.T) {
	f := newFake(t)
	f.testResult = &engine.TestResult{
		EnabledUsers:  []engine.TestUser{{ExternalID: "u1", DisplayName: "ann@example.com"}, {ExternalID: "u2", DisplayName: "bob@example.com"}},
		DisabledUsers: []engine.TestUser{{ExternalID: "u3", DisplayName: "cy@example.com"}},
		DeletedUsers:  []engine.TestUser{},
		Groups:        []engine.TestGroup{{ExternalID: "g1", DisplayName: "Engineering", UserIDs: []string{"u1", "u2"}, Nested: []string{"Backend"}}},
		Skipped:       []directory.Issue{{Kind: "user", ID: "u9", Reason: "no email address"}},
		Complete:      true,
	}
	ui := newTestUI(t, f, nil)
	d := ui.dash
	test.Tap(d.testButton)
	var tabs []string
	for _, it := range d.results.Items {
		tabs = append(tabs, it.Text)
	}
	if want := []string{"Users (2)", "Disabled (1)", "Deleted (0)", "Groups (1)", "Skipped (1)"}; !slices.Equal(tabs, want) {
		t.Errorf("test result tabs %q, want %q", tabs, want)
	}
	d.results.SelectIndex(4)
	markup := test.RenderObjectToMarkup(d.results.Items[4].Content)
	if !strings.Contains(markup, "no email address") {
		t.Error("the skipped record's reason is not shown")
	}
	d.results.SelectIndex(3)
	if m := test.RenderObjectToMarkup(d.results.Items[3].Content); !strings.Contains(m, "Engineering — 2 members, nested: Backend") {
		t.Errorf("groups tab does not show members and nesting:\n%s", m)
	}
	test.Tap(d.sinceLast)
	test.Tap(d.testButton)

	f.planResult = &engine.Result{Outcome: "ok", DryRun: true, Finished: time.Now(), Plan: &plan.Plan{
		Counts:       plan.Counts{Invites: 1, GroupCreates: 1},
		Invites:      []plan.MemberChange{{ExternalID: "u1", Email: "ann@example.com", Reason: "new in the directory"}},
		GroupCreates: []plan.GroupChange{{ExternalID: "g1", Name: "Engineering", Members: 2, Reason: "new group"}},
	}}
	test.Tap(d.planButton)
	tabs = nil
	for _, it := range d.results.Items {
		tabs = append(tabs, it.Text)
	}
	if want := []string{"Invites (1)", "Removals (0)", "Held (0)", "Groups (1)", "Skipped (0)"}; !slices.Equal(tabs, want) {
		t.Errorf("plan tabs %q, want %q", tabs, want)
	}
	if m := test.RenderObjectToMarkup(d.results.Items[0].Content); !strings.Contains(m, "new in the directory") {
		t.Error("the invite's reason is not shown")
	}
	wantCalls(t, f, "Test", "Test(sinceLast)", "Plan")

	f.err = errors.New("read the directory: connection refused")
	test.Tap(d.testButton)
	if !d.testError.Visible() || !strings.Contains(d.testError.Text, "connection refused") {
		t.Errorf("test error %q", d.testError.Text)
	}
}

func TestHeldRemovalsApprove(t *testing.T) {
	f := newFake(t)
	ui := newTestUI(t, f, nil)
	d := ui.dash
	held := &state.Held{At: time.Now(), Approvable: true, Reasons: []string{"60 removals exceed the limit of 50"},
		Removals: []plan.MemberChange{{ExternalID: "u1", Email: "ann@example.com", Reason: "gone from the directory"}}}
	ui.apply(connector.Status{LoggedIn: true, Held: held})
	if !d.heldBox.Visible() || !strings.Contains(d.heldTitle.Text, "1 removal is held") || d.approveButton.Disabled() {
		t.Fatalf("held banner: visible %v, %q, approve disabled %v", d.heldBox.Visible(), d.heldTitle.Text, d.approveButton.Disabled())
	}
	test.Tap(d.approveButton)
	if ui.win.Canvas().Overlays().Top() == nil {
		t.Fatal("Approve asks no confirmation")
	}
	wantCalls(t, f) // nothing before the confirmation
	d.approve(false)
	wantCalls(t, f)
	d.approve(true)
	wantCalls(t, f, "Approve")

	held.Approvable = false
	ui.apply(connector.Status{LoggedIn: true, Held: held})
	if !d.approveButton.Disabled() || !strings.Contains(d.heldNote.Text, "incomplete") {
		t.Errorf("unapprovable hold: approve disabled %v, note %q", d.approveButton.Disabled(), d.heldNote.Text)
	}
	ui.apply(connector.Status{LoggedIn: true})
	if d.heldBox.Visible() {
		t.Error("the held banner stays after the hold is gone")
	}
}

func TestSchedulerStartStopAndResume(t *testing.T) {
	f := newFake(t)
	ui := newTestUI(t, f, nil)
	dir := ui.opts.DataDir
	test.Tap(ui.dash.startButton)
	wantCalls(t, f, "Start")
	if p, _ := LoadPrefs(dir); !p.Syncing {
		t.Error("Start Sync is not remembered for the next start")
	}
	if fi, err := os.Stat(filepath.Join(dir, PrefsFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("gui.json: %v, mode %v", err, fi)
	}
	if !ui.dash.startButton.Disabled() || ui.dash.stopButton.Disabled() {
		t.Error("while syncing on an interval: Start should be disabled and Stop enabled")
	}
	test.Tap(ui.dash.stopButton)
	wantCalls(t, f, "Start", "Stop")
	if p, _ := LoadPrefs(dir); p.Syncing {
		t.Error("Stop Sync is not remembered")
	}

	// Resume after a restart: a new app with the remembered choice starts interval syncs again.
	for _, syncing := range []bool{true, false} {
		f2 := newFake(t)
		a := test.NewTempApp(t)
		ui2 := New(a, f2, Options{DataDir: dir, Registry: &directory.Registry{}}, Prefs{Syncing: syncing})
		ui2.spawn = func(fn func()) { fn() }
		ui2.resume() // what Show does before showing the window
		got := slices.Contains(f2.called(), "Start")
		if got != syncing {
			t.Errorf("restart with syncing=%v: Start called %v", syncing, got)
		}
		ui2.Close()
	}
}

func TestTrayMenu(t *testing.T) {
	f := newFake(t)
	ui := newTestUI(t, f, nil)
	m := ui.tray.menu
	var labels []string
	for _, it := range m.Items {
		if !it.IsSeparator {
			labels = append(labels, it.Label)
		}
	}
	if want := []string{"Hide dirconn", "Sync Now", "Start Sync", "Quit"}; !slices.Equal(labels, want) {
		t.Errorf("tray menu %q, want %q", labels, want)
	}
	ui.tray.syncNow.Action()
	ui.tray.schedule.Action()
	wantCalls(t, f, "SyncNow", "Start")
	ui.apply(f.Status())
	if ui.tray.schedule.Label != "Stop Sync" {
		t.Errorf("while syncing: %q, want Stop Sync", ui.tray.schedule.Label)
	}
	ui.tray.schedule.Action()
	wantCalls(t, f, "SyncNow", "Start", "Stop")

	ui.tray.showHide.Action()
	if ui.visible || ui.tray.showHide.Label != "Show dirconn" {
		t.Errorf("after Hide: visible %v, item %q", ui.visible, ui.tray.showHide.Label)
	}
	ui.tray.showHide.Action()
	if !ui.visible || ui.tray.showHide.Label != "Hide dirconn" {
		t.Errorf("after Show: visible %v, item %q", ui.visible, ui.tray.showHide.Label)
	}
	ui.apply(connector.Status{LoggedIn: true, Running: true})
	if !ui.tray.syncNow.Disabled {
		t.Error("Sync Now is enabled while a sync runs")
	}
	if !ui.tray.quit.IsQuit {
		t.Error("Quit is not the menu's quit item")
	}
	ui.tray.quit.Action()
	if ui.ctx.Err() == nil {
		t.Error("Quit did not stop the app")
	}
}

func TestCloseAndMinimizeToTray(t *testing.T) {
	f := newFake(t)
	ui := newTestUI(t, f, nil)
	ui.prefs.CloseToTray = true
	ui.onCloseRequest()
	if ui.visible || ui.ctx.Err() != nil {
		t.Errorf("close to tray: visible %v, quit %v", ui.visible, ui.ctx.Err() != nil)
	}
	ui.showWindow()

	minimized := false
	ui.opts.IsMinimized = func(fyne.Window) bool { return minimized }
	ui.prefs.MinimizeToTray = true
	ui.onExitedForeground()
	if !ui.visible {
		t.Error("focus lost without minimizing hid the window")
	}
	minimized = true
	ui.onExitedForeground()
	if ui.visible {
		t.Error("minimize to tray did not hide the window")
	}
	ui.showWindow()
	ui.prefs.MinimizeToTray = false
	ui.onExitedForeground()
	if !ui.visible {
		t.Error("minimize to tray is off but the window was hidden")
	}

	// Without a tray, closing quits whatever the setting says.
	ui.opts.Tray = false
	ui.onCloseRequest()
	if ui.ctx.Err() == nil {
		t.Error("close without a tray did not quit")
	}

	ui2 := newTestUI(t, newFake(t), nil)
	ui2.prefs.CloseToTray = false
	ui2.onCloseRequest()
	if ui2.ctx.Err() == nil {
		t.Error("close with close-to-tray off did not quit")
	}
}

func TestMoreTab(t *testing.T) {
	f := newFake(t)
	now := time.Now()
	f.history = []state.Run{
		{Kind: "sync", Trigger: "gui-schedule", Started: now.Add(-time.Hour), Result: "ok", Counts: plan.Counts{Invites: 55}},
		{Kind: "sync", Trigger: "gui-manual", Started: now, Result: "failed", Error: "read the directory: authentication failed"},
	}
	var opened string
	ui := newTestUI(t, f, nil)
	ui.opts.OpenFolder = func(p string) error { opened = p; return nil }
	ui.tabs.SelectIndex(2)
	m := ui.more
	if len(m.history.rows) != 2 || !strings.Contains(m.history.rows[0].main, "Failed") || !strings.Contains(m.history.rows[1].detail, "55 invites") {
		t.Errorf("history rows %+v, want newest first with results", m.history.rows)
	}
	if !m.updateButton.Disabled() {
		t.Error("Check for Updates is enabled without an updater")
	}
	if !strings.Contains(m.clientID.Text, "organization.3e0f2a44") {
		t.Errorf("client id %q", m.clientID.Text)
	}
	test.Tap(m.logsButton)
	if opened != ui.opts.LogDir || !strings.HasSuffix(opened, "logs") {
		t.Errorf("opened %q, want the log folder %q", opened, ui.opts.LogDir)
	}
	test.Tap(m.clearButton)
	if ui.win.Canvas().Overlays().Top() == nil {
		t.Error("Clear Sync Cache asks no confirmation")
	}
	wantCalls(t, f)
	test.Tap(m.logoutButton)
	if ui.win.Canvas().Overlays().Top() == nil {
		t.Error("Log Out asks no confirmation")
	}
	wantCalls(t, f)
}

func TestNotifications(t *testing.T) {
	f := newFake(t)
	ui := newTestUI(t, f, nil)
	at := time.Now()
	test.AssertNotificationSent(t, &fyne.Notification{Title: "dirconn: sync failed", Content: "read the directory: timeout"}, func() {
		ui.apply(connector.Status{LoggedIn: true, LastError: "read the directory: timeout\nmore", LastErrorAt: at})
	})
	test.AssertNotificationSent(t, nil, func() { // the same failure again: no second notification
		ui.apply(connector.Status{LoggedIn: true, LastError: "read the directory: timeout", LastErrorAt: at, Scheduled: true})
	})
	test.AssertNotificationSent(t, &fyne.Notification{Title: "dirconn: removals held",
		Content: "2 removals wait for approval on the Dashboard. Nobody was removed."}, func() {
		ui.apply(connector.Status{LoggedIn: true, Held: &state.Held{At: at, Removals: make([]plan.MemberChange, 2)}})
	})
}

func TestFollowCopiesPublishedStatus(t *testing.T) {
	f := newFake(t)
	ui := newTestUI(t, f, nil)
	applied := make(chan struct{}, 10)
	ui.applied = func() { applied <- struct{}{} }
	ui.follow()
	<-applied // the status at subscription
	f.set(func(s *connector.Status) { s.Scheduled, s.Interval = true, time.Hour })
	select {
	case <-applied:
	case <-time.After(10 * time.Second):
		t.Fatal("the published status was not shown")
	}
	if text := ui.header.state.Text; text != "Syncing every hour" {
		t.Errorf("header state %q, want the published status", text)
	}
}
