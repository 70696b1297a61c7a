package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/engine"
	"github.com/dirconn/dirconn/internal/plan"
	"github.com/dirconn/dirconn/internal/state"
)

// listLimit is how many entries of one list text output shows by default; --json always has them all.
const listLimit = 25

func (a *app) limit() int {
	if a.listLimit > 0 {
		return a.listLimit
	}
	return listLimit
}

func (a *app) section(title string, n int) {
	a.printf("\n%s (%d)\n", title, n)
}

func (a *app) more(n int) {
	if n > a.limit() {
		a.printf("  ... and %d more (--json lists all)\n", n-a.limit())
	}
}

func (a *app) renderTest(r *engine.TestResult) {
	users := len(r.EnabledUsers) + len(r.DisabledUsers) + len(r.DeletedUsers)
	a.printf("Directory: %d users (%d enabled, %d disabled, %d deleted) and %d groups.\n",
		users, len(r.EnabledUsers), len(r.DisabledUsers), len(r.DeletedUsers), len(r.Groups))
	a.renderCompleteness(r.Complete, r.Incomplete)
	for _, l := range []struct {
		title string
		users []engine.TestUser
	}{{"Enabled users", r.EnabledUsers}, {"Disabled users", r.DisabledUsers}, {"Deleted users", r.DeletedUsers}} {
		a.section(l.title, len(l.users))
		for i, u := range l.users {
			if i == a.limit() {
				break
			}
			a.printf("  %s\n", u.DisplayName)
		}
		a.more(len(l.users))
	}
	a.section("Groups", len(r.Groups))
	for i, g := range r.Groups {
		if i == a.limit() {
			break
		}
		nested := ""
		if len(g.Nested) > 0 {
			nested = "; nested: " + strings.Join(g.Nested, ", ")
		}
		a.printf("  %s (%d users%s)\n", g.DisplayName, len(g.UserIDs), nested)
	}
	a.more(len(r.Groups))
	a.renderSkipped(r.Skipped)
}

func (a *app) renderCompleteness(complete bool, incomplete []string) {
	if complete {
		a.printf("The read was complete.\n")
		return
	}
	a.printf("WARNING: the read was INCOMPLETE, so no one will be removed:\n")
	for _, r := range incomplete {
		a.printf("  - %s\n", r)
	}
}

func (a *app) renderSkipped(skipped []directory.Issue) {
	if len(skipped) == 0 {
		return
	}
	a.section("Skipped records (not synced, left as they are)", len(skipped))
	for i, is := range skipped {
		if i == a.limit() {
			break
		}
		a.printf("  ! %s\n", is)
	}
	a.more(len(skipped))
}

func (a *app) changes(title, mark string, cs []plan.MemberChange) {
	if len(cs) == 0 {
		return
	}
	a.section(title, len(cs))
	for i, c := range cs {
		if i == a.limit() {
			break
		}
		a.printf("  %s %s  (%s)\n", mark, c.Email, c.Reason)
	}
	a.more(len(cs))
}

func (a *app) groupChanges(title, mark string, gs []plan.GroupChange) {
	if len(gs) == 0 {
		return
	}
	a.section(title, len(gs))
	for i, g := range gs {
		if i == a.limit() {
			break
		}
		name := g.Name
		if g.OldName != "" {
			name = fmt.Sprintf("%s (was %s)", g.Name, g.OldName)
		}
		a.printf("  %s %s: %d members; %s\n", mark, name, g.Members, g.Reason)
	}
	a.more(len(gs))
}

// renderResult prints a plan or sync result. compact leaves out the invite list, skipped records and
// notes (the demo shows them once, in its plan step).
func (a *app) renderResult(object string, res *engine.Result, compact bool) {
	p := res.Plan
	c := p.Counts
	a.printf("Plan: %d to invite, %d to remove, %d groups to create, %d to update; %d users and %d groups unchanged.\n",
		c.Invites, c.Removals, c.GroupCreates, c.GroupUpdates, c.UnchangedUsers, c.UnchangedGroups)
	a.renderCompleteness(p.Complete, p.Incomplete)
	if !compact {
		a.changes("Invites", "+", p.Invites)
	}
	a.changes("Removals", "-", p.Removals)
	if p.Guard.Held {
		a.section("HELD removals: not sent", len(p.Held))
		for _, r := range p.Guard.Reasons {
			a.printf("  because %s\n", r)
		}
		for i, h := range p.Held {
			if i == a.limit() {
				break
			}
			a.printf("  - %s  (%s)\n", h.Email, h.Reason)
		}
		a.more(len(p.Held))
		if p.Guard.Approvable {
			a.printf("  Review them, then approve with: dirconn sync --allow-deletes\n")
		} else {
			a.printf("  These cannot be approved: fix the directory read first.\n")
		}
	}
	a.groupChanges("Groups to create", "+", p.GroupCreates)
	a.groupChanges("Groups to update", "~", p.GroupUpdates)
	a.groupChanges("Groups no longer in the directory", "·", p.GroupsGone)
	a.changes("Email changes", "~", p.EmailChanges)
	if !compact {
		a.renderSkipped(p.Skipped)
	}
	if len(p.Notes) > 0 && !compact {
		a.printf("\nNotes\n")
		for _, n := range p.Notes {
			a.printf("  %s\n", n)
		}
	}
	a.printf("\n")
	switch {
	case object == "plan" || res.DryRun:
		if res.Requests == 0 {
			a.printf("Nothing to send: the organization is in step with the directory.\n")
		} else {
			a.printf("A sync would send %d import request(s). Nothing was sent.\n", res.Requests)
		}
	case res.Outcome == "failed" || res.Outcome == "cancelled":
		a.printf("Sync %s: %d of %d import request(s) were accepted and are kept; the next sync sends the rest.\n",
			res.Outcome, res.Accepted, res.Requests)
	case res.Requests == 0:
		a.printf("Sync complete: nothing to send, the organization is in step with the directory.\n")
	default:
		a.printf("Sync complete: %d import request(s) accepted. Invited %d, removed %d, created %d and updated %d groups.\n",
			res.Accepted, c.Invites, c.Removals, c.GroupCreates, c.GroupUpdates)
	}
	if p.Guard.Held && object == "sync" && !res.DryRun {
		a.printf("%d removal(s) are held and were not sent.\n", len(p.Held))
	}
}

func (a *app) renderHistory(runs []state.Run, held *state.Held) {
	if len(runs) == 0 {
		a.printf("No syncs have run yet.\n")
	}
	for _, r := range runs {
		c := r.Counts
		a.printf("%s  %-9s %-8s %6s  +%d -%d held %d, groups +%d ~%d, %d/%d requests",
			r.Started.Local().Format(time.DateTime), r.Result, r.Trigger, r.Finished.Sub(r.Started).Round(time.Millisecond),
			c.Invites, c.Removals, c.Held, c.GroupCreates, c.GroupUpdates, r.Accepted, c.Requests)
		if r.Error != "" {
			a.printf("\n    error: %s", r.Error)
		}
		a.printf("\n")
	}
	if held != nil && len(held.Removals) > 0 {
		a.printf("\n%d removal(s) are held since %s: %s\n", len(held.Removals), held.At.Local().Format(time.DateTime), strings.Join(held.Reasons, "; "))
	}
}
