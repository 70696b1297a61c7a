package entra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/filter"
	"github.com/dirconn/dirconn/internal/httpx"
)

// defaultConcurrency is how many group member lists are read at the same time.
const defaultConcurrency = 4

// userSelect is the Directory Connector's $select for users.
const userSelect = "id,mail,userPrincipalName,displayName,accountEnabled"

// Object types in @odata.type.
const (
	typeUser  = "#microsoft.graph.user"
	typeGroup = "#microsoft.graph.group"
)

// Source reads one Entra tenant. It keeps its HTTP client and access token between reads and is safe for
// concurrent use.
type Source struct {
	s           settings
	log         *slog.Logger
	userAgent   string
	policy      httpx.Policy
	concurrency int

	mu sync.Mutex
	c  *client
}

var _ directory.Source = (*Source)(nil)

// graphClient returns the Source's client, building it (CA file, proxy) on first use.
func (s *Source) graphClient() (*client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil {
		return s.c, nil
	}
	base, err := httpx.NewClient(httpx.Options{Timeout: s.s.timeout, Proxy: s.s.proxy, CAFile: s.s.caFile, UserAgent: s.userAgent})
	if err != nil {
		key := "entra." + optProxy
		if s.s.caFile != "" && strings.Contains(err.Error(), "CA file") {
			key = "entra." + optCAFile
		}
		return nil, &directory.ConfigError{Key: key, Reason: err.Error()}
	}
	s.c = newClient(&s.s, s.log, base, s.policy)
	return s.c, nil
}

// gUser is a user as Graph returns it (also a removed entry of a delta round).
type gUser struct {
	ID             string `json:"id"`
	Type           string `json:"@odata.type"`
	Mail           string `json:"mail"`
	UPN            string `json:"userPrincipalName"`
	DisplayName    string `json:"displayName"`
	AccountEnabled *bool  `json:"accountEnabled"`
	Removed        *struct {
		Reason string `json:"reason"`
	} `json:"@removed"`
}

// gObject is a group or a member of one.
type gObject struct {
	ID          string `json:"id"`
	Type        string `json:"@odata.type"`
	DisplayName string `json:"displayName"`
}

// Fetch reads users (and the deleted users of a delta round) and groups with their direct members, as
// req asks. Any read that cannot finish — after retries, a 401 that a new token does not cure, a page
// that is not JSON — fails the whole read: no partial snapshot is ever returned.
func (s *Source) Fetch(ctx context.Context, req directory.FetchRequest) (*directory.Snapshot, error) {
	fl, err := parseFilters(req.Filters)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read Entra ID: %w", err)
	}
	c, err := s.graphClient()
	if err != nil {
		return nil, err
	}
	r := &reader{s: s, c: c, f: fl, req: req, snap: &directory.Snapshot{UsersRead: req.Users, GroupsRead: req.Groups}}
	if err := r.read(ctx); err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, fmt.Errorf("read Entra ID (%s cloud, %s): %w", s.s.cloud.name, s.s.graphRoot, err)
	}
	s.log.Debug("entra: read", "users", len(r.snap.Users), "groups", len(r.snap.Groups), "issues", len(r.snap.Issues),
		"deltaFromCursor", req.Users && req.Cursor != "" && !req.Full)
	return r.snap, nil
}

// reader is one Fetch's state.
type reader struct {
	s    *Source
	c    *client
	f    filters
	req  directory.FetchRequest
	snap *directory.Snapshot
}

func (r *reader) url(path string, q url.Values) string {
	u := r.s.s.graphRoot + "/v1.0/" + path
	if len(q) > 0 {
		u += "?" + readable.Replace(q.Encode())
	}
	return u
}

// readable keeps "$" and "," of a query unescaped, as Graph's own links and documentation write them.
var readable = strings.NewReplacer("%24", "$", "%2C", ",")

// query returns $select (when sel is set) and $top (when the page size is set).
func (r *reader) query(sel string) url.Values {
	q := url.Values{}
	if sel != "" {
		q.Set("$select", sel)
	}
	if r.s.s.pageSize > 0 {
		q.Set("$top", strconv.Itoa(r.s.s.pageSize))
	}
	return q
}

func (r *reader) read(ctx context.Context) error {
	if r.req.Users {
		if err := r.readUsers(ctx); err != nil {
			return err
		}
		if err := r.readDeleted(ctx); err != nil {
			return err
		}
	} else {
		// Users are not read: the delta link the engine holds stays valid for the next read that does.
		r.snap.Cursor = r.req.Cursor
	}
	if r.req.Groups {
		if err := r.readGroups(ctx); err != nil {
			return err
		}
		if r.req.Users && r.f.group.Set != nil {
			filter.LimitUsersToGroups(r.snap, r.req.RemoveDisabled)
		}
	}
	return nil
}

// email returns the email of a Graph user as the Directory Connector derives it: mail, or the user
// principal name when mail is empty or under onmicrosoft.com; trimmed and lowercased.
func email(u gUser) string {
	e := strings.TrimSpace(u.Mail)
	if upn := strings.TrimSpace(u.UPN); upn != "" && (e == "" || strings.Contains(strings.ToLower(e), "onmicrosoft.com")) {
		e = upn
	}
	return strings.ToLower(e)
}

