package gui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dirconn/dirconn/internal/connector"
	"github.com/dirconn/dirconn/internal/engine"
	"github.com/dirconn/dirconn/internal/plan"
)

// testTimeout bounds Test Now and Preview.
const testTimeout = 10 * time.Minute

// dashboardView is the Dashboard tab: sync state and controls, progress, the last error, held removals,
// and the test and plan results.
type dashboardView struct {
	ui *UI
	// now is the clock for "Today 14:05" (tests fix it).
	now func() time.Time

	lastUser, lastGroup, state, next, lastRun *widget.Label
	startButton, stopButton, syncButton       *widget.Button

	progressBox   *fyne.Container
	progress      *widget.ProgressBar
	progressInf   *widget.ProgressBarInfinite
	stage         *widget.Label
	cancelButton  *widget.Button
	detailsButton *widget.Button

	errorBox   fyne.CanvasObject
	errorTitle *widget.Label
	errorText  *widget.Label

	heldBox       fyne.CanvasObject
	heldTitle     *widget.Label
	heldReasons   *widget.Label
	heldList      *rowList
	approveButton *widget.Button
	heldNote      *widget.Label

	testButton    *widget.Button
	planButton    *widget.Button
	sinceLast     *widget.Check
	testCancel    *widget.Button
	testBusy      *widget.ProgressBarInfinite
	testError     *widget.Label
	resultsTitle  *widget.Label
	resultsNote   *widget.Label
	results       *container.AppTabs
	resultsHolder *fyne.Container
	cancelTest    context.CancelFunc

	// lastTest and lastPlan are the shown results (tests read them).
	lastTest *engine.TestResult
	lastPlan *engine.Result
	obj      fyne.CanvasObject
}

func newDashboardView(ui *UI) *dashboardView {
	v := &dashboardView{ui: ui, now: time.Now,
		lastUser: widget.NewLabel("Never"), lastGroup: widget.NewLabel("Never"),
		state: widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		next:  widget.NewLabel("—"), lastRun: wrapped("No sync yet."),
		progress: widget.NewProgressBar(), progressInf: widget.NewProgressBarInfinite(),
		stage:      wrapped(""),
		errorTitle: widget.NewLabel(""), errorText: wrapped(""),
		heldTitle: widget.NewLabel(""), heldReasons: wrapped(""), heldNote: hint(""),
		heldList:     newRowList("No removals are held."),
		sinceLast:    widget.NewCheck("Test since the last successful sync", nil),
		testBusy:     widget.NewProgressBarInfinite(),
		testError:    fieldError(),
		resultsTitle: widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		resultsNote:  hint(""),
	}
	v.errorText.Selectable = true
	v.startButton = widget.NewButtonWithIcon("Start Sync", theme.MediaPlayIcon(), v.onStart)
	v.stopButton = widget.NewButtonWithIcon("Stop Sync", theme.MediaStopIcon(), v.onStop)
	v.syncButton = widget.NewButtonWithIcon("Sync Now", theme.ViewRefreshIcon(), v.onSyncNow)
	v.syncButton.Importance = widget.HighImportance
	v.cancelButton = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), v.ui.svc.Cancel)
	v.detailsButton = widget.NewButton("Show Details", v.onDetails)
	v.detailsButton.Importance = widget.LowImportance
	v.detailsButton.Hide()
	v.approveButton = widget.NewButtonWithIcon("Approve Removals…", theme.ConfirmIcon(), v.onApprove)
	v.approveButton.Importance = widget.WarningImportance
	v.testButton = widget.NewButtonWithIcon("Test Now", theme.SearchIcon(), v.onTest)
	v.planButton = widget.NewButtonWithIcon("Preview Next Sync", theme.VisibilityIcon(), v.onPlan)
	v.testCancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), v.onCancelTest)
	v.testCancel.Hide()
	v.testBusy.Hide()
	v.testBusy.Stop()
	v.progressInf.Stop()
	v.results = container.NewAppTabs()
	v.resultsHolder = container.NewStack()
	return v
}

