package main

// The control socket of a running 'l2tpvpn serve': status (the clients),
// disconnect of one client, stop. It lives in the state directory as
// serve.ctl (not *.sock: those are the client's connections).

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/l2tpvpn/l2tpvpn/server"
)

const serveSocket = "serve.ctl"

type serveRequest struct {
	Cmd string `json:"cmd"`           // status, disconnect, stop
	Who string `json:"who,omitempty"` // disconnect: a user name or a tunnel address
}

// serveStatus is the answer to status.
type serveStatus struct {
	PID     int                 `json:"pid"`
	Since   time.Time           `json:"since"`
	Config  string              `json:"config"`
	Clients []server.ClientInfo `json:"clients"`
	Stats   server.Stats        `json:"stats"`
}

type serveReply struct {
	OK     bool   `json:"ok,omitempty"`
	Count  int    `json:"count,omitempty"`
	Error  string `json:"error,omitempty"`
	Denied bool   `json:"denied,omitempty"`
}

// serveControl answers on the socket until closed.
type serveControl struct {
	ln     *net.UnixListener
	srv    *server.Server
	config string
	since  time.Time
}

func listenServeControl(dir string, srv *server.Server, config string) (*serveControl, error) {
	path := filepath.Join(dir, serveSocket)
	if _, err := queryServe(dir); err == nil {
		return nil, fmt.Errorf("a server is already running (control socket %s)", path)
	}
	os.Remove(path) // stale
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	c := &serveControl{ln: ln, srv: srv, config: config, since: time.Now()}
	go c.accept()
	return c, nil
}

func (c *serveControl) close() { c.ln.Close() }

func (c *serveControl) accept() {
	for {
		conn, err := c.ln.AcceptUnix()
		if err != nil {
			return
		}
		go c.handle(conn)
	}
}

func (c *serveControl) handle(conn *net.UnixConn) {
	defer conn.Close()
	enc := json.NewEncoder(conn)
	if !peerAllowed(conn) {
		enc.Encode(serveReply{Error: "permission denied: only root may control the server", Denied: true})
		return
	}
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	var req serveRequest
	if err != nil || json.Unmarshal(line, &req) != nil {
		enc.Encode(serveReply{Error: "bad request"})
		return
	}
	switch req.Cmd {
	case "status":
		enc.Encode(serveStatus{PID: os.Getpid(), Since: c.since, Config: c.config, Clients: c.srv.Clients(), Stats: c.srv.Stats()})
	case "disconnect":
		n := c.srv.Disconnect(req.Who)
		if n == 0 {
			enc.Encode(serveReply{Error: fmt.Sprintf("no client %q (a user name or a tunnel address)", req.Who)})
			return
		}
		enc.Encode(serveReply{OK: true, Count: n})
	case "stop":
		enc.Encode(serveReply{OK: true})
		c.srv.Close()
	default:
		enc.Encode(serveReply{Error: fmt.Sprintf("unknown command %q", req.Cmd)})
	}
}

// callServe sends one request to the running server and decodes the
// answer into v (a serveReply is checked first).
func callServe(dir string, req serveRequest, v any) error {
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: filepath.Join(dir, serveSocket), Net: "unix"})
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("%w (only root may control the server: try sudo)", errPermission)
		}
		return errNotRunning
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return errNotRunning
	}
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil {
		return errNotRunning
	}
	var r serveReply
	if json.Unmarshal(line, &r) == nil && r.Error != "" {
		if r.Denied {
			return fmt.Errorf("%w (only root may control the server: try sudo)", errPermission)
		}
		return errors.New(r.Error)
	}
	if v != nil {
		return json.Unmarshal(line, v)
	}
	return nil
}

func queryServe(dir string) (serveStatus, error) {
	var st serveStatus
	err := callServe(dir, serveRequest{Cmd: "status"}, &st)
	return st, err
}
