package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dirconn/dirconn/internal/config"
	"github.com/dirconn/dirconn/internal/secret"
)

func runLogin(ctx context.Context, a *app, args []string) error {
	fs := a.flags("login")
	idFlag := fs.String("client-id", "", "")
	secretFlag := fs.String("client-secret", "", "")
	secretFile := fs.String("client-secret-file", "", "")
	pos, err := a.parse(fs, args, 2)
	if err != nil {
		return err
	}
	// Order as bwdc: positional arguments (bwdc login ID SECRET) and BW_CLIENTID/BW_CLIENTSECRET first,
	// then flags, then a prompt.
	id, sec := a.Env("BW_CLIENTID"), a.Env("BW_CLIENTSECRET")
	envName := ""
	if sec != "" {
		envName = "BW_CLIENTSECRET"
	}
	if len(pos) > 0 {
		id = pos[0]
	}
	if len(pos) > 1 {
		sec, envName = pos[1], ""
	}
	if id == "" {
		id = *idFlag
	}
	if sec == "" && *secretFlag != "" {
		sec = *secretFlag
	}
	if sec == "" && *secretFile != "" {
		data, err := os.ReadFile(*secretFile)
		if err != nil {
			return fmt.Errorf("read the client secret: %w", err)
		}
		sec = strings.TrimSpace(string(data))
	}
	if id == "" || sec == "" {
		if a.IsTerminal == nil || !a.IsTerminal() {
			return usageErr("login needs the client id and secret: set BW_CLIENTID and BW_CLIENTSECRET, or pass --client-id and --client-secret-file")
		}
		if id == "" {
			fmt.Fprint(a.Stderr, "Client ID (organization.<guid>): ")
			line, err := bufio.NewReader(a.Stdin).ReadString('\n')
			if err != nil && line == "" {
				return fmt.Errorf("read the client id: %w", err)
			}
			id = strings.TrimSpace(line)
		}
		if sec == "" {
			fmt.Fprint(a.Stderr, "Client secret (not shown): ")
			s, err := a.ReadSecret()
			fmt.Fprintln(a.Stderr)
			if err != nil {
				return fmt.Errorf("read the client secret: %w", err)
			}
			sec = strings.TrimSpace(s)
		}
	}
	c, err := a.connector()
	if err != nil {
		return err
	}
	res, err := c.Login(ctx, id, secret.Secret(sec), envName)
	if err != nil {
		return err
	}
	if a.json {
		return a.writeJSON(map[string]any{"object": "login", "organizationId": res.OrgID, "secretStoredIn": res.Stored})
	}
	a.printf("Logged in to organization %s. The client secret is kept in: %s.\n", res.OrgID, res.Stored)
	return nil
}

func runLogout(ctx context.Context, a *app, args []string) error {
	if _, err := a.parse(a.flags("logout"), args, 0); err != nil {
		return err
	}
	c, err := a.connector()
	if err != nil {
		return err
	}
	if err := c.Logout(); err != nil {
		return err
	}
	if a.json {
		return a.writeJSON(map[string]any{"object": "logout"})
	}
	a.printf("Logged out. Settings and the sync cache are kept.\n")
	return nil
}

func runConfig(ctx context.Context, a *app, args []string) error {
	fs := a.flags("config")
	fromFile := fs.String("from-file", "", "")
	fromEnv := fs.String("from-env", "", "")
	pos, err := a.parse(fs, args, 3)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageErr("config needs a subcommand: list, get KEY, set KEY VALUE, unset KEY")
	}
	c, err := a.connector()
	if err != nil {
		return err
	}
	cfg, reg := c.Config(), c.Registry()
	sub, rest := pos[0], pos[1:]
	want := func(n int, form string) error {
		if len(rest) != n {
			return usageErr("usage: dirconn config %s", form)
		}
		return nil
	}
	switch sub {
	case "list":
		if err := want(0, "list"); err != nil {
			return err
		}
		return a.configList(c.Config(), c)
	case "get":
		if err := want(1, "get KEY"); err != nil {
			return err
		}
		k, err := cfg.ResolveKey(reg, rest[0])
		if err != nil {
			return usageErr("%v", err)
		}
		v, set, err := cfg.Get(reg, k.Name, c.Secrets(), c.Env())
		if err != nil {
			return err
		}
		if a.json {
			return a.writeJSON(map[string]any{"object": "setting", "key": k.Name, "value": v, "set": set, "secret": k.Option.Secret})
		}
		a.printf("%s\n", v)
		return nil
	case "set":
		if *fromFile != "" && *fromEnv != "" {
			return usageErr("config set takes --from-file or --from-env, not both")
		}
		if *fromFile != "" || *fromEnv != "" {
			if err := want(1, "set KEY --from-file F | --from-env VAR"); err != nil {
				return err
			}
		} else if err := want(2, "set KEY VALUE"); err != nil {
			return err
		}
		k, err := cfg.ResolveKey(reg, rest[0])
		if err != nil {
			return usageErr("%v", err)
		}
		how, err := a.configSet(c.Config(), c, k, rest, *fromFile, *fromEnv)
		if err != nil {
			return err
		}
		if err := cfg.Save(); err != nil {
			return err
		}
		if a.json {
			return a.writeJSON(map[string]any{"object": "setting", "key": k.Name, "saved": how})
		}
		a.printf("Saved %s (%s).\n", k.Name, how)
		return nil
	case "unset":
		if err := want(1, "unset KEY"); err != nil {
			return err
		}
		k, err := cfg.ResolveKey(reg, rest[0])
		if err != nil {
			return usageErr("%v", err)
		}
		if err := cfg.Unset(reg, k.Name, c.Secrets()); err != nil && !errors.Is(err, secret.ErrNotFound) {
			return err
		}
		if err := cfg.Save(); err != nil {
			return err
		}
		if a.json {
			return a.writeJSON(map[string]any{"object": "setting", "key": k.Name, "saved": "unset"})
		}
		a.printf("Unset %s.\n", k.Name)
		return nil
	case "import-bwdc":
		if len(rest) > 1 {
			return usageErr("usage: dirconn config import-bwdc [DATA.JSON]")
		}
		return a.importBwdc(cfg, c, rest)
	}
	return usageErr("unknown config subcommand %q (list, get, set, unset, import-bwdc)", sub)
}

