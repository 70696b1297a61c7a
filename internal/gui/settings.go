package gui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dirconn/dirconn/internal/config"
	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/secret"
	"github.com/dirconn/dirconn/internal/version"
)

// connectionKeys are the global settings the Settings tab edits (the server and API key are the login
// screen's).
var connectionKeys = map[string]bool{config.KeyProxy: true, config.KeyCAFile: true, config.KeyTimeout: true}

// settingsSnapshot is what the Settings tab shows: stored values by config key (defaults applied) and,
// for secrets, whether one is stored.
type settingsSnapshot struct {
	directory string
	values    map[string]string
	isSet     map[string]bool
}

// settingsView is the Settings tab: the directory type and its generated form, the sync options, the
// connection options, an explicit Save and Test connection.
type settingsView struct {
	ui       *UI
	adapters []*directory.Adapter

	dirSelect  *widget.Select
	typeLabel  *widget.Label
	typeField  fyne.CanvasObject
	dirError   *widget.Label
	dirHelp    *widget.Label
	dirHolder  *fyne.Container
	dirForms   map[string]*optionForm
	syncForm   *optionForm
	connForm   *optionForm
	saveButton *widget.Button
	undoButton *widget.Button
	testButton *widget.Button
	testCancel *widget.Button
	testBusy   *widget.ProgressBarInfinite
	testResult *widget.Label
	saveResult *widget.Label
	dirtyNote  *widget.Label

	snap       settingsSnapshot
	loaded     bool
	dirty      bool
	loading    bool
	cancelTest context.CancelFunc
	obj        fyne.CanvasObject
}

func newSettingsView(ui *UI) *settingsView {
	v := &settingsView{ui: ui, dirForms: map[string]*optionForm{}, dirError: fieldError(), dirHelp: hint(""),
		testBusy: widget.NewProgressBarInfinite(), testResult: wrapped(""), saveResult: wrapped(""), dirtyNote: widget.NewLabel("")}
	if ui.opts.Registry != nil {
		v.adapters = ui.opts.Registry.All()
	}
	var titles []string
	for _, a := range v.adapters {
		titles = append(titles, adapterTitle(a))
	}
	v.dirSelect = widget.NewSelect(titles, func(string) { v.onDirectory() })
	v.dirSelect.PlaceHolder = "Select a directory type"
	v.typeLabel = widget.NewLabel("Directory type *")
	v.typeLabel.Alignment = fyne.TextAlignTrailing
	v.typeField = container.NewVBox(v.dirSelect, v.dirError, v.dirHelp)
	v.dirHolder = container.NewStack()
	v.syncForm = newOptionForm(config.SyncSection, config.SyncOptions, ui.win, v.markDirty)
	var conn []directory.Option
	for _, o := range config.GlobalOptions {
		if connectionKeys[o.Name] {
			conn = append(conn, o)
		}
	}
	v.connForm = newOptionForm("", conn, ui.win, v.markDirty)
	v.saveButton = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), v.onSave)
	v.saveButton.Importance = widget.HighImportance
	v.undoButton = widget.NewButtonWithIcon("Discard Changes", theme.ContentUndoIcon(), v.onUndo)
	v.testButton = widget.NewButtonWithIcon("Test Connection", theme.SearchIcon(), v.onTestConnection)
	v.testCancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() {
		if v.cancelTest != nil {
			v.cancelTest()
		}
	})
	v.testCancel.Hide()
	v.testBusy.Hide()
	v.testBusy.Stop()
	v.testResult.Hide()
	v.saveResult.Hide()
	v.setDirty(false)
	return v
}

func adapterTitle(a *directory.Adapter) string {
	if a.Title != "" {
		return a.Title
	}
	return a.Name
}

func (v *settingsView) adapterByTitle(title string) *directory.Adapter {
	for _, a := range v.adapters {
		if adapterTitle(a) == title {
			return a
		}
	}
	return nil
}

func (v *settingsView) selected() *directory.Adapter { return v.adapterByTitle(v.dirSelect.Selected) }

