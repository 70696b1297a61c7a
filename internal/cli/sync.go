package cli

import (
	"context"

	"github.com/dirconn/dirconn/internal/engine"
	"github.com/dirconn/dirconn/internal/state"
	"github.com/dirconn/dirconn/internal/version"
)

func (a *app) report(ev engine.Event) {
	if ev.Stage != "done" {
		a.progress(ev.Stage, ev.Message)
	}
}

func runTest(ctx context.Context, a *app, args []string) error {
	fs := a.flags("test")
	last := fs.Bool("last", false, "")
	fs.BoolVar(last, "l", false, "")
	if _, err := a.parse(fs, args, 0); err != nil {
		return err
	}
	c, err := a.connector()
	if err != nil {
		return err
	}
	r, err := c.Test(ctx, *last, a.report)
	if err != nil {
		return err
	}
	if a.json {
		return a.writeJSON(r)
	}
	a.renderTest(r)
	return nil
}

// planDoc is the JSON document of plan and sync.
type planDoc struct {
	Object string `json:"object"`
	*engine.Result
	Error string `json:"error,omitempty"`
}

func runPlan(ctx context.Context, a *app, args []string) error {
	fs := a.flags("plan")
	allow := fs.Bool("allow-deletes", false, "")
	if _, err := a.parse(fs, args, 0); err != nil {
		return err
	}
	c, err := a.connector()
	if err != nil {
		return err
	}
	res, err := c.Sync(ctx, engine.SyncOptions{DryRun: true, AllowDeletes: *allow}, a.report)
	if err != nil {
		return err
	}
	return a.printResult("plan", res, nil)
}

func runSync(ctx context.Context, a *app, args []string) error {
	fs := a.flags("sync")
	dry := fs.Bool("dry-run", false, "")
	allow := fs.Bool("allow-deletes", false, "")
	full := fs.Bool("full", false, "")
	wait := fs.Duration("wait", 0, "")
	if _, err := a.parse(fs, args, 0); err != nil {
		return err
	}
	c, err := a.connector()
	if err != nil {
		return err
	}
	if *wait > 0 {
		c.SetLockWait(*wait)
	}
	res, err := c.Sync(ctx, engine.SyncOptions{DryRun: *dry, AllowDeletes: *allow, Full: *full, Trigger: "cli"}, a.report)
	if res == nil {
		return err
	}
	return a.printResult("sync", res, err)
}

// printResult prints a plan or sync result and maps it to the exit code: the run's error, else 3 when
// deletions are held.
func (a *app) printResult(object string, res *engine.Result, runErr error) error {
	if a.json {
		doc := planDoc{Object: object, Result: res}
		if runErr != nil {
			doc.Error = runErr.Error()
		}
		if err := a.writeJSON(doc); err != nil {
			return err
		}
		if runErr != nil {
			return &exitError{code: ExitError, err: runErr, printed: true}
		}
	} else {
		a.renderResult(object, res, false)
		if runErr != nil {
			return runErr
		}
	}
	if res.Held() {
		return errHeld
	}
	return nil
}

func runLastSync(ctx context.Context, a *app, args []string) error {
	pos, err := a.parse(a.flags("last-sync"), args, 1)
	if err != nil {
		return err
	}
	if len(pos) != 1 || (pos[0] != "users" && pos[0] != "groups") {
		return usageErr("usage: dirconn last-sync users|groups")
	}
	st, err := a.state()
	if err != nil {
		return err
	}
	t := st.LastUserSync
	if pos[0] == "groups" {
		t = st.LastGroupSync
	}
	if a.json {
		var v any
		if t != nil {
			v = formatTime(t)
		}
		return a.writeJSON(map[string]any{"object": "last-sync", "type": pos[0], "lastSync": v})
	}
	if s := formatTime(t); s != "" {
		a.printf("%s\n", s)
	}
	return nil
}

func runClearCache(ctx context.Context, a *app, args []string) error {
	if _, err := a.parse(a.flags("clear-cache"), args, 0); err != nil {
		return err
	}
	c, err := a.connector()
	if err != nil {
		return err
	}
	if err := c.ClearCache(ctx); err != nil {
		return err
	}
	if a.json {
		return a.writeJSON(map[string]any{"object": "clear-cache"})
	}
	a.printf("The sync cache has been cleared: the next sync resends the whole directory.\n")
	return nil
}

func runDataFile(ctx context.Context, a *app, args []string) error {
	if _, err := a.parse(a.flags("data-file"), args, 0); err != nil {
		return err
	}
	c, err := a.connector()
	if err != nil {
		return err
	}
	if a.json {
		return a.writeJSON(map[string]any{"object": "data-file", "path": c.Config().Path(), "dataDir": c.DataDir(), "state": c.Store().Path()})
	}
	a.printf("%s\n", c.Config().Path())
	return nil
}

func runHistory(ctx context.Context, a *app, args []string) error {
	fs := a.flags("history")
	limit := fs.Int("limit", 20, "")
	if _, err := a.parse(fs, args, 0); err != nil {
		return err
	}
	if *limit < 1 {
		return usageErr("history: --limit must be at least 1")
	}
	st, err := a.state()
	if err != nil {
		return err
	}
	runs := st.History
	if len(runs) > *limit {
		runs = runs[len(runs)-*limit:]
	}
	if a.json {
		return a.writeJSON(map[string]any{"object": "history", "runs": runs, "held": st.Held})
	}
	a.renderHistory(runs, st.Held)
	return nil
}

func runVersion(ctx context.Context, a *app, args []string) error {
	if _, err := a.parse(a.flags("version"), args, 0); err != nil {
		return err
	}
	if a.json {
		return a.writeJSON(map[string]any{"object": "version", "version": version.String()})
	}
	a.printf("dirconn %s\n", version.String())
	return nil
}

// state loads the data dir's state file.
func (a *app) state() (*state.State, error) {
	c, err := a.connector()
	if err != nil {
		return nil, err
	}
	return c.State()
}
