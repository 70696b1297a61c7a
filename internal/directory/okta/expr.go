package okta

import (
	"fmt"
	"strings"
)

// checkExpr checks the syntax of an Okta filter expression (the part of a filter after "|") before it is
// sent, so a typo is refused when the filter is set instead of when Okta answers 400. It follows the
// SCIM-style grammar Okta's filter and search parameters share:
//
//	expr       = and { "or" and }
//	and        = unary { "and" unary }
//	unary      = "not" unary | "(" expr ")" | attribute operator value | attribute "pr"
//	operator   = eq | ne | co | sw | ew | gt | ge | lt | le     (any case)
//	value      = "double-quoted string" | true | false | null | number
//
// It checks the shape only: which attributes and operators a given endpoint accepts is Okta's to say.
func checkExpr(s string) error {
	toks, err := lexExpr(s)
	if err != nil {
		return err
	}
	if len(toks) == 0 {
		return fmt.Errorf("is empty")
	}
	p := &exprParser{toks: toks}
	if err := p.or(); err != nil {
		return err
	}
	if p.pos < len(p.toks) {
		t := p.toks[p.pos]
		if t.text == ")" && !t.quoted {
			return fmt.Errorf("a ) has no matching (")
		}
		return fmt.Errorf("expected and or or before %s", t)
	}
	return nil
}

type exprToken struct {
	text   string
	quoted bool
}

func (t exprToken) String() string {
	if t.quoted {
		return fmt.Sprintf("%q", t.text)
	}
	return t.text
}

func lexExpr(s string) ([]exprToken, error) {
	var out []exprToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(' || c == ')':
			out = append(out, exprToken{text: string(c)})
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
				return nil, fmt.Errorf("the string starting at %s has no closing \"", abbreviate(s[i:]))
			}
			out = append(out, exprToken{text: b.String(), quoted: true})
			i = j + 1
		case c == '\'' || c == '=' || c == '!' || c == '<' || c == '>':
			return nil, fmt.Errorf("unexpected %q at %s: compare with eq, ne, gt, ge, lt or le and put values in double quotes, e.g. profile.firstName eq \"John\"",
				string(c), abbreviate(s[i:]))
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n()\"'=!<>", rune(s[j])) {
				j++
			}
			if j == i { // a multi-byte rune such as a curly quote
				return nil, fmt.Errorf("unexpected character at %s", abbreviate(s[i:]))
			}
			out = append(out, exprToken{text: s[i:j]})
			i = j
		}
	}
	return out, nil
}

func abbreviate(s string) string {
	if len(s) > 20 {
		s = s[:20] + "..."
	}
	return fmt.Sprintf("%q", s)
}

type exprParser struct {
	toks []exprToken
	pos  int
}

var exprOperators = map[string]bool{"eq": true, "ne": true, "co": true, "sw": true, "ew": true, "gt": true, "ge": true, "lt": true, "le": true}

func (p *exprParser) word(w string) bool {
	return p.pos < len(p.toks) && !p.toks[p.pos].quoted && strings.EqualFold(p.toks[p.pos].text, w)
}

func (p *exprParser) or() error {
	if err := p.and(); err != nil {
		return err
	}
	for p.word("or") {
		p.pos++
		if err := p.and(); err != nil {
			return err
		}
	}
	return nil
}

func (p *exprParser) and() error {
	if err := p.unary(); err != nil {
		return err
	}
	for p.word("and") {
		p.pos++
		if err := p.unary(); err != nil {
			return err
		}
	}
	return nil
}

func (p *exprParser) unary() error {
	if p.pos >= len(p.toks) {
		if p.pos > 0 {
			return fmt.Errorf("ends after %s: a condition is missing", p.toks[p.pos-1])
		}
		return fmt.Errorf("is empty")
	}
	t := p.toks[p.pos]
	switch {
	case !t.quoted && t.text == "(":
		p.pos++
		if err := p.or(); err != nil {
			return err
		}
		if p.pos >= len(p.toks) || p.toks[p.pos].quoted || p.toks[p.pos].text != ")" {
			return fmt.Errorf("a ( is not closed")
		}
		p.pos++
		return nil
	case p.word("not"):
		p.pos++
		return p.unary()
	case t.quoted:
		return fmt.Errorf("expected an attribute name such as profile.email, found the string %s", t)
	case t.text == ")" || strings.EqualFold(t.text, "and") || strings.EqualFold(t.text, "or") || exprOperators[strings.ToLower(t.text)]:
		return fmt.Errorf("expected an attribute name such as profile.email, found %s", t)
	}
	if !validAttr(t.text) {
		return fmt.Errorf("%q is not an attribute name (letters, digits, _, - and . only, e.g. profile.firstName)", t.text)
	}
	p.pos++
	if p.pos >= len(p.toks) {
		return fmt.Errorf("ends after %s: expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)", t)
	}
	op := p.toks[p.pos]
	if !op.quoted && strings.EqualFold(op.text, "pr") {
		p.pos++
		return nil
	}
	if op.quoted || !exprOperators[strings.ToLower(op.text)] {
		return fmt.Errorf("expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after %s, found %s", t, op)
	}
	p.pos++
	if p.pos >= len(p.toks) {
		return fmt.Errorf("ends after %s %s: expected a value in double quotes", t, op)
	}
	v := p.toks[p.pos]
	if !v.quoted && !bareValue(v.text) {
		return fmt.Errorf("the value %s after %s %s must be in double quotes, e.g. %s %s %q", v, t, op, t, op, v.text)
	}
	p.pos++
	return nil
}

func validAttr(s string) bool {
	c := s[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.' || r == ':') {
			return false
		}
	}
	return !strings.HasSuffix(s, ".")
}

// bareValue reports whether s may stand without quotes: true, false, null or a number.
func bareValue(s string) bool {
	switch strings.ToLower(s) {
	case "true", "false", "null":
		return true
	}
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case (r == '-' || r == '+') && i == 0, r == '.', r == 'e' || r == 'E':
		default:
			return false
		}
	}
	return digits > 0
}
