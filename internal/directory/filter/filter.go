// Package filter parses the user and group filters the cloud directory adapters share with the Directory
// Connector: a set clause `keyword:value,value` (include:/exclude: and, for Entra, includeGroup: and the
// like), optionally followed by `|` and either a native query for the directory's API (Google, Okta,
// OneLogin) or more clauses (Entra). Unlike the Directory Connector, a filter that does not parse is an
// error shown to the admin, never silently ignored, and a second `|` in a native query is kept.
//
// It also holds the shared rule that a group set filter limits users to members of the kept groups.
package filter

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dirconn/dirconn/internal/directory"
)

// Clause is one `keyword:values` part of a filter.
type Clause struct {
	// Keyword is the clause's keyword as the adapter declared it (e.g. "include", "includeGroup").
	Keyword string
	// Values are the comma-separated values, trimmed (empty ones dropped), in their original case.
	Values []string
}

// Has reports whether v is one of the clause's values, ignoring case and surrounding space (emails and
// group names compare that way).
func (c *Clause) Has(v string) bool {
	v = strings.TrimSpace(v)
	return slices.ContainsFunc(c.Values, func(x string) bool { return strings.EqualFold(x, v) })
}

// Filter is a parsed filter.
type Filter struct {
	// Set is the leading clause, or nil when the filter starts with "|" or is empty.
	Set *Clause
	// Native is the query after the first "|" for adapters with a native query language, verbatim but
	// trimmed ("" when none).
	Native string
	// More are the clauses after "|" for adapters without one (Entra's secondary clauses).
	More []Clause
}

// Empty reports whether the filter selects everything.
func (f *Filter) Empty() bool {
	return f == nil || (f.Set == nil && f.Native == "" && len(f.More) == 0)
}

// Syntax describes what a filter may contain.
type Syntax struct {
	// Keywords are the allowed set keywords (matched case-insensitively), e.g. "include", "exclude".
	Keywords []string
	// Native is true when the part after "|" is a native query; false when it is more clauses.
	Native bool
	// MoreKeywords are the keywords allowed after "|" when Native is false.
	MoreKeywords []string
	// What names the filter in errors ("user filter", "group filter").
	What string
}

// Parse parses s. An empty (or all-space) s gives an empty filter.
func Parse(s string, syn Syntax) (*Filter, error) {
	f := &Filter{}
	s = strings.TrimSpace(s)
	if s == "" {
		return f, nil
	}
	head, rest, piped := strings.Cut(s, "|")
	if head = strings.TrimSpace(head); head != "" {
		c, err := parseClause(head, syn.Keywords, syn)
		if err != nil {
			return nil, err
		}
		f.Set = c
	}
	if !piped {
		return f, nil
	}
	rest = strings.TrimSpace(rest)
	if syn.Native {
		f.Native = rest
		return f, nil
	}
	for _, part := range strings.Split(rest, "|") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		c, err := parseClause(part, syn.MoreKeywords, syn)
		if err != nil {
			return nil, err
		}
		f.More = append(f.More, *c)
	}
	return f, nil
}

func parseClause(s string, keywords []string, syn Syntax) (*Clause, error) {
	what := syn.What
	if what == "" {
		what = "filter"
	}
	kw, vals, ok := strings.Cut(s, ":")
	kw = strings.TrimSpace(kw)
	allowed := strings.Join(suffix(keywords, ":"), ", ")
	if !ok {
		return nil, fmt.Errorf("%w: %s %q: expected keyword:values, e.g. %s...", directory.ErrFilter, what, s, firstOr(suffix(keywords, ":"), "include:"))
	}
	i := slices.IndexFunc(keywords, func(k string) bool { return strings.EqualFold(k, kw) })
	if i < 0 {
		if len(keywords) == 0 {
			return nil, fmt.Errorf("%w: %s %q: this directory takes no %q clause here", directory.ErrFilter, what, s, kw)
		}
		return nil, fmt.Errorf("%w: %s %q: unknown keyword %q; use one of %s", directory.ErrFilter, what, s, kw, allowed)
	}
	c := &Clause{Keyword: keywords[i]}
	for _, v := range strings.Split(vals, ",") {
		if v = strings.TrimSpace(v); v != "" {
			c.Values = append(c.Values, v)
		}
	}
	if len(c.Values) == 0 {
		return nil, fmt.Errorf("%w: %s %q: %s: has no values", directory.ErrFilter, what, s, c.Keyword)
	}
	return c, nil
}

func suffix(list []string, s string) []string {
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = x + s
	}
	return out
}

func firstOr(list []string, d string) string {
	if len(list) > 0 {
		return list[0]
	}
	return d
}

// Keep reports whether a set clause of include/exclude keeps v (an email or a group name). A nil clause
// keeps everything.
func Keep(c *Clause, v string) bool {
	if c == nil {
		return true
	}
	switch strings.ToLower(c.Keyword) {
	case "include":
		return c.Has(v)
	case "exclude":
		return !c.Has(v)
	}
	return true
}

// LimitUsersToGroups applies the Directory Connector's rule for group set filters: users who are in none
// of the snapshot's groups (directly or through nested groups) are dropped, except deleted users, and
// disabled users when removeDisabled is on (so their removal still reaches Bitwarden). Call it when a
// group filter with a set clause was applied.
func LimitUsersToGroups(s *directory.Snapshot, removeDisabled bool) {
	inGroup := map[string]bool{}
	for _, g := range s.Groups {
		for _, u := range g.Users {
			inGroup[u] = true
		}
	}
	// Users of nested groups are members of their parents: every group in the snapshot was kept, so a
	// direct member of any kept group is in.
	s.Users = slices.DeleteFunc(s.Users, func(u directory.User) bool {
		return !inGroup[u.ID] && !u.Deleted && !(removeDisabled && u.Disabled)
	})
}
