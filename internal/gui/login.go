package gui

import (
	"context"
	"errors"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dirconn/dirconn/internal/config"
	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/secret"
)

// loginTimeout bounds one login attempt.
const loginTimeout = 90 * time.Second

// loginView is the screen shown until an organization API key is saved.
type loginView struct {
	ui           *UI
	clientID     *widget.Entry
	clientSecret *widget.Entry
	idError      *widget.Label
	secretError  *widget.Label
	loginButton  *widget.Button
	envButton    *widget.Button
	demoButton   *widget.Button
	busy         *widget.ProgressBarInfinite
	result       *widget.Label
	server       *widget.Label
	env          *envDialog
	obj          fyne.CanvasObject
}

func newLoginView(ui *UI) *loginView {
	v := &loginView{ui: ui,
		clientID:     widget.NewEntry(),
		clientSecret: widget.NewPasswordEntry(),
		idError:      fieldError(),
		secretError:  fieldError(),
		busy:         widget.NewProgressBarInfinite(),
		result:       fieldError(),
		server:       hint(""),
	}
	v.clientID.SetPlaceHolder("organization.xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")
	v.clientSecret.SetPlaceHolder("Client secret")
	v.clientSecret.OnSubmitted = func(string) { v.onLogin() }
	v.clientID.OnChanged = func(string) { setMessage(v.idError, "") }
	v.clientSecret.OnChanged = func(string) { setMessage(v.secretError, "") }
	v.loginButton = widget.NewButtonWithIcon("Log In", theme.LoginIcon(), v.onLogin)
	v.loginButton.Importance = widget.HighImportance
	v.envButton = widget.NewButtonWithIcon("Environment Settings", theme.SettingsIcon(), v.onEnvironment)
	v.demoButton = widget.NewButtonWithIcon("Try with Demo Data", theme.MediaPlayIcon(), v.onDemo)
	v.busy.Hide()
	v.busy.Stop()
	return v
}

