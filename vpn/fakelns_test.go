package vpn

// A scripted plain-L2TP server (LNS) on a loopback UDP socket for the
// supervisor's tests, built from the l2tp and ppp packages' exported codecs
// only. It answers SCCRQ with SCCRP, acknowledges SCCCN (ZLB), answers ICRQ
// with ICRP, takes the ICCN, then plays the PPP server (fakeppp_test.go):
// LCP, CHAP-MD5, IPCP. IPv4 packets of the session are echoed back with
// source and destination swapped.
//
// It records what the client sends, in arrival order ("SCCRQ", "CDN",
// "LCP Terminate-Request", ...; IP packets separately), and can be scripted:
// go silent (record, answer nothing: a lost link), go silent after a given
// event, send StopCCN or CDN on demand, change the password it accepts,
// stop echoing, or become an allocation-free sink for the data path's
// allocation tests. Each SCCRQ starts a new tunnel, so one fake serves a
// client's reconnects.

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/ppp"
)

const (
	lnsTunnelID  = 0x4c4e // the fake's Assigned Tunnel ID
	lnsSessionID = 0x5353 // and Assigned Session ID
)

// waitTimeout bounds every wait of these tests for an event that must come.
const waitTimeout = 10 * time.Second

type fakeLNS struct {
	t    *testing.T
	conn *net.UDPConn
	addr netip.AddrPort
	done chan struct{}

	// sink: count IPv4 data messages on sunk (never blocking) and do
	// nothing else, allocating nothing.
	sink atomic.Bool
	sunk chan struct{}

	mu sync.Mutex // guards everything below
	// The script.
	password  string
	silent    bool   // record, answer nothing
	dropAfter string // go silent once this event is recorded
	noEcho    bool   // record IP packets without echoing them
	onlyPort  uint16 // non-zero: ignore (record "ignored from PORT") datagrams from other source ports
	// terminateOnBadAuth: refuse a wrong CHAP response with LCP
	// Terminate-Request instead of CHAP Failure (as SoftEther does when
	// RADIUS rejects).
	terminateOnBadAuth bool
	// What the client sent.
	events  []string
	ip      [][]byte // IP packets received in our session
	headers []l2tp.Header
	changed chan struct{} // closed and replaced on every record

	// The current tunnel.
	client                  netip.AddrPort
	peerTunnel, peerSession uint16 // the client's IDs
	ns, nr                  uint16
	ppp                     fakePPP
}

// newFakeLNS starts a fake on 127.0.0.1 that accepts user "user" with
// password "pass"; it stops when the test ends.
func newFakeLNS(t *testing.T) *fakeLNS {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &fakeLNS{t: t, conn: conn, addr: conn.LocalAddr().(*net.UDPAddr).AddrPort(), done: make(chan struct{}),
		sunk: make(chan struct{}, 4096), password: "pass", changed: make(chan struct{})}
	go p.serve()
	t.Cleanup(func() {
		conn.Close()
		<-p.done
	})
	return p
}

func (p *fakeLNS) serve() {
	defer close(p.done)
	buf := make([]byte, 4096)
	for {
		n, from, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return // closed
		}
		if p.sink.Load() {
			if isIPv4Data(buf[:n]) {
				select {
				case p.sunk <- struct{}{}:
				default:
				}
			}
			continue
		}
		p.mu.Lock()
		if p.onlyPort != 0 && from.Port() != p.onlyPort {
			p.record("ignored from " + strconv.Itoa(int(from.Port())))
			p.mu.Unlock()
			continue
		}
		p.handle(buf[:n], from)
		p.mu.Unlock()
	}
}

// isIPv4Data says whether d is an L2TP data message carrying IPv4.
func isIPv4Data(d []byte) bool {
	h, payload, err := l2tp.ParseHeader(d)
	if err != nil || h.Control {
		return false
	}
	proto, _, err := ppp.ParseFrame(payload)
	return err == nil && proto == ppp.ProtoIPv4
}

// handle takes one datagram; p.mu is held.
func (p *fakeLNS) handle(d []byte, from netip.AddrPort) {
	h, payload, err := l2tp.ParseHeader(d)
	if err != nil {
		p.t.Errorf("fake LNS: the client sent a malformed datagram % x: %v", d, err)
		return
	}
	if h.Control {
		p.control(d, from)
		return
	}
	if from != p.client || h.TunnelID != lnsTunnelID || h.SessionID != lnsSessionID {
		p.t.Errorf("fake LNS: data from %v for tunnel %d session %d, not our session", from, h.TunnelID, h.SessionID)
		return
	}
	proto, info, err := ppp.ParseFrame(payload)
	if err != nil {
		p.t.Errorf("fake LNS: the client sent a malformed PPP frame % x: %v", payload, err)
		return
	}
	if proto == ppp.ProtoIPv4 {
		p.ip = append(p.ip, bytes.Clone(info))
		p.headers = append(p.headers, h)
		p.notify()
		if !p.silent && !p.noEcho {
			p.sendData(ppp.ProtoIPv4, swapIPv4(info))
		}
		return
	}
	p.pppInput(proto, info)
}

