package google

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"
	admin "google.golang.org/api/admin/directory/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/filter"
	"github.com/dirconn/dirconn/internal/httpx"
)

// Page sizes: Google's maximum for each listing.
const (
	usersPageSize   = 500
	groupsPageSize  = 200
	membersPageSize = 200
)

// Partial responses: only the fields dirconn uses.
var (
	userFields   = googleapi.Field("nextPageToken,users(id,primaryEmail,name/fullName,suspended,archived)")
	groupFields  = googleapi.Field("nextPageToken,groups(id,name,email)")
	memberFields = googleapi.Field("nextPageToken,members(id,email,type,status)")
)

// conn is one read's connection: the credentials, the token source and the API client.
type conn struct {
	ctx   context.Context
	src   *Source
	creds *credentials
	ts    oauth2.TokenSource
	svc   *admin.Service
}

// Fetch authenticates and reads users (active, then deleted) and groups with their members. Every
// listing is paged to its end; a listing that cannot finish fails the read, so the engine removes
// nobody.
func (s *Source) Fetch(ctx context.Context, req directory.FetchRequest) (*directory.Snapshot, error) {
	uf, gf, err := parseFilters(req.Filters)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read google workspace directory: %w", err)
	}
	creds, err := s.credentials()
	if err != nil {
		return nil, err
	}
	client, err := httpx.NewClient(s.http)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", directory.ErrConfig, err)
	}
	defer client.CloseIdleConnections()
	c, err := s.connect(ctx, creds, client)
	if err != nil {
		return nil, err
	}
	if err := c.authenticate(); err != nil {
		return nil, err
	}
	r := &reader{c: c}
	snap, err := r.read(ctx, req, uf, gf)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			return nil, fmt.Errorf("read google workspace directory: %w", ctx.Err())
		}
		return nil, err
	}
	return snap, nil
}

// connect builds the token source and the Admin SDK client for one read; it sends nothing.
func (s *Source) connect(ctx context.Context, creds *credentials, client *http.Client) (*conn, error) {
	policy := s.policy
	next := policy.OnRetry
	policy.OnRetry = func(attempt int, wait time.Duration, err error) {
		s.log.Warn("google: request failed, retrying", "attempt", attempt, "wait", wait.String(), "error", retryCause(err))
		if next != nil {
			next(attempt, wait, err)
		}
	}
	rt := &retryTransport{client: client, policy: policy, ctx: ctx}
	conf := &jwt.Config{
		Email:        creds.email,
		PrivateKey:   creds.key,
		PrivateKeyID: creds.keyID,
		Subject:      s.s.adminUser,
		Scopes:       Scopes,
		TokenURL:     s.s.tokenURL,
		// Google wants its own token URL as the audience, also when the request goes to another URL
		// (a reverse proxy set as google.tokenUrl).
		Audience: DefaultTokenURL,
	}
	tctx := context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: rt})
	ts := oauth2.ReuseTokenSource(nil, conf.TokenSource(tctx))
	api := &http.Client{Transport: &oauth2.Transport{Source: ts, Base: rt}}
	svc, err := admin.NewService(ctx, option.WithHTTPClient(api), option.WithEndpoint(s.s.apiURL))
	if err != nil {
		return nil, fmt.Errorf("%w: google.apiUrl: %v", directory.ErrConfig, err)
	}
	svc.UserAgent = s.http.UserAgent // after the library's own
	return &conn{ctx: ctx, src: s, creds: creds, ts: ts, svc: svc}, nil
}

// authenticate gets the first access token, so a refusal is reported as what it is before any listing.
func (c *conn) authenticate() error {
	_, err := c.ts.Token()
	if err == nil {
		return nil
	}
	if ctxErr := c.ctx.Err(); ctxErr != nil {
		return fmt.Errorf("get an access token: %w", ctxErr)
	}
	var te *oauth2.RetrieveError
	if errors.As(err, &te) {
		return c.tokenError(te)
	}
	msg := strings.TrimPrefix(err.Error(), "oauth2: ")
	if i := strings.Index(msg, "gave up after"); i >= 0 {
		msg = msg[i:] // x/oauth2 flattens the error: drop its repeated URL
	}
	if strings.Contains(msg, "private key") {
		return fmt.Errorf("%w: sign the token request of %s: %s", directory.ErrConfig, c.creds.email, msg)
	}
	if strings.Contains(msg, "x509:") || strings.Contains(msg, "tls:") {
		msg += " (if a TLS-inspecting proxy is in the way, set caFile to its CA certificate)"
	}
	return fmt.Errorf("%w: get an access token from %s: %s", directory.ErrUnreachable, c.src.s.tokenURL, msg)
}

// reader is one Fetch's state.
type reader struct {
	c *conn

	users   []directory.User
	userIDs map[string]bool
	issues  []directory.Issue
	reads   directory.Completeness
	// customerGroups holds the ids of groups with a CUSTOMER member.
	customerGroups map[string]bool
}

