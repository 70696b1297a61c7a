// Package file is the directory adapter that reads users and groups from a file: a JSON document, a CSV
// export (one user per line) or an LDIF export of an LDAP directory. It serves demo data, HR exports and
// offline LDAP exports. The file is read again on every Fetch.
//
// A file that cannot be read or parsed as a whole fails the read (the engine then removes nobody); a
// single broken record becomes an Issue on the snapshot and is skipped while the rest is used.
package file

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dirconn/dirconn/internal/directory"
)

// Formats the adapter reads.
const (
	FormatAuto = "auto"
	FormatJSON = "json"
	FormatCSV  = "csv"
	FormatLDIF = "ldif"
)

// extensions maps file name extensions to the format FormatAuto picks for them.
var extensions = map[string]string{
	".json": FormatJSON,
	".csv":  FormatCSV,
	".ldif": FormatLDIF,
	".ldf":  FormatLDIF,
}

// Adapter returns the file adapter's description: its option schema and constructor.
func Adapter() directory.Adapter {
	return directory.Adapter{
		Name:   "file",
		Title:  "File (JSON, CSV or LDIF)",
		Number: -1,
		Options: []directory.Option{
			{
				Name: "path", Label: "File", Kind: directory.KindPath, Required: true,
				Help: "the JSON, CSV or LDIF file to read users and groups from; a relative path is resolved against the data directory",
			},
			{
				Name: "format", Label: "Format", Kind: directory.KindChoice, Default: FormatAuto,
				Choices: []string{FormatAuto, FormatJSON, FormatCSV, FormatLDIF},
				Help:    "auto picks the format from the file extension: .json, .csv, .ldif or .ldf",
			},
		},
		New: New,
	}
}

// Source reads one file. It is safe for concurrent use.
type Source struct {
	name   string // the path, or the name given to FromBytes
	format string // FormatJSON, FormatCSV or FormatLDIF
	data   []byte // non-nil for FromBytes sources
}

var _ directory.Source = (*Source)(nil)

// New builds a Source from the adapter's settings: file.path (resolved against cfg.BaseDir) and
// file.format. It does no I/O.
func New(cfg directory.Config) (directory.Source, error) {
	path := cfg.Path("path")
	if path == "" {
		return nil, &directory.ConfigError{Key: "file.path", Reason: "is required"}
	}
	format, err := resolveFormat(path, cfg.Values.String("format"))
	if err != nil {
		return nil, err
	}
	return &Source{name: path, format: format}, nil
}

// FromBytes returns a Source that parses data, in format (FormatAuto picks it from name's extension),
// on every Fetch. Name is used in messages and in the completeness record. The demo mode reads the
// bundled demo directory this way.
func FromBytes(name, format string, data []byte) (*Source, error) {
	f, err := resolveFormat(name, format)
	if err != nil {
		return nil, err
	}
	return &Source{name: name, format: f, data: bytes.Clone(data)}, nil
}

func resolveFormat(path, format string) (string, error) {
	format = strings.ToLower(strings.TrimSpace(format))
	switch format {
	case FormatJSON, FormatCSV, FormatLDIF:
		return format, nil
	case "", FormatAuto:
		ext := strings.ToLower(filepath.Ext(path))
		if f, ok := extensions[ext]; ok {
			return f, nil
		}
		return "", &directory.ConfigError{Key: "file.format", Reason: fmt.Sprintf(
			"cannot tell the format of %q from its extension: name the file .json, .csv or .ldif, or set file.format to json, csv or ldif",
			filepath.Base(path))}
	}
	return "", &directory.ConfigError{Key: "file.format", Reason: fmt.Sprintf("%q is not one of: auto, json, csv, ldif", format)}
}

// Format returns the format s reads: FormatJSON, FormatCSV or FormatLDIF.
func (s *Source) Format() string { return s.format }

