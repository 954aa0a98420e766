package main

// A file that holds a secret (a file: secret, a profile with a literal
// secret) must be private, as ssh wants of a private key: owned by the user
// who runs us or by root, and neither readable nor writable by its group or
// by everyone. Messages name the file and the fix, never the content.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

// privacy says what makes a file unfit to hold a secret of user euid, or
// returns "" if nothing does (secret.Privacy, shared with the server).
func privacy(path string, perm fs.FileMode, uid, euid int) (problem, fix string) {
	return secret.Privacy(path, perm, uid, euid)
}

// fileOwner is the owner of the file fi describes, or -1 if unknown.
func fileOwner(fi fs.FileInfo) int { return secret.FileOwner(fi) }

// The state directory holds the control sockets, logs and undo journals:
// it must be ours and writable by nobody else, or someone else could
// replace a journal (and have root undo "routes" of their choosing) or
// put a socket of theirs in place of ours. A directory shared with other
// users (such as /tmp, mode 1777) is never chmod-ed: we use a directory
// of our own inside it.

// errPermission marks what this user may not do (exit code 15).
var errPermission = errors.New("permission denied")

// privateStateDir returns the state directory to use for dir: dir itself
// when it belongs to us and only we can write to it; inside a shared
// directory (group- or world-writable, with the sticky bit, such as /tmp)
// our own dir/l2tpvpn-UID. With create, what is missing is made 0700 and
// a directory that is not ours is refused; without (status, disconnect),
// whatever would be used is returned and reading it tells.
func privateStateDir(dir string, create bool) (string, error) {
	if dir == "" {
		return "", errNoStateDir // statedir.go
	}
	euid := os.Geteuid()
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if !create {
			return dir, nil
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", stateDirError(dir, err)
		}
		fi, err = os.Stat(dir)
	}
	if err != nil {
		return "", stateDirError(dir, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("state directory %s is not a directory", dir)
	}
	perm, uid := fi.Mode(), fileOwner(fi)
	if perm&0o022 == 0 {
		if create && uid != euid {
			return "", fmt.Errorf("state directory %s belongs to uid %d, not to you (uid %d): %w; point L2TPVPN_STATE_DIR at a directory of your own",
				dir, uid, euid, errPermission)
		}
		return dir, nil
	}
	// Shared: without the sticky bit another user could rename our
	// directory away and put theirs in its place.
	if perm&fs.ModeSticky == 0 && uid != euid && uid != 0 {
		return "", fmt.Errorf("state directory %s can be changed by other users (mode %04o, no sticky bit): %w; point L2TPVPN_STATE_DIR at a directory of your own",
			dir, perm.Perm(), errPermission)
	}
	sub := filepath.Join(dir, fmt.Sprintf("l2tpvpn-%d", euid))
	if create {
		if err := os.Mkdir(sub, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", stateDirError(sub, err)
		}
	}
	fi, err = os.Lstat(sub)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !create:
		return sub, nil
	case err != nil:
		return "", stateDirError(sub, err)
	case !fi.IsDir() || fileOwner(fi) != euid || fi.Mode().Perm()&0o077 != 0:
		return "", fmt.Errorf("state directory %s (in the shared %s) is not a private directory of yours (owner uid %d, mode %v): %w; remove it",
			sub, dir, fileOwner(fi), fi.Mode(), errPermission)
	}
	return sub, nil
}

// stateDirError names the state directory in err, and marks a denied
// access as a permission problem.
func stateDirError(dir string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("cannot use the state directory %s: %w (connections started with sudo are root's: try sudo)", dir, errPermission)
	}
	return fmt.Errorf("state directory %s: %w", dir, err)
}
