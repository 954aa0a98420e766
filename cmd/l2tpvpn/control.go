package main

// The control socket: a running connection listens on
// /run/l2tpvpn/NAME.sock (a private directory, see privateStateDir; socket
// 0600, and the peer must be root or our own user) from before its first
// packet, so status and disconnect work while it connects. One JSON
// request line, one or two JSON answer lines:
//
//	{"cmd":"status"}      → a vpn.Status
//	{"cmd":"disconnect"}  → {"ok":true} at once, then {"done":true,"error":...}
//	                         once the connection is down and the host restored

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

type controlRequest struct {
	Cmd string `json:"cmd"`
}

type controlReply struct {
	OK    bool   `json:"ok,omitempty"`
	Done  bool   `json:"done,omitempty"`
	Error string `json:"error,omitempty"`
	// Denied: the request was refused for permissions (exit code 15).
	Denied bool `json:"denied,omitempty"`
}

type controlServer struct {
	name, path string
	ln         *net.UnixListener
	client     atomic.Pointer[vpn.Client]
	disconnect chan struct{}
	discOnce   sync.Once

	mu      sync.Mutex
	waiters []net.Conn // disconnect requests waiting for the end
	ended   bool
	result  error
	server  string // from the attempts' events: where we connect
	phase   string // and what the attempt is waiting for
}

func socketPath(dir, name string) string { return filepath.Join(dir, name+".sock") }

// listenControl creates the socket in the state directory (made by
// privateStateDir), replacing a stale socket of a connection that died.
// server is the configured HOST[:PORT]: status shows it until the first
// attempt names the address it connects to.
func listenControl(dir, name, server string) (*controlServer, error) {
	path := socketPath(dir, name)
	if _, err := queryStatus(dir, name); err == nil {
		return nil, fmt.Errorf("connection %q is already running (control socket %s)", name, path)
	}
	os.Remove(path) // stale: nobody answers
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	s := &controlServer{name: name, path: path, ln: ln, disconnect: make(chan struct{}),
		server: server, phase: "the start of the first attempt (the server's address, the socket)"}
	go s.accept()
	return s, nil
}

// serve makes status answer for the running client.
func (s *controlServer) serve(cl *vpn.Client) { s.client.Store(cl) }

// progress follows the events of the connection attempts, for the status
// of a connection that is not up.
func (s *controlServer) progress(ev vpn.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ev.Event == vpn.EventConnecting && ev.Server != "" {
		s.server = ev.Server
	}
	if p := waitingFor(ev); p != "" {
		s.phase = p
	}
}

// status is the connection's status: the client's once it is up, else
// where the first attempt is.
func (s *controlServer) status() vpn.Status {
	st := vpn.Status{Name: s.name, State: vpn.StateConnecting}
	if cl := s.client.Load(); cl != nil {
		st = cl.Status()
	}
	s.mu.Lock()
	if st.State == vpn.StateConnecting || st.State == vpn.StateReconnecting {
		st.WaitingFor = s.phase
		if st.Server == "" {
			st.Server = s.server
		}
	}
	s.mu.Unlock()
	st.PID = os.Getpid()
	return st
}

func (s *controlServer) accept() {
	for {
		conn, err := s.ln.AcceptUnix()
		if err != nil {
			return
		}
		go s.handle(conn)
	}
}

