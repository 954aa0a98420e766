package tun

import (
	"errors"
	"syscall"
)

var errPerm = syscall.EPERM

// isGone reports whether an undo step failed only because the thing to
// remove is already gone (for example because the device vanished first).
func isGone(err error) bool {
	return errors.Is(err, syscall.ESRCH) || errors.Is(err, syscall.ENODEV) ||
		errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.ENOENT)
}
