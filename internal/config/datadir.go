package config

import (
	"fmt"
	"os"
	"path/filepath"
)

// HomeEnv is the environment variable that overrides the data directory.
const HomeEnv = "DIRCONN_HOME"

// DataDir returns the absolute data directory: flag (--data-dir) when not empty, else $DIRCONN_HOME,
// else os.UserConfigDir()/dirconn. It creates the directory with mode 0700 when missing; an existing
// directory's mode is left alone. env reads environment variables (nil means os.Getenv).
func DataDir(flag string, env func(string) string) (string, error) {
	if env == nil {
		env = os.Getenv
	}
	dir := flag
	if dir == "" {
		dir = env(HomeEnv)
	}
	if dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("finding the data directory: %w (set %s or pass --data-dir)", err, HomeEnv)
		}
		dir = filepath.Join(base, "dirconn")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("data directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating the data directory: %w", err)
	}
	if fi, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("data directory: %w", err)
	} else if !fi.IsDir() {
		return "", fmt.Errorf("data directory %s is not a directory", dir)
	}
	return dir, nil
}
