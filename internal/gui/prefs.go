package gui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dirconn/dirconn/internal/atomicfile"
)

// PrefsFile is the desktop app's own settings file in the data dir (config.json is shared with the CLI).
const PrefsFile = "gui.json"

// Prefs are the desktop app's own settings.
type Prefs struct {
	// Syncing is true while interval syncs are on: the app starts them again after a restart.
	Syncing bool `json:"syncing"`
	// MinimizeToTray hides the window to the tray when it is minimized; CloseToTray when it is closed.
	MinimizeToTray bool `json:"minimizeToTray"`
	CloseToTray    bool `json:"closeToTray"`
}

// defaultPrefs are used when gui.json does not exist yet.
func defaultPrefs() Prefs { return Prefs{CloseToTray: true} }

// LoadPrefs reads dataDir/gui.json; a missing file gives the defaults.
func LoadPrefs(dataDir string) (Prefs, error) {
	p := defaultPrefs()
	data, err := os.ReadFile(filepath.Join(dataDir, PrefsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return defaultPrefs(), fmt.Errorf("%s: %w", filepath.Join(dataDir, PrefsFile), err)
	}
	return p, nil
}

// SavePrefs writes dataDir/gui.json atomically with mode 0600.
func SavePrefs(dataDir string, p Prefs) error {
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dataDir, PrefsFile), append(data, '\n'), 0o600)
}
