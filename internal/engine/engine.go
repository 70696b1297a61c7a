// Package engine runs one sync: fetch the directory, normalize, read the organization, plan, guard, push
// the changes in batches and commit each accepted batch to the sync cache, then record the run in the
// history. It also runs the read-only variants: test (directory only) and plan/dry run (nothing sent).
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/dirconn/dirconn/internal/bitwarden"
	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/plan"
	"github.com/dirconn/dirconn/internal/state"
)

// Org is the Bitwarden organization as the engine uses it; *bitwarden.Client satisfies it.
type Org interface {
	Import(ctx context.Context, req *bitwarden.ImportRequest) error
	Members(ctx context.Context) ([]bitwarden.Member, error)
	Groups(ctx context.Context) ([]bitwarden.Group, error)
}

// Event reports progress to a front end.
type Event struct {
	// Stage is one of "lock", "fetch", "normalize", "read-org", "plan", "push", "done".
	Stage   string
	Message string
	// Done and Total count import requests during "push".
	Done, Total int
}

// Settings are the sync settings of one engine.
type Settings struct {
	Plan      plan.Options // AllowDeletes and FullPush are set per run
	Normalize plan.NormalizeOptions
	Filters   directory.Filters
	// FullSyncInterval is how often the whole desired state is resent (drift repair); 0 = only the first
	// run and after the cache is cleared.
	FullSyncInterval time.Duration
	// OrgID, APIURL and Directory identify what the cache belongs to; when one changes, the cache is
	// cleared (a different organization must never inherit removals).
	OrgID     string
	APIURL    string
	Directory string
}

// Engine runs syncs for one directory and one organization.
type Engine struct {
	Source   directory.Source
	Org      Org // may be nil for Test
	Store    *state.Store
	DataDir  string // where dirconn.lock lives
	Settings Settings
	// Report receives progress events; nil discards them. It is called on the run's goroutine.
	Report func(Event)
	Logger *slog.Logger
	Now    func() time.Time
	// LockWait is how long a sync waits for another run to finish (0: fail at once).
	LockWait time.Duration
}

// SyncOptions are per-run choices.
type SyncOptions struct {
	DryRun       bool
	AllowDeletes bool
	// Full forces a full push (resend everything) on this run.
	Full bool
	// Trigger says who started the run ("cli", "schedule", "gui") for the history.
	Trigger string
}

// Result is what a plan or sync did.
type Result struct {
	Plan     *plan.Plan `json:"plan"`
	DryRun   bool       `json:"dryRun"`
	Requests int        `json:"requests"` // import requests planned
	Accepted int        `json:"accepted"` // import requests the server accepted
	Started  time.Time  `json:"started"`
	Finished time.Time  `json:"finished"`
	// Outcome is "ok", "held", "failed" or "cancelled".
	Outcome string `json:"outcome"`
}

// Held reports whether the guard held removals back.
func (r *Result) Held() bool { return r != nil && r.Plan != nil && r.Plan.Guard.Held }

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) report(ev Event) {
	if e.Report != nil {
		e.Report(ev)
	}
}

func (e *Engine) log() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Plan fetches the directory and the organization and returns what a sync would do. It sends nothing and
// writes nothing.
func (e *Engine) Plan(ctx context.Context, allowDeletes bool) (*Result, error) {
	return e.Sync(ctx, SyncOptions{DryRun: true, AllowDeletes: allowDeletes})
}

