package gui

import (
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dirconn/dirconn/internal/directory"
)

// field is one setting in a generated form: the widget picked by the option's Kind, its help text and
// the place for its validation message, right under the field.
type field struct {
	key    string // the config key: "file.path", "sync.interval", "proxy"
	opt    directory.Option
	widget fyne.CanvasObject
	// focus is the widget tests type into (the Entry), nil for checks and selects.
	entry  *widget.Entry
	check  *widget.Check
	choice *widget.Select
	help   *widget.Label
	err    *widget.Label
	// secretSet says a secret is stored: an empty entry keeps it.
	secretSet bool
	row       []fyne.CanvasObject
}

// value returns what the field holds, as the setting's string form.
func (f *field) value() string {
	switch {
	case f.check != nil:
		return strconv.FormatBool(f.check.Checked)
	case f.choice != nil:
		return f.choice.Selected
	}
	return f.entry.Text
}

// set shows a stored value (for a secret: whether one is stored).
func (f *field) set(v string, isSet bool) {
	switch {
	case f.opt.Secret:
		f.secretSet = isSet
		f.entry.SetText("")
		if isSet {
			f.entry.SetPlaceHolder("Stored securely — type to replace")
		} else {
			f.entry.SetPlaceHolder("Not set")
		}
	case f.check != nil:
		b, _ := directory.ParseBool(v)
		f.check.SetChecked(b)
	case f.choice != nil:
		f.choice.SetSelected(v)
	default:
		f.entry.SetText(v)
	}
}

// setError shows msg under the field (empty clears it).
func (f *field) setError(msg string) {
	setMessage(f.err, sentence(msg))
}

// check validates the field's value with the same rules the CLI applies (Option.Normalize and Required);
// it returns the normalized value and shows a message when it is bad. keep is true for a secret left
// empty while one is stored (nothing to save).
func (f *field) validate() (v string, keep bool, ok bool) {
	raw := f.value()
	if f.opt.Secret && raw == "" {
		if f.opt.Required && !f.secretSet {
			f.setError("is required")
			return "", false, false
		}
		f.setError("")
		return "", true, true
	}
	v, err := f.opt.Normalize(raw)
	if err != nil {
		f.setError(err.Error())
		return "", false, false
	}
	if v == "" && f.opt.Required && f.opt.Default == "" {
		f.setError("is required")
		return "", false, false
	}
	f.setError("")
	return v, false, true
}

// optionForm is a form generated from an option schema: every adapter, including ones written later,
// gets its settings form for free.
type optionForm struct {
	fields   []*field
	basic    []fyne.CanvasObject // label, field pairs of the options that are not advanced
	advanced fyne.CanvasObject   // the folded advanced options, or nil
	lead     fyne.CanvasObject   // obj with a leading row (withLead)
	byKey    map[string]*field
	obj      fyne.CanvasObject
	onChange func()
}

// newOptionForm builds the form of opts; keys are prefix + "." + name (just name when prefix is empty).
// Advanced options are folded into an "Advanced" section. win is the parent of file pickers.
func newOptionForm(prefix string, opts []directory.Option, win fyne.Window, onChange func()) *optionForm {
	f := &optionForm{byKey: map[string]*field{}, onChange: onChange}
	var basic, advanced []fyne.CanvasObject
	for _, o := range opts {
		fd := f.newField(prefix, o, win)
		f.fields = append(f.fields, fd)
		f.byKey[fd.key] = fd
		if o.Advanced {
			advanced = append(advanced, fd.row...)
		} else {
			basic = append(basic, fd.row...)
		}
	}
	f.basic = basic
	if len(advanced) > 0 {
		f.advanced = widget.NewAccordion(widget.NewAccordionItem("Advanced options",
			container.New(layout.NewFormLayout(), advanced...)))
	}
	f.obj = f.layout(nil)
	return f
}

// layout puts lead (a label and a widget, or nil) and the basic rows in one aligned form, then the
// advanced options.
func (f *optionForm) layout(lead []fyne.CanvasObject) fyne.CanvasObject {
	rows := append(append([]fyne.CanvasObject{}, lead...), f.basic...)
	objs := []fyne.CanvasObject{}
	if len(rows) > 0 {
		objs = append(objs, container.New(layout.NewFormLayout(), rows...))
	}
	if f.advanced != nil {
		objs = append(objs, f.advanced)
	}
	return container.NewVBox(objs...)
}

