package gui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrefsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p, err := LoadPrefs(dir)
	if err != nil || p != defaultPrefs() {
		t.Fatalf("missing file: %+v, %v; want the defaults", p, err)
	}
	want := Prefs{Syncing: true, MinimizeToTray: true}
	if err := SavePrefs(dir, want); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadPrefs(dir); err != nil || got != want {
		t.Errorf("LoadPrefs = %+v, %v; want %+v", got, err, want)
	}
	if fi, _ := os.Stat(filepath.Join(dir, PrefsFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	os.WriteFile(filepath.Join(dir, PrefsFile), []byte("{"), 0o600)
	if got, err := LoadPrefs(dir); err == nil || got != defaultPrefs() {
		t.Errorf("damaged file: %+v, %v; want the defaults and an error", got, err)
	}
}

func TestLogFileRotates(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenLogFile(filepath.Join(dir, "logs"), "x.log", 100)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("a", 39) + "\n"
	for range 6 {
		if _, err := l.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	cur, _ := os.ReadFile(filepath.Join(dir, "logs", "x.log"))
	old, _ := os.ReadFile(filepath.Join(dir, "logs", "x.log.1"))
	if len(cur) > 100 || len(old) > 100 || len(cur)+len(old) != 4*len(line) {
		t.Errorf("current %d bytes, previous %d bytes; want at most 100 each and the newest 4 lines kept", len(cur), len(old))
	}
	if fi, _ := os.Stat(filepath.Join(dir, "logs", "x.log")); fi.Mode().Perm() != 0o600 {
		t.Errorf("log mode %v, want 0600", fi.Mode().Perm())
	}
}