// Fetch reads and parses the file. It returns an error when the file cannot be read, is empty, or does
// not parse as a whole; records it cannot use become issues on the snapshot.
func (s *Source) Fetch(ctx context.Context, req directory.FetchRequest) (*directory.Snapshot, error) {
	if req.Filters.User != "" || req.Filters.Group != "" {
		return nil, fmt.Errorf("%w: the file source has no user or group filters", directory.ErrFilter)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", s.name, err)
	}
	data := s.data
	if data == nil {
		var err error
		if data, err = os.ReadFile(s.name); err != nil {
			return nil, fmt.Errorf("%w: %w", directory.ErrUnreachable, err)
		}
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("read %s: the file is empty", s.name)
	}
	var (
		p   *parsed
		err error
	)
	switch s.format {
	case FormatJSON:
		p, err = parseJSON(ctx, data)
	case FormatCSV:
		p, err = parseCSV(ctx, data)
	case FormatLDIF:
		p, err = parseLDIF(ctx, data)
	default:
		err = fmt.Errorf("unknown format %q", s.format)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("read %s: %w", s.name, ctx.Err())
		}
		return nil, fmt.Errorf("parse %s as %s: %w", s.name, strings.ToUpper(s.format), err)
	}
	snap := &directory.Snapshot{UsersRead: req.Users, GroupsRead: req.Groups, Issues: p.issues}
	if req.Users {
		snap.Users = p.users
	}
	if req.Groups {
		snap.Groups = p.groups
	}
	snap.Completeness.Add(directory.Read{What: "file " + s.name, Pages: 1, Entries: p.entries, Finished: true})
	return snap, nil
}

// parsed is what a parser makes of a file.
type parsed struct {
	users   []directory.User
	groups  []directory.Group
	issues  []directory.Issue
	entries int // records read, broken and ignored ones included

	userSrc  []string // where each user came from ("users[3]", "line 7")
	groupSrc []string
}

func (p *parsed) addUser(u directory.User, src string) {
	p.users = append(p.users, u)
	p.userSrc = append(p.userSrc, src)
}

func (p *parsed) addGroup(g directory.Group, src string) {
	p.groups = append(p.groups, g)
	p.groupSrc = append(p.groupSrc, src)
}

func (p *parsed) issue(kind, id, name, src, reason string) {
	p.issues = append(p.issues, directory.Issue{Kind: kind, ID: id, Name: name, Source: src, Reason: reason})
}

// ctxCheckEvery is how many records a parser handles between checks of its context.
const ctxCheckEvery = 1000

// finish makes IDs unique and member lists free of repeats. Records sharing an ID (as key compares
// them) are all skipped with an issue each, since nobody can tell which one is right, unless they are
// identical, in which case one is kept.
func (p *parsed) finish(key func(id string) string) {
	p.users = dedupe(p.users, p.userSrc, func(u directory.User) string { return key(u.ID) },
		func(a, b directory.User) bool { return a == b },
		func(u directory.User, src, where string) {
			p.issue("user", u.ID, u.Email, src, "another record has the same id ("+where+")")
		})
	p.groups = dedupe(p.groups, p.groupSrc, func(g directory.Group) string { return key(g.ID) }, equalGroups,
		func(g directory.Group, src, where string) {
			p.issue("group", g.ID, g.Name, src, "another record has the same id ("+where+")")
		})
	p.userSrc, p.groupSrc = nil, nil
	for i := range p.groups {
		p.groups[i].Users = uniq(p.groups[i].Users)
		p.groups[i].Groups = uniq(p.groups[i].Groups)
	}
}

// dedupe returns items without those whose key another item shares: identical copies after the first are
// dropped silently, differing ones are all dropped and reported, in file order.
func dedupe[T any](items []T, src []string, key func(T) string, equal func(a, b T) bool, report func(item T, src, where string)) []T {
	byKey := make(map[string][]int, len(items))
	for i, it := range items {
		k := key(it)
		byKey[k] = append(byKey[k], i)
	}
	drop := map[int]bool{}
	for i, it := range items {
		idx := byKey[key(it)]
		if len(idx) < 2 || idx[0] != i {
			continue
		}
		same := true
		for _, j := range idx[1:] {
			same = same && equal(items[j], it)
		}
		where := sources(src, idx)
		for n, j := range idx {
			switch {
			case same && n > 0:
				drop[j] = true
			case !same:
				report(items[j], src[j], where)
				drop[j] = true
			}
		}
	}
	if len(drop) == 0 {
		return items
	}
	out := items[:0]
	for i, it := range items {
		if !drop[i] {
			out = append(out, it)
		}
	}
	return out
}

func equalGroups(a, b directory.Group) bool {
	return a.ID == b.ID && a.ExternalID == b.ExternalID && a.Name == b.Name &&
		slices.Equal(a.Users, b.Users) && slices.Equal(a.Groups, b.Groups)
}

func sources(src []string, idx []int) string {
	parts := make([]string, len(idx))
	for n, i := range idx {
		parts[n] = src[i]
	}
	return strings.Join(parts, ", ")
}

// uniq drops empty and repeated values, keeping the first occurrence's order.
func uniq(ids []string) []string {
	if len(ids) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(ids))
	out := ids[:0]
	for _, id := range ids {
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