func (v *settingsView) build() fyne.CanvasObject {
	if v.obj != nil {
		return v.obj
	}
	dirCard := section("Directory", "Where dirconn reads users and groups from.",
		v.dirHolder,
		container.NewHBox(v.testButton, v.testCancel),
		v.testBusy, v.testResult)
	syncCard := section("Sync", "What a sync sends to your organization, how often it runs, and when removals wait for approval.",
		v.syncForm.obj)
	connCard := section("Connection", "How dirconn reaches your Bitwarden server. The server and API key are set at login.",
		v.connForm.obj)
	bar := container.NewBorder(nil, nil, v.dirtyNote, container.NewHBox(v.undoButton, v.saveButton))
	bg := container.NewVBox(widget.NewSeparator(), container.NewPadded(container.NewVBox(bar, v.saveResult)))
	body := container.NewVScroll(container.NewPadded(container.NewVBox(dirCard, syncCard, connCard)))
	v.obj = container.NewBorder(nil, bg, nil, nil, body)
	return v.obj
}

// onShown loads the stored settings the first time the tab is shown (and again when nothing is edited).
func (v *settingsView) onShown() {
	if !v.dirty {
		v.load()
	}
}

// load reads the stored settings off the UI goroutine and shows them.
func (v *settingsView) load() {
	svc, reg := v.ui.svc, v.ui.opts.Registry
	v.ui.spawn(func() {
		snap, err := readSettings(svc, reg)
		fyne.Do(func() {
			if err != nil {
				v.showSaveResult(widget.DangerImportance, "The settings could not be read: "+err.Error())
				return
			}
			v.show(snap)
		})
	})
}

func readSettings(svc Service, reg *directory.Registry) (settingsSnapshot, error) {
	snap := settingsSnapshot{values: map[string]string{}, isSet: map[string]bool{}}
	err := viewConfig(svc, func(cfg *config.Config, secrets secret.Store) error {
		snap.directory = cfg.Directory()
		for _, k := range cfg.Keys(reg) {
			if k.Name == config.KeyDirectory {
				continue
			}
			val, isSet, err := cfg.Get(reg, k.Name, secrets, func(string) string { return "" })
			if err != nil && !k.Option.Secret {
				return err
			}
			if k.Option.Secret {
				val = ""
			}
			snap.values[k.Name], snap.isSet[k.Name] = val, isSet
		}
		return nil
	})
	return snap, err
}

// show puts a snapshot into the forms.
func (v *settingsView) show(snap settingsSnapshot) {
	v.loading = true
	defer func() { v.loading = false }()
	v.snap, v.loaded = snap, true
	for _, f := range v.dirForms {
		f.load(snap.values, snap.isSet)
	}
	v.syncForm.load(snap.values, snap.isSet)
	v.connForm.load(snap.values, snap.isSet)
	setMessage(v.dirError, "")
	if a, ok := v.registryLookup(snap.directory); ok {
		v.dirSelect.SetSelected(adapterTitle(a))
	} else {
		v.dirSelect.ClearSelected()
	}
	v.onDirectory()
	v.setDirty(false)
}

func (v *settingsView) registryLookup(name string) (*directory.Adapter, bool) {
	if v.ui.opts.Registry == nil || name == "" {
		return nil, false
	}
	return v.ui.opts.Registry.Lookup(name)
}

// onDirectory shows the selected adapter's form and its filter help.
func (v *settingsView) onDirectory() {
	a := v.selected()
	if a == nil {
		v.dirHolder.Objects = []fyne.CanvasObject{container.NewVBox(
			container.New(layout.NewFormLayout(), v.typeLabel, v.typeField),
			hint("Choose the directory type to see its settings."))}
		v.dirHolder.Refresh()
		v.dirHelp.Hide()
		v.filterFields(nil)
		return
	}
	setMessage(v.dirError, "")
	f := v.dirForms[a.Name]
	if f == nil {
		f = newOptionForm(a.Name, a.Options, v.ui.win, v.markDirty)
		if v.loaded {
			f.load(v.snap.values, v.snap.isSet)
		}
		v.dirForms[a.Name] = f
	}
	v.dirHolder.Objects = []fyne.CanvasObject{f.withLead(v.typeLabel, v.typeField)}
	v.dirHolder.Refresh()
	v.dirHelp.Hide()
	v.filterFields(a)
	if !v.loading {
		v.markDirty()
	}
}

