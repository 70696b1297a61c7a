package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/secret"
)

// Values returns the settings of the adapter called adapterName (name, alias or number; "" means the
// selected one) with defaults applied and secrets resolved through secret.Resolve (reference,
// $CREDENTIALS_DIRECTORY, DIRCONN_<KEY>, then secrets). A secret that is set nowhere is an error when the
// option is Required and left empty otherwise; a broken source (unusable keyring, reference to a missing
// file) is always an error. All problems are returned together. Call Validate first: Values does not
// check the values.
func (c *Config) Values(reg *directory.Registry, adapterName string, secrets secret.Store, env func(string) string) (directory.Values, error) {
	if adapterName == "" {
		adapterName = c.directory
	}
	a, ok := reg.Lookup(adapterName)
	if !ok || adapterName == "" {
		return nil, c.noAdapter(reg, adapterName)
	}
	plain := directory.Values{}
	for _, o := range a.Options {
		if v, ok := c.directories[a.Name][o.Name]; ok && !o.Secret {
			plain[o.Name] = v
		}
	}
	out := directory.WithDefaults(a.Options, plain)
	var errs []error
	for _, o := range a.Options {
		if !o.Secret {
			continue
		}
		delete(out, o.Name) // a secret option's Default is never a value
		key := a.Name + "." + o.Name
		s, err := secret.Resolve(key, c.secretRefs[key], secrets, env)
		switch {
		case err == nil:
			out[o.Name] = s.Reveal()
		case errors.Is(err, secret.ErrNotFound) && !o.Required:
		default:
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func (c *Config) noAdapter(reg *directory.Registry, name string) error {
	if name == "" {
		return &directory.ConfigError{Key: KeyDirectory, Reason: "no directory is selected; choose " + directoryChoices(reg)}
	}
	return &directory.ConfigError{Key: KeyDirectory,
		Reason: fmt.Sprintf("%q is not a directory type this dirconn knows; choose %s", name, directoryChoices(reg))}
}

// SyncValues returns the sync settings with defaults applied.
func (c *Config) SyncValues() directory.Values { return directory.WithDefaults(SyncOptions, c.sync) }

// GlobalValues returns the non-secret global settings with defaults applied ("directory" included when
// set). Use Secret for clientSecret and Endpoints for the derived Bitwarden URLs.
func (c *Config) GlobalValues() directory.Values {
	out := directory.WithDefaults(GlobalOptions, c.global)
	delete(out, KeyClientSecret)
	if c.directory != "" {
		out[KeyDirectory] = c.directory
	}
	return out
}

// Secret resolves the secret setting key (canonical or aliased, e.g. "clientSecret", "azure.key") through
// secret.Resolve with the config's reference for it.
func (c *Config) Secret(reg *directory.Registry, key string, secrets secret.Store, env func(string) string) (secret.Secret, error) {
	k, err := c.ResolveKey(reg, key)
	if err != nil {
		return "", err
	}
	if !k.Option.Secret {
		return "", fmt.Errorf("%s is not a secret setting", k.Name)
	}
	return secret.Resolve(k.Name, c.secretRefs[k.Name], secrets, env)
}

// Validate checks what config.json holds: the global settings, that a known directory is selected, the
// selected adapter's settings (directory.Validate) and the sync settings, including filters the adapter
// cannot take, emailSuffix when useEmailPrefixSuffix is on, settings no schema knows, secret values typed
// into the file and malformed secret references. It returns every problem found, as
// directory.ConfigErrors, or nil. Whether required secrets are available is checked by Values, which can
// reach the secret store.
func (c *Config) Validate(reg *directory.Registry) error {
	var errs directory.ConfigErrors
	add := func(key, reason string) { errs = append(errs, &directory.ConfigError{Key: key, Reason: reason}) }

	var globals []directory.Option
	for _, o := range GlobalOptions {
		if !o.Secret && o.Name != KeyDirectory {
			globals = append(globals, o)
		}
	}
	errs = append(errs, directory.Validate("", globals, c.global)...)
	for _, o := range GlobalOptions {
		if _, ok := c.extra[o.Name]; ok && o.Secret {
			add(o.Name, secretInFile(o.Name))
		}
	}

	a, ok := reg.Lookup(c.directory)
	if !ok || c.directory == "" {
		var ce *directory.ConfigError
		errors.As(c.noAdapter(reg, c.directory), &ce)
		errs = append(errs, ce)
	} else {
		stored := c.directories[a.Name]
		errs = append(errs, directory.Validate(a.Name, plainOptions(a.Options), stored)...)
		for _, name := range sortedKeys(stored) {
			o, ok := a.Option(name)
			switch {
			case !ok:
				add(a.Name+"."+name, "unknown setting for the "+a.Name+" directory")
			case o.Name != name:
				add(a.Name+"."+name, "write it as "+o.Name+" in "+FileName)
			case o.Secret:
				add(a.Name+"."+name, secretInFile(a.Name+"."+name))
			}
		}
		errs = append(errs, checkFilters(a, directory.Filters{User: c.sync["userFilter"], Group: c.sync["groupFilter"]})...)
	}

	errs = append(errs, directory.Validate(SyncSection, SyncOptions, c.sync)...)
	for _, name := range sortedKeys(c.sync) {
		if i := indexOption(SyncOptions, name); i < 0 {
			add(SyncSection+"."+name, "unknown sync setting")
		}
	}
	if v := c.SyncValues(); v.Bool("useEmailPrefixSuffix") && strings.TrimSpace(v["emailSuffix"]) == "" {
		add(SyncSection+".emailSuffix", "is required when sync.useEmailPrefixSuffix is on")
	}

	for _, key := range sortedKeys(c.secretRefs) {
		k, err := c.ResolveKey(reg, key)
		switch {
		case err != nil || k.Name != key:
			add("secretRefs."+key, "is not a setting (secret references use canonical names such as ldap.password)")
		case !k.Option.Secret:
			add("secretRefs."+key, "is not a secret setting")
		default:
			if _, err := secret.ParseRef(c.secretRefs[key]); err != nil {
				add(key, err.Error())
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func secretInFile(key string) string {
	return "a secret value is written in " + FileName + ", which must never hold secrets; move it to the " +
		"secret store with dirconn config set " + key + ", then remove it from the file"
}

// plainOptions returns the options that are not secrets (their values are not in config.json).
func plainOptions(opts []directory.Option) []directory.Option {
	var out []directory.Option
	for _, o := range opts {
		if !o.Secret {
			out = append(out, o)
		}
	}
	return out
}

func indexOption(opts []directory.Option, name string) int {
	for i := range opts {
		if opts[i].Name == name {
			return i
		}
	}
	return -1
}

// checkFilters refuses filters the adapter has no syntax for, then runs the adapter's own check on each
// filter alone, so each problem names its key.
func checkFilters(a *directory.Adapter, f directory.Filters) directory.ConfigErrors {
	var errs directory.ConfigErrors
	for _, x := range []struct {
		key, value, help string
		alone            directory.Filters
	}{
		{SyncSection + ".userFilter", f.User, a.UserFilterHelp, directory.Filters{User: f.User}},
		{SyncSection + ".groupFilter", f.Group, a.GroupFilterHelp, directory.Filters{Group: f.Group}},
	} {
		switch {
		case x.value == "":
		case x.help == "":
			errs = append(errs, &directory.ConfigError{Key: x.key, Reason: "the " + a.Name + " directory takes no such filter"})
		case a.CheckFilters != nil:
			if err := a.CheckFilters(x.alone); err != nil {
				errs = append(errs, &directory.ConfigError{Key: x.key, Reason: err.Error()})
			}
		}
	}
	return errs
}
