package main

// systemd's readiness protocol (sd_notify): with NOTIFY_SOCKET set (a
// Type=notify unit), connect tells the service manager where it is:
// STATUS= for each phase, READY=1 once traffic can flow (after IPCP, the
// routes, DNS and the ready checks), STATUS= for reconnects and
// STOPPING=1 when it disconnects. Each message is one datagram; the socket
// is a path or, starting with '@', an abstract name. The protocol is four
// lines of code, so it is written here rather than taken from a library.

import (
	"net"
	"os"
	"strings"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// notifier sends to NOTIFY_SOCKET; nil (no socket) sends nothing.
type notifier struct {
	conn *net.UnixConn
}

// newNotifier connects to $NOTIFY_SOCKET, or returns nil without it. The
// variable is removed, so hooks and children do not notify in our name.
func newNotifier() *notifier {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	os.Unsetenv("NOTIFY_SOCKET")
	if path[0] != '/' && path[0] != '@' {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil
	}
	return &notifier{conn: c}
}

func (n *notifier) send(lines ...string) {
	if n == nil {
		return
	}
	n.conn.Write([]byte(strings.Join(lines, "\n")))
}

func (n *notifier) close() {
	if n != nil {
		n.conn.Close()
	}
}

// status turns an event into the service manager's status line.
func (n *notifier) event(ev vpn.Event) {
	if n == nil {
		return
	}
	switch ev.Event {
	case vpn.EventUp:
		n.send("STATUS=up: " + ev.IP + " via " + ev.Interface)
		return
	case vpn.EventReconnecting:
		n.send("STATUS=link lost; reconnecting")
		return
	}
	if p := waitingFor(ev); p != "" {
		n.send("STATUS=connecting: waiting for " + p)
	}
}