// filterFields shows the sync filters with the adapter's syntax help, and hides those it has none for.
func (v *settingsView) filterFields(a *directory.Adapter) {
	for _, x := range []struct{ key, help string }{
		{"sync.userFilter", filterHelp(a, true)}, {"sync.groupFilter", filterHelp(a, false)},
	} {
		fd := v.syncForm.byKey[x.key]
		if fd == nil {
			continue
		}
		if x.help == "" && strings.TrimSpace(fd.value()) == "" {
			for _, o := range fd.row {
				o.Hide()
			}
			continue
		}
		for _, o := range fd.row {
			o.Show()
		}
		if x.help != "" {
			fd.help.SetText(sentence(fd.opt.Help) + " Syntax: " + sentence(x.help))
		} else {
			fd.help.SetText("This directory type takes no filter: clear this field.")
		}
		fd.help.Show()
	}
}

func filterHelp(a *directory.Adapter, user bool) string {
	if a == nil {
		return ""
	}
	if user {
		return a.UserFilterHelp
	}
	return a.GroupFilterHelp
}

func (v *settingsView) markDirty() {
	if v.loading {
		return
	}
	v.setDirty(true)
}

func (v *settingsView) setDirty(d bool) {
	v.dirty = d
	if d {
		v.saveButton.Enable()
		v.undoButton.Enable()
		v.dirtyNote.SetText("You have unsaved changes.")
		v.dirtyNote.Importance = widget.WarningImportance
		v.saveResult.Hide()
	} else {
		v.saveButton.Disable()
		v.undoButton.Disable()
		v.dirtyNote.SetText("Changes are saved only when you press Save.")
		v.dirtyNote.Importance = widget.LowImportance
	}
	v.dirtyNote.Refresh()
}

func (v *settingsView) onUndo() { v.load() }

// collect validates every field of the form and returns the settings to save by key (directory first
// in order). Each bad value gets its message next to its field.
func (v *settingsView) collect() (order []string, vals map[string]string, ok bool) {
	vals, ok = map[string]string{}, true
	a := v.selected()
	if a == nil {
		setMessage(v.dirError, "Choose the directory type.")
		ok = false
	} else {
		vals[config.KeyDirectory] = a.Name
		order = append(order, config.KeyDirectory)
		dv, good := v.dirForms[a.Name].validate()
		ok = ok && good
		for _, fd := range v.dirForms[a.Name].fields {
			if x, has := dv[fd.key]; has {
				vals[fd.key] = x
				order = append(order, fd.key)
			}
		}
	}
	for _, f := range []*optionForm{v.syncForm, v.connForm} {
		fv, good := f.validate()
		ok = ok && good
		for _, fd := range f.fields {
			if x, has := fv[fd.key]; has {
				vals[fd.key] = x
				order = append(order, fd.key)
			}
		}
	}
	return order, vals, ok
}

// errIgnored says a check failed on settings the form does not show.
type saveProblems struct{ errs directory.ConfigErrors }

func (p *saveProblems) Error() string { return p.errs.Error() }

// onSave validates the form, then saves it in one step: every value is set on a scratch copy first and the
// whole configuration is validated, so a bad combination (a filter the directory cannot take, an email
// suffix missing) is refused with its message before anything changes.
func (v *settingsView) onSave() {
	setMessage(v.saveResult, "")
	order, vals, ok := v.collect()
	if !ok {
		v.showSaveResult(widget.DangerImportance, "Some settings need fixing: see the messages under the fields.")
		return
	}
	v.saveButton.Disable()
	svc, reg := v.ui.svc, v.ui.opts.Registry
	shown := v.shownKeys()
	v.ui.spawn(func() {
		err := saveSettings(svc, reg, order, vals, shown)
		var snap settingsSnapshot
		var rerr error
		if err == nil {
			snap, rerr = readSettings(svc, reg)
		}
		fyne.Do(func() {
			if err != nil {
				v.saveButton.Enable()
				v.showSaveErrors(err)
				return
			}
			v.ui.log.Info("settings saved", "keys", len(order))
			if rerr == nil {
				v.show(snap)
			}
			v.setDirty(false)
			v.showSaveResult(widget.SuccessImportance, "Settings saved. The next sync uses them.")
		})
	})
}