// toUser turns a Graph user into a directory user, or an issue for an active guest whose only address is
// its #EXT# user principal name (the Directory Connector drops such users silently).
func toUser(u gUser) (directory.User, *directory.Issue) {
	du := directory.User{ID: u.ID, Email: email(u), DisplayName: u.DisplayName}
	du.Disabled = u.AccountEnabled != nil && !*u.AccountEnabled
	if u.Removed != nil {
		du.Deleted = true
		du.Disabled = false
	}
	if strings.Contains(du.Email, "#") {
		if !du.Disabled && !du.Deleted {
			return du, &directory.Issue{Kind: "user", ID: u.ID, Name: du.Email,
				Reason: "guest account without a mail address: its user principal name is not an email address (set the guest's Email in Entra, or leave it out with sync.userFilter)"}
		}
		// A disabled or deleted guest can still be removed by its id.
		du.Email = ""
	}
	return du, nil
}

// readUsers reads the current users the user filter selects.
func (r *reader) readUsers(ctx context.Context) error {
	uf := r.f.user
	seen := map[string]bool{}
	var users []directory.User
	exclude := map[string]bool{}
	var excludeEmails *filter.Clause
	add := func(u gUser) error {
		if u.ID == "" || seen[u.ID] || exclude[u.ID] {
			return nil
		}
		if u.Type != "" && u.Type != typeUser {
			return nil // transitive members: only users count
		}
		seen[u.ID] = true
		du, issue := toUser(u)
		e := email(u) // a guest's #EXT# name is matched too, so a filter can leave it out without an issue
		switch keyword(uf) {
		case kwInclude, kwExclude:
			if !filter.Keep(uf.Set, e) {
				return nil
			}
		}
		if excludeEmails != nil && e != "" && excludeEmails.Has(e) {
			return nil
		}
		if issue != nil {
			r.snap.Issues = append(r.snap.Issues, *issue)
			return nil
		}
		users = append(users, du)
		return nil
	}
	switch keyword(uf) {
	case kwIncludeGroup:
		for _, id := range secondary(uf, kwExcludeGroup) {
			if err := r.transitiveUsers(ctx, id, func(u gUser) error { exclude[u.ID] = true; return nil }); err != nil {
				return err
			}
		}
		if ex := secondary(uf, kwExclude); len(ex) > 0 {
			excludeEmails = &filter.Clause{Keyword: kwExclude, Values: ex}
		}
		for _, id := range uf.Set.Values {
			if err := r.transitiveUsers(ctx, id, add); err != nil {
				return err
			}
		}
	case kwExcludeGroup:
		for _, id := range uf.Set.Values {
			if err := r.transitiveUsers(ctx, id, func(u gUser) error { exclude[u.ID] = true; return nil }); err != nil {
				return err
			}
		}
		fallthrough
	default:
		rd, _, err := list(ctx, r.c, "read users", r.url("users", r.query(userSelect)), add)
		if err != nil {
			return err
		}
		rd.What = "users"
		r.snap.Completeness.Add(rd)
	}
	r.snap.Users = users
	return nil
}

// transitiveUsers reads the users among the members of group id, nested members included.
func (r *reader) transitiveUsers(ctx context.Context, id string, each func(gUser) error) error {
	id = strings.ToLower(id)
	what := "read the members of group " + id + " (sync.userFilter)"
	u := r.url("groups/"+url.PathEscape(id)+"/transitiveMembers/microsoft.graph.user", r.query(userSelect))
	rd, _, err := list(ctx, r.c, what, u, each)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			return fmt.Errorf("%w: user filter: group %s does not exist in the tenant: %v", directory.ErrFilter, id, err)
		}
		return err
	}
	rd.What = "users in group " + id + " and its nested groups (user filter)"
	r.snap.Completeness.Add(rd)
	return nil
}

// readDeleted walks a delta round of /users/delta from the cursor (or from the start) and adds the users
// it reports removed. The round's delta link becomes the snapshot's cursor.
func (r *reader) readDeleted(ctx context.Context) error {
	start := r.url("users/delta", url.Values{"$select": {userSelect}})
	first, fromCursor := start, false
	if cur := r.req.Cursor; cur != "" && !r.req.Full {
		if r.c.underRoot(cur) {
			first, fromCursor = cur, true
		} else {
			r.s.log.Warn("entra: the saved delta link is not under the Graph root (the cloud or entra.graphUrl changed); starting a new delta round",
				"graphRoot", r.s.s.graphRoot)
		}
	}
	current := map[string]bool{}
	for _, u := range r.snap.Users {
		current[u.ID] = true
	}
	for {
		var deleted []directory.User
		seen := map[string]bool{}
		rd, link, err := list(ctx, r.c, "read deleted users (users/delta)", first, func(u gUser) error {
			if u.Removed == nil || u.ID == "" || seen[u.ID] || current[u.ID] {
				return nil
			}
			seen[u.ID] = true
			du, _ := toUser(u)
			if kw := keyword(r.f.user); (kw == kwInclude || kw == kwExclude) && du.Email != "" && !filter.Keep(r.f.user.Set, du.Email) {
				return nil
			}
			deleted = append(deleted, du)
			return nil
		})
		if err != nil {
			var ae *apiError
			if fromCursor && rd.Pages == 0 && errors.As(err, &ae) && restartable(ae.Status) {
				r.s.log.Warn("entra: Graph rejected the saved delta link; starting a new delta round", "err", ae)
				first, fromCursor = start, false
				continue
			}
			return err
		}
		if link == "" {
			return fmt.Errorf("read deleted users (users/delta): the last page has no @odata.deltaLink")
		}
		rd.What = "deleted users (users/delta)"
		r.snap.Completeness.Add(rd)
		r.snap.Users = append(r.snap.Users, deleted...)
		r.snap.Cursor = link
		return nil
	}
}

