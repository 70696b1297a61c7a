//go:build linux

package slapdtest

import "syscall"

// sysProcAttr puts slapd in its own process group (a ^C meant for go test does not reach it half-way) and
// has the kernel kill it when the process that started it dies, so a crashed or timed-out test binary
// leaves no slapd behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
