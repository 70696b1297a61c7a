package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/plan"
)

// TestUser is one user of a test result, in the shape of bwdc's `test` output.
type TestUser struct {
	ExternalID  string `json:"externalId"`
	DisplayName string `json:"displayName"`
}

// TestGroup is one group of a test result, in the shape of bwdc's `test` output; UserIDs are the
// externalIds of every user in the group, nested groups flattened.
type TestGroup struct {
	ExternalID  string   `json:"externalId"`
	DisplayName string   `json:"displayName"`
	UserIDs     []string `json:"userIds"`
	// Nested names the groups directly nested in this one (dirconn's addition).
	Nested []string `json:"nestedGroups,omitempty"`
}

// TestResult is what the directory holds, without talking to Bitwarden. Its JSON keeps the shape of
// bwdc's `test --json` output so scripts carry over; dirconn adds skipped records and completeness.
type TestResult struct {
	Object        string            `json:"object"`
	Groups        []TestGroup       `json:"groups"`
	EnabledUsers  []TestUser        `json:"enabledUsers"`
	DisabledUsers []TestUser        `json:"disabledUsers"`
	DeletedUsers  []TestUser        `json:"deletedUsers"`
	Skipped       []directory.Issue `json:"skipped"`
	Complete      bool              `json:"complete"`
	Incomplete    []string          `json:"incomplete,omitempty"`
	Reads         []directory.Read  `json:"reads"`
}

// Test reads the directory and reports what it holds. With sinceLast the adapter may read changes since
// the last successful sync only (its delta cursor); otherwise it reads everything.
func (e *Engine) Test(ctx context.Context, sinceLast bool) (*TestResult, error) {
	req := directory.FetchRequest{
		Users:          e.Settings.Plan.Users,
		Groups:         e.Settings.Plan.Groups,
		Filters:        e.Settings.Filters,
		Full:           !sinceLast,
		RemoveDisabled: e.Settings.Plan.RemoveDisabled,
	}
	if sinceLast {
		st, err := e.Store.Load()
		if err != nil {
			return nil, err
		}
		req.Cursor = st.Cursor
	}
	e.report(Event{Stage: "fetch", Message: "reading the directory"})
	snap, err := e.Source.Fetch(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("read the directory: %w", err)
	}
	d := plan.Normalize(snap, e.Settings.Normalize)
	return newTestResult(d, snap), nil
}

func newTestResult(d *plan.Desired, snap *directory.Snapshot) *TestResult {
	r := &TestResult{
		Object:        "test",
		Groups:        []TestGroup{},
		EnabledUsers:  []TestUser{},
		DisabledUsers: []TestUser{},
		DeletedUsers:  []TestUser{},
		Skipped:       d.Skipped,
		Complete:      d.Complete(),
		Incomplete:    d.Incomplete,
		Reads:         snap.Completeness.Reads,
	}
	if r.Skipped == nil {
		r.Skipped = []directory.Issue{}
	}
	for _, u := range d.Users {
		tu := TestUser{ExternalID: u.ExternalID, DisplayName: u.Email}
		if tu.DisplayName == "" {
			tu.DisplayName = u.ExternalID
		}
		switch {
		case u.Deleted:
			r.DeletedUsers = append(r.DeletedUsers, tu)
		case u.Disabled:
			r.DisabledUsers = append(r.DisabledUsers, tu)
		default:
			r.EnabledUsers = append(r.EnabledUsers, tu)
		}
	}
	for i := range d.Groups {
		g := &d.Groups[i]
		r.Groups = append(r.Groups, TestGroup{ExternalID: g.ExternalID, DisplayName: g.Name, UserIDs: d.Members(g), Nested: g.Nested})
	}
	byName := func(a, b TestUser) int { return compareFold(a.DisplayName, b.DisplayName) }
	slices.SortFunc(r.EnabledUsers, byName)
	slices.SortFunc(r.DisabledUsers, byName)
	slices.SortFunc(r.DeletedUsers, byName)
	slices.SortFunc(r.Groups, func(a, b TestGroup) int { return compareFold(a.DisplayName, b.DisplayName) })
	return r
}

// compareFold orders strings case-insensitively (ASCII letters; other bytes as they are), then exactly,
// without allocating: sorting 50,000 names must not make a lowercase copy per comparison.
func compareFold(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := lowerASCII(a[i]), lowerASCII(b[i])
		if ca != cb {
			return int(ca) - int(cb)
		}
	}
	if c := len(a) - len(b); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
