// Package directory holds the domain types every directory adapter returns (User, Group, Snapshot with its
// completeness record), the Source interface adapters implement, the declarative option schema that drives
// validation, CLI config keys and GUI forms, the adapter registry and the errors adapters share.
//
// Adapters live in sub-packages (file, ldap, entra, ...) and import only this package (and shared helpers
// such as httpx); they never import the engine, the Bitwarden client or the connector.
package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// User is one person read from a directory.
type User struct {
	// ID is the directory-local identifier that group member lists refer to (an LDAP DN, a cloud object
	// id, a file id). It is unique within one snapshot.
	ID string
	// ExternalID is what Bitwarden stores for this user. Empty means "same as ID".
	ExternalID string
	// Email as the directory returns it; the engine trims and lowercases it.
	Email string
	// EmailPrefix is the value combined with sync.emailSuffix when Email is empty and
	// sync.useEmailPrefixSuffix is on (LDAP emailPrefixAttribute, OneLogin username, a file's username).
	EmailPrefix string
	// DisplayName is for people reading results; it is never sent to Bitwarden.
	DisplayName string
	Disabled    bool
	Deleted     bool
}

// Key returns the externalId Bitwarden stores for u.
func (u *User) Key() string {
	if u.ExternalID != "" {
		return u.ExternalID
	}
	return u.ID
}

// Group is one group read from a directory, with its direct members.
type Group struct {
	// ID is the directory-local identifier nested group lists refer to.
	ID string
	// ExternalID is what Bitwarden stores for this group. Empty means "same as ID".
	ExternalID string
	Name       string
	// Users holds the IDs (User.ID) of direct user members. IDs of users the snapshot does not contain
	// are ignored by the engine.
	Users []string
	// Groups holds the IDs (Group.ID) of direct member groups. The engine flattens them (cycle-safe);
	// a group that is not in the snapshot contributes nothing.
	Groups []string
}

// Key returns the externalId Bitwarden stores for g.
func (g *Group) Key() string {
	if g.ExternalID != "" {
		return g.ExternalID
	}
	return g.ID
}

// Issue is a problem with one directory record. The record is skipped and reported; the run goes on.
type Issue struct {
	Kind string `json:"kind"`         // "user" or "group"
	ID   string `json:"id,omitempty"` // the record's ID (User.ID, Group.ID), empty when it has none
	// ExternalID is the record's externalId when it differs from ID and the adapter knows it (an AD
	// objectGUID next to a DN). A skipped user whose ID and externalId are known stays in its groups and is
	// never removed because of the skip.
	ExternalID string `json:"externalId,omitempty"`
	Name       string `json:"name,omitempty"`   // email or group name, for people
	Reason     string `json:"reason"`           // what is wrong, in plain words
	Source     string `json:"source,omitempty"` // where the record came from (file line, DN), when known
}

// Key returns the externalId of the record, or "" when it has no id.
func (i Issue) Key() string {
	if i.ExternalID != "" {
		return i.ExternalID
	}
	return i.ID
}

func (i Issue) String() string {
	var who []string
	for _, s := range []string{i.Name, i.ID, i.Source} {
		if s != "" && !slices.Contains(who, s) {
			who = append(who, s)
		}
	}
	if len(who) == 0 {
		return fmt.Sprintf("%s without id: %s", i.Kind, i.Reason)
	}
	return fmt.Sprintf("%s %s: %s", i.Kind, strings.Join(who, ", "), i.Reason)
}

// Read records one read an adapter made (a paged search, a ranged attribute, a paged API listing) and
// whether it finished.
type Read struct {
	What     string `json:"what"`
	Pages    int    `json:"pages"`
	Entries  int    `json:"entries"`
	Finished bool   `json:"finished"`
	Reason   string `json:"reason,omitempty"` // why it did not finish
}

// Completeness is the record of every read behind a snapshot. A snapshot is complete only when every
// read finished; the engine holds all deletions otherwise.
type Completeness struct {
	Reads []Read `json:"reads"`
}

// Add records a read.
func (c *Completeness) Add(r Read) { c.Reads = append(c.Reads, r) }

// Complete reports whether every read finished.
func (c *Completeness) Complete() bool {
	for _, r := range c.Reads {
		if !r.Finished {
			return false
		}
	}
	return true
}

// Incomplete lists why the reads that did not finish stopped.
func (c *Completeness) Incomplete() []string {
	var out []string
	for _, r := range c.Reads {
		if !r.Finished {
			reason := r.Reason
			if reason == "" {
				reason = "did not finish"
			}
			out = append(out, r.What+": "+reason)
		}
	}
	return out
}

// Snapshot is one full read of a directory.
type Snapshot struct {
	Users  []User
	Groups []Group
	// UsersRead and GroupsRead say whether users and groups were read at all (sync.users, sync.groups).
	// When users were not read the engine neither invites nor removes anyone.
	UsersRead  bool
	GroupsRead bool
	// Issues are records the adapter could not use (a broken line, an entry without an id).
	Issues       []Issue
	Completeness Completeness
	// Cursor is an opaque delta cursor for the next read (Graph deltaLink, ...). The engine stores it only
	// after a successful run.
	Cursor string
}

// Filters are the sync.userFilter and sync.groupFilter settings, in the adapter's own syntax.
type Filters struct {
	User  string
	Group string
}

// FetchRequest says what a read should return.
type FetchRequest struct {
	Users   bool
	Groups  bool
	Filters Filters
	// Full asks for a full read even when the adapter could read changes only.
	Full bool
	// Cursor is the delta cursor the last successful run stored, if any.
	Cursor string
	// RemoveDisabled is sync.removeDisabled; group-set filters keep disabled users when it is on.
	RemoveDisabled bool
}

// Source reads one directory. Fetch returns a full snapshot, an error, or a snapshot whose Completeness
// says which reads did not finish. It never returns a silently short list.
type Source interface {
	Fetch(ctx context.Context, req FetchRequest) (*Snapshot, error)
}

// Sentinel errors adapters wrap so front ends can explain failures.
var (
	// ErrAuth means the directory refused the credentials.
	ErrAuth = errors.New("authentication failed")
	// ErrUnreachable means the directory could not be reached at all.
	ErrUnreachable = errors.New("directory unreachable")
	// ErrConfig means the adapter's settings are wrong or incomplete.
	ErrConfig = errors.New("invalid directory settings")
	// ErrFilter means a user or group filter does not parse.
	ErrFilter = errors.New("invalid filter")
)

// ConfigError is a problem with one setting.
type ConfigError struct {
	Key    string
	Reason string
}

func (e *ConfigError) Error() string { return e.Key + ": " + e.Reason }
func (e *ConfigError) Unwrap() error { return ErrConfig }

// ConfigErrors collects every problem found in one validation pass.
type ConfigErrors []*ConfigError

func (es ConfigErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

func (es ConfigErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}
