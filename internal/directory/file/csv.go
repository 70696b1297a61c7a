package file

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/dirconn/dirconn/internal/directory"
)

// CSV columns, matched case-insensitively; other columns are ignored.
const (
	colID       = "id"
	colEmail    = "email"
	colDisabled = "disabled"
	colDeleted  = "deleted"
	colUsername = "username"
	colName     = "name"
	colGroups   = "groups"
)

// parseCSV reads one user per line under a header row. The groups column lists group names separated by
// ";"; every distinct name becomes a group whose ID is the name.
func parseCSV(ctx context.Context, data []byte) (*parsed, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1 // a line with the wrong number of fields is an issue, not the end of the read
	header, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file has no header row")
		}
		return nil, csvError(err)
	}
	cols := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if name == "" {
			continue
		}
		if _, dup := cols[name]; dup {
			return nil, fmt.Errorf("the header names the column %q twice", name)
		}
		cols[name] = i
	}
	idCol, ok := cols[colID]
	if !ok {
		if len(header) == 1 && strings.ContainsAny(header[0], ";\t") {
			return nil, errors.New("the header has no \"id\" column; the file looks separated by semicolons or tabs, but columns must be separated by commas")
		}
		return nil, fmt.Errorf("the header has no \"id\" column (columns: %s)", strings.Join(header, ", "))
	}
	field := func(rec []string, name string) string {
		if i, ok := cols[name]; ok {
			return rec[i]
		}
		return ""
	}

	p := &parsed{}
	var groupNames []string          // in order of first appearance
	members := map[string][]string{} // group name -> user ids
	for n := 0; ; n++ {
		if n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := r.FieldPos(0)
		src := fmt.Sprintf("line %d", line)
		if blank(rec) {
			continue
		}
		p.entries++
		if len(rec) != len(header) {
			id := ""
			if idCol < len(rec) {
				id = strings.TrimSpace(rec[idCol])
			}
			p.issue("user", id, "", src, fmt.Sprintf("it has %d fields, the header has %d", len(rec), len(header)))
			continue
		}
		id, email := strings.TrimSpace(rec[idCol]), field(rec, colEmail)
		if id == "" {
			p.issue("user", "", strings.TrimSpace(email), src, "it has no id")
			continue
		}
		u := directory.User{ID: id, Email: email, EmailPrefix: field(rec, colUsername), DisplayName: field(rec, colName)}
		var bad []string
		for _, c := range []struct {
			name string
			dst  *bool
		}{{colDisabled, &u.Disabled}, {colDeleted, &u.Deleted}} {
			v := strings.TrimSpace(field(rec, c.name))
			if v == "" {
				continue
			}
			b, err := directory.ParseBool(v)
			if err != nil {
				bad = append(bad, fmt.Sprintf("column %s: %v", c.name, err))
			}
			*c.dst = b
		}
		if len(bad) > 0 {
			p.issue("user", id, strings.TrimSpace(email), src, strings.Join(bad, "; "))
			continue
		}
		p.addUser(u, src)
		for _, g := range strings.Split(field(rec, colGroups), ";") {
			if g = strings.TrimSpace(g); g == "" {
				continue
			}
			if _, seen := members[g]; !seen {
				groupNames = append(groupNames, g)
			}
			members[g] = append(members[g], id)
		}
	}
	for _, g := range groupNames {
		p.addGroup(directory.Group{ID: g, Name: g, Users: members[g]}, "groups column")
	}
	p.finish(func(id string) string { return id })
	return p, nil
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// csvError rewords a CSV syntax error. A quoting error ends the read: after it, where one line stops and
// the next begins is a guess, and a guess could silently drop people.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("line %d, column %d: %w", pe.Line, pe.Column, pe.Err)
	}
	return err
}
