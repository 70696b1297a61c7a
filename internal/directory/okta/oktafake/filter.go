package oktafake

import (
	"fmt"
	"strings"
	"time"
)

// The filter evaluator covers the subset of Okta's `filter` parameter that the Management API documents
// for list users and list groups (specs/directories.md 4.4): comparisons `attr op "value"` joined with
// `and`/`or` and grouped with parentheses. Users: status, lastUpdated, id, profile.login, profile.email,
// profile.firstName, profile.lastName; groups: type, id, lastUpdated, lastMembershipUpdated. `eq` works
// on every attribute, `gt`, `ge`, `lt` and `le` on the date attributes only. Anything else is refused the
// way Okta refuses it: 400 with E0000031 "Invalid search criteria". Strings compare exactly (case
// included); dates compare as instants.

// attrKind says what an attribute holds.
type attrKind int

const (
	attrString attrKind = iota
	attrDate
)

// expr is a parsed filter expression.
type expr interface {
	eval(get func(attr string) string) bool
}

type orExpr struct{ l, r expr }
type andExpr struct{ l, r expr }
type cmpExpr struct {
	attr, op, value string
	kind            attrKind
	date            time.Time
}

func (e orExpr) eval(get func(string) string) bool  { return e.l.eval(get) || e.r.eval(get) }
func (e andExpr) eval(get func(string) string) bool { return e.l.eval(get) && e.r.eval(get) }

func (e cmpExpr) eval(get func(string) string) bool {
	v := get(e.attr)
	if e.op == "eq" {
		if e.kind == attrDate {
			t, err := time.Parse(time.RFC3339Nano, v)
			return err == nil && t.Equal(e.date)
		}
		return v == e.value
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return false
	}
	switch e.op {
	case "gt":
		return t.After(e.date)
	case "ge":
		return !t.Before(e.date)
	case "lt":
		return t.Before(e.date)
	case "le":
		return !t.After(e.date)
	}
	return false
}

// parseFilter parses s for an endpoint whose filterable attributes are attrs. It reports whether the
// expression mentions `status` (Okta then includes DEPROVISIONED users in a user listing).
func parseFilter(s string, attrs map[string]attrKind) (expr, bool, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, false, err
	}
	p := &parser{toks: toks, attrs: attrs}
	e, err := p.or()
	if err != nil {
		return nil, false, err
	}
	if p.pos < len(p.toks) {
		return nil, false, fmt.Errorf("unexpected %q", p.toks[p.pos].text)
	}
	return e, p.status, nil
}

type token struct {
	text   string
	quoted bool
}

func tokenize(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			out = append(out, token{text: string(c)})
			i++
		case c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string")
			}
			out = append(out, token{text: b.String(), quoted: true})
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n()\"", rune(s[j])) {
				j++
			}
			out = append(out, token{text: s[i:j]})
			i = j
		}
	}
	return out, nil
}

type parser struct {
	toks   []token
	pos    int
	attrs  map[string]attrKind
	status bool
}

func (p *parser) peekWord(w string) bool {
	return p.pos < len(p.toks) && !p.toks[p.pos].quoted && strings.EqualFold(p.toks[p.pos].text, w)
}

func (p *parser) or() (expr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peekWord("or") {
		p.pos++
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = orExpr{l, r}
	}
	return l, nil
}

func (p *parser) and() (expr, error) {
	l, err := p.primary()
	if err != nil {
		return nil, err
	}
	for p.peekWord("and") {
		p.pos++
		r, err := p.primary()
		if err != nil {
			return nil, err
		}
		l = andExpr{l, r}
	}
	return l, nil
}

func (p *parser) primary() (expr, error) {
	if p.pos >= len(p.toks) {
		return nil, fmt.Errorf("unexpected end of expression")
	}
	t := p.toks[p.pos]
	if !t.quoted && t.text == "(" {
		p.pos++
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.pos >= len(p.toks) || p.toks[p.pos].text != ")" || p.toks[p.pos].quoted {
			return nil, fmt.Errorf("missing )")
		}
		p.pos++
		return e, nil
	}
	if t.quoted {
		return nil, fmt.Errorf("expected an attribute, found a string")
	}
	kind, ok := p.attrs[t.text]
	if !ok {
		return nil, fmt.Errorf("attribute %q cannot be filtered on", t.text)
	}
	if t.text == "status" {
		p.status = true
	}
	if p.pos+2 >= len(p.toks) {
		return nil, fmt.Errorf("incomplete comparison after %q", t.text)
	}
	op := strings.ToLower(p.toks[p.pos+1].text)
	val := p.toks[p.pos+2]
	if p.toks[p.pos+1].quoted {
		return nil, fmt.Errorf("expected an operator after %q", t.text)
	}
	switch op {
	case "eq":
	case "gt", "ge", "lt", "le":
		if kind != attrDate {
			return nil, fmt.Errorf("operator %s is not supported on %s", op, t.text)
		}
	default:
		return nil, fmt.Errorf("operator %q is not supported", p.toks[p.pos+1].text)
	}
	if !val.quoted {
		return nil, fmt.Errorf("the value of %s must be a quoted string", t.text)
	}
	c := cmpExpr{attr: t.text, op: op, value: val.text, kind: kind}
	if kind == attrDate {
		d, err := time.Parse(time.RFC3339Nano, val.text)
		if err != nil {
			return nil, fmt.Errorf("%q is not an ISO 8601 date", val.text)
		}
		c.date = d
	}
	p.pos += 3
	return c, nil
}

var userAttrs = map[string]attrKind{
	"status":            attrString,
	"lastUpdated":       attrDate,
	"id":                attrString,
	"profile.login":     attrString,
	"profile.email":     attrString,
	"profile.firstName": attrString,
	"profile.lastName":  attrString,
}

var groupAttrs = map[string]attrKind{
	"type":                  attrString,
	"id":                    attrString,
	"lastUpdated":           attrDate,
	"lastMembershipUpdated": attrDate,
}