// withLead returns the form with a leading row aligned with its fields (the Settings tab's directory type).
func (f *optionForm) withLead(label, w fyne.CanvasObject) fyne.CanvasObject {
	if f.lead == nil {
		f.lead = f.layout([]fyne.CanvasObject{label, w})
	}
	return f.lead
}

func (f *optionForm) changed() {
	if f.onChange != nil {
		f.onChange()
	}
}

func (f *optionForm) newField(prefix string, o directory.Option, win fyne.Window) *field {
	fd := &field{key: o.Name, opt: o, help: hint(sentence(o.Help)), err: fieldError()}
	if prefix != "" {
		fd.key = prefix + "." + o.Name
	}
	if o.Help == "" {
		fd.help.Hide()
	}
	label := o.Label
	if label == "" {
		label = o.Name
	}
	onChanged := func(string) { fd.err.Hide(); f.changed() }
	newEntry := func() *widget.Entry {
		e := widget.NewEntry()
		if o.Secret {
			e = widget.NewPasswordEntry()
		}
		e.OnChanged = onChanged
		return e
	}
	switch {
	case o.Kind == directory.KindBool && !o.Secret:
		fd.check = widget.NewCheck(label, func(bool) { fd.err.Hide(); f.changed() })
		fd.widget = fd.check
		label = ""
	case o.Kind == directory.KindChoice && !o.Secret:
		fd.choice = widget.NewSelect(o.Choices, onChanged)
		fd.choice.PlaceHolder = "Choose…"
		fd.widget = fd.choice
	case o.Kind == directory.KindText && !o.Secret:
		fd.entry = newEntry()
		fd.entry.MultiLine = true
		fd.entry.Wrapping = fyne.TextWrapWord
		fd.entry.SetMinRowsVisible(3)
		fd.widget = fd.entry
	case o.Kind == directory.KindPath:
		fd.entry = newEntry()
		browse := widget.NewButtonWithIcon("Browse…", theme.FolderOpenIcon(), func() {
			d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
				if err == nil && r != nil {
					fd.entry.SetText(r.URI().Path())
					r.Close()
				}
			}, win)
			d.Show()
		})
		fd.widget = container.NewBorder(nil, nil, nil, browse, fd.entry)
	default:
		fd.entry = newEntry()
		fd.widget = fd.entry
	}
	if fd.entry != nil && !o.Secret {
		switch {
		case o.Default != "":
			fd.entry.SetPlaceHolder(o.Default + " (default)")
		case o.Kind == directory.KindDuration:
			fd.entry.SetPlaceHolder("e.g. 30s, 5m, 1h")
		case o.Kind == directory.KindList:
			fd.entry.SetPlaceHolder("one, two, three")
		case o.Kind == directory.KindInt && o.Max > o.Min:
			fd.entry.SetPlaceHolder(strconv.Itoa(o.Min) + " to " + strconv.Itoa(o.Max))
		}
	}
	if o.Required && label != "" {
		label += " *"
	}
	l := widget.NewLabel(label)
	l.Alignment = fyne.TextAlignTrailing
	fd.row = []fyne.CanvasObject{l, container.NewVBox(fd.widget, fd.err, fd.help)}
	return fd
}

// load shows stored values: vals by key (defaults applied), isSet by key (for secrets).
func (f *optionForm) load(vals map[string]string, isSet map[string]bool) {
	for _, fd := range f.fields {
		v, ok := vals[fd.key]
		if !ok {
			v = fd.opt.Default
		}
		fd.set(v, isSet[fd.key])
		fd.setError("")
	}
}

// validate checks every field and returns the values to save by key; secrets left empty are left out.
func (f *optionForm) validate() (map[string]string, bool) {
	out := map[string]string{}
	ok := true
	for _, fd := range f.fields {
		v, keep, good := fd.validate()
		if !good {
			ok = false
			continue
		}
		if !keep {
			out[fd.key] = v
		}
	}
	return out, ok
}

// showError puts msg under the field of key; false when the form has no such field.
func (f *optionForm) showError(key, msg string) bool {
	for k, fd := range f.byKey {
		if strings.EqualFold(k, key) {
			fd.setError(msg)
			return true
		}
	}
	return false
}
