package vici

// A fake charon for the unit tests: a VICI server on a unix socket that
// speaks the wire protocol of strongSwan's vici plugin (its README,
// "Packet layer" and "Message format") and keeps the state the package
// changes: loaded conns, shared keys and IKE SAs. Every command has a
// replaceable handler; the defaults answer like charon 5.9.8 does when all
// goes well.

import (
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// client closes the connection.
type handler func(req msg) (events []msg, resp msg)

// streamed names the event each streaming command sends.
var streamed = map[string]string{"initiate": "control-log", "terminate": "control-log", "list-sas": "list-sa", "list-conns": "list-conn"}

var knownEvents = map[string]bool{"log": true, "control-log": true, "list-sa": true, "list-conn": true,
	"ike-updown": true, "child-updown": true, "ike-rekey": true, "child-rekey": true, "ike-update": true}

// request is one command the fake received, in order of arrival.
type request struct {
	client   int // number of the connection it came on
	cmd      string
	msg      msg
	answered bool // the handler returned and its answer went out
}

type client struct {
	id     int
	c      net.Conn
	wmu    sync.Mutex
	events map[string]bool // registered events, guarded by fakeCharon.mu
}

func (c *client) send(typ byte, name string, m msg) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.c.Write(appendPacket(nil, typ, name, m)) // a closed client is not an error
}

type fakeCharon struct {
	t    *testing.T
	path string
	ln   net.Listener
	wg   sync.WaitGroup

	mu         sync.Mutex
	notify     chan struct{} // closed and replaced on every change
	handlers   map[string]handler
	requests   []request
	clients    map[*client]bool // open connections
	nextClient int
	plugins    []string
	conns      map[string]msg // loaded conns by name
	shared     map[string]msg // loaded shared keys by id
	sas        []*fakeSA
	nextIKE    int
	nextChild  int
	closed     bool
}

// newFakeCharon starts a fake charon; the test's cleanup stops it.
func newFakeCharon(t *testing.T) *fakeCharon {
	t.Helper()
	path := filepath.Join(t.TempDir(), "charon.vici")
	if len(path) > 100 { // sun_path holds 108 bytes
		dir, err := os.MkdirTemp("", "vici")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		path = filepath.Join(dir, "charon.vici")
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeCharon{t: t, path: path, ln: ln, notify: make(chan struct{}),
		clients: map[*client]bool{}, conns: map[string]msg{}, shared: map[string]msg{},
		plugins: []string{"random", "nonce", "x509", "pubkey", "pem", "openssl", "hmac", "gcm", "kernel-netlink", "socket-default", "vici", "updown"}}
	f.handlers = map[string]handler{
		"version": f.version, "stats": f.stats,
		"load-shared": f.loadShared, "unload-shared": f.unloadShared,
		"load-conn": f.loadConn, "unload-conn": f.unloadConn,
		"initiate": f.initiate, "terminate": f.terminate, "list-sas": f.listSAs,
		"get-conns": f.getConns, "get-shared": f.getShared,
	}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(f.close)
	return f
}

func (f *fakeCharon) close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.ln.Close()
	f.dropClients()
	f.wg.Wait()
}

// dropClients closes every connection, as a charon that stops does.
func (f *fakeCharon) dropClients() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.clients {
		c.c.Close()
	}
}

// changed wakes await; f.mu is held.
func (f *fakeCharon) changed() {
	close(f.notify)
	f.notify = make(chan struct{})
}

// await waits until cond (called with f.mu held) holds; 5 s is a failure.
func (f *fakeCharon) await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		f.mu.Lock()
		ok, ch := cond(), f.notify
		f.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("fake charon: timed out waiting for %s", what)
		}
	}
}

// awaitNoClients waits until every connection to the fake is closed.
func (f *fakeCharon) awaitNoClients(t *testing.T) {
	t.Helper()
	f.await(t, "all vici sessions to close", func() bool { return len(f.clients) == 0 })
}

func (f *fakeCharon) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			c.Close()
			continue
		}
		f.nextClient++
		cl := &client{id: f.nextClient, c: c, events: map[string]bool{}}
		f.clients[cl] = true
		f.changed()
		f.mu.Unlock()
		f.wg.Add(1)
		go f.serve(cl)
	}
}