func (v *dashboardView) build() fyne.CanvasObject {
	if v.obj != nil {
		return v.obj
	}
	v.progressBox = container.NewVBox(
		container.NewBorder(nil, nil, nil, v.cancelButton, container.NewStack(v.progress, v.progressInf)),
		v.stage)
	v.progressBox.Hide()
	left := pairs(key("Last user sync"), v.lastUser, key("Last group sync"), v.lastGroup)
	right := pairs(key("Sync status"), v.state, key("Next sync"), v.next)
	title := widget.NewLabelWithStyle("Sync", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	title.SizeName = theme.SizeNameSubHeadingText
	syncCard := card(
		container.NewBorder(nil, nil, title, container.NewHBox(v.startButton, v.stopButton, v.syncButton)),
		container.NewGridWithColumns(2, left, right),
		pairs(key("Last result"), container.NewBorder(nil, nil, nil, v.detailsButton, v.lastRun)),
		v.progressBox)

	v.errorBox = banner(widget.DangerImportance, v.errorTitle, v.errorText,
		hint("This message stays until a sync succeeds. The log folder (More tab) has the details."))
	v.errorBox.Hide()

	v.heldBox = banner(widget.WarningImportance, v.heldTitle, v.heldReasons,
		minHeight(140, v.heldList.obj),
		container.NewBorder(nil, nil, nil, v.approveButton, v.heldNote))
	v.heldBox.Hide()

	v.resultsHolder.Objects = []fyne.CanvasObject{hint("Results of Test Now and Preview Next Sync appear here.")}
	testCard := section("Testing", "Tests read your directory and show what the next sync would do. "+
		"They never change your Bitwarden organization.",
		container.NewHBox(v.testButton, v.sinceLast, layout.NewSpacer(), v.planButton),
		container.NewBorder(nil, nil, nil, v.testCancel, v.testBusy),
		v.testError, v.resultsTitle, v.resultsNote,
		minHeight(260, v.resultsHolder))
	v.resultsTitle.Hide()
	v.resultsNote.Hide()

	v.obj = container.NewVScroll(container.NewPadded(container.NewVBox(syncCard, v.errorBox, v.heldBox, testCard)))
	return v.obj
}

// apply shows a status snapshot.
func (v *dashboardView) apply(st connector.Status) {
	now := v.now()
	v.lastUser.SetText(formatTime(st.LastUserSync, now))
	v.lastGroup.SetText(formatTime(st.LastGroupSync, now))
	word, imp := syncState(st)
	if st.Scheduled && !st.Running {
		word = "Running — every " + formatInterval(st.Interval)
	} else if !st.Scheduled && !st.Running {
		word = "Stopped"
	}
	if st.Running {
		word = "Syncing now"
	}
	v.state.SetText(word)
	v.state.Importance = imp
	if !st.Running && st.LastError == "" && st.Held == nil {
		v.state.Importance = map[bool]widget.Importance{true: widget.SuccessImportance, false: widget.MediumImportance}[st.Scheduled]
	}
	v.state.Refresh()
	switch {
	case st.Running:
		v.next.SetText("Now")
	case st.Scheduled && !st.Next.IsZero():
		v.next.SetText(formatTime(&st.Next, now))
	case st.Scheduled:
		v.next.SetText("Soon")
	default:
		v.next.SetText("Not scheduled")
	}
	v.lastRun.SetText(resultSummary(st.LastResult, now))
	if st.LastResult != nil && st.LastResult.Plan != nil {
		v.detailsButton.Show()
	} else {
		v.detailsButton.Hide()
	}

	if st.Scheduled {
		v.startButton.Disable()
		v.stopButton.Enable()
	} else {
		v.startButton.Enable()
		v.stopButton.Disable()
	}
	if st.Running {
		v.syncButton.Disable()
		v.progressBox.Show()
		v.stage.SetText(stageText(st))
		if st.Total > 0 {
			v.progressInf.Stop()
			v.progressInf.Hide()
			v.progress.Show()
			v.progress.Max = float64(st.Total)
			v.progress.SetValue(float64(st.Done))
		} else {
			v.progress.Hide()
			v.progressInf.Show()
			v.progressInf.Start()
		}
	} else {
		v.syncButton.Enable()
		v.progressInf.Stop()
		v.progressBox.Hide()
	}

	if st.LastError != "" {
		v.errorTitle.SetText("The last sync failed (" + formatTime(&st.LastErrorAt, now) + ")")
		v.errorText.SetText(st.LastError)
		v.errorBox.Show()
	} else {
		v.errorBox.Hide()
	}

	if st.Held != nil && len(st.Held.Removals) > 0 {
		h := st.Held
		v.heldTitle.SetText(fmt.Sprintf("%s held — nobody was removed (%s)",
			plural(len(h.Removals), "removal is", "removals are"), formatTime(&h.At, now)))
		v.heldReasons.SetText(strings.Join(h.Reasons, "\n"))
		rows := make([]row, len(h.Removals))
		for i, r := range h.Removals {
			rows[i] = row{r.Email, r.Reason}
		}
		v.heldList.set(rows)
		if h.Approvable {
			v.approveButton.Enable()
			v.heldNote.SetText("Check the list. Approving runs a sync that removes these users.")
		} else {
			v.approveButton.Disable()
			v.heldNote.SetText("The directory read was incomplete, so these removals cannot be approved: fix the read and sync again.")
		}
		if st.Running {
			v.approveButton.Disable()
		}
		v.heldBox.Show()
	} else {
		v.heldBox.Hide()
	}
}

func stageText(st connector.Status) string {
	s := st.Message
	if s == "" {
		s = map[string]string{"lock": "Waiting for other runs", "fetch": "Reading the directory", "normalize": "Checking records",
			"read-org": "Reading the organization", "plan": "Planning", "push": "Sending changes", "done": "Finishing"}[st.Stage]
	}
	if s == "" {
		s = "Starting"
	}
	if st.Total > 0 {
		s += fmt.Sprintf(" (%d of %d requests)", st.Done, st.Total)
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// resultSummary says what a sync did in one line.
func resultSummary(r *engine.Result, now time.Time) string {
	if r == nil {
		return "No sync since the app started."
	}
	when := formatTime(&r.Finished, now)
	outcome := map[string]string{"ok": "Succeeded", "held": "Succeeded, removals held", "failed": "Failed", "cancelled": "Cancelled"}[r.Outcome]
	if outcome == "" {
		outcome = r.Outcome
	}
	if r.Plan == nil {
		return outcome + " · " + when
	}
	c := r.Plan.Counts
	parts := []string{plural(c.Invites, "invite", "invites"), plural(c.Removals, "removal", "removals")}
	if n := c.GroupCreates + c.GroupUpdates; n > 0 {
		parts = append(parts, plural(n, "group change", "group changes"))
	}
	if c.Skipped > 0 {
		parts = append(parts, plural(c.Skipped, "skipped record", "skipped records"))
	}
	if r.Plan.Empty() && r.Outcome == "ok" && c.Invites+c.Removals+c.GroupCreates+c.GroupUpdates == 0 {
		parts = []string{"nothing changed, nothing sent"}
	}
	return fmt.Sprintf("%s · %s · %s", outcome, when, strings.Join(parts, ", "))
}

func (v *dashboardView) onStart() { v.ui.setSyncing(true) }
func (v *dashboardView) onStop()  { v.ui.setSyncing(false) }

func (v *dashboardView) onSyncNow() {
	v.syncButton.Disable()
	v.ui.svc.SyncNow()
}

func (v *dashboardView) onDetails() {
	if r := v.ui.status.LastResult; r != nil {
		v.showPlan(r, "What the last sync did")
	}
}

func (v *dashboardView) onApprove() {
	h := v.ui.status.Held
	if h == nil {
		return
	}
	msg := wrapped(fmt.Sprintf("This runs a sync that removes %s from the organization. "+
		"Removed users lose access to the organization's items. Continue?", plural(len(h.Removals), "user", "users")))
	d := dialog.NewCustomConfirm("Approve held removals", "Remove "+plural(len(h.Removals), "User", "Users"), "Cancel",
		fixedWidth(400, msg), v.approve, v.ui.win)
	d.Show()
}

// approve is the answer of the approval dialog.
func (v *dashboardView) approve(ok bool) {
	if !ok {
		return
	}
	n := 0
	if h := v.ui.status.Held; h != nil {
		n = len(h.Removals)
	}
	v.ui.log.Info("held removals approved", "count", n)
	v.approveButton.Disable()
	v.ui.svc.Approve()
}

// startTest runs fn (Test or Plan) off the UI goroutine with Cancel.
func (v *dashboardView) startTest(fn func(ctx context.Context) (func(), error)) {
	setMessage(v.testError, "")
	v.testButton.Disable()
	v.planButton.Disable()
	v.testCancel.Show()
	v.testBusy.Show()
	v.testBusy.Start()
	ctx, cancel := context.WithTimeout(v.ui.ctx, testTimeout)
	v.cancelTest = cancel
	v.ui.spawn(func() {
		show, err := fn(ctx)
		cancelled := errors.Is(ctx.Err(), context.Canceled)
		cancel()
		fyne.Do(func() {
			v.testButton.Enable()
			v.planButton.Enable()
			v.testCancel.Hide()
			v.testBusy.Stop()
			v.testBusy.Hide()
			if err != nil {
				if cancelled {
					setMessage(v.testError, "Cancelled.")
				} else {
					setMessage(v.testError, err.Error())
				}
				return
			}
			show()
		})
	})
}

func (v *dashboardView) onCancelTest() {
	if v.cancelTest != nil {
		v.cancelTest()
	}
}

func (v *dashboardView) onTest() {
	since, svc := v.sinceLast.Checked, v.ui.svc
	v.startTest(func(ctx context.Context) (func(), error) {
		r, err := svc.Test(ctx, since)
		return func() { v.showTest(r, since) }, err
	})
}

func (v *dashboardView) onPlan() {
	svc := v.ui.svc
	v.startTest(func(ctx context.Context) (func(), error) {
		r, err := svc.Plan(ctx)
		return func() { v.showPlan(r, "The next sync would") }, err
	})
}

// showTest shows what the directory holds.
func (v *dashboardView) showTest(r *engine.TestResult, since bool) {
	v.lastTest = r
	names := map[string]string{}
	users := func(us []engine.TestUser) []row {
		out := make([]row, len(us))
		for i, u := range us {
			names[u.ExternalID] = u.DisplayName
			out[i] = row{u.DisplayName, u.ExternalID}
		}
		return out
	}
	enabled, disabled, deleted := users(r.EnabledUsers), users(r.DisabledUsers), users(r.DeletedUsers)
	skipped := make([]row, len(r.Skipped))
	for i, s := range r.Skipped {
		skipped[i] = row{issueName(s.Kind, s.Name, s.ID), s.Reason}
	}
	title := "Test results"
	if since {
		title += " (since the last successful sync)"
	}
	v.resultsTitle.SetText(title + " · " + formatTime(ptr(v.now()), v.now()))
	v.resultsTitle.Show()
	note := "Complete read of the directory."
	if !r.Complete {
		note = "The read was incomplete: " + strings.Join(r.Incomplete, "; ") + ". A sync would remove nobody."
	}
	setMessage(v.resultsNote, note)
	v.setResults(
		tab("Users", len(enabled), newRowList("No users to list.").with(enabled).obj),
		tab("Disabled", len(disabled), newRowList("No users to list.").with(disabled).obj),
		tab("Deleted", len(deleted), newRowList("No users to list.").with(deleted).obj),
		tab("Groups", len(r.Groups), groupTree(r.Groups, names)),
		tab("Skipped", len(skipped), newRowList("No records were skipped.").with(skipped).obj),
	)
}

// showPlan shows what a sync would do (or did).
func (v *dashboardView) showPlan(r *engine.Result, title string) {
	v.lastPlan = r
	if r == nil || r.Plan == nil {
		return
	}
	p := r.Plan
	v.resultsTitle.SetText(title + " · " + formatTime(&r.Finished, v.now()))
	v.resultsTitle.Show()
	c := p.Counts
	note := fmt.Sprintf("%s, %s, %s created, %s updated; %s and %s unchanged.",
		plural(c.Invites, "invite", "invites"), plural(c.Removals, "removal", "removals"),
		plural(c.GroupCreates, "group", "groups"), plural(c.GroupUpdates, "group", "groups"),
		plural(c.UnchangedUsers, "user", "users"), plural(c.UnchangedGroups, "group", "groups"))
	if p.Empty() {
		note = "Nothing to send: the organization is up to date. " + note
	}
	if p.Guard.Held {
		note += " Removals are held: " + strings.Join(p.Guard.Reasons, "; ")
	}
	for _, n := range p.Notes {
		note += "\n" + n
	}
	setMessage(v.resultsNote, note)
	changes := func(ms []plan.MemberChange) []row {
		out := make([]row, len(ms))
		for i, m := range ms {
			out[i] = row{m.Email, m.Reason}
		}
		return out
	}
	var groups []row
	for _, g := range p.GroupCreates {
		groups = append(groups, row{"New: " + g.Name, fmt.Sprintf("%s · %s", plural(g.Members, "member", "members"), g.Reason)})
	}
	for _, g := range p.GroupUpdates {
		name := g.Name
		if g.OldName != "" && g.OldName != g.Name {
			name = g.OldName + " → " + g.Name
		}
		detail := g.Reason
		if len(g.Added)+len(g.Removed) > 0 {
			detail = fmt.Sprintf("+%d −%d members · %s", len(g.Added), len(g.Removed), g.Reason)
		}
		groups = append(groups, row{"Changed: " + name, detail})
	}
	for _, g := range p.GroupsGone {
		groups = append(groups, row{"Gone from the directory: " + g.Name, g.Reason})
	}
	skipped := make([]row, len(p.Skipped))
	for i, s := range p.Skipped {
		skipped[i] = row{issueName(s.Kind, s.Name, s.ID), s.Reason}
	}
	v.setResults(
		tab("Invites", len(p.Invites), newRowList("No one to invite.").with(changes(p.Invites)).obj),
		tab("Removals", len(p.Removals), newRowList("No one to remove.").with(changes(p.Removals)).obj),
		tab("Held", len(p.Held), newRowList("No removals held.").with(changes(p.Held)).obj),
		tab("Groups", len(groups), newRowList("No group changes.").with(groups).obj),
		tab("Skipped", len(skipped), newRowList("No records were skipped.").with(skipped).obj),
	)
}

func (v *dashboardView) setResults(items ...*container.TabItem) {
	v.results = container.NewAppTabs(items...)
	v.resultsHolder.Objects = []fyne.CanvasObject{v.results}
	v.resultsHolder.Refresh()
}

func tab(name string, n int, content fyne.CanvasObject) *container.TabItem {
	return container.NewTabItem(fmt.Sprintf("%s (%d)", name, n), content)
}

func issueName(kind, name, id string) string {
	s := name
	if s == "" {
		s = id
	}
	if s == "" {
		s = "(no id)"
	}
	return strings.ToUpper(kind[:min(1, len(kind))]) + kind[min(1, len(kind)):] + " " + s
}

func ptr[T any](v T) *T { return &v }

// row is one line of a result list: the main text and a subdued detail.
type row struct{ main, detail string }

// rowList is a list of rows, or a placeholder when empty.
type rowList struct {
	rows  []row
	list  *widget.List
	empty *widget.Label
	obj   *fyne.Container
}

func newRowList(empty string) *rowList {
	l := &rowList{empty: hint(empty)}
	l.list = widget.NewList(func() int { return len(l.rows) },
		func() fyne.CanvasObject {
			main := widget.NewLabel("")
			main.Truncation = fyne.TextTruncateEllipsis
			detail := widget.NewLabel("")
			detail.Importance = widget.LowImportance
			detail.Truncation = fyne.TextTruncateEllipsis
			return container.NewGridWithColumns(2, main, detail)
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			c := o.(*fyne.Container)
			c.Objects[0].(*widget.Label).SetText(l.rows[i].main)
			c.Objects[1].(*widget.Label).SetText(l.rows[i].detail)
		})
	l.obj = container.NewStack(l.list, l.empty)
	l.set(nil)
	return l
}

func (l *rowList) with(rows []row) *rowList {
	l.set(rows)
	return l
}

func (l *rowList) set(rows []row) {
	l.rows = rows
	if len(rows) == 0 {
		l.list.Hide()
		l.empty.Show()
	} else {
		l.empty.Hide()
		l.list.Show()
	}
	l.list.Refresh()
}

// groupTree shows groups with their members (flattened) and directly nested groups.
func groupTree(groups []engine.TestGroup, names map[string]string) fyne.CanvasObject {
	if len(groups) == 0 {
		return hint("No groups to list.")
	}
	byID := map[string]*engine.TestGroup{}
	for i := range groups {
		byID["g:"+groups[i].ExternalID] = &groups[i]
	}
	children := func(id widget.TreeNodeID) []widget.TreeNodeID {
		if id == "" {
			out := make([]string, len(groups))
			for i, g := range groups {
				out[i] = "g:" + g.ExternalID
			}
			return out
		}
		g := byID[id]
		if g == nil {
			return nil
		}
		var out []string
		for _, n := range g.Nested {
			out = append(out, id+"\x00n:"+n)
		}
		for _, u := range g.UserIDs {
			out = append(out, id+"\x00u:"+u)
		}
		return out
	}
	t := widget.NewTree(children,
		func(id widget.TreeNodeID) bool { return id == "" || byID[id] != nil },
		func(bool) fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.TreeNodeID, branch bool, o fyne.CanvasObject) {
			l := o.(*widget.Label)
			if g := byID[id]; g != nil {
				text := fmt.Sprintf("%s — %s", g.DisplayName, plural(len(g.UserIDs), "member", "members"))
				if len(g.Nested) > 0 {
					text += ", nested: " + strings.Join(g.Nested, ", ")
				}
				l.SetText(text)
				l.TextStyle = fyne.TextStyle{Bold: true}
				l.Refresh()
				return
			}
			_, leaf, _ := strings.Cut(id, "\x00")
			kind, val, _ := strings.Cut(leaf, ":")
			l.TextStyle = fyne.TextStyle{}
			if kind == "n" {
				l.SetText("Nested group: " + val)
				return
			}
			if n := names[val]; n != "" {
				val = n
			}
			l.SetText(val)
		})
	return t
}
