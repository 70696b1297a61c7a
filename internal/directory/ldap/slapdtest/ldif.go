package slapdtest

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// attr is one attribute of an entry with its values in order.
type attr struct {
	name string
	vals []string
}

// entry is a DN with its attributes in order: what SeedDataset and SeedGenerated build, then add online or
// write as LDIF for slapadd.
type entry struct {
	dn    string
	attrs []attr
}

// add appends values to the attribute name, creating it when needed.
func (e *entry) add(name string, vals ...string) {
	for i := range e.attrs {
		if strings.EqualFold(e.attrs[i].name, name) {
			e.attrs[i].vals = append(e.attrs[i].vals, vals...)
			return
		}
	}
	e.attrs = append(e.attrs, attr{name: name, vals: vals})
}

// set replaces the values of name; no values removes the attribute.
func (e *entry) set(name string, vals []string) {
	for i := range e.attrs {
		if strings.EqualFold(e.attrs[i].name, name) {
			if len(vals) == 0 {
				e.attrs = append(e.attrs[:i], e.attrs[i+1:]...)
			} else {
				e.attrs[i].vals = vals
			}
			return
		}
	}
	if len(vals) > 0 {
		e.attrs = append(e.attrs, attr{name: name, vals: vals})
	}
}

func (e entry) get(name string) []string {
	for _, a := range e.attrs {
		if strings.EqualFold(a.name, name) {
			return a.vals
		}
	}
	return nil
}

func (e entry) addRequest() *ldap.AddRequest {
	r := ldap.NewAddRequest(e.dn, nil)
	for _, a := range e.attrs {
		r.Attribute(a.name, a.vals)
	}
	return r
}

// writeEntry writes e as an LDIF record (without line folding, which slapadd does not need).
func writeEntry(w *bufio.Writer, e entry) {
	writeLine(w, "dn", e.dn)
	for _, a := range e.attrs {
		for _, v := range a.vals {
			writeLine(w, a.name, v)
		}
	}
	w.WriteByte('\n')
}

// writeLine writes "name: value", or "name:: base64" when the value is not a SAFE-STRING of RFC 2849
// (leading space, colon or '<', trailing space, NUL, CR, LF or non-ASCII bytes).
func writeLine(w *bufio.Writer, name, value string) {
	w.WriteString(name)
	switch {
	case value == "":
		w.WriteString(":")
	case safeString(value):
		w.WriteString(": ")
		w.WriteString(value)
	default:
		w.WriteString(":: ")
		w.WriteString(base64.StdEncoding.EncodeToString([]byte(value)))
	}
	w.WriteByte('\n')
}

func safeString(v string) bool {
	if v == "" {
		return true
	}
	if c := v[0]; c == ' ' || c == ':' || c == '<' {
		return false
	}
	if v[len(v)-1] == ' ' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == 0 || c == '\n' || c == '\r' || c >= 0x80 {
			return false
		}
	}
	return true
}