func (s *controlServer) handle(conn *net.UnixConn) {
	if !peerAllowed(conn) {
		json.NewEncoder(conn).Encode(controlReply{Error: "permission denied: only root may control connections", Denied: true})
		conn.Close()
		return
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	var req controlRequest
	if err != nil || json.Unmarshal(line, &req) != nil {
		json.NewEncoder(conn).Encode(controlReply{Error: "bad request"})
		conn.Close()
		return
	}
	enc := json.NewEncoder(conn)
	switch req.Cmd {
	case "status":
		enc.Encode(s.status())
		conn.Close()
	case "disconnect":
		enc.Encode(controlReply{OK: true})
		s.mu.Lock()
		if s.ended {
			s.mu.Unlock()
			s.reply(conn)
			return
		}
		s.waiters = append(s.waiters, conn)
		s.mu.Unlock()
		s.discOnce.Do(func() { close(s.disconnect) })
	default:
		enc.Encode(controlReply{Error: fmt.Sprintf("unknown command %q", req.Cmd)})
		conn.Close()
	}
}

func (s *controlServer) reply(conn net.Conn) {
	r := controlReply{Done: true}
	if s.result != nil {
		r.Error = s.result.Error()
	}
	json.NewEncoder(conn).Encode(r)
	conn.Close()
}

// finished answers the waiting disconnect requests once the client is down.
func (s *controlServer) finished(err error) {
	s.mu.Lock()
	s.ended, s.result = true, err
	w := s.waiters
	s.waiters = nil
	s.mu.Unlock()
	for _, c := range w {
		s.reply(c)
	}
}

func (s *controlServer) close() { s.ln.Close() }

// peerAllowed: root, or the user the client runs as.
func peerAllowed(conn *net.UnixConn) bool {
	raw, err := conn.SyscallConn()
	if err != nil {
		return false
	}
	var cred *unix.Ucred
	var cerr error
	raw.Control(func(fd uintptr) { cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
	if cerr != nil || cred == nil {
		return false
	}
	return cred.Uid == 0 || int(cred.Uid) == os.Geteuid()
}

// errNotRunning: nothing answers on the connection's socket.
var errNotRunning = errors.New("not running")

func dialControl(dir, name string) (*net.UnixConn, error) {
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: socketPath(dir, name), Net: "unix"})
	if err != nil {
		if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
			return nil, fmt.Errorf("%s: %w (only root may control connections: try sudo)", socketPath(dir, name), errPermission)
		}
		return nil, errNotRunning
	}
	return conn, nil
}

// queryStatus asks a running connection for its status.
func queryStatus(dir, name string) (vpn.Status, error) {
	var st vpn.Status
	conn, err := dialControl(dir, name)
	if err != nil {
		return st, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if err := json.NewEncoder(conn).Encode(controlRequest{Cmd: "status"}); err != nil {
		return st, errNotRunning
	}
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil {
		return st, errNotRunning
	}
	var r controlReply
	if json.Unmarshal(line, &r) == nil && r.Error != "" {
		return st, replyError(r)
	}
	if err := json.Unmarshal(line, &st); err != nil {
		return st, fmt.Errorf("bad status answer: %w", err)
	}
	return st, nil
}

// requestDisconnect asks a connection to disconnect and waits (up to
// timeout) until it is down.
func requestDisconnect(dir, name string, timeout time.Duration) error {
	conn, err := dialControl(dir, name)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	if err := json.NewEncoder(conn).Encode(controlRequest{Cmd: "disconnect"}); err != nil {
		return errNotRunning
	}
	rd := bufio.NewReader(conn)
	for {
		line, err := rd.ReadBytes('\n')
		if err != nil {
			return fmt.Errorf("no answer from connection %q: %w", name, err)
		}
		var r controlReply
		if err := json.Unmarshal(line, &r); err != nil {
			return fmt.Errorf("bad answer from connection %q", name)
		}
		if r.Done {
			if r.Error != "" {
				return fmt.Errorf("connection %q ended with: %s", name, r.Error)
			}
			return nil
		}
		if r.Error != "" {
			return replyError(r)
		}
	}
}

// replyError is the error a connection answered with.
func replyError(r controlReply) error {
	if r.Denied {
		return fmt.Errorf("%w (only root may control connections: try sudo)", errPermission)
	}
	return errors.New(r.Error)
}

// runningNames lists the connections that have a control socket (alive
// or stale). A state directory that does not exist has none; one we may
// not read is an error (errPermission), not an empty list.
func runningNames(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, stateDirError(dir, err)
	}
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".sock"); ok && e.Type()&fs.ModeSocket != 0 {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}
