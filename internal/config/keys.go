package config

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/secret"
)

// Key is one setting of the flat key space.
type Key struct {
	// Name is the canonical key: "server", "ldap.hostname", "sync.interval".
	Name string
	// Option is the setting's schema. For "directory" it is a KindChoice over the registry's adapters.
	Option directory.Option
	// Section is "" for global keys, SyncSection, or the adapter's name.
	Section string
}

// Keys returns every valid key: the global keys, each adapter's options ("<adapter>.<option>") and the
// sync options ("sync.<option>"), sorted by name within those three groups, in that order. Aliases
// ("azure.key", "base", sync.<adapter option>) are accepted by ResolveKey but not listed.
func (c *Config) Keys(reg *directory.Registry) []Key {
	var global, adapters, sync []Key
	for _, o := range GlobalOptions {
		global = append(global, globalKey(reg, o))
	}
	for _, a := range reg.All() {
		for _, o := range a.Options {
			adapters = append(adapters, Key{Name: a.Name + "." + o.Name, Option: o, Section: a.Name})
		}
	}
	for _, o := range SyncOptions {
		sync = append(sync, Key{Name: SyncSection + "." + o.Name, Option: o, Section: SyncSection})
	}
	for _, ks := range [][]Key{global, adapters, sync} {
		sort.SliceStable(ks, func(i, j int) bool { return strings.ToLower(ks[i].Name) < strings.ToLower(ks[j].Name) })
	}
	return append(append(global, adapters...), sync...)
}

func globalKey(reg *directory.Registry, o directory.Option) Key {
	if o.Name == KeyDirectory {
		o.Kind = directory.KindChoice
		o.Choices = reg.Names()
	}
	return Key{Name: o.Name, Option: o}
}

// ResolveKey finds the key called name, case-insensitively. It accepts option aliases and adapter aliases
// as prefixes ("azure.key"), and "sync.<option>" for an option of the selected adapter that is not a sync
// option (the Directory Connector keeps LDAP's userPath and the like under sync). An unknown name gives an
// error listing the valid keys by group.
func (c *Config) ResolveKey(reg *directory.Registry, name string) (Key, error) {
	name = strings.TrimSpace(name)
	prefix, rest, dotted := strings.Cut(name, ".")
	if !dotted {
		for _, o := range GlobalOptions {
			if o.Matches(name) {
				return globalKey(reg, o), nil
			}
		}
		return Key{}, c.unknownKey(reg, name, "")
	}
	if strings.EqualFold(prefix, SyncSection) {
		for _, o := range SyncOptions {
			if o.Matches(rest) {
				return Key{Name: SyncSection + "." + o.Name, Option: o, Section: SyncSection}, nil
			}
		}
		if a, ok := reg.Lookup(c.directory); ok && c.directory != "" {
			if o, ok := a.Option(rest); ok {
				return Key{Name: a.Name + "." + o.Name, Option: *o, Section: a.Name}, nil
			}
		}
		return Key{}, c.unknownKey(reg, name, rest)
	}
	if _, err := strconv.Atoi(prefix); err != nil { // Lookup also takes the anchor's numbers: not as prefixes
		if a, ok := reg.Lookup(prefix); ok {
			if o, ok := a.Option(rest); ok {
				return Key{Name: a.Name + "." + o.Name, Option: *o, Section: a.Name}, nil
			}
		}
	}
	return Key{}, c.unknownKey(reg, name, "")
}

