package main

// Where a user's connections keep their control sockets, logs and undo
// journals. Root's live in /run/l2tpvpn. Another user (proxy mode needs no
// root) cannot create anything in /run: it uses $XDG_RUNTIME_DIR/l2tpvpn,
// the per-user runtime directory systemd-logind provides (0700, emptied at
// logout), unless an administrator set /run/l2tpvpn up for users. status,
// disconnect, list and --background's two halves all ask stateDir, so they
// agree.

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// errNoStateDir: a user other than root without XDG_RUNTIME_DIR.
var errNoStateDir = errors.New("no state directory: XDG_RUNTIME_DIR is not set, and a user other than root keeps its connections in $XDG_RUNTIME_DIR/l2tpvpn; " +
	"log in through a session that sets it (ssh or a desktop login; not su), or set L2TPVPN_STATE_DIR to a directory of your own")

// runDir describes /run/l2tpvpn: whether it exists, its owner and mode.
type runDir struct {
	exists bool
	uid    int
	mode   fs.FileMode
}

func statRunDir(path string) runDir {
	fi, err := os.Stat(path)
	if err != nil || !fi.IsDir() {
		return runDir{}
	}
	return runDir{exists: true, uid: fileOwner(fi), mode: fi.Mode()}
}

// userStateDir picks the state directory of user euid: /run/l2tpvpn for
// root, and for another user if it is that user's or an administrator
// made it shared (root's, writable by all, sticky: privateStateDir then
// uses a directory of the user's own inside); otherwise xdg/l2tpvpn; ""
// when there is no absolute xdg (privateStateDir says what to set).
func userStateDir(euid int, xdg string, run runDir) string {
	if euid == 0 {
		return vpn.DefaultStateDir
	}
	shared := run.uid == 0 && run.mode&0o002 != 0 && run.mode&fs.ModeSticky != 0
	if run.exists && (run.uid == euid || shared) {
		return vpn.DefaultStateDir
	}
	if !filepath.IsAbs(xdg) {
		return "" // unset, or relative (the XDG spec says to ignore it then)
	}
	return filepath.Join(xdg, "l2tpvpn")
}
