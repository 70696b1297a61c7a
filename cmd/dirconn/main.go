// Command dirconn keeps a Bitwarden organization in step with a company directory: the CLI and service.
// It builds with CGO_ENABLED=0 and never imports Fyne.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/dirconn/dirconn/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fd := int(os.Stdin.Fd())
	code := cli.Main(ctx, os.Args[1:], cli.IO{
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		Env:        os.Getenv,
		IsTerminal: func() bool { return term.IsTerminal(fd) },
		ReadSecret: func() (string, error) {
			b, err := term.ReadPassword(fd)
			return string(b), err
		},
	})
	stop()
	os.Exit(code)
}
