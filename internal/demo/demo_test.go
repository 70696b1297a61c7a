package demo

import (
	"context"
	"os"
	"testing"

	"github.com/dirconn/dirconn/internal/connector"
	"github.com/dirconn/dirconn/internal/directory/all"
)

func TestStartLogsInAndCloseCleansUp(t *testing.T) {
	d, err := Start(context.Background(), Options{Registry: all.Registry()})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Connector.LoggedIn() || d.Connector.Config().Directory() != "file" {
		t.Errorf("logged in %v, directory %q", d.Connector.LoggedIn(), d.Connector.Config().Directory())
	}
	svc, err := connector.NewService(d.ConnectorOptions())
	if err != nil {
		t.Fatal(err)
	}
	tr, err := svc.Test(context.Background(), false)
	if err != nil || len(tr.EnabledUsers) != 55 {
		t.Errorf("a service on the demo dir reads %v users (%v), want 55", len(tr.EnabledUsers), err)
	}
	svc.Close()
	d.Close()
	if _, err := os.Stat(d.Dir); !os.IsNotExist(err) {
		t.Errorf("the temporary data dir is left: %v", err)
	}
	d.Close() // twice is fine

	keep := t.TempDir()
	d, err = Start(context.Background(), Options{Registry: all.Registry(), Dir: keep})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("a given data dir was removed: %v", err)
	}
}
