package googlefake

import (
	"encoding/json"
	"fmt"
	"strings"
)

// clause is one "field op value" term of a search query.
type clause struct {
	field, op, value string
}

// parseQuery splits a Google search query into clauses: space-separated terms (implicitly ANDed), each
// field=value or field:value, the value optionally in single or double quotes (then it may hold spaces).
// allowed lists the field names the resource can be searched by (matched case-sensitively, as Google does).
func parseQuery(q string, allowed []string) ([]clause, error) {
	var out []clause
	rest := strings.TrimSpace(q)
	for rest != "" {
		i := strings.IndexAny(rest, "=:")
		if i <= 0 {
			return nil, fmt.Errorf("expected field=value or field:value at %q", rest)
		}
		c := clause{field: rest[:i], op: rest[i : i+1]}
		if strings.ContainsAny(c.field, " '\"") {
			return nil, fmt.Errorf("expected field=value or field:value at %q", rest)
		}
		if !contains(allowed, c.field) {
			return nil, fmt.Errorf("unknown search field %q", c.field)
		}
		rest = rest[i+1:]
		if rest != "" && (rest[0] == '\'' || rest[0] == '"') {
			end := strings.IndexByte(rest[1:], rest[0])
			if end < 0 {
				return nil, fmt.Errorf("unterminated quote in %q", q)
			}
			c.value, rest = rest[1:end+1], rest[end+2:]
			if rest != "" && rest[0] != ' ' {
				return nil, fmt.Errorf("expected a space after the quoted value in %q", q)
			}
		} else {
			end := strings.IndexByte(rest, ' ')
			if end < 0 {
				end = len(rest)
			}
			c.value, rest = rest[:end], rest[end:]
		}
		if c.value == "" {
			return nil, fmt.Errorf("field %q has no value", c.field)
		}
		out = append(out, c)
		rest = strings.TrimSpace(rest)
	}
	return out, nil
}

// matchText applies one clause to a text value: "=" is an exact, case-insensitive match; ":" matches a
// prefix when the value ends with "*", else any word of the text (Google's "contains").
func matchText(c clause, v string) bool {
	v = strings.ToLower(strings.TrimSpace(v))
	want := strings.ToLower(c.value)
	if c.op == "=" {
		return v == want
	}
	if p, ok := strings.CutSuffix(want, "*"); ok {
		if strings.HasPrefix(v, p) {
			return true
		}
		for _, w := range strings.Fields(v) {
			if strings.HasPrefix(w, p) {
				return true
			}
		}
		return false
	}
	for _, w := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '@' || r == '.' }) {
		if w == want {
			return true
		}
	}
	return v == want
}

// matchBool applies a clause such as isSuspended=true.
func matchBool(c clause, v bool) (bool, error) {
	switch strings.ToLower(c.value) {
	case "true":
		return v, nil
	case "false":
		return !v, nil
	}
	return false, fmt.Errorf("%s takes true or false, not %q", c.field, c.value)
}

// matchOrgUnit matches an org unit path and everything below it ("/" matches every user).
func matchOrgUnit(c clause, path string) bool {
	want := strings.TrimRight(strings.ToLower(c.value), "/")
	p := strings.ToLower(path)
	if p == "" {
		p = "/"
	}
	return want == "" || p == want || strings.HasPrefix(p, want+"/")
}

var userQueryFields = []string{"email", "givenName", "familyName", "name", "orgUnitPath", "isSuspended", "isArchived", "isAdmin"}

// matchUser evaluates a parsed users.list query against u.
func matchUser(cs []clause, u *User) (bool, error) {
	for _, c := range cs {
		var ok bool
		var err error
		switch c.field {
		case "email":
			ok = matchText(c, u.PrimaryEmail)
			for _, a := range u.Aliases {
				ok = ok || matchText(c, a)
			}
		case "givenName":
			ok = matchText(c, u.GivenName)
		case "familyName":
			ok = matchText(c, u.FamilyName)
		case "name":
			ok = matchText(c, u.fullName())
		case "orgUnitPath":
			ok = matchOrgUnit(c, u.OrgUnitPath)
		case "isSuspended":
			ok, err = matchBool(c, u.Suspended)
		case "isArchived":
			ok, err = matchBool(c, u.Archived)
		case "isAdmin":
			ok, err = matchBool(c, u.Admin)
		}
		if err != nil {
			return false, err
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

var groupQueryFields = []string{"email", "name"}

// matchGroup evaluates a parsed groups.list query against g.
func matchGroup(cs []clause, g *Group) bool {
	for _, c := range cs {
		v := g.Name
		if c.field == "email" {
			v = g.Email
		}
		if !matchText(c, v) {
			return false
		}
	}
	return true
}

// fieldMask is a parsed partial-response "fields" parameter: nextPageToken,users(id,name/fullName).
// A nil mask keeps everything; a node without children keeps the whole value below it.
type fieldMask map[string]fieldMask

// parseFields parses a fields parameter. known gives, per path ("" for the top level, "users" for the
// items, "users.name" and so on), the field names that exist; anything else is an invalid selection, as
// with Google.
func parseFields(s string, known map[string][]string) (fieldMask, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	p := &maskParser{s: s, known: known}
	m, err := p.list("")
	if err != nil {
		return nil, err
	}
	if p.i != len(p.s) {
		return nil, fmt.Errorf("invalid field selection %q at %d", s, p.i)
	}
	return m, nil
}

type maskParser struct {
	s     string
	i     int
	known map[string][]string
}

func (p *maskParser) list(at string) (fieldMask, error) {
	m := fieldMask{}
	for {
		if err := p.item(at, m); err != nil {
			return nil, err
		}
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		return m, nil
	}
}

func (p *maskParser) item(at string, m fieldMask) error {
	start := p.i
	for p.i < len(p.s) && !strings.ContainsRune(",()/", rune(p.s[p.i])) {
		p.i++
	}
	name := strings.TrimSpace(p.s[start:p.i])
	if name == "" {
		return fmt.Errorf("invalid field selection %q at %d", p.s, start)
	}
	if k, ok := p.known[at]; ok && !contains(k, name) {
		return fmt.Errorf("invalid field selection %s", name)
	}
	sub := join(at, name)
	child := m[name]
	switch {
	case p.i < len(p.s) && p.s[p.i] == '/':
		p.i++
		if child == nil {
			child = fieldMask{}
		}
		if err := p.item(sub, child); err != nil {
			return err
		}
	case p.i < len(p.s) && p.s[p.i] == '(':
		p.i++
		inner, err := p.list(sub)
		if err != nil {
			return err
		}
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return fmt.Errorf("invalid field selection %q: missing )", p.s)
		}
		p.i++
		if child == nil {
			child = fieldMask{}
		}
		for k, v := range inner {
			child[k] = v
		}
	}
	m[name] = child
	return nil
}

func join(at, name string) string {
	if at == "" {
		return name
	}
	return at + "." + name
}

// apply returns v (decoded JSON) reduced to the mask.
func (m fieldMask) apply(v any) any {
	if m == nil {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, sub := range m {
			if val, ok := x[k]; ok {
				out[k] = sub.apply(val)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = m.apply(e)
		}
		return out
	}
	return v
}

// masked marshals v and reduces it to the mask.
func masked(m fieldMask, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || m == nil {
		return b, err
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return nil, err
	}
	return json.Marshal(m.apply(generic))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
