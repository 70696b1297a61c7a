package directory

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kind is the type of an option's value. Every value is stored as a string; Kind says how to parse it and
// which widget a form uses for it.
type Kind int

const (
	KindString   Kind = iota // one line of text
	KindText                 // several lines (filters, PEM keys)
	KindInt                  // a whole number
	KindBool                 // true or false
	KindChoice               // one of Choices
	KindPath                 // a file path; forms offer a file picker
	KindDuration             // a Go duration such as 30s or 5m
	KindList                 // a comma-separated list
)

func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindText:
		return "text"
	case KindInt:
		return "integer"
	case KindBool:
		return "boolean"
	case KindChoice:
		return "choice"
	case KindPath:
		return "path"
	case KindDuration:
		return "duration"
	case KindList:
		return "list"
	}
	return "unknown"
}

// Option declares one setting. The same declaration drives validation, the CLI's config keys and the GUI's
// generated forms.
type Option struct {
	Name     string // key within its section, e.g. "hostname" (the CLI key is "<section>.<name>")
	Label    string // short label for forms, e.g. "Server hostname"
	Kind     Kind
	Default  string
	Required bool
	// Secret values never go to config.json, logs or JSON output; they live in the secret store.
	Secret bool
	Help   string
	// Choices lists the allowed values of a KindChoice option.
	Choices []string
	// Aliases are other names accepted for this option (the anchor's names, e.g. "key" for "privateKey").
	Aliases []string
	// Advanced options are folded away in forms.
	Advanced bool
	// Min and Max bound a KindInt value when Max > Min.
	Min, Max int
	// Check validates a value beyond its kind (URL shape, filter syntax). It gets the trimmed value.
	Check func(value string) error
}

// Matches reports whether name is the option's name or one of its aliases (case-insensitively, as the
// anchor's CLI lowercases settings).
func (o *Option) Matches(name string) bool {
	if strings.EqualFold(o.Name, name) {
		return true
	}
	for _, a := range o.Aliases {
		if strings.EqualFold(a, name) {
			return true
		}
	}
	return false
}

// Normalize parses value by kind and returns its canonical string form, or an error that says what is
// expected. Parse errors of secret options never quote the value; Check functions must not quote it either.
func (o *Option) Normalize(value string) (string, error) {
	v, err := o.parse(value)
	if err != nil {
		if o.Secret {
			return "", fmt.Errorf("the value is not a valid %s", o.Kind)
		}
		return "", err
	}
	if v != "" && o.Check != nil {
		if err := o.Check(v); err != nil {
			return "", err
		}
	}
	return v, nil
}

func (o *Option) parse(value string) (string, error) {
	v := value
	if o.Kind != KindText {
		v = strings.TrimSpace(value)
	}
	if v == "" {
		return "", nil
	}
	switch o.Kind {
	case KindInt:
		n, err := strconv.Atoi(v)
		if err != nil {
			return "", fmt.Errorf("%q is not a whole number", v)
		}
		if o.Max > o.Min && (n < o.Min || n > o.Max) {
			return "", fmt.Errorf("%d is out of range (%d to %d)", n, o.Min, o.Max)
		}
		v = strconv.Itoa(n)
	case KindBool:
		b, err := ParseBool(v)
		if err != nil {
			return "", err
		}
		v = strconv.FormatBool(b)
	case KindChoice:
		i := slices.IndexFunc(o.Choices, func(c string) bool { return strings.EqualFold(c, v) })
		if i < 0 {
			return "", fmt.Errorf("%q is not one of: %s", v, strings.Join(o.Choices, ", "))
		}
		v = o.Choices[i]
	case KindDuration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return "", fmt.Errorf("%q is not a duration (examples: 30s, 5m, 24h)", v)
		}
		if d < 0 {
			return "", fmt.Errorf("%q is negative", v)
		}
		v = d.String()
	case KindList:
		parts := strings.Split(v, ",")
		out := parts[:0]
		for _, p := range parts {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		v = strings.Join(out, ",")
	}
	return v, nil
}

// ParseBool accepts true/false, yes/no, on/off and 1/0.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", s)
}

// Values holds an adapter's settings by option name, secrets included, as strings.
type Values map[string]string

// String returns the value of name.
func (v Values) String(name string) string { return v[name] }

// Bool returns the value of name as a bool (false when empty or malformed; validate first).
func (v Values) Bool(name string) bool {
	b, _ := ParseBool(v[name])
	return b
}

// Int returns the value of name as an int (0 when empty or malformed; validate first).
func (v Values) Int(name string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(v[name]))
	return n
}

// Duration returns the value of name as a duration (0 when empty or malformed; validate first).
func (v Values) Duration(name string) time.Duration {
	d, _ := time.ParseDuration(strings.TrimSpace(v[name]))
	return d
}

// List returns the comma-separated value of name as a slice.
func (v Values) List(name string) []string {
	s := strings.TrimSpace(v[name])
	if s == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// WithDefaults returns a copy of v where every option without a value has its default.
func WithDefaults(opts []Option, v Values) Values {
	out := make(Values, len(opts))
	for _, o := range opts {
		if s, ok := v[o.Name]; ok && s != "" {
			out[o.Name] = s
		} else if o.Default != "" {
			out[o.Name] = o.Default
		}
	}
	return out
}

// Validate checks every option of opts against v and returns all problems found, each naming its key as
// prefix + "." + option name.
func Validate(prefix string, opts []Option, v Values) ConfigErrors {
	var errs ConfigErrors
	key := func(o Option) string {
		if prefix == "" {
			return o.Name
		}
		return prefix + "." + o.Name
	}
	for _, o := range opts {
		val := v[o.Name]
		if strings.TrimSpace(val) == "" {
			if o.Required && o.Default == "" {
				reason := "is required"
				if o.Help != "" {
					reason += " (" + o.Help + ")"
				}
				errs = append(errs, &ConfigError{Key: key(o), Reason: reason})
			}
			continue
		}
		if _, err := o.Normalize(val); err != nil {
			errs = append(errs, &ConfigError{Key: key(o), Reason: err.Error()})
		}
	}
	return errs
}

// Config is what an adapter's constructor gets.
type Config struct {
	// Values holds every option of the adapter (defaults applied, secrets resolved).
	Values Values
	// BaseDir is the data directory; relative paths in settings are resolved against it.
	BaseDir string
	Logger  *slog.Logger
	// Version is dirconn's version, for user agents.
	Version string
	// Proxy and CAFile are dirconn's global proxy and extra-CA settings (empty: the environment and the
	// system roots); HTTP adapters use them unless their own settings say otherwise.
	Proxy  string
	CAFile string
}

// Path resolves a path option against BaseDir.
func (c *Config) Path(name string) string {
	p := strings.TrimSpace(c.Values[name])
	if p == "" || c.BaseDir == "" || isAbs(p) {
		return p
	}
	return c.BaseDir + string(os.PathSeparator) + p
}

func isAbs(p string) bool {
	return strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) || (len(p) > 1 && p[1] == ':')
}