// shownKeys are the keys the form shows (errors on them block a save).
func (v *settingsView) shownKeys() map[string]bool {
	out := map[string]bool{config.KeyDirectory: true}
	forms := []*optionForm{v.syncForm, v.connForm}
	if a := v.selected(); a != nil {
		forms = append(forms, v.dirForms[a.Name])
	}
	for _, f := range forms {
		for k := range f.byKey {
			out[k] = true
		}
	}
	return out
}

// saveSettings sets vals (in order) on a scratch copy of the stored settings, validates the result, and
// only when nothing shown is wrong sets them on the live settings, which EditConfig then saves. Secrets
// go to the secret store only in that last step.
func saveSettings(svc Service, reg *directory.Registry, order []string, vals map[string]string, shown map[string]bool) error {
	return svc.EditConfig(func(cfg *config.Config, secrets secret.Store) error {
		scratch, err := config.Load(cfg.Dir())
		if err != nil {
			return err
		}
		var errs directory.ConfigErrors
		apply := func(c *config.Config, store secret.Store, skipSecrets bool) error {
			for _, k := range order {
				key, err := c.ResolveKey(reg, k)
				if err != nil {
					return err
				}
				if key.Option.Secret && skipSecrets {
					continue
				}
				var serr error
				if vals[k] == "" && !key.Option.Secret {
					serr = c.Unset(reg, k, store)
				} else {
					serr = c.Set(reg, k, vals[k], store)
				}
				var ce *directory.ConfigError
				if errors.As(serr, &ce) {
					errs = append(errs, ce)
				} else if serr != nil {
					return serr
				}
			}
			return nil
		}
		if err := apply(scratch, nil, true); err != nil {
			return err
		}
		var ces directory.ConfigErrors
		if verr := scratch.Validate(reg); errors.As(verr, &ces) {
			errs = append(errs, ces...)
		}
		var blocking directory.ConfigErrors
		for _, e := range errs {
			if shown[e.Key] {
				blocking = append(blocking, e)
			}
		}
		if len(blocking) > 0 {
			return &saveProblems{errs: blocking}
		}
		errs = nil
		if err := apply(cfg, secrets, false); err != nil {
			return err
		}
		if len(errs) > 0 {
			return &saveProblems{errs: errs}
		}
		return nil
	})
}

// showSaveErrors puts each problem next to its field; the rest goes under the Save button.
func (v *settingsView) showSaveErrors(err error) {
	var p *saveProblems
	if !errors.As(err, &p) {
		v.showSaveResult(widget.DangerImportance, "The settings were not saved: "+err.Error())
		return
	}
	var other []string
	for _, e := range p.errs {
		placed := e.Key == config.KeyDirectory && setMessageOK(v.dirError, sentence(e.Reason))
		if !placed {
			for _, f := range v.forms() {
				if f.showError(e.Key, e.Reason) {
					placed = true
					break
				}
			}
		}
		if !placed {
			other = append(other, e.Error())
		}
	}
	msg := "The settings were not saved: fix the fields marked in red."
	if len(other) > 0 {
		msg += " " + strings.Join(other, "; ")
	}
	v.showSaveResult(widget.DangerImportance, msg)
}

func setMessageOK(l *widget.Label, text string) bool {
	setMessage(l, text)
	return true
}

func (v *settingsView) forms() []*optionForm {
	out := []*optionForm{v.syncForm, v.connForm}
	if a := v.selected(); a != nil && v.dirForms[a.Name] != nil {
		out = append([]*optionForm{v.dirForms[a.Name]}, out...)
	}
	return out
}

func (v *settingsView) showSaveResult(imp widget.Importance, text string) {
	v.saveResult.Importance = imp
	setMessage(v.saveResult, text)
	v.saveResult.Refresh()
}