// restartable reports whether a delta link rejected with status calls for a new round: the token expired
// or is unknown (Graph answers with a 4xx), as opposed to the caller's credentials or throttling.
func restartable(status int) bool {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		return false
	}
	return status >= 400 && status < 500
}

// readGroups reads the groups the group filter selects and their direct members.
func (r *reader) readGroups(ctx context.Context) error {
	gf := r.f.group
	var auGroups map[string]bool
	switch keyword(gf) {
	case kwIncludeAU, kwExcludeAU:
		var err error
		if auGroups, err = r.adminUnitGroups(ctx, gf.Set.Values); err != nil {
			return err
		}
	}
	var groups []directory.Group
	seen := map[string]bool{}
	rd, _, err := list(ctx, r.c, "read groups", r.url("groups", r.query("id,displayName")), func(g gObject) error {
		if g.ID == "" || seen[g.ID] {
			return nil
		}
		seen[g.ID] = true
		switch keyword(gf) {
		case kwInclude, kwExclude:
			if !filter.Keep(gf.Set, g.DisplayName) {
				return nil
			}
		case kwIncludeAU:
			if !auGroups[strings.ToLower(g.ID)] {
				return nil
			}
		case kwExcludeAU:
			if auGroups[strings.ToLower(g.ID)] {
				return nil
			}
		}
		groups = append(groups, directory.Group{ID: g.ID, Name: g.DisplayName})
		return nil
	})
	if err != nil {
		return err
	}
	rd.What = "groups"
	r.snap.Completeness.Add(rd)
	if err := r.readMembers(ctx, groups); err != nil {
		return err
	}
	// Nested groups the filter left out contribute nothing: drop the references to them.
	kept := make(map[string]bool, len(groups))
	for _, g := range groups {
		kept[g.ID] = true
	}
	for i := range groups {
		groups[i].Groups = slices.DeleteFunc(groups[i].Groups, func(id string) bool { return !kept[id] })
	}
	r.snap.Groups = groups
	return nil
}

// readMembers reads the direct members of every group, a few groups at a time. The first failure stops
// the others.
func (r *reader) readMembers(ctx context.Context, groups []directory.Group) error {
	if len(groups) == 0 {
		r.snap.Completeness.Add(directory.Read{What: "group members", Finished: true})
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	reads := make([]directory.Read, len(groups))
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, max(1, r.s.concurrency))
	for i := range groups {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			g := &groups[i]
			what := "read the members of group " + g.Name + " (" + g.ID + ")"
			u := r.url("groups/"+url.PathEscape(g.ID)+"/members", r.query("id"))
			rd, _, err := list(ctx, r.c, what, u, func(m gObject) error {
				switch m.Type {
				case typeUser:
					g.Users = append(g.Users, m.ID)
				case typeGroup:
					g.Groups = append(g.Groups, m.ID)
				}
				return nil
			})
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				cancel()
				return
			}
			reads[i] = rd
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	total := directory.Read{What: fmt.Sprintf("members of %d groups", len(groups)), Finished: true}
	for _, rd := range reads {
		total.Pages += rd.Pages
		total.Entries += rd.Entries
	}
	r.snap.Completeness.Add(total)
	return nil
}

// adminUnitGroups returns the ids (lowercased) of the groups in the given administrative units.
func (r *reader) adminUnitGroups(ctx context.Context, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, id := range ids {
		id = strings.ToLower(id)
		u := r.url("directory/administrativeUnits/"+url.PathEscape(id)+"/members", url.Values{"$select": {"id"}})
		rd, _, err := list(ctx, r.c, "read the members of administrative unit "+id+" (sync.groupFilter)", u, func(m gObject) error {
			if m.Type == typeGroup && m.ID != "" {
				out[strings.ToLower(m.ID)] = true
			}
			return nil
		})
		if err != nil {
			var ae *apiError
			if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
				return nil, fmt.Errorf("%w: group filter: administrative unit %s does not exist in the tenant: %v", directory.ErrFilter, id, err)
			}
			return nil, err
		}
		rd.What = "groups in administrative unit " + id + " (group filter)"
		r.snap.Completeness.Add(rd)
	}
	return out, nil
}
