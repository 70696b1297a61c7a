package cli

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/dirconn/dirconn/internal/config"
	"github.com/dirconn/dirconn/internal/connector"
)

// runServe syncs on sync.interval until SIGINT/SIGTERM: the service mode for systemd, Windows services and
// containers. Each run is logged (stderr, so journald and the like keep it) and recorded in the history.
func runServe(ctx context.Context, a *app, args []string) error {
	if _, err := a.parse(a.flags("serve"), args, 0); err != nil {
		return err
	}
	dir, err := config.DataDir(a.dataDir, a.Env)
	if err != nil {
		return err
	}
	// A service logs every run: info level (debug with --verbose), on stderr for the journal.
	level := slog.LevelInfo
	if a.verbose {
		level = slog.LevelDebug
	}
	a.logger = slog.New(slog.NewTextHandler(a.Stderr, &slog.HandlerOptions{Level: level}))
	svc, err := connector.NewService(connector.Options{DataDir: dir, Registry: a.registry, Env: a.Env,
		Secrets: a.Secrets, Logger: a.logger, Retry: a.Retry, LockWait: time.Minute})
	if err != nil {
		return err
	}
	defer svc.Close()
	st := svc.Status()
	switch {
	case !st.LoggedIn:
		return connector.ErrNotLoggedIn
	case st.Directory == "":
		return fmt.Errorf("no directory is configured: run dirconn config set directory <type>")
	case st.Interval <= 0:
		return usageErr("sync.interval is 0, so there is nothing to schedule; set it (e.g. dirconn config set sync.interval 15m) or run dirconn sync from a timer")
	}
	a.logger.Info("dirconn serve: syncing", "every", st.Interval.String(), "dataDir", dir, "directory", st.Directory, "organization", st.ClientID)
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	updates := svc.Subscribe(subCtx)
	svc.Start()
	running := false
	for {
		select {
		case <-ctx.Done():
			a.logger.Info("dirconn serve: stopping")
			return nil
		case s := <-updates:
			if running && !s.Running {
				a.logServeRun(s)
			}
			running = s.Running
		}
	}
}

// logServeRun logs how the run that just ended went: warnings for failures and held removals, so they
// stand out in a journal.
func (a *app) logServeRun(s connector.Status) {
	next := ""
	if !s.Next.IsZero() {
		next = s.Next.Local().Format(time.DateTime)
	}
	switch {
	case s.LastError != "":
		a.logger.Error("sync failed", "error", s.LastError, "failures", s.Failures, "next", next)
	case s.LastResult != nil:
		c := s.LastResult.Plan.Counts
		attrs := []any{"outcome", s.LastResult.Outcome, "invited", c.Invites, "removed", c.Removals,
			"groupsCreated", c.GroupCreates, "groupsUpdated", c.GroupUpdates, "skipped", c.Skipped,
			"requests", s.LastResult.Accepted, "next", next}
		if s.Held != nil {
			a.logger.Warn("sync held removals: review with dirconn plan, approve with dirconn sync --allow-deletes",
				append(attrs, "held", len(s.Held.Removals), "why", s.Held.Reasons)...)
			return
		}
		a.logger.Info("sync done", attrs...)
	}
}
