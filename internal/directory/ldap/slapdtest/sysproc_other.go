//go:build !linux

package slapdtest

import "syscall"

// sysProcAttr: slapdtest targets Debian's slapd on Linux; elsewhere slapd is started without extras.
func sysProcAttr() *syscall.SysProcAttr { return nil }