// unknownKey builds the error for a name that is no key: a suggestion when one is close, then every
// valid key grouped by section. syncRest is the part after "sync." when name had that prefix.
func (c *Config) unknownKey(reg *directory.Registry, name, syncRest string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "unknown setting %q", name)
	keys := c.Keys(reg)
	best, bestDist := "", 3
	for _, k := range keys {
		if d := distance(strings.ToLower(name), strings.ToLower(k.Name)); d < bestDist {
			best, bestDist = k.Name, d
		}
	}
	if best != "" {
		fmt.Fprintf(&b, "; did you mean %s?", best)
	}
	if syncRest != "" {
		var in []string
		for _, a := range reg.All() {
			if o, ok := a.Option(syncRest); ok {
				in = append(in, a.Name+"."+o.Name)
			}
		}
		if len(in) > 0 {
			what := "no directory is selected"
			if c.directory != "" {
				what = "the selected directory is " + c.directory
			}
			fmt.Fprintf(&b, " (%s; did you mean %s?)", what, strings.Join(in, " or "))
		}
	}
	b.WriteString("\nvalid settings:")
	line := func(title string, names []string) {
		if len(names) > 0 {
			fmt.Fprintf(&b, "\n  %-10s %s", title+":", strings.Join(names, ", "))
		}
	}
	var bw, dir []string
	for _, o := range GlobalOptions {
		if o.Name == KeyDirectory {
			dir = append(dir, fmt.Sprintf("directory (%s)", directoryChoices(reg)))
		} else {
			bw = append(bw, o.Name)
		}
	}
	line("bitwarden", bw)
	line("directory", dir)
	for _, a := range reg.All() {
		var names []string
		for _, o := range a.Options {
			names = append(names, a.Name+"."+o.Name)
		}
		line(a.Name, names)
	}
	var sync []string
	for _, o := range SyncOptions {
		sync = append(sync, SyncSection+"."+o.Name)
	}
	line(SyncSection, sync)
	return errors.New(b.String())
}