// onTestConnection reads the directory with the settings in the form (saved or not): nothing is saved
// and nothing is sent to Bitwarden. Secrets left empty use the stored ones.
func (v *settingsView) onTestConnection() {
	_, vals, ok := v.collect()
	if !ok {
		v.showTest(widget.DangerImportance, "Fix the fields marked in red first.")
		return
	}
	a := v.selected()
	v.testButton.Disable()
	v.testCancel.Show()
	v.testBusy.Show()
	v.testBusy.Start()
	v.testResult.Hide()
	ctx, cancel := context.WithTimeout(v.ui.ctx, 2*time.Minute)
	v.cancelTest = cancel
	svc, reg, o := v.ui.svc, v.ui.opts.Registry, v.ui.opts
	v.ui.spawn(func() {
		msg, err := testConnection(ctx, svc, reg, o, a, vals)
		cancelled := errors.Is(ctx.Err(), context.Canceled)
		cancel()
		fyne.Do(func() {
			v.testButton.Enable()
			v.testCancel.Hide()
			v.testBusy.Stop()
			v.testBusy.Hide()
			switch {
			case cancelled:
				v.showTest(widget.MediumImportance, "Cancelled.")
			case err != nil:
				v.showTest(widget.DangerImportance, "The directory could not be read: "+err.Error())
			default:
				v.showTest(widget.SuccessImportance, msg)
			}
		})
	})
}

func (v *settingsView) showTest(imp widget.Importance, text string) {
	v.testResult.Importance = imp
	setMessage(v.testResult, text)
	v.testResult.Refresh()
}

// testConnection builds the adapter's source from vals (stored secrets fill the ones left empty) and
// reads the directory once.
func testConnection(ctx context.Context, svc Service, reg *directory.Registry, o Options, a *directory.Adapter, vals map[string]string) (string, error) {
	plain := directory.Values{}
	for _, opt := range a.Options {
		if v, ok := vals[a.Name+"."+opt.Name]; ok {
			plain[opt.Name] = v
		}
	}
	var stored directory.Values
	err := viewConfig(svc, func(cfg *config.Config, secrets secret.Store) error {
		for _, opt := range a.Options {
			if !opt.Secret {
				continue
			}
			if _, typed := plain[opt.Name]; typed {
				continue
			}
			s, err := cfg.Secret(reg, a.Name+"."+opt.Name, secrets, o.Env)
			if err == nil {
				if stored == nil {
					stored = directory.Values{}
				}
				stored[opt.Name] = s.Reveal()
			} else if !errors.Is(err, secret.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	for k, s := range stored {
		plain[k] = s
	}
	values := directory.WithDefaults(a.Options, plain)
	for _, opt := range a.Options {
		if opt.Secret && plain[opt.Name] != "" {
			values[opt.Name] = plain[opt.Name]
		}
	}
	src, err := a.New(directory.Config{Values: values, BaseDir: o.DataDir, Logger: o.Logger, Version: version.String()})
	if err != nil {
		return "", err
	}
	sv := directory.WithDefaults(config.SyncOptions, directory.Values{})
	for _, k := range []string{"users", "groups", "userFilter", "groupFilter", "removeDisabled"} {
		if x, ok := vals["sync."+k]; ok && x != "" {
			sv[k] = x
		}
	}
	snap, err := src.Fetch(ctx, directory.FetchRequest{Users: sv.Bool("users"), Groups: sv.Bool("groups"), Full: true,
		Filters: directory.Filters{User: sv.String("userFilter"), Group: sv.String("groupFilter")}, RemoveDisabled: sv.Bool("removeDisabled")})
	if err != nil {
		return "", err
	}
	msg := fmt.Sprintf("Connection works: read %s and %s.", plural(len(snap.Users), "user", "users"), plural(len(snap.Groups), "group", "groups"))
	if len(snap.Issues) > 0 {
		msg += " " + plural(len(snap.Issues), "record", "records") + " cannot be used (Dashboard → Test Now lists them)."
	}
	if !snap.Completeness.Complete() {
		msg += " The read was incomplete: " + strings.Join(snap.Completeness.Incomplete(), "; ") + "."
	}
	return msg, nil
}
