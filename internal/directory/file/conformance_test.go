package file

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/directorytest"
)

func TestConformance(t *testing.T) {
	all := directorytest.AllCaps()
	formats := []struct {
		name  string
		file  string
		caps  directorytest.Caps
		write func(directorytest.Dataset) []byte
		// brk spoils the file the way that format can fail detectably.
		brk func(t *testing.T, path string)
	}{
		{
			name: "json", file: "directory.json", caps: all, write: writeJSON,
			brk: func(t *testing.T, path string) { // a torn write: the parse fails
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, b[:len(b)/2], 0o600); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			// CSV attaches groups to users: no nesting, no empty groups, no members that do not exist.
			name: "csv", file: "users.csv",
			caps:  directorytest.Caps{Disabled: true, Deleted: true, UserWithoutEmail: true, DuplicateEmail: true},
			write: writeCSV,
			// CSV and LDIF have no framing, so a cut at a record boundary cannot be detected; the file
			// vanishing (an export job replacing it) can.
			brk: removeFile,
		},
		{name: "ldif", file: "export.ldif", caps: all, write: writeLDIF, brk: removeFile},
	}
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			var path string
			directorytest.Run(t, directorytest.Harness{
				Caps: f.caps,
				New: func(t *testing.T) directory.Source {
					dir := t.TempDir()
					path = filepath.Join(dir, f.file)
					if err := os.WriteFile(path, f.write(directorytest.Expected(f.caps)), 0o600); err != nil {
						t.Fatal(err)
					}
					src, err := Adapter().New(directory.Config{BaseDir: dir, Values: directory.Values{"path": f.file, "format": "auto"}})
					if err != nil {
						t.Fatalf("New = %v", err)
					}
					return src
				},
				Break: func(t *testing.T) { f.brk(t, path) },
			})
		})
	}
}

func removeFile(t *testing.T, path string) {
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}