// directoryChoices lists the adapters with their numbers and aliases: "entra or 1 or azure, ldap or 0".
func directoryChoices(reg *directory.Registry) string {
	var out []string
	for _, a := range reg.All() {
		s := a.Name
		if a.Number >= 0 {
			s += " or " + strconv.Itoa(a.Number)
		}
		for _, al := range a.Aliases {
			s += " or " + al
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// section returns the map that holds k's value, creating it when create is true (nil otherwise).
func (c *Config) section(k Key, create bool) directory.Values {
	switch k.Section {
	case "":
		return c.global
	case SyncSection:
		return c.sync
	}
	m := c.directories[k.Section]
	if m == nil && create {
		m = directory.Values{}
		c.directories[k.Section] = m
	}
	return m
}

// optionName returns k's name within its section.
func (k Key) optionName() string { return k.Option.Name }

// Get returns the value of key and whether it is set; an unset key returns its default. A secret key
// returns a description instead of the value: "(stored in OS keyring (Secret Service))", "(from
// environment variable DIRCONN_LDAP_PASSWORD)", "(not set)". It asks secrets (which may be nil) and env
// (nil means os.Getenv) where the secret would come from; a source that is configured but broken is an
// error.
func (c *Config) Get(reg *directory.Registry, key string, secrets secret.Store, env func(string) string) (value string, isSet bool, err error) {
	k, err := c.ResolveKey(reg, key)
	if err != nil {
		return "", false, err
	}
	if k.Name == KeyDirectory {
		return c.directory, c.directory != "", nil
	}
	if k.Option.Secret {
		_, from, err := secret.Lookup(k.Name, c.secretRefs[k.Name], secrets, env)
		switch {
		case errors.Is(err, secret.ErrNotFound):
			return "(not set)", false, nil
		case err != nil:
			return "", false, err
		}
		return "(" + from + ")", true, nil
	}
	if v, ok := c.section(k, false)[k.optionName()]; ok && v != "" {
		return v, true, nil
	}
	return k.Option.Default, false, nil
}

// Set sets key to value after checking and normalizing it (Option.Normalize; see also prepare). A secret
// key's value goes to secrets and replaces any reference; everything else goes to the config. An empty
// value unsets a non-secret key and is refused for a secret one. Setting "directory" accepts an adapter
// name, alias or the anchor's number and stores the name; the other adapters' settings are kept, so
// switching back works. Call Save afterwards; the one exception is a secret set before config.json was
// ever written, where Set saves first so the secretScope the secret is filed under is on disk.
func (c *Config) Set(reg *directory.Registry, key, value string, secrets secret.Store) error {
	k, err := c.ResolveKey(reg, key)
	if err != nil {
		return err
	}
	if k.Name == KeyDirectory {
		return c.setDirectory(reg, value)
	}
	v, err := c.normalize(reg, k, value)
	if err != nil {
		return err
	}
	if !k.Option.Secret {
		if v == "" {
			delete(c.section(k, false), k.optionName())
		} else {
			c.section(k, true)[k.optionName()] = v
		}
		return nil
	}
	if v == "" {
		return &directory.ConfigError{Key: k.Name, Reason: "the value is empty; to remove the secret, unset it"}
	}
	if secrets == nil {
		return fmt.Errorf("%s: no secret store to keep the value in", k.Name)
	}
	if !c.persisted {
		if err := c.Save(); err != nil {
			return err
		}
	}
	if err := secrets.Set(k.Name, v); err != nil {
		return err
	}
	delete(c.secretRefs, k.Name)
	delete(c.section(k, false), k.optionName()) // a secret typed into config.json by hand
	return nil
}

// normalize checks and normalizes value for k. Errors are *directory.ConfigError and never contain a
// secret's value.
func (c *Config) normalize(reg *directory.Registry, k Key, value string) (string, error) {
	if k.Section == "" {
		value = prepare(k.Name, value)
	}
	v, err := k.Option.Normalize(value)
	if err != nil {
		reason := err.Error()
		if k.Option.Secret {
			reason = redact(reason, value)
		}
		return "", &directory.ConfigError{Key: k.Name, Reason: reason}
	}
	if k.Section == SyncSection && (k.Option.Name == "userFilter" || k.Option.Name == "groupFilter") && v != "" {
		if a, ok := reg.Lookup(c.directory); ok && c.directory != "" {
			f := directory.Filters{User: v}
			if k.Option.Name == "groupFilter" {
				f = directory.Filters{Group: v}
			}
			if errs := checkFilters(a, f); len(errs) > 0 {
				return "", errs[0]
			}
		}
	}
	return v, nil
}

// redact replaces value (and its trimmed form) in an error text.
func redact(text, value string) string {
	for _, v := range []string{value, strings.TrimSpace(value)} {
		if v != "" {
			text = strings.ReplaceAll(text, v, secret.Redacted)
		}
	}
	return text
}

func (c *Config) setDirectory(reg *directory.Registry, value string) error {
	value = strings.TrimSpace(value)
	if value == "" {
		c.directory = ""
		return nil
	}
	a, ok := reg.Lookup(value)
	if !ok {
		return &directory.ConfigError{Key: KeyDirectory,
			Reason: fmt.Sprintf("%q is not a directory type; choose %s", value, directoryChoices(reg))}
	}
	c.directory = a.Name
	return nil
}

// SetRef makes the secret key read its value from ref at use time: "env:VAR" (--from-env) or
// "file:/absolute/path" (--from-file). A reference wins over a value in the secret store, which stays
// there until Unset. For a non-secret key SetRef is an error: the caller reads the value and calls Set.
func (c *Config) SetRef(reg *directory.Registry, key, ref string) error {
	k, err := c.ResolveKey(reg, key)
	if err != nil {
		return err
	}
	if !k.Option.Secret {
		return &directory.ConfigError{Key: k.Name, Reason: "is not a secret, so it takes no reference; read the value and set it"}
	}
	r, err := secret.ParseRef(ref)
	if err != nil {
		return &directory.ConfigError{Key: k.Name, Reason: err.Error()}
	}
	c.secretRefs[k.Name] = r.String()
	delete(c.section(k, false), k.optionName())
	return nil
}

// Unset removes key's value, so its default applies. For a secret key it removes the reference and the
// value in secrets (which may be nil to remove only the reference). Call Save afterwards.
func (c *Config) Unset(reg *directory.Registry, key string, secrets secret.Store) error {
	k, err := c.ResolveKey(reg, key)
	if err != nil {
		return err
	}
	if k.Name == KeyDirectory {
		c.directory = ""
		return nil
	}
	delete(c.section(k, false), k.optionName())
	if k.Option.Secret {
		delete(c.secretRefs, k.Name)
		if secrets != nil {
			if err := secrets.Delete(k.Name); err != nil && !errors.Is(err, secret.ErrNotFound) {
				return err
			}
		}
	}
	return nil
}
