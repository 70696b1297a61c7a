package entra

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/filter"
)

// Filter keywords. They match case-insensitively, as in the Directory Connector.
const (
	kwInclude      = "include"
	kwExclude      = "exclude"
	kwIncludeGroup = "includeGroup"
	kwExcludeGroup = "excludeGroup"
	kwIncludeAU    = "includeAdministrativeUnit"
	kwExcludeAU    = "excludeAdministrativeUnit"
)

var (
	userSyntax = filter.Syntax{
		Keywords:     []string{kwInclude, kwExclude, kwIncludeGroup, kwExcludeGroup},
		MoreKeywords: []string{kwExcludeGroup, kwExclude},
		What:         "user filter",
	}
	groupSyntax = filter.Syntax{
		Keywords: []string{kwInclude, kwExclude, kwIncludeAU, kwExcludeAU},
		What:     "group filter",
	}
)

// filters are the parsed sync.userFilter and sync.groupFilter.
type filters struct {
	user  *filter.Filter
	group *filter.Filter
}

// CheckFilters parses the user and group filters as Fetch will use them, so a malformed filter is refused
// when it is set and before any request. Errors wrap directory.ErrFilter.
func CheckFilters(f directory.Filters) error {
	_, err := parseFilters(f)
	return err
}

func parseFilters(f directory.Filters) (filters, error) {
	var out filters
	var errs []error
	var err error
	if out.user, err = parse(f.User, userSyntax); err != nil {
		errs = append(errs, err)
	} else if err := checkUserFilter(out.user); err != nil {
		errs = append(errs, err)
	}
	if head, tail, piped := strings.Cut(lines.Replace(f.Group), "|"); piped && strings.TrimSpace(tail) != "" {
		errs = append(errs, fmt.Errorf("%w: group filter: takes nothing after | (found %q; the Directory Connector ignored it, and OData filters are not supported): use only %s",
			directory.ErrFilter, strings.TrimSpace(tail), strings.TrimSpace(head)))
	} else if out.group, err = parse(f.Group, groupSyntax); err != nil {
		errs = append(errs, err)
	} else if err := checkGroupFilter(out.group); err != nil {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

// parse parses a filter; clauses may also be written on separate lines (the Directory Connector accepts
// newlines between its secondary clauses).
func parse(s string, syn filter.Syntax) (*filter.Filter, error) {
	return filter.Parse(lines.Replace(s), syn)
}

// lines turns line breaks into "|".
var lines = strings.NewReplacer("\r\n", "|", "\n", "|", "\r", "|")

func checkUserFilter(f *filter.Filter) error {
	if f.Set == nil && len(f.More) > 0 {
		return fmt.Errorf("%w: user filter: the clauses after | need an includeGroup: clause before them, e.g. includeGroup:<id>|excludeGroup:<id>", directory.ErrFilter)
	}
	if len(f.More) > 0 && !strings.EqualFold(f.Set.Keyword, kwIncludeGroup) {
		return fmt.Errorf("%w: user filter: clauses after | are only allowed after includeGroup: (here the filter starts with %s:)", directory.ErrFilter, f.Set.Keyword)
	}
	clauses := append([]filter.Clause(nil), f.More...)
	if f.Set != nil {
		clauses = append([]filter.Clause{*f.Set}, clauses...)
	}
	for _, c := range clauses {
		if c.Keyword == kwIncludeGroup || c.Keyword == kwExcludeGroup {
			if err := checkIDs("user filter", c); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkGroupFilter(f *filter.Filter) error {
	if f.Set != nil && (f.Set.Keyword == kwIncludeAU || f.Set.Keyword == kwExcludeAU) {
		return checkIDs("group filter", *f.Set)
	}
	return nil
}

// checkIDs reports a clause value that is not an object id: Graph would answer 400, and a group name put
// where its id belongs is the likeliest mistake.
func checkIDs(what string, c filter.Clause) error {
	for _, v := range c.Values {
		if !isGUID(v) {
			kind, article := "group", "a"
			if c.Keyword == kwIncludeAU || c.Keyword == kwExcludeAU {
				kind, article = "administrative unit", "an"
			}
			return fmt.Errorf("%w: %s %s: %q is not %s %s object id (a GUID such as 6f0e1b2c-3d4e-5f60-7182-93a4b5c6d7e8; copy it from the %s's Overview in the Entra admin center)",
				directory.ErrFilter, what, c.Keyword, v, article, kind, kind)
		}
	}
	return nil
}

// secondary returns the values of every clause after "|" with keyword kw, merged.
func secondary(f *filter.Filter, kw string) []string {
	var out []string
	for _, c := range f.More {
		if c.Keyword == kw {
			out = append(out, c.Values...)
		}
	}
	return out
}

// keyword returns the set clause's keyword, or "" when the filter has none.
func keyword(f *filter.Filter) string {
	if f == nil || f.Set == nil {
		return ""
	}
	return f.Set.Keyword
}
