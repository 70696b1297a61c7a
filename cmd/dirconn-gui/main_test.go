//go:build ci

package main

import "testing"

// With Fyne's ci tag the app runs on the headless test driver, whose Run returns at once: run wires
// everything (data dir, log file, service, demo, UI) and exits 0.
func TestRunHeadless(t *testing.T) {
	t.Setenv("DIRCONN_HOME", t.TempDir())
	if code := run([]string{"--demo"}); code != 0 {
		t.Errorf("run --demo = %d, want 0", code)
	}
	if code := run(nil); code != 0 {
		t.Errorf("run = %d, want 0", code)
	}
	if code := run([]string{"--no-such-flag"}); code != 2 {
		t.Errorf("run --no-such-flag = %d, want 2", code)
	}
}