func (r *reader) read(ctx context.Context, req directory.FetchRequest, uf, gf *filter.Filter) (*directory.Snapshot, error) {
	snap := &directory.Snapshot{UsersRead: req.Users, GroupsRead: req.Groups}
	r.userIDs = map[string]bool{}
	r.customerGroups = map[string]bool{}
	if req.Users {
		if err := r.readUsers(ctx, uf, false); err != nil {
			return nil, err
		}
		if err := r.readUsers(ctx, uf, true); err != nil {
			return nil, err
		}
	}
	if req.Groups {
		groups, err := r.readGroups(ctx, gf)
		if err != nil {
			return nil, err
		}
		if len(r.customerGroups) > 0 {
			if !req.Users {
				// CUSTOMER members stand for every synced user: read them to know who that is.
				if err := r.readUsers(ctx, uf, false); err != nil {
					return nil, err
				}
			}
			r.expandCustomer(groups)
		}
		snap.Groups = groups
	}
	if req.Users {
		snap.Users = r.users
		if req.Groups && gf.Set != nil {
			filter.LimitUsersToGroups(snap, req.RemoveDisabled)
		}
	}
	snap.Issues = r.issues
	snap.Completeness = r.reads
	return snap, nil
}

// pages runs fetch for every page of one listing, following nextPageToken until there is none. A token
// seen before stops the listing with an error instead of looping.
func pages(ctx context.Context, read *directory.Read, fetch func(token string) (next string, n int, err error)) error {
	seen := map[string]bool{}
	token := ""
	for {
		if err := ctx.Err(); err != nil {
			read.Reason = err.Error()
			return err
		}
		next, n, err := fetch(token)
		if err != nil {
			read.Reason = err.Error()
			return err
		}
		read.Pages++
		read.Entries += n
		if next == "" {
			read.Finished = true
			return nil
		}
		if seen[next] {
			read.Reason = "the server sent a page token it had sent before"
			return fmt.Errorf("read %s: after page %d the server sent a page token it had sent before; stopping instead of looping", read.What, read.Pages)
		}
		seen[next] = true
		token = next
	}
}

// scopeUsers sets domain and customer, as the Directory Connector sends them with every listing.
func (r *reader) scopeUsers(call *admin.UsersListCall) {
	s := r.c.src.s
	if s.domain != "" {
		call.Domain(s.domain)
	}
	if s.customer != "" {
		call.Customer(s.customer)
	}
}

// readUsers lists the active users, or with deleted the deleted ones (showDeleted=true returns only
// those), applying the user filter's native query and its include/exclude list.
func (r *reader) readUsers(ctx context.Context, uf *filter.Filter, deleted bool) error {
	cl := call{name: "users.list", what: "users", query: uf.Native, queryKey: "sync.userFilter"}
	if deleted {
		cl.what = "deleted users"
	}
	call := r.c.svc.Users.List().MaxResults(usersPageSize).Fields(userFields)
	r.scopeUsers(call)
	if uf.Native != "" {
		call.Query(uf.Native)
	}
	if deleted {
		call.ShowDeleted("true")
	}
	read := directory.Read{What: cl.what}
	err := pages(ctx, &read, func(token string) (string, int, error) {
		if token != "" {
			call.PageToken(token)
		}
		page, err := call.Context(ctx).Do()
		if err != nil {
			return "", 0, r.c.explain(cl, err)
		}
		for _, u := range page.Users {
			r.addUser(u, deleted, uf.Set)
		}
		return page.NextPageToken, len(page.Users), nil
	})
	r.reads.Add(read)
	return err
}

func (r *reader) addUser(u *admin.User, deleted bool, set *filter.Clause) {
	if u == nil {
		return
	}
	if strings.TrimSpace(u.Id) == "" {
		r.issues = append(r.issues, directory.Issue{Kind: "user", Name: u.PrimaryEmail, Reason: "Google returned it without an id"})
		return
	}
	if r.userIDs[u.Id] {
		return // listed twice (a user deleted or restored between the two listings): the first wins
	}
	if !filter.Keep(set, u.PrimaryEmail) {
		return
	}
	r.userIDs[u.Id] = true
	du := directory.User{ID: u.Id, Email: u.PrimaryEmail, Disabled: u.Suspended || u.Archived, Deleted: deleted}
	if u.Name != nil {
		du.DisplayName = u.Name.FullName
	}
	r.users = append(r.users, du)
}

// groupState is a group being read, with its CUSTOMER flag.
type groupState struct {
	g        directory.Group
	customer bool
	gone     bool // deleted while being read
	pages    int
	entries  int
}