// control takes one control message; p.mu is held.
func (p *fakeLNS) control(d []byte, from netip.AddrPort) {
	m, err := l2tp.ParseMessage(d, nil)
	if err != nil {
		p.t.Errorf("fake LNS: the client sent a malformed control message % x: %v", d, err)
		return
	}
	if m.Type == l2tp.ZLB {
		return
	}
	if m.Type == l2tp.SCCRQ && m.Header.Ns == 0 && from != p.client {
		// A new tunnel (the first, or a reconnect from a fresh socket).
		a, _ := m.Find(l2tp.AVPAssignedTunnelID)
		id, _ := a.Uint16()
		p.client, p.peerTunnel, p.peerSession, p.ns, p.nr = from, id, 0, 0, 0
		p.ppp = fakePPP{}
	}
	if from != p.client {
		return // a retransmission from an earlier attempt's socket
	}
	if p.silent {
		p.record(m.Type.String())
		return
	}
	if m.Header.Ns != p.nr {
		// A retransmission: our acknowledgement was lost (or is on its
		// way); acknowledge again.
		p.sendControl(l2tp.NewMessage(l2tp.ZLB, p.peerTunnel, 0))
		return
	}
	p.nr++
	p.record(m.Type.String())
	if p.silent { // dropAfter
		return
	}
	switch m.Type {
	case l2tp.SCCRQ:
		r := l2tp.NewMessage(l2tp.SCCRP, p.peerTunnel, 0)
		r.Add(
			l2tp.Uint16AVP(l2tp.AVPProtocolVersion, true, 0x0100),
			l2tp.Uint32AVP(l2tp.AVPFramingCapabilities, true, l2tp.FramingSync),
			l2tp.BytesAVP(l2tp.AVPHostName, true, []byte("fake-lns")),
			l2tp.BytesAVP(l2tp.AVPVendorName, false, []byte("l2tpvpn tests")),
			l2tp.Uint16AVP(l2tp.AVPAssignedTunnelID, true, lnsTunnelID),
			l2tp.Uint16AVP(l2tp.AVPReceiveWindowSize, true, 8),
		)
		p.sendControl(r)
	case l2tp.ICRQ:
		a, _ := m.Find(l2tp.AVPAssignedSessionID)
		p.peerSession, _ = a.Uint16()
		r := l2tp.NewMessage(l2tp.ICRP, p.peerTunnel, p.peerSession)
		r.Add(l2tp.Uint16AVP(l2tp.AVPAssignedSessionID, true, lnsSessionID))
		p.sendControl(r)
	case l2tp.ICCN:
		p.sendControl(l2tp.NewMessage(l2tp.ZLB, p.peerTunnel, 0))
		p.pppStart()
	default: // SCCCN, HELLO, CDN, StopCCN: acknowledged
		p.sendControl(l2tp.NewMessage(l2tp.ZLB, p.peerTunnel, 0))
	}
}

// sendControl sends m with our Ns and Nr; p.mu is held.
func (p *fakeLNS) sendControl(m l2tp.Message) {
	m.Header.Ns, m.Header.Nr = p.ns, p.nr
	if m.Type != l2tp.ZLB {
		p.ns++
	}
	p.write(m.Append(nil))
}

// sendData sends a PPP frame in a data message of the session; p.mu is held.
func (p *fakeLNS) sendData(proto ppp.Protocol, info []byte) {
	b := make([]byte, l2tp.DataHeaderLen+ppp.HeaderLen+len(info))
	l2tp.PutDataHeader(b, p.peerTunnel, p.peerSession)
	ppp.PutHeader(b[l2tp.DataHeaderLen:], proto)
	copy(b[l2tp.DataHeaderLen+ppp.HeaderLen:], info)
	p.write(b)
}

func (p *fakeLNS) write(b []byte) {
	if _, err := p.conn.WriteToUDPAddrPort(b, p.client); err != nil {
		p.t.Errorf("fake LNS: send: %v", err)
	}
}