func (v *loginView) build() fyne.CanvasObject {
	if v.obj != nil {
		return v.obj
	}
	icon := appIcon(v.ui.app.Icon(), 64)
	title := widget.NewLabelWithStyle("Welcome to dirconn", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	title.SizeName = theme.SizeNameHeadingText
	intro := wrapped("Log in with your organization's API key. You find it in the Bitwarden web vault under " +
		"Admin Console → Settings → Organization info → View API key.")
	intro.Alignment = fyne.TextAlignCenter
	form := container.NewVBox(
		widget.NewLabelWithStyle("Client ID", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		v.clientID, v.idError,
		widget.NewLabelWithStyle("Client Secret", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		v.clientSecret, v.secretError,
	)
	buttons := container.NewBorder(nil, nil, nil, v.envButton, v.loginButton)
	items := []fyne.CanvasObject{
		container.NewCenter(icon), title, intro, layout.NewSpacer(),
		form, buttons, v.busy, v.result, v.server,
	}
	if v.ui.opts.TryDemo != nil && !v.ui.opts.Demo {
		items = append(items, widget.NewSeparator(),
			hint("New to dirconn? Try it on a sample company and an emulated Bitwarden organization: nothing real is touched."),
			v.demoButton)
	}
	v.obj = container.NewVScroll(container.NewCenter(fixedWidth(460, container.NewVBox(items...))))
	return v.obj
}

// reset clears the form and reads which server is configured.
func (v *loginView) reset() {
	v.clientSecret.SetText("")
	setMessage(v.result, "")
	v.refreshServer()
}

func (v *loginView) refreshServer() {
	svc := v.ui.svc
	v.ui.spawn(func() {
		var env environment
		viewConfig(svc, func(cfg *config.Config, _ secret.Store) error {
			env = readEnvironment(cfg)
			return nil
		})
		fyne.Do(func() { v.server.SetText("Server: " + env.describe()) })
	})
}

// validate checks the fields and shows what is wrong next to each.
func (v *loginView) validate() bool {
	ok := true
	id := strings.TrimSpace(v.clientID.Text)
	switch opt := globalOption(config.KeyClientID); {
	case id == "":
		setMessage(v.idError, "Enter the client ID of the organization's API key.")
		ok = false
	default:
		if _, err := opt.Normalize(id); err != nil {
			setMessage(v.idError, "This is not an organization API key's client ID: it looks like organization.<GUID>.")
			ok = false
		}
	}
	if v.clientSecret.Text == "" {
		setMessage(v.secretError, "Enter the client secret of the organization's API key.")
		ok = false
	}
	return ok
}

func (v *loginView) onLogin() {
	setMessage(v.result, "")
	if !v.validate() {
		return
	}
	id, sec := strings.TrimSpace(v.clientID.Text), secret.Secret(strings.TrimSpace(v.clientSecret.Text))
	v.setBusy(true)
	svc, ctx := v.ui.svc, v.ui.ctx
	v.ui.spawn(func() {
		ctx, cancel := context.WithTimeout(ctx, loginTimeout)
		_, err := svc.Login(ctx, id, sec)
		cancel()
		fyne.Do(func() {
			v.setBusy(false)
			if err != nil {
				v.ui.log.Warn("login failed", "clientId", id, "err", err)
				setMessage(v.result, "Log in failed: "+err.Error())
				return
			}
			v.ui.log.Info("logged in", "clientId", id)
			v.clientSecret.SetText("")
			v.ui.apply(svc.Status())
		})
	})
}

func (v *loginView) setBusy(on bool) {
	if on {
		v.loginButton.Disable()
		v.demoButton.Disable()
		v.busy.Show()
		v.busy.Start()
	} else {
		v.loginButton.Enable()
		v.demoButton.Enable()
		v.busy.Stop()
		v.busy.Hide()
	}
}

func (v *loginView) onDemo() {
	v.setBusy(true)
	v.ui.startDemo(func(err error) {
		v.setBusy(false)
		if err != nil {
			setMessage(v.result, "The demo could not start: "+err.Error())
		}
	})
}

func (v *loginView) onEnvironment() {
	v.env = newEnvDialog(v.ui, func() {
		v.refreshServer()
		setMessage(v.result, "")
		v.server.SetText("The environment URLs have been saved.")
	})
	v.env.show()
}

// globalOption returns the schema of a global key.
func globalOption(name string) directory.Option {
	for _, o := range config.GlobalOptions {
		if o.Name == name {
			return o
		}
	}
	return directory.Option{Name: name}
}

// environment is the Bitwarden server choice of the login screen.
type environment struct {
	Server, API, Identity, WebVault string
}

func readEnvironment(cfg *config.Config) environment {
	g := cfg.GlobalValues()
	return environment{Server: g[config.KeyServer], API: g[config.KeyAPIURL], Identity: g[config.KeyIdentityURL], WebVault: g[config.KeyWebVaultURL]}
}

// cloud returns "us", "eu" or "" (self-hosted).
func (e environment) cloud() string {
	switch strings.TrimRight(e.Server, "/") {
	case "", config.CloudUS:
		return "us"
	case config.CloudEU:
		return "eu"
	}
	return ""
}

func (e environment) describe() string {
	s := "self-hosted at " + e.Server
	switch e.cloud() {
	case "us":
		s = "Bitwarden cloud (US)"
	case "eu":
		s = "Bitwarden cloud (EU)"
	}
	if e.API != "" || e.Identity != "" || e.WebVault != "" {
		s += ", custom URLs"
	}
	return s
}

// Server choices of the environment dialog.
const (
	envUS   = "Bitwarden cloud (US) — bitwarden.com"
	envEU   = "Bitwarden cloud (EU) — bitwarden.eu"
	envSelf = "Self-hosted"
)

// envDialog edits the Bitwarden environment: cloud US/EU or a self-hosted base URL, and custom URLs.
type envDialog struct {
	ui      *UI
	saved   func()
	kind    *widget.RadioGroup
	fields  map[string]*widget.Entry
	errors  map[string]*widget.Label
	general *widget.Label
	save    *widget.Button
	dlg     dialog.Dialog
}

// envKeys are the keys the dialog edits, in order.
var envKeys = []string{config.KeyServer, config.KeyWebVaultURL, config.KeyAPIURL, config.KeyIdentityURL}

func newEnvDialog(ui *UI, saved func()) *envDialog {
	d := &envDialog{ui: ui, saved: saved, fields: map[string]*widget.Entry{}, errors: map[string]*widget.Label{}, general: fieldError()}
	for _, k := range envKeys {
		d.fields[k] = widget.NewEntry()
		d.errors[k] = fieldError()
	}
	d.fields[config.KeyServer].SetPlaceHolder("https://bitwarden.company.com")
	d.fields[config.KeyWebVaultURL].SetPlaceHolder("https://vault.company.com")
	d.fields[config.KeyAPIURL].SetPlaceHolder("https://api.company.com")
	d.fields[config.KeyIdentityURL].SetPlaceHolder("https://identity.company.com")
	d.kind = widget.NewRadioGroup([]string{envUS, envEU, envSelf}, func(string) { d.onKind() })
	d.kind.Required = true
	d.kind.SetSelected(envUS)
	return d
}

func (d *envDialog) onKind() {
	if d.kind.Selected == envSelf {
		d.fields[config.KeyServer].Enable()
	} else {
		d.fields[config.KeyServer].Disable()
		setMessage(d.errors[config.KeyServer], "")
	}
}

func (d *envDialog) content() fyne.CanvasObject {
	row := func(k, label string) fyne.CanvasObject {
		return container.NewVBox(widget.NewLabel(label), d.fields[k], d.errors[k])
	}
	custom := container.NewVBox(
		hint("Only when your server's services are not at <server>/api and <server>/identity."),
		row(config.KeyWebVaultURL, "Web Vault URL"), row(config.KeyAPIURL, "API URL"), row(config.KeyIdentityURL, "Identity URL"))
	acc := widget.NewAccordion(widget.NewAccordionItem("Custom Environment", custom))
	if d.fields[config.KeyAPIURL].Text != "" || d.fields[config.KeyIdentityURL].Text != "" || d.fields[config.KeyWebVaultURL].Text != "" {
		acc.Open(0)
	}
	d.save = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), d.onSave)
	d.save.Importance = widget.HighImportance
	cancel := widget.NewButton("Cancel", func() { d.dlg.Hide() })
	body := container.NewVBox(
		widget.NewLabelWithStyle("Bitwarden server", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		d.kind, row(config.KeyServer, "Self-hosted server URL"), acc, d.general,
		container.NewHBox(layout.NewSpacer(), cancel, d.save))
	return fixedWidth(480, container.NewVScroll(body))
}

func (d *envDialog) show() {
	svc := d.ui.svc
	d.ui.spawn(func() {
		var env environment
		viewConfig(svc, func(cfg *config.Config, _ secret.Store) error {
			env = readEnvironment(cfg)
			return nil
		})
		fyne.Do(func() {
			d.load(env)
			d.dlg = dialog.NewCustomWithoutButtons("Environment Settings", minHeight(420, d.content()), d.ui.win)
			d.dlg.Show()
		})
	})
}

func (d *envDialog) load(env environment) {
	switch env.cloud() {
	case "us":
		d.kind.SetSelected(envUS)
	case "eu":
		d.kind.SetSelected(envEU)
	default:
		d.kind.SetSelected(envSelf)
		d.fields[config.KeyServer].SetText(env.Server)
	}
	d.fields[config.KeyAPIURL].SetText(env.API)
	d.fields[config.KeyIdentityURL].SetText(env.Identity)
	d.fields[config.KeyWebVaultURL].SetText(env.WebVault)
	d.onKind()
}

// values returns the settings the dialog would save, after checking each; bad ones get their message.
func (d *envDialog) values() (map[string]string, bool) {
	out := map[string]string{}
	ok := true
	for _, k := range envKeys {
		setMessage(d.errors[k], "")
		v := strings.TrimRight(strings.TrimSpace(d.fields[k].Text), "/")
		if k == config.KeyServer {
			switch d.kind.Selected {
			case envUS:
				v = "bitwarden.com"
			case envEU:
				v = "bitwarden.eu"
			default:
				if v == "" {
					setMessage(d.errors[k], "Enter your server's URL, e.g. https://bitwarden.company.com.")
					ok = false
					continue
				}
			}
		}
		if v != "" && !strings.Contains(v, "://") && k != config.KeyServer {
			v = "https://" + v
		}
		if k == config.KeyServer && d.kind.Selected == envSelf && !strings.Contains(v, "://") {
			v = "https://" + v
		}
		if d.kind.Selected == envSelf || k != config.KeyServer {
			opt := globalOption(k)
			if _, err := opt.Normalize(v); err != nil {
				setMessage(d.errors[k], sentence(err.Error()))
				ok = false
				continue
			}
		}
		out[k] = v
	}
	return out, ok
}

func (d *envDialog) onSave() {
	setMessage(d.general, "")
	vals, ok := d.values()
	if !ok {
		return
	}
	d.save.Disable()
	svc, reg := d.ui.svc, d.ui.opts.Registry
	d.ui.spawn(func() {
		err := svc.EditConfig(func(cfg *config.Config, secrets secret.Store) error {
			for _, k := range envKeys {
				var err error
				if vals[k] == "" {
					err = cfg.Unset(reg, k, secrets)
				} else {
					err = cfg.Set(reg, k, vals[k], secrets)
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		fyne.Do(func() {
			d.save.Enable()
			if err != nil {
				var ce *directory.ConfigError
				if errors.As(err, &ce) && d.errors[ce.Key] != nil {
					setMessage(d.errors[ce.Key], sentence(ce.Reason))
				} else {
					setMessage(d.general, "Saving failed: "+err.Error())
				}
				return
			}
			d.dlg.Hide()
			if d.saved != nil {
				d.saved()
			}
		})
	})
}

// sentence capitalizes s and ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	r := []rune(s)
	if r[0] >= 'a' && r[0] <= 'z' {
		r[0] -= 'a' - 'A'
	}
	s = string(r)
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, ")") {
		s += "."
	}
	return s
}
