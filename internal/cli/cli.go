// Package cli is the dirconn command line: `dirconn [--data-dir DIR] [--json] COMMAND`. Each command is a
// plain function over an *app (its settings, output streams and environment), so tests run commands
// directly and compare their output. People get short readable text; --json gives exactly one JSON
// document on stdout. Exit codes: 0 ok, 1 error, 2 usage, 3 deletions held by the guard.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/dirconn/dirconn/internal/config"
	"github.com/dirconn/dirconn/internal/connector"
	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/all"
	"github.com/dirconn/dirconn/internal/httpx"
	"github.com/dirconn/dirconn/internal/secret"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
	ExitHeld  = 3
)

// IO bundles what a command reads and writes; tests replace all of it.
type IO struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Env    func(string) string
	// IsTerminal reports whether stdin is an interactive terminal (for prompts).
	IsTerminal func() bool
	// ReadSecret reads a line from the terminal without echo.
	ReadSecret func() (string, error)
	// Secrets overrides the secret store (tests).
	Secrets secret.Store
	// Retry overrides the HTTP retry policy (tests).
	Retry *httpx.Policy
	// Registry overrides the adapter registry (tests).
	Registry *directory.Registry
}

// app is one invocation.
type app struct {
	IO
	dataDir  string
	json     bool
	verbose  bool
	registry *directory.Registry
	logger   *slog.Logger
	// listLimit caps the entries of each list in text output (0: the default).
	listLimit int
}

// exitError carries an exit code with an error.
type exitError struct {
	code    int
	err     error
	printed bool // the error is already part of the printed result
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, a ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, a...)}
}

// errHeld is returned (after printing the result) when the guard held deletions.
var errHeld = &exitError{code: ExitHeld, err: errors.New("deletions are held")}

type command struct {
	name    string
	usage   string
	summary string
	run     func(ctx context.Context, a *app, args []string) error
}

func commands() []command {
	return []command{
		{"login", "login [--client-id ID] [--client-secret-file F]", "log in with the organization's API key (BW_CLIENTID/BW_CLIENTSECRET, flags or a prompt)", runLogin},
		{"logout", "logout", "forget the API key (settings and sync cache stay)", runLogout},
		{"config", "config list | get KEY | set KEY VALUE | set KEY --from-file F | set KEY --from-env VAR | unset KEY | import-bwdc [DATA.JSON]", "show and change settings; import the Directory Connector's", runConfig},
		{"test", "test [--last]", "read the directory and show what it holds; nothing is sent", runTest},
		{"plan", "plan [--allow-deletes]", "show what a sync would change; nothing is sent", runPlan},
		{"sync", "sync [--dry-run] [--allow-deletes] [--full] [--wait DURATION]", "sync the directory to the organization", runSync},
		{"last-sync", "last-sync users|groups", "print when users or groups were last synced (empty: never)", runLastSync},
		{"clear-cache", "clear-cache", "forget what was synced; the next sync resends everything", runClearCache},
		{"data-file", "data-file", "print the path of the settings file", runDataFile},
		{"history", "history [--limit N]", "show recent sync runs", runHistory},
		{"serve", "serve", "sync every sync.interval until stopped (the service mode)", runServe},
		{"emulator", "emulator [--listen ADDR] [--profile cloud|selfhosted|vaultwarden]", "run a local Bitwarden server emulator for trials", runEmulator},
		{"demo", "demo", "show the whole job on bundled demo data against an in-process emulator", runDemo},
		{"version", "version", "print the version", runVersion},
	}
}

// Main runs dirconn with args (without the program name) and returns the exit code.
func Main(ctx context.Context, args []string, stdio IO) int {
	if stdio.Env == nil {
		stdio.Env = os.Getenv
	}
	a := &app{IO: stdio}
	err := a.run(ctx, args)
	if err == nil {
		return ExitOK
	}
	code := ExitError
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if code == ExitHeld || (ee != nil && ee.printed) {
		return code // the result, with the held deletions or the error, is already printed
	}
	if a.json {
		a.writeJSON(map[string]any{"object": "error", "message": err.Error(), "exitCode": code})
	} else {
		fmt.Fprintf(a.Stderr, "dirconn: %v\n", err)
		if code == ExitUsage {
			fmt.Fprintln(a.Stderr, "Run 'dirconn help' for usage.")
		}
	}
	return code
}