// serve runs one connection: every packet gets its answer in order.
func (f *fakeCharon) serve(c *client) {
	defer f.wg.Done()
	defer func() {
		c.c.Close()
		f.mu.Lock()
		delete(f.clients, c)
		f.changed()
		f.mu.Unlock()
	}()
	for {
		typ, name, body, err := readPacket(c.c)
		if err != nil {
			return
		}
		switch typ {
		case pktEventRegister, pktEventUnregister:
			if !knownEvents[name] {
				c.send(pktEventUnknown, "", nil)
				continue
			}
			f.mu.Lock()
			c.events[name] = typ == pktEventRegister
			f.changed()
			f.mu.Unlock()
			c.send(pktEventConfirm, "", nil)
		case pktCmdRequest:
			req, err := decodeMsg(body)
			if err != nil {
				f.t.Errorf("fake charon: %s: %v", name, err)
				return
			}
			f.mu.Lock()
			i := len(f.requests)
			f.requests = append(f.requests, request{client: c.id, cmd: name, msg: req})
			h := f.handlers[name]
			f.changed()
			f.mu.Unlock()
			if h == nil {
				c.send(pktCmdUnknown, "", nil)
				continue
			}
			events, resp := h(req)
			f.mu.Lock()
			reg := c.events[streamed[name]]
			f.mu.Unlock()
			for _, ev := range events {
				if reg {
					c.send(pktEvent, streamed[name], ev)
				}
			}
			if resp != nil {
				c.send(pktCmdResponse, "", resp)
				f.mu.Lock()
				f.requests[i].answered = true
				f.changed()
				f.mu.Unlock()
			}
		default:
			f.t.Errorf("fake charon: client sent packet type %d", typ)
			return
		}
	}
}

// push sends an event to every connection that registered it.
func (f *fakeCharon) push(event string, m msg) {
	f.mu.Lock()
	var to []*client
	for c := range f.clients {
		if c.events[event] {
			to = append(to, c)
		}
	}
	f.mu.Unlock()
	for _, c := range to {
		c.send(pktEvent, event, m)
	}
}

// handle replaces the handler of cmd.
func (f *fakeCharon) handle(cmd string, h handler) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers[cmd] = h
}

func (f *fakeCharon) setPlugins(p ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.plugins = p
}

// reqs returns the requests so far.
func (f *fakeCharon) reqs() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.requests...)
}

func cmds(rs []request) []string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.cmd
	}
	return s
}

// find returns the first request of cmd; it fails the test if there is
// none.
func find(t *testing.T, rs []request, cmd string) request {
	t.Helper()
	for _, r := range rs {
		if r.cmd == cmd {
			return r
		}
	}
	t.Fatalf("no %s request in %v", cmd, cmds(rs))
	return request{}
}

// assertClean fails the test if charon still holds anything.
func (f *fakeCharon) assertClean(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.conns) != 0 || len(f.shared) != 0 || len(f.sas) != 0 {
		var names []string
		for n := range f.conns {
			names = append(names, "conn "+n)
		}
		for n := range f.shared {
			names = append(names, "shared key "+n)
		}
		for _, sa := range f.sas {
			names = append(names, "IKE SA "+sa.conn+"["+strconv.Itoa(sa.id)+"]")
		}
		t.Errorf("charon still holds %s", strings.Join(names, ", "))
	}
}

func ok() msg { return msg{{"success", "yes"}} }

func refused(format string, args ...any) msg {
	return msg{{"success", "no"}, {"errmsg", fmt.Sprintf(format, args...)}}
}

// logs makes control-log events of lines written "[GRP] text".
func logs(lines ...string) []msg {
	var evs []msg
	for _, l := range lines {
		group, text, _ := strings.Cut(strings.TrimPrefix(l, "["), "] ")
		evs = append(evs, msg{{"group", group}, {"level", "1"}, {"msg", text}})
	}
	return evs
}

func (f *fakeCharon) version(msg) ([]msg, msg) {
	return nil, msg{{"daemon", "charon"}, {"version", "5.9.8"}, {"sysname", "Linux"}, {"release", "6.1.0-13-amd64"}, {"machine", "x86_64"}}
}

func (f *fakeCharon) stats(msg) ([]msg, msg) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return nil, msg{
		{"uptime", msg{{"running", "2 minutes"}, {"since", "Jan 02 15:04:05 2025"}}},
		{"workers", msg{{"total", "16"}, {"idle", "11"}}},
		{"ikesas", msg{{"total", strconv.Itoa(len(f.sas))}, {"half-open", "0"}}},
		{"plugins", append([]string(nil), f.plugins...)},
	}
}

func (f *fakeCharon) loadShared(req msg) ([]msg, msg) {
	if req.str("type") != "IKE" || req.str("data") == "" {
		return nil, refused("loading shared secret failed")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shared[req.str("id")] = req
	f.changed()
	return nil, ok()
}

func (f *fakeCharon) unloadShared(req msg) ([]msg, msg) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := req.str("id")
	// charon 5.9.8 answers success for an id it does not have.
	delete(f.shared, id)
	f.changed()
	return nil, ok()
}

func (f *fakeCharon) loadConn(req msg) ([]msg, msg) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range req {
		conn, isSec := e.v.(msg)
		if !isSec || conn.str("version") != "1" && conn.str("version") != "2" {
			return nil, refused("invalid value for: version, config discarded")
		}
		f.conns[e.k] = conn
	}
	f.changed()
	return nil, ok()
}

func (f *fakeCharon) unloadConn(req msg) ([]msg, msg) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := req.str("name")
	if _, ok := f.conns[name]; !ok {
		return nil, refused("unload: connection '%s' not found", name) // charon 5.9.8's words
	}
	delete(f.conns, name)
	f.changed()
	return nil, ok()
}

func (f *fakeCharon) getConns(msg) ([]msg, msg) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return nil, msg{{"conns", slices.Sorted(maps.Keys(f.conns))}}
}

