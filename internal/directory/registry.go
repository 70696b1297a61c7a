package directory

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Adapter describes one directory type: its settings and how to build a Source from them.
type Adapter struct {
	// Name is the config value of "directory" and the prefix of the adapter's keys ("ldap", "file").
	Name string
	// Title is the name people see ("Active Directory / LDAP").
	Title string
	// Number is the anchor's (bwdc) directory type number, or -1 when it has none.
	Number int
	// Aliases are other names accepted for the directory type and for its key prefix ("azure", "gsuite").
	Aliases []string
	// Options is the adapter's setting schema.
	Options []Option
	// UserFilterHelp and GroupFilterHelp describe the filter syntax; empty means the adapter has no such
	// filter and sync.userFilter/sync.groupFilter are refused.
	UserFilterHelp  string
	GroupFilterHelp string
	// CheckFilters validates filters before any read; nil means any text is accepted.
	CheckFilters func(f Filters) error
	// New builds a Source. It validates nothing that Validate already checked, and does no I/O.
	New func(cfg Config) (Source, error)
}

// Option returns the adapter's option called name (or aliased so).
func (a *Adapter) Option(name string) (*Option, bool) {
	for i := range a.Options {
		if a.Options[i].Matches(name) {
			return &a.Options[i], true
		}
	}
	return nil, false
}

// Registry lists the adapters a binary knows. It is built explicitly (see package all), never by init().
type Registry struct {
	adapters []*Adapter
}

// Register adds a. It panics on a duplicate name, alias or number: that is a programming error.
func (r *Registry) Register(a Adapter) {
	for _, n := range append([]string{a.Name}, a.Aliases...) {
		if _, ok := r.Lookup(n); ok {
			panic(fmt.Sprintf("directory: adapter %q registered twice", n))
		}
	}
	if a.Number >= 0 {
		for _, b := range r.adapters {
			if b.Number == a.Number {
				panic(fmt.Sprintf("directory: adapters %q and %q share number %d", a.Name, b.Name, a.Number))
			}
		}
	}
	if a.New == nil {
		panic(fmt.Sprintf("directory: adapter %q has no constructor", a.Name))
	}
	r.adapters = append(r.adapters, &a)
}

// Lookup finds an adapter by name, alias or anchor number ("0" for LDAP), case-insensitively.
func (r *Registry) Lookup(name string) (*Adapter, bool) {
	name = strings.TrimSpace(name)
	if n, err := strconv.Atoi(name); err == nil {
		for _, a := range r.adapters {
			if a.Number >= 0 && a.Number == n {
				return a, true
			}
		}
		return nil, false
	}
	for _, a := range r.adapters {
		if strings.EqualFold(a.Name, name) {
			return a, true
		}
		for _, al := range a.Aliases {
			if strings.EqualFold(al, name) {
				return a, true
			}
		}
	}
	return nil, false
}

// All returns the adapters sorted by name.
func (r *Registry) All() []*Adapter {
	out := append([]*Adapter(nil), r.adapters...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names returns the adapter names sorted, for messages that list valid values.
func (r *Registry) Names() []string {
	var out []string
	for _, a := range r.All() {
		out = append(out, a.Name)
	}
	return out
}
