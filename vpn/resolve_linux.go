package vpn

import "golang.org/x/sys/unix"

// bindToDevice makes a socket leave by interface dev only.
func bindToDevice(fd int, dev string) error {
	return unix.BindToDevice(fd, dev)
}