// Sync runs one sync. With DryRun it stops after the plan. The returned Result is non-nil whenever a plan
// was made, also when the push then failed.
func (e *Engine) Sync(ctx context.Context, o SyncOptions) (*Result, error) {
	res := &Result{DryRun: o.DryRun, Started: e.now()}
	if !o.DryRun {
		e.report(Event{Stage: "lock", Message: "taking the sync lock (dirconn.lock)"})
		lock, err := state.Acquire(ctx, e.DataDir, "dirconn sync ("+orDefault(o.Trigger, "cli")+")", e.LockWait)
		if err != nil {
			return nil, err
		}
		defer lock.Release()
	}
	st, loadErr := e.Store.Load()
	if loadErr != nil {
		if !errors.Is(loadErr, state.ErrCorrupt) || o.DryRun {
			return nil, loadErr
		}
		// The damaged file was moved aside: record the failure in a fresh state so the history shows it.
		st = state.New()
		e.finishRun(st, res, o, nil, loadErr)
		if err := e.Store.Save(st); err != nil {
			loadErr = errors.Join(loadErr, fmt.Errorf("save the sync cache: %w", err))
		}
		return nil, loadErr
	}
	var notes []string
	if cleared := e.checkOwner(st); cleared != "" {
		notes = append(notes, cleared)
	}

	// A full push resends the whole desired state to repair drift: on request, and every FullSyncInterval.
	// The first successful run counts as one (with an empty cache everything is sent or matched anyway),
	// so a run that resumes after a failed first run sends only what was not accepted.
	full := o.Full || st.FullPending || (st.LastFullSync != nil && e.Settings.FullSyncInterval > 0 &&
		res.Started.Sub(*st.LastFullSync) >= e.Settings.FullSyncInterval)

	e.report(Event{Stage: "fetch", Message: "reading the directory"})
	req := directory.FetchRequest{
		Users:          e.Settings.Plan.Users,
		Groups:         e.Settings.Plan.Groups,
		Filters:        e.Settings.Filters,
		Full:           full || e.Settings.Plan.OverwriteExisting,
		Cursor:         st.Cursor,
		RemoveDisabled: e.Settings.Plan.RemoveDisabled,
	}
	if req.Full {
		req.Cursor = ""
	}
	snap, err := e.Source.Fetch(ctx, req)
	if err != nil {
		err = fmt.Errorf("read the directory: %w", err)
		return e.fail(st, res, o, nil, err)
	}
	e.report(Event{Stage: "normalize", Message: fmt.Sprintf("read %d users and %d groups", len(snap.Users), len(snap.Groups))})
	desired := plan.Normalize(snap, e.Settings.Normalize)

	e.report(Event{Stage: "read-org", Message: "reading the organization"})
	org, err := e.readOrg(ctx)
	if err != nil {
		return e.fail(st, res, o, nil, err)
	}

	e.report(Event{Stage: "plan", Message: "planning"})
	po := e.Settings.Plan
	po.AllowDeletes = o.AllowDeletes
	po.FullPush = full
	p := plan.Build(desired, st.Synced, org, po)
	p.Notes = append(notes, p.Notes...)
	if full && len(st.Synced.Members)+len(st.Synced.Groups) > 0 {
		p.Notes = append(p.Notes, "full push: the whole desired state is resent to repair any drift (sync.fullSyncInterval)")
	}
	res.Plan = p
	batches := p.Batches()
	res.Requests = len(batches)
	if o.DryRun {
		res.Outcome = outcome(p, nil)
		res.Finished = e.now()
		return res, nil
	}
	if p.Overwrite && len(batches) == 1 && e.Settings.Plan.LargeImport &&
		(len(batches[0].Request.Members) > plan.BatchSize || len(batches[0].Request.Groups) > plan.BatchSize) {
		return e.fail(st, res, o, p, errors.New("you cannot use the 'Remove and re-add organization users during the next sync' option (sync.overwriteExisting) with large imports (more than 2000 users or groups)"))
	}

	for i := range batches {
		if err := ctx.Err(); err != nil {
			return e.fail(st, res, o, p, fmt.Errorf("cancelled after %d of %d import requests: %w", i, len(batches), err))
		}
		b := &batches[i]
		e.report(Event{Stage: "push", Message: fmt.Sprintf("sending %s (request %d of %d)", describe(b), i+1, len(batches)), Done: i, Total: len(batches)})
		if err := e.Org.Import(ctx, &b.Request); err != nil {
			return e.fail(st, res, o, p, fmt.Errorf("import request %d of %d (%s) failed; the %d accepted before it are kept and the next run sends the rest: %w", i+1, len(batches), describe(b), i, err))
		}
		st.Synced.Apply(b)
		res.Accepted++
		if err := e.Store.Save(st); err != nil {
			return e.fail(st, res, o, p, fmt.Errorf("the server accepted import request %d but the sync cache could not be saved: %w", i+1, err))
		}
	}
	p.Finish(st.Synced)
	started := res.Started.UTC()
	if e.Settings.Plan.Users {
		st.LastUserSync = &started
	}
	if e.Settings.Plan.Groups {
		st.LastGroupSync = &started
	}
	if full || st.LastFullSync == nil {
		st.LastFullSync = &started
	}
	st.FullPending = false
	st.Cursor = snap.Cursor
	e.finishRun(st, res, o, p, nil)
	if err := e.Store.Save(st); err != nil {
		return res, fmt.Errorf("save the sync cache: %w", err)
	}
	e.report(Event{Stage: "done", Message: res.Outcome, Done: len(batches), Total: len(batches)})
	return res, nil
}

