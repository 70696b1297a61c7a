package file

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/dirconn/dirconn/internal/directory"
)

// objectClass values (lowercase) that make an entry a group or a user. Group classes win; an entry that
// is also a computer is neither (AD computer accounts are users too).
var (
	groupClasses = []string{"group", "groupofnames", "groupofuniquenames", "posixgroup"}
	userClasses  = []string{"person", "inetorgperson", "user", "organizationalperson"}
)

// ldifLine is one logical line (folded lines joined) and the number of its first physical line.
type ldifLine struct {
	n    int
	text string
}

// ldifEntry is one parsed record.
type ldifEntry struct {
	line  int    // of the dn
	dn    string // as written
	attrs map[string][]string
	errs  []string
	// uncertain is set when a broken line might have been an objectClass value, so the entry's kind is
	// not known for sure.
	uncertain bool
}

func (e *ldifEntry) first(name string) string {
	if v := e.attrs[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (e *ldifEntry) hasClass(classes []string) bool {
	for _, c := range e.attrs["objectclass"] {
		if slices.Contains(classes, strings.ToLower(strings.TrimSpace(c))) {
			return true
		}
	}
	return false
}

// parseLDIF reads the content-record subset of RFC 2849: entries separated by blank lines, "attr: value",
// "attr:: base64", folded lines, comments and an optional "version: 1".
func parseLDIF(ctx context.Context, data []byte) (*parsed, error) {
	records := ldifRecords(data)
	entries := make([]*ldifEntry, 0, len(records))
	for i, rec := range records {
		if i%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if i == 0 && strings.HasPrefix(strings.ToLower(rec[0].text), "version:") {
			if v := strings.TrimSpace(rec[0].text[len("version:"):]); v != "1" {
				return nil, fmt.Errorf("line %d: LDIF version %q is not supported, want 1", rec[0].n, v)
			}
			if rec = rec[1:]; len(rec) == 0 {
				continue
			}
		}
		entries = append(entries, parseLDIFEntry(rec))
	}
	if len(entries) == 0 {
		return nil, errors.New("the file holds no entries")
	}

	p := &parsed{entries: len(entries)}
	// Index every user and group entry by DN, broken ones included, so member references to them use the
	// DN as that entry writes it (the ID its issue carries).
	users := map[string]string{}
	groups := map[string]string{}
	byUID := map[string][]string{}
	for _, e := range entries {
		if e.dn == "" {
			continue
		}
		switch {
		case e.hasClass(groupClasses):
			groups[dnKey(e.dn)] = e.dn
		case e.hasClass(userClasses) && !e.hasClass([]string{"computer"}):
			users[dnKey(e.dn)] = e.dn
			for _, uid := range e.attrs["uid"] {
				k := strings.ToLower(strings.TrimSpace(uid))
				byUID[k] = append(byUID[k], e.dn)
			}
		}
	}
	for _, e := range entries {
		src := fmt.Sprintf("line %d", e.line)
		isGroup := e.hasClass(groupClasses)
		isUser := !isGroup && e.hasClass(userClasses) && !e.hasClass([]string{"computer"})
		switch {
		case e.dn == "":
			kind := "user" // unknown: as a user it holds removals back, the safe side
			if isGroup {
				kind = "group"
			}
			p.issue(kind, "", e.first("mail"), src, strings.Join(e.errs, "; "))
		case len(e.attrs["objectclass"]) == 0:
			reason := "the entry has no objectClass, so it is neither a user nor a group (export objectClass too)"
			if len(e.errs) > 0 {
				reason = strings.Join(e.errs, "; ")
			}
			p.issue("user", e.dn, e.first("mail"), src, reason)
		case isGroup:
			g, reason := ldifGroup(e, users, groups, byUID)
			if reason != "" {
				p.issue("group", e.dn, e.first("cn"), src, reason)
				continue
			}
			p.addGroup(g, src)
		case isUser:
			u, reason := ldifUser(e)
			if reason != "" {
				p.issue("user", e.dn, strings.TrimSpace(e.first("mail")), src, reason)
				continue
			}
			p.addUser(u, src)
		case e.uncertain:
			p.issue("user", e.dn, e.first("mail"), src, "cannot tell whether the entry is a user or a group: "+strings.Join(e.errs, "; "))
		default:
			// Neither a user nor a group (organizational units, computers, ...): ignored.
		}
	}
	p.finish(dnKey)
	return p, nil
}

func ldifUser(e *ldifEntry) (directory.User, string) {
	if len(e.errs) > 0 {
		return directory.User{}, strings.Join(e.errs, "; ")
	}
	u := directory.User{ID: e.dn, Email: e.first("mail")}
	u.EmailPrefix = e.first("uid")
	if u.EmailPrefix == "" {
		u.EmailPrefix = e.first("samaccountname")
	}
	u.DisplayName = e.first("displayname")
	if u.DisplayName == "" {
		u.DisplayName = e.first("cn")
	}
	if v := strings.TrimSpace(e.first("useraccountcontrol")); v != "" {
		uac, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return directory.User{}, fmt.Sprintf("userAccountControl %q is not a number", v)
		}
		u.Disabled = uac&2 != 0 // ACCOUNTDISABLE
	}
	u.Deleted = strings.EqualFold(strings.TrimSpace(e.first("isdeleted")), "TRUE")
	return u, ""
}

// uniqueMemberUID matches the optional "#'0101'B" UID suffix of a uniqueMember value.
var uniqueMemberUID = regexp.MustCompile(`#'[01]*'B$`)

func ldifGroup(e *ldifEntry, users, groups map[string]string, byUID map[string][]string) (directory.Group, string) {
	if len(e.errs) > 0 {
		return directory.Group{}, strings.Join(e.errs, "; ")
	}
	g := directory.Group{ID: e.dn, Name: strings.TrimSpace(e.first("cn"))}
	if g.Name == "" {
		return directory.Group{}, "it has no cn"
	}
	var refs []string
	refs = append(refs, e.attrs["member"]...)
	for _, v := range e.attrs["uniquemember"] {
		refs = append(refs, uniqueMemberUID.ReplaceAllString(v, ""))
	}
	for _, ref := range refs {
		ref = strings.TrimSpace(ref)
		k := dnKey(ref)
		if dn, ok := groups[k]; ok {
			g.Groups = append(g.Groups, dn)
		} else if dn, ok := users[k]; ok {
			g.Users = append(g.Users, dn)
		} else {
			g.Users = append(g.Users, ref) // unknown: kept, the engine ignores IDs it does not hold
		}
	}
	for _, uid := range e.attrs["memberuid"] {
		uid = strings.TrimSpace(uid)
		if dns, ok := byUID[strings.ToLower(uid)]; ok {
			g.Users = append(g.Users, dns...)
		} else {
			g.Users = append(g.Users, uid)
		}
	}
	return g, ""
}

// ldifRecords splits data into records of logical lines: folded lines joined, comments dropped, records
// separated by empty lines (or a "dn:" line in the middle of a record).
func ldifRecords(data []byte) [][]ldifLine {
	var (
		records [][]ldifLine
		cur     []ldifLine
		comment bool // the last logical line was a comment: its continuation lines are dropped too
	)
	end := func() {
		if len(cur) > 0 {
			records = append(records, cur)
		}
		cur, comment = nil, false
	}
	for i, raw := range bytes.Split(data, []byte("\n")) {
		line := strings.TrimSuffix(string(raw), "\r")
		n := i + 1
		switch {
		case line == "":
			end()
		case line[0] == ' ':
			switch {
			case comment:
			case len(cur) == 0:
				cur = append(cur, ldifLine{n: n, text: line}) // reported as a broken line
			default:
				cur[len(cur)-1].text += line[1:]
			}
		case line[0] == '#':
			comment = true
		default:
			comment = false
			if len(cur) > 0 && strings.HasPrefix(strings.ToLower(line), "dn:") {
				end()
			}
			cur = append(cur, ldifLine{n: n, text: line})
		}
	}
	end()
	return records
}

// parseLDIFEntry parses one record. Problems with single lines are collected in errs.
func parseLDIFEntry(rec []ldifLine) *ldifEntry {
	e := &ldifEntry{line: rec[0].n, attrs: map[string][]string{}}
	for i, l := range rec {
		name, value, err := ldifAttr(l.text)
		if err != nil {
			e.errs = append(e.errs, fmt.Sprintf("line %d: %v", l.n, err))
			e.uncertain = e.uncertain || name == "" || name == "objectclass"
			continue
		}
		if i == 0 {
			if name != "dn" {
				e.errs = append(e.errs, fmt.Sprintf("line %d: the entry does not start with dn:", l.n))
			} else if e.dn = strings.TrimSpace(value); e.dn == "" {
				e.errs = append(e.errs, fmt.Sprintf("line %d: the dn is empty", l.n))
			}
			continue
		}
		switch name {
		case "dn":
			e.errs = append(e.errs, fmt.Sprintf("line %d: a second dn", l.n))
		case "changetype":
			if ct := strings.ToLower(strings.TrimSpace(value)); ct != "add" {
				e.errs = append(e.errs, fmt.Sprintf("line %d: change records (changetype: %s) are not supported, only entries", l.n, ct))
			}
		default:
			e.attrs[name] = append(e.attrs[name], value)
		}
	}
	return e
}

// ldifAttr parses "name: value", "name:: base64" or "name:< url" (refused). The name is lowercased and
// stripped of options ("cn;lang-en" is "cn"); it is returned with the error when it parsed.
func ldifAttr(line string) (name, value string, err error) {
	i := strings.IndexByte(line, ':')
	if i <= 0 {
		return "", "", fmt.Errorf("%q is not an attribute line (name: value)", shorten(line))
	}
	name = line[:i]
	for j, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			j > 0 && (c == '-' || c == ';' || c == '.' || c == '=')
		if !ok {
			return "", "", fmt.Errorf("%q is not an attribute name", shorten(name))
		}
	}
	if k := strings.IndexByte(name, ';'); k >= 0 {
		name = name[:k]
	}
	name = strings.ToLower(name)
	rest := line[i+1:]
	switch {
	case strings.HasPrefix(rest, ":"):
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest[1:]))
		if err != nil {
			return name, "", fmt.Errorf("attribute %s: the base64 value does not decode: %v", name, err)
		}
		return name, string(b), nil
	case strings.HasPrefix(rest, "<"):
		return name, "", fmt.Errorf("attribute %s: values read from URLs are not supported", name)
	}
	return name, strings.TrimLeft(rest, " "), nil
}

func shorten(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// dnKey returns the form of dn that DN references are compared in: RDNs split on unescaped commas (and
// plus signs), spaces around separators and equals signs dropped, everything lowercased.
func dnKey(dn string) string {
	var (
		b     strings.Builder
		part  strings.Builder
		parts []string
	)
	flush := func(sep byte) {
		attr, val, ok := strings.Cut(part.String(), "=")
		if ok {
			parts = append(parts, strings.TrimSpace(attr)+"="+strings.TrimSpace(val))
		} else {
			parts = append(parts, strings.TrimSpace(attr))
		}
		parts = append(parts, string(sep))
		part.Reset()
	}
	for i := 0; i < len(dn); i++ {
		c := dn[i]
		switch {
		case c == '\\' && i+1 < len(dn):
			part.WriteByte(c)
			part.WriteByte(dn[i+1])
			i++
		case c == ',' || c == ';' || c == '+':
			if c == ';' {
				c = ','
			}
			flush(c)
		default:
			part.WriteByte(c)
		}
	}
	flush(0)
	for _, p := range parts[:len(parts)-1] {
		b.WriteString(p)
	}
	return strings.ToLower(b.String())
}
