package filter

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory"
)

var native = Syntax{Keywords: []string{"include", "exclude"}, Native: true, What: "user filter"}

var entra = Syntax{Keywords: []string{"include", "exclude", "includeGroup", "excludeGroup"},
	MoreKeywords: []string{"excludeGroup", "exclude"}, What: "user filter"}

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		syn  Syntax
		want *Filter
	}{
		{"", native, &Filter{}},
		{"include:a@x.io, B@x.io ,", native, &Filter{Set: &Clause{"include", []string{"a@x.io", "B@x.io"}}}},
		{"EXCLUDE: joe@x.io | orgUnitPath=/Eng", native, &Filter{Set: &Clause{"exclude", []string{"joe@x.io"}}, Native: "orgUnitPath=/Eng"}},
		{"|name:Integration*", native, &Filter{Native: "name:Integration*"}},
		{`| profile.firstName eq "J|K"`, native, &Filter{Native: `profile.firstName eq "J|K"`}},
		{"includeGroup:g1,g2|excludeGroup:g3|exclude:x@y.io", entra, &Filter{
			Set:  &Clause{"includeGroup", []string{"g1", "g2"}},
			More: []Clause{{"excludeGroup", []string{"g3"}}, {"exclude", []string{"x@y.io"}}}}},
		{"include:a:b", native, &Filter{Set: &Clause{"include", []string{"a:b"}}}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in, tt.syn)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct {
		in, part string
		syn      Syntax
	}{
		{"joe@x.io", "keyword:values", native},
		{"inclde:joe@x.io", `unknown keyword "inclde"`, native},
		{"include:", "has no values", native},
		{"include:g1|includeGroup:g2", `unknown keyword "includeGroup"`, entra},
	} {
		_, err := Parse(tt.in, tt.syn)
		if err == nil || !errors.Is(err, directory.ErrFilter) || !strings.Contains(err.Error(), tt.part) {
			t.Errorf("Parse(%q) = %v, want an ErrFilter mentioning %q", tt.in, err, tt.part)
		}
	}
}

func TestKeep(t *testing.T) {
	inc := &Clause{"include", []string{"Sales", "IT"}}
	exc := &Clause{"exclude", []string{"joe@x.io"}}
	for _, tt := range []struct {
		c    *Clause
		v    string
		want bool
	}{{nil, "x", true}, {inc, "sales", true}, {inc, "HR", false}, {exc, " JOE@x.io ", false}, {exc, "ann@x.io", true}} {
		if got := Keep(tt.c, tt.v); got != tt.want {
			t.Errorf("Keep(%v, %q) = %v", tt.c, tt.v, got)
		}
	}
}

func TestLimitUsersToGroups(t *testing.T) {
	s := &directory.Snapshot{
		Users:  []directory.User{{ID: "in"}, {ID: "out"}, {ID: "gone", Deleted: true}, {ID: "off", Disabled: true}, {ID: "off2", Disabled: true}},
		Groups: []directory.Group{{ID: "g", Users: []string{"in", "off2"}}},
	}
	LimitUsersToGroups(s, true)
	var ids []string
	for _, u := range s.Users {
		ids = append(ids, u.ID)
	}
	if diff := cmp.Diff([]string{"in", "gone", "off", "off2"}, ids); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
}