// EscapeRDNValue escapes an attribute value for use in a DN the way slapd prints DNs: the characters
// "+,;<>\= as \XX, a leading space or '#' and a trailing space as \20 and \23, NUL as \00; other bytes,
// UTF-8 included, stay as they are. "grp, with comma" becomes `grp\2C with comma`, exactly as slapd
// returns it, so DNs built with it compare equal to the server's as strings.
func EscapeRDNValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		special := false
		switch c {
		case '"', '+', ',', ';', '<', '>', '\\', '=', 0:
			special = true
		case ' ':
			special = i == 0 || i == len(v)-1
		case '#':
			special = i == 0
		}
		if special {
			fmt.Fprintf(&b, "\\%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// ldifRecord is one record of an LDIF text: an entry to add or a change.
type ldifRecord struct {
	line       int // first line of the record, 1-based
	dn         string
	changeType string // add, delete, modify, modrdn
	attrs      []attr // add
	mods       []ldifMod
	newRDN     string // modrdn
	deleteOld  bool
	newSup     string
}

type ldifMod struct {
	op   string // add, delete, replace
	attr string
	vals []string
}

type ldifLine struct {
	n          int
	name, text string
}

// parseLDIF parses LDIF content records (RFC 2849): entries, and change records with changetype add,
// delete, modify and modrdn/moddn. Values may be plain, base64 ("::") or file:// URLs (":<"); controls
// are not supported.
func parseLDIF(text string) ([]ldifRecord, error) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	type logical struct {
		n    int
		text string
	}
	var blocks [][]logical
	var cur []logical
	flush := func() {
		if len(cur) > 0 {
			blocks = append(blocks, cur)
			cur = nil
		}
	}
	for i, l := range strings.Split(text, "\n") {
		switch {
		case strings.TrimSpace(l) == "":
			flush()
		case l[0] == ' ':
			if len(cur) == 0 {
				return nil, fmt.Errorf("ldif line %d: continuation line without a line to continue", i+1)
			}
			cur[len(cur)-1].text += l[1:]
		default:
			cur = append(cur, logical{i + 1, l})
		}
	}
	flush()
	var recs []ldifRecord
	for bi, blk := range blocks {
		var lines []ldifLine
		for _, l := range blk {
			if strings.HasPrefix(l.text, "#") {
				continue
			}
			name, val, err := parseLDIFLine(l.text)
			if err != nil {
				return nil, fmt.Errorf("ldif line %d: %w", l.n, err)
			}
			lines = append(lines, ldifLine{l.n, name, val})
		}
		if bi == 0 && len(lines) > 0 && strings.EqualFold(lines[0].name, "version") {
			lines = lines[1:]
		}
		if len(lines) == 0 {
			continue
		}
		rec, err := parseRecord(lines)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

func parseLDIFLine(l string) (name, value string, err error) {
	i := strings.IndexByte(l, ':')
	if i <= 0 {
		if strings.TrimSpace(l) == "-" {
			return "-", "", nil
		}
		return "", "", fmt.Errorf("%q is not \"attribute: value\"", l)
	}
	name, rest := strings.TrimSpace(l[:i]), l[i+1:]
	switch {
	case strings.HasPrefix(rest, ":"):
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest[1:]))
		if err != nil {
			return "", "", fmt.Errorf("%s: bad base64: %w", name, err)
		}
		return name, string(b), nil
	case strings.HasPrefix(rest, "<"):
		u, err := url.Parse(strings.TrimSpace(rest[1:]))
		if err != nil || u.Scheme != "file" {
			return "", "", fmt.Errorf("%s: only file:// URLs are supported, not %q", name, strings.TrimSpace(rest[1:]))
		}
		b, err := os.ReadFile(u.Path)
		if err != nil {
			return "", "", fmt.Errorf("%s: %w", name, err)
		}
		return name, string(b), nil
	default:
		return name, strings.TrimLeft(rest, " "), nil
	}
}

func parseRecord(lines []ldifLine) (ldifRecord, error) {
	first := lines[0]
	rec := ldifRecord{line: first.n, changeType: "add"}
	if !strings.EqualFold(first.name, "dn") {
		return rec, fmt.Errorf("ldif line %d: a record must start with dn:, not %s:", first.n, first.name)
	}
	rec.dn = first.text
	lines = lines[1:]
	if len(lines) > 0 && strings.EqualFold(lines[0].name, "control") {
		return rec, fmt.Errorf("ldif line %d: controls are not supported", lines[0].n)
	}
	if len(lines) > 0 && strings.EqualFold(lines[0].name, "changetype") {
		rec.changeType = strings.ToLower(strings.TrimSpace(lines[0].text))
		lines = lines[1:]
	}
	bad := func(l ldifLine, format string, args ...any) (ldifRecord, error) {
		return rec, fmt.Errorf("ldif line %d (dn %q): %s", l.n, rec.dn, fmt.Sprintf(format, args...))
	}
	switch rec.changeType {
	case "add":
		e := entry{}
		for _, l := range lines {
			if l.name == "-" {
				return bad(l, `"-" outside a modify record`)
			}
			e.add(l.name, l.text)
		}
		if len(e.attrs) == 0 {
			return bad(first, "an entry to add needs attributes")
		}
		rec.attrs = e.attrs
	case "delete":
		if len(lines) > 0 {
			return bad(lines[0], "a delete record has no other lines")
		}
	case "modrdn", "moddn":
		rec.changeType = "modrdn"
		rec.deleteOld = true
		for _, l := range lines {
			switch strings.ToLower(l.name) {
			case "newrdn":
				rec.newRDN = l.text
			case "deleteoldrdn":
				rec.deleteOld = strings.TrimSpace(l.text) == "1"
			case "newsuperior":
				rec.newSup = l.text
			default:
				return bad(l, "unexpected %s: in a modrdn record", l.name)
			}
		}
		if rec.newRDN == "" {
			return bad(first, "modrdn without newrdn:")
		}
	case "modify":
		var m *ldifMod
		for _, l := range lines {
			switch {
			case l.name == "-":
				if m == nil {
					return bad(l, `"-" without a modification`)
				}
				rec.mods = append(rec.mods, *m)
				m = nil
			case m == nil:
				op := strings.ToLower(l.name)
				if op != "add" && op != "delete" && op != "replace" {
					return bad(l, "want add:, delete: or replace:, not %s:", l.name)
				}
				m = &ldifMod{op: op, attr: strings.TrimSpace(l.text)}
			case strings.EqualFold(l.name, m.attr):
				m.vals = append(m.vals, l.text)
			default:
				return bad(l, "%s: inside a modification of %s (missing \"-\"?)", l.name, m.attr)
			}
		}
		if m != nil {
			rec.mods = append(rec.mods, *m)
		}
	default:
		return bad(first, "changetype %q is not supported (add, delete, modify, modrdn)", rec.changeType)
	}
	return rec, nil
}

// apply runs the record on c.
func (r ldifRecord) apply(c *ldap.Conn) error {
	switch r.changeType {
	case "add":
		return c.Add(entry{dn: r.dn, attrs: r.attrs}.addRequest())
	case "delete":
		return c.Del(ldap.NewDelRequest(r.dn, nil))
	case "modrdn":
		return c.ModifyDN(ldap.NewModifyDNRequest(r.dn, r.newRDN, r.deleteOld, r.newSup))
	case "modify":
		m := ldap.NewModifyRequest(r.dn, nil)
		for _, x := range r.mods {
			switch x.op {
			case "add":
				m.Add(x.attr, x.vals)
			case "delete":
				m.Delete(x.attr, x.vals)
			case "replace":
				m.Replace(x.attr, x.vals)
			}
		}
		return c.Modify(m)
	}
	return fmt.Errorf("changetype %s", r.changeType)
}

func (r ldifRecord) String() string {
	return "record at line " + strconv.Itoa(r.line) + " (" + r.changeType + " " + strconv.Quote(r.dn) + ")"
}