// readGroups lists the groups the filter keeps and then their members.
func (r *reader) readGroups(ctx context.Context, gf *filter.Filter) ([]directory.Group, error) {
	s := r.c.src.s
	cl := call{name: "groups.list", what: "groups", query: gf.Native, queryKey: "sync.groupFilter"}
	call := r.c.svc.Groups.List().MaxResults(groupsPageSize).Fields(groupFields)
	if s.domain != "" {
		call.Domain(s.domain)
	}
	if s.customer != "" {
		call.Customer(s.customer)
	}
	if gf.Native != "" {
		call.Query(gf.Native)
	}
	var states []*groupState
	seen := map[string]bool{}
	read := directory.Read{What: "groups"}
	err := pages(ctx, &read, func(token string) (string, int, error) {
		if token != "" {
			call.PageToken(token)
		}
		page, err := call.Context(ctx).Do()
		if err != nil {
			return "", 0, r.c.explain(cl, err)
		}
		for _, g := range page.Groups {
			switch {
			case g == nil || seen[g.Id]:
			case strings.TrimSpace(g.Id) == "":
				r.issues = append(r.issues, directory.Issue{Kind: "group", Name: g.Name, Reason: "Google returned it without an id"})
			case strings.TrimSpace(g.Name) == "":
				r.issues = append(r.issues, directory.Issue{Kind: "group", ID: g.Id, Name: g.Email, Reason: "it has no name"})
			case filter.Keep(gf.Set, g.Name):
				seen[g.Id] = true
				states = append(states, &groupState{g: directory.Group{ID: g.Id, Name: g.Name}})
			}
		}
		return page.NextPageToken, len(page.Groups), nil
	})
	r.reads.Add(read)
	if err != nil {
		return nil, err
	}
	if err := r.readMembers(ctx, states); err != nil {
		return nil, err
	}
	out := make([]directory.Group, 0, len(states))
	for _, st := range states {
		if st.gone {
			continue
		}
		if st.customer {
			r.customerGroups[st.g.ID] = true
		}
		out = append(out, st.g)
	}
	return out, nil
}

// readMembers lists the members of every group, a few groups at a time. The first listing that fails
// stops the others and fails the read. A group deleted since groups.list (404) becomes an issue.
func (r *reader) readMembers(ctx context.Context, states []*groupState) error {
	read := directory.Read{What: "group members"}
	if len(states) == 0 {
		read.Finished = true
		r.reads.Add(read)
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	work := make(chan *groupState)
	workers := max(1, min(r.c.src.workers, len(states)))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for st := range work {
				err := r.readGroupMembers(ctx, st)
				if err == nil {
					continue
				}
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				cancel()
			}
		}()
	}
	for _, st := range states {
		if ctx.Err() != nil {
			break
		}
		work <- st
	}
	close(work)
	wg.Wait()
	for _, st := range states {
		read.Pages += st.pages
		read.Entries += st.entries
		if st.gone {
			r.issues = append(r.issues, directory.Issue{Kind: "group", ID: st.g.ID, Name: st.g.Name,
				Reason: "the group was deleted while its members were read"})
		}
	}
	if firstErr != nil {
		read.Reason = firstErr.Error()
		r.reads.Add(read)
		return firstErr
	}
	read.Finished = true
	r.reads.Add(read)
	return nil
}

// readGroupMembers lists one group's members: USER members (whatever their status: the user's own state
// decides) and nested GROUP members by id, and whether a CUSTOMER member stands for everyone.
func (r *reader) readGroupMembers(ctx context.Context, st *groupState) error {
	cl := call{name: "members.list", what: "members of group " + st.g.Name}
	call := r.c.svc.Members.List(st.g.ID).MaxResults(membersPageSize).Fields(memberFields)
	read := directory.Read{What: cl.what}
	users := map[string]bool{}
	groups := map[string]bool{}
	err := pages(ctx, &read, func(token string) (string, int, error) {
		if token != "" {
			call.PageToken(token)
		}
		page, err := call.Context(ctx).Do()
		if err != nil {
			if f, ok := asFailure(err); ok && f.status == http.StatusNotFound && token == "" && ctx.Err() == nil {
				st.gone = true // deleted since groups.list
				return "", 0, nil
			}
			return "", 0, r.c.explain(cl, err)
		}
		for _, m := range page.Members {
			if m == nil {
				continue
			}
			switch strings.ToUpper(m.Type) {
			case "USER":
				if m.Id != "" && !users[m.Id] {
					users[m.Id] = true
					st.g.Users = append(st.g.Users, m.Id)
				}
			case "GROUP":
				if m.Id != "" && !groups[m.Id] {
					groups[m.Id] = true
					st.g.Groups = append(st.g.Groups, m.Id)
				}
			case "CUSTOMER":
				st.customer = true
			}
		}
		return page.NextPageToken, len(page.Members), nil
	})
	st.pages, st.entries = read.Pages, read.Entries
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("read %s: %w", cl.what, ctx.Err())
	}
	return err
}

// expandCustomer adds every synced user who is not deleted to the groups with a CUSTOMER member, as the
// Directory Connector does ("everyone in the account").
func (r *reader) expandCustomer(groups []directory.Group) {
	var all []string
	for _, u := range r.users {
		if !u.Deleted {
			all = append(all, u.ID)
		}
	}
	for i := range groups {
		g := &groups[i]
		if !r.customerGroups[g.ID] {
			continue
		}
		have := map[string]bool{}
		for _, id := range g.Users {
			have[id] = true
		}
		for _, id := range all {
			if !have[id] {
				g.Users = append(g.Users, id)
			}
		}
	}
}
