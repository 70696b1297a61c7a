package onelogin

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/filter"
)

// StatusSuspended is the OneLogin user status the Directory Connector (and dirconn) treats as disabled.
// The other statuses (0 unactivated, 1 active, 3 locked, 4 password expired, 5 awaiting password reset,
// 7 password pending, 8 security questions required) are not disabled.
const StatusSuspended = 2

// validEmail is the Directory Connector's email check for OneLogin: something@something.something.
var validEmail = regexp.MustCompile(`^\S+@\S+\.\S+$`)

// flexID is an id OneLogin sends as a JSON number (or, defensively, a string), kept as its decimal text.
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	switch {
	case s == "null":
		*f = ""
		return nil
	case strings.HasPrefix(s, `"`):
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		*f = flexID(strings.TrimSpace(str))
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("id %s is not a number", s)
	}
	*f = flexID(n.String())
	return nil
}

// apiUser is the part of OneLogin's user resource the adapter reads.
type apiUser struct {
	ID        flexID   `json:"id"`
	Email     string   `json:"email"`
	Username  string   `json:"username"`
	Firstname string   `json:"firstname"`
	Lastname  string   `json:"lastname"`
	Status    *int     `json:"status"`
	RoleIDs   []flexID `json:"role_id"`
}

// apiRole is OneLogin's role resource.
type apiRole struct {
	ID   flexID `json:"id"`
	Name string `json:"name"`
}

// Fetch gets a token, then reads users (also for a groups-only read: role members come from each user's
// role_id) and roles, every page of each. Any failure is an error and no snapshot: OneLogin has no
// partial reads.
func (s *Source) Fetch(ctx context.Context, req directory.FetchRequest) (*directory.Snapshot, error) {
	f, err := parseFilters(req.Filters)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read onelogin: %w", err)
	}
	snap := &directory.Snapshot{UsersRead: req.Users, GroupsRead: req.Groups}
	if !req.Users && !req.Groups {
		return snap, nil
	}
	c, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer c.close()

	raws, read, err := c.list(ctx, "users", usersPath, f.user.Native)
	if err != nil {
		return nil, err
	}
	if !req.Users {
		read.What = "users (for role members)"
	}
	snap.Completeness.Add(read)
	users, members, issues := mapUsers(raws, f.user)
	snap.Issues = append(snap.Issues, issues...)
	if req.Users {
		snap.Users = users
	}
	if req.Groups {
		raws, read, err := c.list(ctx, "roles", rolesPath, f.group.Native)
		if err != nil {
			return nil, err
		}
		snap.Completeness.Add(read)
		groups, issues := mapRoles(raws, f.group, members)
		snap.Groups = groups
		snap.Issues = append(snap.Issues, issues...)
		if req.Users && f.group.Set != nil {
			filter.LimitUsersToGroups(snap, req.RemoveDisabled)
		}
	}
	s.log.Debug("onelogin: read", "users", len(snap.Users), "roles", len(snap.Groups), "reads", snap.Completeness.Reads)
	return snap, nil
}

// mapUsers turns user records into users, keeping those the user filter's set clause keeps, and returns
// the kept users' ids per role id. A record that cannot be read or has no id becomes an issue.
func mapUsers(raws []json.RawMessage, f *filter.Filter) ([]directory.User, map[string][]string, []directory.Issue) {
	var users []directory.User
	var issues []directory.Issue
	members := map[string][]string{}
	for _, raw := range raws {
		var u apiUser
		if err := json.Unmarshal(raw, &u); err != nil {
			issues = append(issues, directory.Issue{Kind: "user", ID: idOf(raw), Reason: "OneLogin returned a user record dirconn cannot read: " + err.Error()})
			continue
		}
		du := mapUser(u)
		if du.ID == "" {
			name := du.Email
			if name == "" {
				name = strings.TrimSpace(u.Username)
			}
			issues = append(issues, directory.Issue{Kind: "user", Name: name, Reason: "OneLogin returned it without an id"})
			continue
		}
		match := du.Email
		if match == "" {
			match = du.EmailPrefix
		}
		if !filter.Keep(f.Set, match) {
			continue
		}
		users = append(users, du)
		var seen []flexID
		for _, r := range u.RoleIDs {
			if r == "" || slices.Contains(seen, r) {
				continue
			}
			seen = append(seen, r)
			members[string(r)] = append(members[string(r)], du.ID)
		}
	}
	return users, members, issues
}

// mapUser maps one user as the Directory Connector does: id as externalId, disabled when suspended, never
// deleted (the API does not list deleted users); the email if it looks like one, else the username if
// that does. EmailPrefix is the username, for sync.useEmailPrefixSuffix.
func mapUser(u apiUser) directory.User {
	username := strings.TrimSpace(u.Username)
	email := strings.TrimSpace(u.Email)
	if !validEmail.MatchString(email) {
		email = ""
		if validEmail.MatchString(username) {
			email = username
		}
	}
	name := strings.TrimSpace(strings.TrimSpace(u.Firstname) + " " + strings.TrimSpace(u.Lastname))
	if name == "" {
		name = username
	}
	return directory.User{
		ID:          string(u.ID),
		Email:       email,
		EmailPrefix: username,
		DisplayName: name,
		Disabled:    u.Status != nil && *u.Status == StatusSuspended,
	}
}

// mapRoles turns role records into groups whose members are the users holding the role, keeping those the
// group filter's set clause keeps.
func mapRoles(raws []json.RawMessage, f *filter.Filter, members map[string][]string) ([]directory.Group, []directory.Issue) {
	var groups []directory.Group
	var issues []directory.Issue
	for _, raw := range raws {
		var r apiRole
		if err := json.Unmarshal(raw, &r); err != nil {
			issues = append(issues, directory.Issue{Kind: "group", ID: idOf(raw), Reason: "OneLogin returned a role record dirconn cannot read: " + err.Error()})
			continue
		}
		if r.ID == "" {
			issues = append(issues, directory.Issue{Kind: "group", Name: r.Name, Reason: "OneLogin returned it without an id"})
			continue
		}
		if !filter.Keep(f.Set, r.Name) {
			continue
		}
		groups = append(groups, directory.Group{ID: string(r.ID), Name: r.Name, Users: slices.Clone(members[string(r.ID)])})
	}
	return groups, issues
}

// idOf returns the id of a record that does not decode as a whole, or "".
func idOf(raw json.RawMessage) string {
	var x struct {
		ID flexID `json:"id"`
	}
	if json.Unmarshal(raw, &x) != nil {
		return ""
	}
	return string(x.ID)
}