func (a *app) run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dirconn", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dataDir := fs.String("data-dir", "", "")
	asJSON := fs.Bool("json", false, "")
	verbose := fs.Bool("verbose", false, "")
	fs.BoolVar(verbose, "v", false, "")
	help := fs.Bool("help", false, "")
	fs.BoolVar(help, "h", false, "")
	if err := fs.Parse(args); err != nil {
		return usageErr("%v", err)
	}
	a.dataDir, a.json, a.verbose = *dataDir, *asJSON, *verbose
	rest := fs.Args()
	if *help || len(rest) == 0 || rest[0] == "help" {
		a.printHelp(rest)
		if len(rest) == 0 && !*help {
			return &exitError{code: ExitUsage, err: errors.New("no command given")}
		}
		return nil
	}
	level := slog.LevelWarn
	if a.verbose {
		level = slog.LevelDebug
	}
	a.logger = slog.New(slog.NewTextHandler(a.Stderr, &slog.HandlerOptions{Level: level}))
	a.registry = a.Registry
	if a.registry == nil {
		a.registry = all.Registry()
	}
	name := rest[0]
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, a, rest[1:])
		}
	}
	if name == "--version" {
		return runVersion(ctx, a, nil)
	}
	return usageErr("unknown command %q", name)
}

func (a *app) printHelp(rest []string) {
	if len(rest) > 1 {
		for _, c := range commands() {
			if c.name == rest[1] {
				fmt.Fprintf(a.Stdout, "Usage: dirconn [--data-dir DIR] [--json] %s\n\n%s.\n", c.usage, upperFirst(c.summary))
				return
			}
		}
	}
	var b strings.Builder
	b.WriteString("dirconn keeps a Bitwarden organization in step with a company directory.\n\n")
	b.WriteString("Usage: dirconn [--data-dir DIR] [--json] [--verbose] COMMAND [ARGS]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-12s %s\n", c.name, c.summary)
	}
	b.WriteString("\nGlobal flags:\n")
	b.WriteString("  --data-dir DIR  settings and state (default: $DIRCONN_HOME, else the user config dir + /dirconn)\n")
	b.WriteString("  --json          print one JSON document on stdout\n")
	b.WriteString("  --verbose, -v   log details to stderr\n")
	b.WriteString("\nExit codes: 0 ok, 1 error, 2 usage, 3 deletions held by the guard (approve with sync --allow-deletes).\n")
	b.WriteString("Run 'dirconn help COMMAND' for a command's arguments.\n")
	fmt.Fprint(a.Stdout, b.String())
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// flags returns a FlagSet for a command; it accepts --json anywhere so `dirconn sync --json` works too.
func (a *app) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&a.json, "json", a.json, "")
	return fs
}

func (a *app) parse(fs *flag.FlagSet, args []string, maxArgs int) ([]string, error) {
	if err := fs.Parse(args); err != nil {
		return nil, usageErr("%s: %v", fs.Name(), err)
	}
	// Allow flags after positional arguments (dirconn config get x --json).
	rest := fs.Args()
	var pos []string
	for len(rest) > 0 {
		pos = append(pos, rest[0])
		if err := fs.Parse(rest[1:]); err != nil {
			return nil, usageErr("%s: %v", fs.Name(), err)
		}
		rest = fs.Args()
	}
	if maxArgs >= 0 && len(pos) > maxArgs {
		return nil, usageErr("%s: unexpected argument %q", fs.Name(), pos[maxArgs])
	}
	return pos, nil
}

// connector opens the data dir.
func (a *app) connector() (*connector.Connector, error) {
	dir, err := config.DataDir(a.dataDir, a.Env)
	if err != nil {
		return nil, err
	}
	return connector.Open(connector.Options{
		DataDir:  dir,
		Registry: a.registry,
		Env:      a.Env,
		Secrets:  a.Secrets,
		Logger:   a.logger,
		Retry:    a.Retry,
	})
}

func (a *app) writeJSON(v any) error {
	// Compact, like bwdc without --pretty: documents can hold every user of a big directory (pipe to jq).
	enc := json.NewEncoder(a.Stdout)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func (a *app) printf(format string, args ...any) { fmt.Fprintf(a.Stdout, format, args...) }

// progress prints engine stages to stderr for people (never in JSON mode, which keeps stdout clean).
func (a *app) progress(stage, msg string) {
	if !a.json {
		fmt.Fprintf(a.Stderr, "· %s\n", msg)
	}
}

func formatTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func sortedStrings(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
