package okta

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/filter"
)

// Okta user statuses that are not "active" for Bitwarden.
const (
	statusSuspended     = "SUSPENDED"
	statusDeprovisioned = "DEPROVISIONED"
)

// oktaUser is the part of an Okta user the adapter uses.
type oktaUser struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Profile struct {
		Login       string `json:"login"`
		Email       string `json:"email"`
		FirstName   string `json:"firstName"`
		LastName    string `json:"lastName"`
		DisplayName string `json:"displayName"`
	} `json:"profile"`
}

// oktaGroup is the part of an Okta group the adapter uses.
type oktaGroup struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Profile struct {
		Name string `json:"name"`
	} `json:"profile"`
}

// Fetch reads users (the default listing, then the DEPROVISIONED users Okta leaves out of it), groups
// and each kept group's members. Every listing is paged to its end; any error on any page fails the
// whole read, so the engine never sees a short list and removes nobody.
func (s *Source) Fetch(ctx context.Context, req directory.FetchRequest) (*directory.Snapshot, error) {
	uf, gf, err := parseFilters(req.Filters)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read okta directory: %w", err)
	}
	c, err := s.newClient()
	if err != nil {
		return nil, err
	}
	defer c.hc.CloseIdleConnections()
	snap := &directory.Snapshot{UsersRead: req.Users, GroupsRead: req.Groups}
	if req.Users {
		if err := c.readUsers(ctx, snap, uf); err != nil {
			return nil, err
		}
	}
	if req.Groups {
		if err := c.readGroups(ctx, snap, gf); err != nil {
			return nil, err
		}
	}
	if req.Users && req.Groups && gf.Set != nil {
		filter.LimitUsersToGroups(snap, req.RemoveDisabled)
	}
	s.log.Info("okta: read", "users", len(snap.Users), "groups", len(snap.Groups), "issues", len(snap.Issues))
	return snap, nil
}

// readUsers lists users with the user filter's Okta expression, then the DEPROVISIONED users matching
// it, and keeps those the include:/exclude: set keeps.
func (c *client) readUsers(ctx context.Context, snap *directory.Snapshot, f *filter.Filter) error {
	seen := map[string]bool{}
	add := func(raw json.RawMessage) error {
		var ou oktaUser
		if err := json.Unmarshal(raw, &ou); err != nil {
			snap.Issues = append(snap.Issues, directory.Issue{Kind: "user", ID: ou.ID, Name: ou.Profile.Email,
				Reason: "Okta returned a user that does not decode: " + err.Error()})
			return nil
		}
		if ou.ID == "" {
			snap.Issues = append(snap.Issues, directory.Issue{Kind: "user", Name: cmp.Or(ou.Profile.Email, ou.Profile.Login),
				Reason: "Okta returned a user without an id"})
			return nil
		}
		if seen[ou.ID] {
			return nil
		}
		seen[ou.ID] = true
		if !filter.Keep(f.Set, ou.Profile.Email) {
			return nil
		}
		snap.Users = append(snap.Users, mapUser(ou))
		return nil
	}
	native := f.Native
	q := url.Values{"limit": {fmt.Sprint(usersPageSize)}}
	if native != "" {
		q.Set("filter", native)
	}
	read, err := c.list(ctx, listing{what: "users", first: c.endpoint("/api/v1/users", q), filterWhat: "user filter", expr: native}, add)
	if err != nil {
		return err
	}
	snap.Completeness.Add(read)

	deprovisioned := `status eq "` + statusDeprovisioned + `"`
	if native != "" {
		deprovisioned = "(" + native + ") and " + deprovisioned
	}
	q.Set("filter", deprovisioned)
	read, err = c.list(ctx, listing{what: "deprovisioned users", first: c.endpoint("/api/v1/users", q), filterWhat: "user filter", expr: native}, add)
	if err != nil {
		return err
	}
	snap.Completeness.Add(read)
	return nil
}

// mapUser maps an Okta user: deleted = DEPROVISIONED, disabled = SUSPENDED, every other status (STAGED,
// PROVISIONED, ACTIVE, RECOVERY, LOCKED_OUT, PASSWORD_EXPIRED) active, as in the Directory Connector.
func mapUser(ou oktaUser) directory.User {
	status := strings.ToUpper(strings.TrimSpace(ou.Status))
	name := strings.TrimSpace(ou.Profile.DisplayName)
	if name == "" {
		name = strings.TrimSpace(ou.Profile.FirstName + " " + ou.Profile.LastName)
	}
	prefix := strings.TrimSpace(ou.Profile.Login)
	if i := strings.LastIndexByte(prefix, '@'); i >= 0 {
		prefix = prefix[:i]
	}
	return directory.User{
		ID:          ou.ID,
		Email:       ou.Profile.Email,
		EmailPrefix: prefix,
		DisplayName: name,
		Disabled:    status == statusSuspended,
		Deleted:     status == statusDeprovisioned,
	}
}

// readGroups lists groups with the group filter's Okta expression, keeps those the include:/exclude: set
// keeps, and reads each kept group's members.
func (c *client) readGroups(ctx context.Context, snap *directory.Snapshot, f *filter.Filter) error {
	var groups []directory.Group
	seen := map[string]bool{}
	add := func(raw json.RawMessage) error {
		var og oktaGroup
		err := json.Unmarshal(raw, &og)
		switch {
		case err != nil:
			snap.Issues = append(snap.Issues, directory.Issue{Kind: "group", ID: og.ID, Name: og.Profile.Name,
				Reason: "Okta returned a group that does not decode: " + err.Error()})
		case og.ID == "":
			snap.Issues = append(snap.Issues, directory.Issue{Kind: "group", Name: og.Profile.Name, Reason: "Okta returned a group without an id"})
		case strings.TrimSpace(og.Profile.Name) == "":
			snap.Issues = append(snap.Issues, directory.Issue{Kind: "group", ID: og.ID, Reason: "the group has no name"})
		case seen[og.ID]:
		case filter.Keep(f.Set, og.Profile.Name):
			seen[og.ID] = true
			groups = append(groups, directory.Group{ID: og.ID, Name: og.Profile.Name})
		}
		return nil
	}
	q := url.Values{}
	if f.Native != "" {
		q.Set("filter", f.Native)
	}
	read, err := c.list(ctx, listing{what: "groups", first: c.endpoint("/api/v1/groups", q), filterWhat: "group filter", expr: f.Native}, add)
	if err != nil {
		return err
	}
	snap.Completeness.Add(read)

	members := directory.Read{What: fmt.Sprintf("group members (%d groups)", len(groups))}
	for i := range groups {
		g := &groups[i]
		memberSeen := map[string]bool{}
		l := listing{what: "members of group " + g.Name, first: c.endpoint("/api/v1/groups/"+url.PathEscape(g.ID)+"/users", nil)}
		r, err := c.list(ctx, l, func(raw json.RawMessage) error {
			var m struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(raw, &m); err != nil || m.ID == "" {
				return fmt.Errorf("read okta %s: a member without a readable id: %s", l.what, abbreviate(string(raw)))
			}
			if !memberSeen[m.ID] {
				memberSeen[m.ID] = true
				g.Users = append(g.Users, m.ID)
			}
			return nil
		})
		if err != nil {
			return err
		}
		members.Pages += r.Pages
		members.Entries += r.Entries
	}
	members.Finished = true
	snap.Completeness.Add(members)
	snap.Groups = groups
	return nil
}