// record notes an event from the client; p.mu is held.
func (p *fakeLNS) record(ev string) {
	p.events = append(p.events, ev)
	if ev == p.dropAfter {
		p.silent = true
	}
	p.notify()
}

func (p *fakeLNS) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// swapIPv4 returns a copy of an IPv4 packet with source and destination
// exchanged (the header checksum stays valid).
func swapIPv4(pkt []byte) []byte {
	out := bytes.Clone(pkt)
	if len(out) >= 20 {
		copy(out[12:16], pkt[16:20])
		copy(out[16:20], pkt[12:16])
	}
	return out
}

// The script, callable from the test goroutine at any time.

// setSilent starts or ends the silence and returns the number of events
// recorded before.
func (p *fakeLNS) setSilent(v bool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.silent = v
	return len(p.events)
}

func (p *fakeLNS) setDropAfter(ev string) {
	p.mu.Lock()
	p.dropAfter = ev
	p.mu.Unlock()
}

func (p *fakeLNS) setPassword(pw string) {
	p.mu.Lock()
	p.password = pw
	p.mu.Unlock()
}

func (p *fakeLNS) setNoEcho(v bool) {
	p.mu.Lock()
	p.noEcho = v
	p.mu.Unlock()
}

// stopCCN clears the tunnel from the server's side (result 1, general
// request; RFC 2661 4.4.2).
func (p *fakeLNS) stopCCN() {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := l2tp.NewMessage(l2tp.StopCCN, p.peerTunnel, 0)
	m.Add(l2tp.Uint16AVP(l2tp.AVPAssignedTunnelID, true, lnsTunnelID), l2tp.Result{Code: 1}.AVP())
	p.sendControl(m)
}

// cdn disconnects the session from the server's side (result 3,
// administrative).
func (p *fakeLNS) cdn() {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := l2tp.NewMessage(l2tp.CDN, p.peerTunnel, p.peerSession)
	m.Add(l2tp.Result{Code: 3}.AVP(), l2tp.Uint16AVP(l2tp.AVPAssignedSessionID, true, lnsSessionID))
	p.sendControl(m)
}

// inject sends raw bytes to the client from the server's address and port.
func (p *fakeLNS) inject(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.write(b)
}

// dataMessage is an L2TP data message to the client's session carrying an
// IPv4 packet.
func (p *fakeLNS) dataMessage(pkt []byte) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := make([]byte, l2tp.DataHeaderLen+ppp.HeaderLen+len(pkt))
	l2tp.PutDataHeader(b, p.peerTunnel, p.peerSession)
	ppp.PutHeader(b[l2tp.DataHeaderLen:], ppp.ProtoIPv4)
	copy(b[l2tp.DataHeaderLen+ppp.HeaderLen:], pkt)
	return b
}

// Observations.

// log returns the events recorded so far.
func (p *fakeLNS) log() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events)
}

// received returns the IP packets received so far and their L2TP headers.
func (p *fakeLNS) received() ([][]byte, []l2tp.Header) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.ip), slices.Clone(p.headers)
}

// await waits until cond holds for the events recorded so far.
func (p *fakeLNS) await(what string, cond func(events []string) bool) {
	p.t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		ok, changed := cond(p.events), p.changed
		p.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			p.t.Fatalf("fake LNS: waited %v for %s; recorded %q", waitTimeout, what, p.log())
		}
	}
}

// awaitCount waits until ev has been recorded n times.
func (p *fakeLNS) awaitCount(ev string, n int) {
	p.t.Helper()
	p.await(ev, func(evs []string) bool { return count(evs, ev) >= n })
}

// awaitIP waits until n IP packets have arrived.
func (p *fakeLNS) awaitIP(n int) {
	p.t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		got, changed := len(p.ip), p.changed
		p.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			p.t.Fatalf("fake LNS: waited %v for %d IP packets, got %d", waitTimeout, n, got)
		}
	}
}

func count(evs []string, ev string) int {
	n := 0
	for _, e := range evs {
		if e == ev {
			n++
		}
	}
	return n
}

// ipv4 is an IPv4 packet of n bytes (n >= 20) from src to dst with a valid
// header checksum and a recognisable payload.
func ipv4(src, dst netip.Addr, n int, tag byte) []byte {
	p := make([]byte, n)
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(n))
	p[8] = 64
	p[9] = 253 // experimental protocol: nothing on the path interprets it
	copy(p[12:16], src.AsSlice())
	copy(p[16:20], dst.AsSlice())
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(p[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(p[10:], ^uint16(sum))
	for i := 20; i < n; i++ {
		p[i] = tag + byte(i)
	}
	return p
}
