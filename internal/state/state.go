// Package state keeps the sync cache (what the server accepted), delta cursors, last sync times, held
// deletions and the history of recent runs in state.json, and the dirconn.lock that lets only one sync run
// at a time across the GUI, the CLI and the service. Writes are atomic; a state file that does not parse is
// kept aside and reported, never silently reset.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dirconn/dirconn/internal/atomicfile"
	"github.com/dirconn/dirconn/internal/plan"
)

// Version is the state file format version.
const Version = 1

// MaxHistory is how many runs the history keeps.
const MaxHistory = 100

// FileName is the state file's name in the data dir.
const FileName = "state.json"

// Run is one entry of the run history.
type Run struct {
	ID       string      `json:"id"`
	Kind     string      `json:"kind"`    // "sync" or "dry-run"
	Trigger  string      `json:"trigger"` // "cli", "schedule", "gui", "demo"
	Started  time.Time   `json:"started"`
	Finished time.Time   `json:"finished"`
	Result   string      `json:"result"` // "ok", "held", "failed", "cancelled"
	Error    string      `json:"error,omitempty"`
	Counts   plan.Counts `json:"counts"`
	// Accepted is how many import requests the server accepted.
	Accepted int `json:"accepted"`
	// Notes repeats the plan's notes and guard reasons, so the history explains itself.
	Notes []string `json:"notes,omitempty"`
}

// Held is the set of removals the guard held in the last run, for front ends to show and approve.
type Held struct {
	At         time.Time           `json:"at"`
	Removals   []plan.MemberChange `json:"removals"`
	Reasons    []string            `json:"reasons"`
	Approvable bool                `json:"approvable"`
}

// State is the content of state.json.
type State struct {
	Version   int    `json:"version"`
	OrgID     string `json:"orgId,omitempty"`
	APIURL    string `json:"apiUrl,omitempty"`
	Directory string `json:"directory,omitempty"`
	// Synced is the sync cache.
	Synced        *plan.Synced `json:"synced"`
	LastUserSync  *time.Time   `json:"lastUserSync,omitempty"`
	LastGroupSync *time.Time   `json:"lastGroupSync,omitempty"`
	LastFullSync  *time.Time   `json:"lastFullSync,omitempty"`
	Cursor        string       `json:"cursor,omitempty"`
	// FullPending asks the next run for a full push (set by ClearCache).
	FullPending bool  `json:"fullPending,omitempty"`
	Held        *Held `json:"held,omitempty"`
	History     []Run `json:"history"`
}

// New returns an empty state.
func New() *State {
	return &State{Version: Version, Synced: plan.NewSynced(), History: []Run{}}
}

// ClearCache forgets what was synced, the delta cursor and the last sync times, and asks the next run to
// resend the whole desired state. The history stays.
func (s *State) ClearCache() {
	s.Synced = plan.NewSynced()
	s.LastUserSync, s.LastGroupSync, s.LastFullSync = nil, nil, nil
	s.Cursor = ""
	s.Held = nil
	s.FullPending = true
}

// AddRun appends r to the history, keeping the newest MaxHistory runs.
func (s *State) AddRun(r Run) {
	s.History = append(s.History, r)
	if n := len(s.History) - MaxHistory; n > 0 {
		s.History = append([]Run(nil), s.History[n:]...)
	}
}

// LastRun returns the newest history entry, or nil.
func (s *State) LastRun() *Run {
	if len(s.History) == 0 {
		return nil
	}
	return &s.History[len(s.History)-1]
}

// ErrCorrupt means state.json did not parse. The file was moved aside; the error says where.
var ErrCorrupt = errors.New("the state file is damaged")

// Store reads and writes state.json in a data dir.
type Store struct {
	dir string
}

// NewStore returns the store of dataDir.
func NewStore(dataDir string) *Store { return &Store{dir: dataDir} }

// Path is the state file's path.
func (st *Store) Path() string { return filepath.Join(st.dir, FileName) }

// Load reads the state. A missing file gives an empty state. A file that does not parse is renamed to
// state.json.damaged-<time> and ErrCorrupt is returned: the caller reports it, and the next run starts
// from an empty cache (a full push), with the damaged file kept for inspection.
func (st *Store) Load() (*State, error) {
	data, err := os.ReadFile(st.Path())
	if errors.Is(err, os.ErrNotExist) {
		return New(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	s := New()
	if err := json.Unmarshal(data, s); err != nil || s.Version > Version || s.Version < 1 {
		reason := "unsupported version"
		if err != nil {
			reason = err.Error()
		}
		aside := fmt.Sprintf("%s.damaged-%s", st.Path(), time.Now().UTC().Format("20060102T150405Z"))
		if rerr := os.Rename(st.Path(), aside); rerr != nil {
			return nil, fmt.Errorf("%w: %s (%s); it could not be moved aside: %v", ErrCorrupt, st.Path(), reason, rerr)
		}
		return nil, fmt.Errorf("%w: %s (%s); it was kept as %s and the next run starts from an empty sync cache (a full push)", ErrCorrupt, st.Path(), reason, aside)
	}
	if s.Synced == nil {
		s.Synced = plan.NewSynced()
	}
	if s.Synced.Members == nil {
		s.Synced.Members = map[string]plan.SyncedMember{}
	}
	if s.Synced.Groups == nil {
		s.Synced.Groups = map[string]plan.SyncedGroup{}
	}
	if s.History == nil {
		s.History = []Run{}
	}
	return s, nil
}

// Save writes the state atomically with mode 0600.
func (st *Store) Save(s *State) error {
	s.Version = Version
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if err := os.MkdirAll(st.dir, 0o700); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return atomicfile.WriteFile(st.Path(), data, 0o600)
}