func (f *fakeCharon) getShared(msg) ([]msg, msg) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return nil, msg{{"keys", slices.Sorted(maps.Keys(f.shared))}}
}

// initiate brings up an IKE SA with one CHILD_SA, as charon logs a Main
// Mode and Quick Mode that succeed, and reports both in events.
func (f *fakeCharon) initiate(req msg) ([]msg, msg) {
	name, child := req.str("ike"), req.str("child")
	f.mu.Lock()
	conn, found := f.conns[name]
	if !found || conn.get("children", child) == nil {
		f.mu.Unlock()
		return nil, refused("CHILD_SA config '%s' not found", child)
	}
	sa := f.addSALocked(name, first(conn, "local_addrs"), first(conn, "remote_addrs"), "ESTABLISHED",
		strings.ToUpper(conn.str("children", child, "mode")))
	sec, c := sa.section(), sa.children[0]
	f.mu.Unlock()
	lines := logs(
		fmt.Sprintf("[IKE] initiating Main Mode IKE_SA %s[%d] to %s", name, sa.id, sa.remote),
		"[ENC] generating ID_PROT request 0 [ SA V V V V V ]",
		fmt.Sprintf("[NET] sending packet: from %s[500] to %s[500] (236 bytes)", sa.local, sa.remote),
		fmt.Sprintf("[NET] received packet: from %s[500] to %s[500] (160 bytes)", sa.remote, sa.local),
		"[ENC] parsed ID_PROT response 0 [ SA V V V ]",
		"[ENC] generating ID_PROT request 0 [ KE No NAT-D NAT-D ]",
		"[ENC] parsed ID_PROT response 0 [ KE No NAT-D NAT-D ]",
		"[ENC] generating ID_PROT request 0 [ ID HASH ]",
		"[ENC] parsed ID_PROT response 0 [ ID HASH ]",
		fmt.Sprintf("[IKE] IKE_SA %s[%d] established between %s[%s]...%s[%s]", name, sa.id, sa.local, sa.local, sa.remote, sa.remote),
		"[ENC] generating QUICK_MODE request 1234 [ HASH SA No ID ID ]",
		"[ENC] parsed QUICK_MODE response 1234 [ HASH SA No ID ID ]",
		fmt.Sprintf("[IKE] CHILD_SA %s{%d} established with SPIs %s_i %s_o and TS %s === %s", child, c.id, c.spiIn, c.spiOut, sa.local+"/32[udp/l2f]", sa.remote+"/32[udp/l2f]"),
	)
	f.push("ike-updown", msg{{name, sec}, {"up", "yes"}})
	f.push("child-updown", msg{{name, sec}, {"up", "yes"}})
	return lines, ok()
}

// failingInitiate is an initiate that logs lines and answers errmsg (or
// never answers, when errmsg is ""). leave is the state of the IKE SA the
// attempt leaves in charon ("": none).
func (f *fakeCharon) failingInitiate(leave, errmsg string, lines ...string) handler {
	return func(req msg) ([]msg, msg) {
		if leave != "" {
			f.mu.Lock()
			conn := f.conns[req.str("ike")]
			f.addSALocked(req.str("ike"), first(conn, "local_addrs"), first(conn, "remote_addrs"), leave, "")
			f.mu.Unlock()
		}
		if errmsg == "" {
			return logs(lines...), nil
		}
		return logs(lines...), refused("%s", errmsg)
	}
}

func (f *fakeCharon) terminate(req msg) ([]msg, msg) {
	name := req.str("ike")
	f.mu.Lock()
	var gone, kept []*fakeSA
	for _, sa := range f.sas {
		if sa.conn == name {
			gone = append(gone, sa)
		} else {
			kept = append(kept, sa)
		}
	}
	f.sas = kept
	f.changed()
	f.mu.Unlock()
	if len(gone) == 0 {
		return nil, refused("no matching SAs to terminate found")
	}
	var lines []string
	for _, sa := range gone {
		lines = append(lines, fmt.Sprintf("[IKE] deleting IKE_SA %s[%d] between %s[%s]...%s[%s]", name, sa.id, sa.local, sa.local, sa.remote, sa.remote),
			"[IKE] IKE_SA deleted")
		f.push("child-updown", msg{{name, sa.section()}})
		f.push("ike-updown", msg{{name, sa.section()}})
	}
	n := strconv.Itoa(len(gone))
	return logs(lines...), msg{{"success", "yes"}, {"matches", n}, {"terminated", n}}
}

func (f *fakeCharon) listSAs(req msg) ([]msg, msg) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var evs []msg
	for _, sa := range f.sas {
		if name := req.str("ike"); name == "" || name == sa.conn {
			evs = append(evs, msg{{sa.conn, sa.section()}})
		}
	}
	return evs, msg{}
}

func first(m msg, key string) string {
	if l, _ := m.get(key).([]string); len(l) > 0 {
		return l[0]
	}
	return ""
}

// TestFakeCodec checks the fake's own codec: a message survives a round
// trip, and every prefix of it either fails or decodes to a prefix of it.
