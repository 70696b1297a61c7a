package cli

import (
	"context"
	"encoding/json"
	"os"

	"github.com/dirconn/dirconn/internal/demo"
	"github.com/dirconn/dirconn/internal/engine"
)

// demoStep is one step of the demo in --json output.
type demoStep struct {
	Step   string             `json:"step"`
	Test   *engine.TestResult `json:"test,omitempty"`
	Result *engine.Result     `json:"result,omitempty"`
	Error  string             `json:"error,omitempty"`
}

// runDemo shows the whole job on the bundled demo directory against an in-process emulator, in a
// throw-away data dir (package demo sets them up): nothing on this machine or any real organization is touched.
func runDemo(ctx context.Context, a *app, args []string) error {
	fs := a.flags("demo")
	keep := fs.Bool("keep", false, "")
	if _, err := a.parse(fs, args, 0); err != nil {
		return err
	}
	a.listLimit = 6
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d, err := demo.Start(ctx, demo.Options{Registry: a.registry, Logger: a.logger, Keep: *keep})
	if err != nil {
		return err
	}
	defer d.Close()
	dir, url, emu, dirFile, c := d.Dir, d.URL, d.Emulator, d.File, d.Connector
	cfg := c.Config()

	var steps []demoStep
	say := func(format string, args ...any) {
		if !a.json {
			a.printf(format, args...)
		}
	}
	rule := func(title string) { say("\n━━ %s ━━\n", title) }
	sync := func(name string, o engine.SyncOptions) error {
		res, err := c.Sync(ctx, o, nil)
		st := demoStep{Step: name, Result: res}
		if err != nil {
			st.Error = err.Error()
		}
		steps = append(steps, st)
		if !a.json && res != nil {
			a.renderResult(map[bool]string{true: "plan", false: "sync"}[o.DryRun], res, !o.DryRun)
		}
		return err
	}

	say("dirconn demo: a throw-away data dir (%s), the bundled directory of Example Corp (%s),\n", dir, "60 people, 8 groups")
	say("and a Bitwarden emulator on %s. No real organization is touched.\n", url)

	rule("1. dirconn test: what the directory holds (nothing is sent)")
	tr, err := c.Test(ctx, false, nil)
	if err != nil {
		return err
	}
	steps = append(steps, demoStep{Step: "test", Test: tr})
	if !a.json {
		a.renderTest(tr)
	}

	rule("2. dirconn plan: what a sync would change (nothing is sent)")
	if err := sync("plan", engine.SyncOptions{DryRun: true}); err != nil {
		return err
	}

	rule("3. dirconn sync")
	if err := sync("sync", engine.SyncOptions{Trigger: "demo"}); err != nil {
		return err
	}
	snap := emu.Snapshot()
	say("\nThe emulated organization now has %d members (the owner and %d invited) and %d groups.\n",
		len(snap.Members), len(snap.Members)-1, len(snap.Groups))

	rule("4. dirconn sync again: nothing changed, so nothing is sent")
	if err := sync("sync-unchanged", engine.SyncOptions{Trigger: "demo"}); err != nil {
		return err
	}

	rule("5. Someone leaves and someone is disabled: only those changes go out")
	if err := editDemo(dirFile, func(d *demoDoc) {
		d.Users[0]["deleted"] = true
		d.Users[1]["disabled"] = true
	}); err != nil {
		return err
	}
	if err := cfg.Set(a.registry, "sync.removeDisabled", "true", c.Secrets()); err != nil {
		return err
	}
	if err := cfg.Save(); err != nil {
		return err
	}
	if err := sync("sync-changes", engine.SyncOptions{Trigger: "demo"}); err != nil {
		return err
	}

	rule("6. A broken export drops a third of the company: the guard holds the removals")
	if err := editDemo(dirFile, func(d *demoDoc) { d.Users = d.Users[:len(d.Users)*2/3] }); err != nil {
		return err
	}
	if err := sync("sync-guarded", engine.SyncOptions{Trigger: "demo"}); err != nil {
		return err
	}
	snap = emu.Snapshot()
	say("\nThe organization still has %d members: nobody was removed by the suspicious run.\n", len(snap.Members))
	say("\nThat was the whole job. To try it against the emulator yourself: dirconn emulator\n")
	if *keep {
		say("The demo data dir is kept: dirconn --data-dir %s history\n", dir)
	}
	if a.json {
		return a.writeJSON(map[string]any{"object": "demo", "emulator": url, "steps": steps})
	}
	return nil
}

type demoDoc struct {
	Users  []map[string]any `json:"users"`
	Groups []map[string]any `json:"groups"`
}

func editDemo(path string, edit func(*demoDoc)) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var d demoDoc
	if err := json.Unmarshal(data, &d); err != nil {
		return err
	}
	edit(&d)
	out, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o600)
}
