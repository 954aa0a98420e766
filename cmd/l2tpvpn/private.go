package main

// A file that holds a secret (a file: secret, a profile with a literal
// secret) must be private, as ssh wants of a private key: owned by the user
// who runs us or by root, and neither readable nor writable by its group or
// by everyone. Messages name the file and the fix, never the content.

import (
	"fmt"
	"io/fs"
	"syscall"
)

// privacy says what makes a file unfit to hold a secret of user euid, or
// returns "" if nothing does. perm is the file's permission bits, uid its
// owner (-1: unknown). fix is what to do about it, for path.
func privacy(path string, perm fs.FileMode, uid, euid int) (problem, fix string) {
	chmod := "chmod 600 " + path
	switch {
	case uid >= 0 && uid != 0 && uid != euid:
		return fmt.Sprintf("belongs to another user (uid %d; you are uid %d)", uid, euid),
			"keep the secret in a file of your own (" + chmod + ")"
	case perm&0o004 != 0:
		return fmt.Sprintf("is readable by everyone (mode %04o)", perm), chmod
	case perm&0o040 != 0:
		return fmt.Sprintf("is readable by its group (mode %04o)", perm), chmod
	case perm&0o022 != 0:
		return fmt.Sprintf("can be changed by other users (mode %04o)", perm), chmod
	}
	return "", ""
}

// fileOwner is the owner of the file fi describes, or -1 if unknown.
func fileOwner(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}