// importBwdc imports the Directory Connector's data.json: the given file, else the one the Directory
// Connector itself would use on this machine.
func (a *app) importBwdc(cfg *config.Config, c connectorLike, rest []string) error {
	path := config.BwdcDataFile(a.Env)
	if len(rest) == 1 {
		path = rest[0]
	}
	if path == "" {
		return usageErr("no Directory Connector data.json found here; give its path: dirconn config import-bwdc PATH (bwdc data-file prints it)")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	r, err := cfg.ImportBwdc(a.registry, data, c.Secrets())
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := cfg.Save(); err != nil {
		return err
	}
	if a.json {
		return a.writeJSON(map[string]any{"object": "import", "file": path, "imported": r.Imported, "skipped": r.Skipped, "organizationId": r.OrganizationID})
	}
	a.printf("Imported %d setting(s) from %s:\n", len(r.Imported), path)
	for _, k := range r.Imported {
		a.printf("  %s = %s\n", k.Key, k.Value)
	}
	if len(r.Skipped) > 0 {
		a.printf("Not imported:\n")
		for _, k := range r.Skipped {
			a.printf("  %s: %s\n", k.Key, k.Reason)
		}
	}
	a.printf("Next: log in with the organization's API key")
	if r.OrganizationID != "" {
		a.printf(" (organization %s)", r.OrganizationID)
	}
	a.printf(" and set the secrets listed above, then compare with dirconn plan before the first sync.\n")
	return nil
}

type connectorLike interface {
	Secrets() secret.Store
	Env() func(string) string
}

func (a *app) configSet(cfg *config.Config, c connectorLike, k config.Key, rest []string, fromFile, fromEnv string) (string, error) {
	reg := a.registry
	switch {
	case k.Option.Secret && fromEnv != "":
		if err := cfg.SetRef(reg, k.Name, "env:"+fromEnv); err != nil {
			return "", err
		}
		if c.Env()(fromEnv) == "" {
			fmt.Fprintf(a.Stderr, "note: %s is not set in this environment; it must be set whenever dirconn runs\n", fromEnv)
		}
		return "read from environment variable " + fromEnv + " at each run", nil
	case k.Option.Secret && fromFile != "":
		abs, err := filepath.Abs(fromFile)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("%s: %w", k.Name, err)
		}
		if err := cfg.SetRef(reg, k.Name, "file:"+abs); err != nil {
			return "", err
		}
		return "read from " + abs + " at each run", nil
	case fromEnv != "":
		v := c.Env()(fromEnv)
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty or not set", fromEnv)
		}
		return "value from " + fromEnv, cfg.Set(reg, k.Name, v, c.Secrets())
	case fromFile != "":
		data, err := os.ReadFile(fromFile)
		if err != nil {
			return "", fmt.Errorf("%s: %w", k.Name, err)
		}
		return "value from " + fromFile, cfg.Set(reg, k.Name, strings.TrimSpace(string(data)), c.Secrets())
	}
	if err := cfg.Set(reg, k.Name, rest[1], c.Secrets()); err != nil {
		return "", err
	}
	if k.Option.Secret {
		return "stored in " + c.Secrets().Name(), nil
	}
	return "in " + cfg.Path(), nil
}

type settingDoc struct {
	Key     string `json:"key"`
	Value   string `json:"value"`
	Set     bool   `json:"set"`
	Secret  bool   `json:"secret"`
	Default string `json:"default,omitempty"`
	Help    string `json:"help"`
}

func (a *app) configList(cfg *config.Config, c connectorLike) error {
	var docs []settingDoc
	for _, k := range cfg.Keys(a.registry) {
		// Only the selected directory's keys, plus the global and sync ones.
		if k.Section != "" && k.Section != config.SyncSection && k.Section != cfg.Directory() {
			continue
		}
		v, set, err := cfg.Get(a.registry, k.Name, c.Secrets(), c.Env())
		switch {
		case errors.Is(err, secret.ErrNoKeyring):
			v = "(the keyring cannot be read here; dirconn config get " + k.Name + " explains the options)"
		case err != nil:
			v = "(" + err.Error() + ")"
		}
		docs = append(docs, settingDoc{Key: k.Name, Value: v, Set: set, Secret: k.Option.Secret, Default: k.Option.Default, Help: k.Option.Help})
	}
	if a.json {
		return a.writeJSON(map[string]any{"object": "settings", "file": cfg.Path(), "directory": cfg.Directory(), "settings": docs})
	}
	a.printf("Settings in %s\n", cfg.Path())
	if cfg.Directory() == "" {
		a.printf("(no directory selected: dirconn config set directory %s)\n", strings.Join(a.registry.Names(), "|"))
	}
	width := 0
	for _, d := range docs {
		width = max(width, len(d.Key))
	}
	for _, d := range docs {
		v := d.Value
		switch {
		case !d.Set && d.Default != "":
			v = d.Default + "  (default)"
		case !d.Set && v == "":
			v = "-"
		}
		a.printf("  %-*s  %s\n", width, d.Key, v)
	}
	return nil
}