// checkOwner clears the cache when it belongs to another organization, server or directory.
func (e *Engine) checkOwner(st *state.State) string {
	s := e.Settings
	var msg string
	switch {
	case st.OrgID != "" && st.OrgID != s.OrgID:
		msg = fmt.Sprintf("the organization changed (%s to %s): the sync cache was cleared", st.OrgID, s.OrgID)
	case st.APIURL != "" && st.APIURL != s.APIURL:
		msg = fmt.Sprintf("the server changed (%s to %s): the sync cache was cleared", st.APIURL, s.APIURL)
	case st.Directory != "" && st.Directory != s.Directory:
		msg = fmt.Sprintf("the directory type changed (%s to %s): the sync cache was cleared", st.Directory, s.Directory)
	}
	if msg != "" {
		st.ClearCache()
	}
	st.OrgID, st.APIURL, st.Directory = s.OrgID, s.APIURL, s.Directory
	return msg
}

func (e *Engine) readOrg(ctx context.Context) (*plan.Org, error) {
	members, err := e.Org.Members(ctx)
	if errors.Is(err, bitwarden.ErrNotSupported) {
		e.log().Info("the server has no member read endpoint; planning from the sync cache", "err", err)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the organization's members: %w", err)
	}
	groups, err := e.Org.Groups(ctx)
	if errors.Is(err, bitwarden.ErrNotSupported) {
		groups, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the organization's groups: %w", err)
	}
	org := &plan.Org{Members: make([]plan.OrgMember, 0, len(members)), Groups: make([]plan.OrgGroup, 0, len(groups))}
	for _, m := range members {
		org.Members = append(org.Members, plan.OrgMember{ExternalID: m.ExternalID, Email: m.Email, Owner: m.Type == bitwarden.TypeOwner})
	}
	for _, g := range groups {
		org.Groups = append(org.Groups, plan.OrgGroup{ExternalID: g.ExternalID, Name: g.Name})
	}
	return org, nil
}

func (e *Engine) fail(st *state.State, res *Result, o SyncOptions, p *plan.Plan, err error) (*Result, error) {
	if o.DryRun {
		return nil, err
	}
	e.finishRun(st, res, o, p, err)
	if serr := e.Store.Save(st); serr != nil {
		err = errors.Join(err, fmt.Errorf("save the sync cache: %w", serr))
	}
	e.report(Event{Stage: "done", Message: res.Outcome})
	if p == nil {
		return nil, err
	}
	return res, err
}

func (e *Engine) finishRun(st *state.State, res *Result, o SyncOptions, p *plan.Plan, err error) {
	res.Finished = e.now()
	res.Outcome = outcome(p, err)
	run := state.Run{
		ID:       res.Started.UTC().Format("20060102T150405.000Z"),
		Kind:     "sync",
		Trigger:  orDefault(o.Trigger, "cli"),
		Started:  res.Started.UTC(),
		Finished: res.Finished.UTC(),
		Result:   res.Outcome,
		Accepted: res.Accepted,
	}
	if err != nil {
		run.Error = err.Error()
	}
	if p != nil {
		run.Counts = p.Counts
		run.Notes = slices.Concat(p.Guard.Reasons, p.Notes)
		if p.Guard.Held {
			st.Held = &state.Held{At: run.Finished, Removals: p.Held, Reasons: p.Guard.Reasons, Approvable: p.Guard.Approvable}
		} else if err == nil {
			st.Held = nil
		}
	}
	st.AddRun(run)
}

func outcome(p *plan.Plan, err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case err != nil:
		return "failed"
	case p != nil && p.Guard.Held:
		return "held"
	}
	return "ok"
}

func describe(b *plan.Batch) string {
	switch b.Kind {
	case "groups":
		return fmt.Sprintf("%d groups", len(b.Request.Groups))
	case "overwrite":
		return fmt.Sprintf("full overwrite: %d members, %d groups", len(b.Request.Members), len(b.Request.Groups))
	}
	return fmt.Sprintf("%d members", len(b.Request.Members))
}

func orDefault(s, d string) string {
	if strings.TrimSpace(s) == "" {
		return d
	}
	return s
}
