package file

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory"
)

func TestAdapter(t *testing.T) {
	a := Adapter()
	if a.Name != "file" || a.Title != "File (JSON, CSV or LDIF)" || a.Number != -1 {
		t.Errorf("Name, Title, Number = %q, %q, %d; want file, File (JSON, CSV or LDIF), -1", a.Name, a.Title, a.Number)
	}
	if a.UserFilterHelp != "" || a.GroupFilterHelp != "" {
		t.Errorf("filter help = %q, %q; want none (the file source has no filters)", a.UserFilterHelp, a.GroupFilterHelp)
	}
	type opt struct {
		Name     string
		Kind     directory.Kind
		Default  string
		Required bool
		Choices  []string
	}
	var got []opt
	for _, o := range a.Options {
		got = append(got, opt{o.Name, o.Kind, o.Default, o.Required, o.Choices})
		if o.Help == "" || o.Label == "" {
			t.Errorf("option %q has no label or help", o.Name)
		}
	}
	want := []opt{
		{Name: "path", Kind: directory.KindPath, Required: true},
		{Name: "format", Kind: directory.KindChoice, Default: "auto", Choices: []string{"auto", "json", "csv", "ldif"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("options differ (-want +got):\n%s", diff)
	}
	var r directory.Registry
	r.Register(a) // panics on a schema the registry refuses
}

func TestValidate(t *testing.T) {
	opts := Adapter().Options
	tests := []struct {
		name   string
		values directory.Values
		want   []string
	}{
		{"path and default format", directory.Values{"path": "users.csv"}, nil},
		{"format in capitals", directory.Values{"path": "x", "format": "LDIF"}, nil},
		{"no path", directory.Values{"format": "json"}, []string{"file.path"}},
		{"unknown format", directory.Values{"path": "x.json", "format": "xml"}, []string{"file.format"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range directory.Validate("file", opts, directory.WithDefaults(opts, tt.values)) {
				got = append(got, e.Key)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Validate keys differ (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		format     string
		wantFormat string
		wantErr    string // the ConfigError's key and reason, "" for success
	}{
		{"json by extension", "users.json", "auto", FormatJSON, ""},
		{"csv by extension in capitals", "USERS.CSV", "", FormatCSV, ""},
		{"ldif", "export.ldif", "auto", FormatLDIF, ""},
		{"ldf", "export.LDF", "auto", FormatLDIF, ""},
		{"explicit format beats extension", "export.txt", "ldif", FormatLDIF, ""},
		{"explicit format in capitals", "data", " JSON ", FormatJSON, ""},
		{"unknown extension", "users.txt", "auto", "", `file.format: cannot tell the format of "users.txt" from its extension: name the file .json, .csv or .ldif, or set file.format to json, csv or ldif`},
		{"no extension", "users", "", "", `file.format: cannot tell the format of "users"`},
		{"unknown format", "users.json", "yaml", "", `file.format: "yaml" is not one of: auto, json, csv, ldif`},
		{"no path", "  ", "json", "", "file.path: is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := New(directory.Config{Values: directory.Values{"path": tt.path, "format": tt.format}})
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("New = %v, want an error starting %q", err, tt.wantErr)
				}
				if !errors.Is(err, directory.ErrConfig) {
					t.Errorf("New error %v does not wrap directory.ErrConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New = %v", err)
			}
			if got := src.(*Source).Format(); got != tt.wantFormat {
				t.Errorf("Format() = %q, want %q", got, tt.wantFormat)
			}
		})
	}
}

func TestNewDoesNoIO(t *testing.T) {
	if _, err := New(directory.Config{Values: directory.Values{"path": "/nonexistent/dir/users.json"}}); err != nil {
		t.Errorf("New(missing file) = %v, want no error until Fetch", err)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFetchReadsRelativePathEveryTime(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "hr"), 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "hr", "people.csv")
	writeFile(t, path, "id,email\nu1,a@example.com\n")
	src, err := New(directory.Config{BaseDir: dir, Values: directory.Values{"path": filepath.Join("hr", "people.csv"), "format": "auto"}})
	if err != nil {
		t.Fatal(err)
	}
	ids := func() []string {
		s, err := src.Fetch(t.Context(), all)
		if err != nil {
			t.Fatalf("Fetch = %v", err)
		}
		var out []string
		for _, u := range s.Users {
			out = append(out, u.ID)
		}
		want := []directory.Read{{What: "file " + path, Pages: 1, Entries: len(out), Finished: true}}
		if diff := cmp.Diff(want, s.Completeness.Reads); diff != "" {
			t.Errorf("reads differ (-want +got):\n%s", diff)
		}
		return out
	}
	if diff := cmp.Diff([]string{"u1"}, ids()); diff != "" {
		t.Errorf("first read (-want +got):\n%s", diff)
	}
	writeFile(t, path, "id,email\nu1,a@example.com\nu2,b@example.com\n")
	if diff := cmp.Diff([]string{"u1", "u2"}, ids()); diff != "" {
		t.Errorf("read after the file changed (-want +got):\n%s", diff)
	}
}

func TestFetchMissingFile(t *testing.T) {
	src, err := New(directory.Config{Values: directory.Values{"path": filepath.Join(t.TempDir(), "gone.json")}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := src.Fetch(t.Context(), all)
	if !errors.Is(err, directory.ErrUnreachable) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Fetch(missing file) = %v, want an error wrapping ErrUnreachable and ErrNotExist", err)
	}
	if s != nil {
		t.Errorf("Fetch(missing file) returned a snapshot")
	}
}

func TestFetchRequest(t *testing.T) {
	const doc = `{"users":[{"id":"u1"},{"email":"broken"}],"groups":[{"id":"g1","name":"G","members":["u1"]}]}`
	tests := []struct {
		name       string
		req        directory.FetchRequest
		users      int
		groups     int
		usersRead  bool
		groupsRead bool
	}{
		{"both", directory.FetchRequest{Users: true, Groups: true}, 1, 1, true, true},
		{"users only", directory.FetchRequest{Users: true}, 1, 0, true, false},
		{"groups only", directory.FetchRequest{Groups: true}, 0, 1, false, true},
		{"neither", directory.FetchRequest{}, 0, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := FromBytes("d.json", "auto", []byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			s, err := src.Fetch(t.Context(), tt.req)
			if err != nil {
				t.Fatalf("Fetch = %v", err)
			}
			got := []any{len(s.Users), len(s.Groups), s.UsersRead, s.GroupsRead, len(s.Issues)}
			want := []any{tt.users, tt.groups, tt.usersRead, tt.groupsRead, 1}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("users, groups, UsersRead, GroupsRead, issues differ (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFetchRefusesFilters(t *testing.T) {
	src, err := FromBytes("d.json", "json", []byte(`{"users":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []directory.Filters{{User: "(mail=*)"}, {Group: "x"}} {
		if _, err := src.Fetch(t.Context(), directory.FetchRequest{Users: true, Filters: f}); !errors.Is(err, directory.ErrFilter) {
			t.Errorf("Fetch(filters %+v) = %v, want ErrFilter", f, err)
		}
	}
}

func TestFetchCancelledWhileParsing(t *testing.T) {
	var b strings.Builder
	b.WriteString("id\n")
	for range 5000 {
		b.WriteString("u\n")
	}
	src, err := FromBytes("big.csv", "auto", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := parseCSV(ctx, []byte(b.String())); !errors.Is(err, context.Canceled) {
		t.Errorf("parseCSV(cancelled) = %v, want context.Canceled", err)
	}
	if _, err := src.Fetch(ctx, all); !errors.Is(err, context.Canceled) {
		t.Errorf("Fetch(cancelled) = %v, want context.Canceled", err)
	}
}

func TestFromBytesCopiesData(t *testing.T) {
	data := []byte(`{"users":[{"id":"u1"}]}`)
	src, err := FromBytes("demo.json", FormatAuto, data)
	if err != nil {
		t.Fatal(err)
	}
	copy(data, `{"users":[{"id":"XX"}]}`)
	s, err := src.Fetch(t.Context(), all)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Users) != 1 || s.Users[0].ID != "u1" {
		t.Errorf("users = %+v, want u1 (FromBytes must copy its input)", s.Users)
	}
	if _, err := FromBytes("demo.txt", FormatAuto, data); !errors.Is(err, directory.ErrConfig) {
		t.Errorf("FromBytes(demo.txt, auto) = %v, want a config error", err)
	}
}
