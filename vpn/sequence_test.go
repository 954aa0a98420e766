package vpn

import (
	"bytes"
	"log/slog"
	"net/netip"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/ppp"
)

// seqConn is a Conn with what the data path's headers need: the server's
// tunnel and session ids.
func seqConn() *Conn {
	c := &Conn{log: slog.New(slog.DiscardHandler)}
	c.peerTunnel.Store16(0x1234)
	c.peerSession.Store16(0x5678)
	return c
}

// encapHeader encapsulates an IPv4 packet for c's session and returns the
// L2TP header on the wire.
func encapHeader(t *testing.T, c *Conn) l2tp.Header {
	t.Helper()
	pkt := ipv4Packet(40)
	buf := make([]byte, txHeadroom+bufSize)
	copy(buf[txHeadroom:], pkt)
	d, ok := encap(buf, txHeadroom, len(pkt), c.peerTunnel.Load16(), c.peerSession.Load16(), &c.seq)
	if !ok {
		t.Fatal("encap refused an IPv4 packet")
	}
	h, p, err := l2tp.ParseHeader(d)
	if err != nil {
		t.Fatal(err)
	}
	if h.Control || h.TunnelID != 0x1234 || h.SessionID != 0x5678 {
		t.Fatalf("header %+v", h)
	}
	if proto, info, err := ppp.ParseFrame(p); err != nil || proto != ppp.ProtoIPv4 || !bytes.Equal(info, pkt) {
		t.Fatalf("PPP frame %v %v (packet intact: %v)", proto, err, bytes.Equal(info, pkt))
	}
	return h
}

// pppHeader builds the data message for an LCP Echo-Request as sendPPP does
// and returns its L2TP header.
func pppHeader(t *testing.T, c *Conn) l2tp.Header {
	t.Helper()
	frame := []byte{0xc0, 0x21, 0x09, 0x01, 0x00, 0x08, 0xde, 0xad, 0xbe, 0xef}
	b := c.pppMessage(frame)
	h, p, err := l2tp.ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p, append([]byte{0xff, 0x03}, frame...)) || h.TunnelID != 0x1234 || h.SessionID != 0x5678 {
		t.Fatalf("PPP message %+v % x", h, p)
	}
	return h
}

// ICRP with Sequencing Required → our data messages carry Ns (RFC 2661 5.4):
// IP packets and PPP control frames alike, one numbering from 0, Nr 0.
// Before, the connection logged "not supported yet" and sent no Ns.
func TestSequencingRequiredDataCarriesNs(t *testing.T) {
	c := seqConn()
	c.startSequencing(l2tp.SessionInfo{LocalID: 7, PeerID: 0x5678, SequencingRequired: true})
	for i, h := range []l2tp.Header{encapHeader(t, c), encapHeader(t, c), pppHeader(t, c), encapHeader(t, c)} {
		if !h.HasSequence || h.Ns != uint16(i) || h.Nr != 0 || h.HasLength || h.HasOffset {
			t.Errorf("data message %d: %+v, want S bit, Ns %d, Nr 0", i, h, i)
		}
	}
	// Unsequenced data from the server does not turn it off (it is required).
	classify([]byte{0x00, 0x02, 0, 7, 0, 7, 0xff, 0x03, 0x00, 0x21, 0x45}, 7, 7, &c.seq)
	if h := encapHeader(t, c); !h.HasSequence || h.Ns != 4 {
		t.Errorf("after unsequenced data from the server: %+v, want Ns 4", h)
	}

	// Without the AVP nothing is sequenced until the server's data is.
	c = seqConn()
	c.startSequencing(l2tp.SessionInfo{LocalID: 7, PeerID: 0x5678})
	if h, p := encapHeader(t, c), pppHeader(t, c); h.HasSequence || p.HasSequence {
		t.Errorf("sequenced without being asked: %+v %+v", h, p)
	}
}

// serverData is a data message from the server to our session 7 of tunnel
// 7 with an IPv4 packet, sequenced with ns when ns >= 0.
func serverData(ns int) []byte {
	pkt := ipv4Packet(20)
	d := make([]byte, l2tp.DataHeaderSeqLen+ppp.HeaderLen+len(pkt))
	n := l2tp.DataHeaderLen
	if ns >= 0 {
		n = l2tp.DataHeaderSeqLen
		l2tp.PutDataHeaderSeq(d, 7, 7, uint16(ns), 0)
	} else {
		l2tp.PutDataHeader(d, 7, 7)
	}
	ppp.PutHeader(d[n:], ppp.ProtoIPv4)
	copy(d[n+ppp.HeaderLen:], pkt)
	return d[:n+ppp.HeaderLen+len(pkt)]
}

// The server's sequenced data: in order and newer is delivered, an older
// one is dropped and counted; the server's sequencing turns ours on and off
// (5.4) and our numbering picks up where it left off.
func TestClassifySequenced(t *testing.T) {
	c := seqConn()
	steps := []struct {
		ns   int // -1: unsequenced
		want rxKind
		seq  bool // our next data message carries Ns
	}{
		{-1, rxIP, false},
		{0, rxIP, true},
		{1, rxIP, true},
		{3, rxIP, true},
		{2, rxLate, true}, // older than 3
		{4, rxIP, true},
		{-1, rxIP, false}, // the server stopped sequencing
		{5, rxIP, true},
	}
	var ourNs uint16
	for i, st := range steps {
		kind, proto, payload := classify(serverData(st.ns), 7, 7, &c.seq)
		if kind != st.want {
			t.Fatalf("step %d (Ns %d): kind %d, want %d", i, st.ns, kind, st.want)
		}
		if kind == rxIP && (proto != ppp.ProtoIPv4 || !bytes.Equal(payload, ipv4Packet(20))) {
			t.Fatalf("step %d: %v % x", i, proto, payload)
		}
		if kind == rxLate && payload != nil {
			t.Fatalf("step %d: a late message has a payload", i)
		}
		h := encapHeader(t, c)
		if h.HasSequence != st.seq || (st.seq && h.Ns != ourNs) {
			t.Fatalf("step %d: we send %+v, want sequenced %v with Ns %d", i, h, st.seq, ourNs)
		}
		if h.HasSequence {
			ourNs++
		}
	}
	if c.seq.Late() != 1 {
		t.Errorf("Late %d, want 1", c.seq.Late())
	}
	// Data for another session does not touch the session's sequencing.
	d := serverData(0)
	d[5] = 9
	if k, _, _ := classify(d, 7, 7, &c.seq); k != rxWrongSession || c.seq.Late() != 1 {
		t.Errorf("other session: kind %d, Late %d", k, c.seq.Late())
	}
}

// receive drops a late message and counts it.
func TestReceiveLate(t *testing.T) {
	c := seqConn()
	c.localTunnel.Store16(7)
	c.localSession.Store16(7)
	server := netip.MustParseAddrPort("192.0.2.1:1701")
	c.peer.Store(&server)
	d := serverData(5)
	c.receive(d, len(d), server) // no TUN device here: dropped as not ready
	before := c.Stats().RxDropped
	d = serverData(4)
	if c.receive(d, len(d), server) != nil {
		t.Fatal("a late message was delivered")
	}
	if dropped := c.Stats().RxDropped - before; dropped != 1 || c.seq.Late() != 1 {
		t.Errorf("dropped %d, Late %d; want 1, 1", dropped, c.seq.Late())
	}
}
