package vpn

import (
	"bytes"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/ppp"
)

// fixedMPPE is a link whose MPPE state is fixed.
type fixedMPPE struct {
	m       *ppp.MPPE
	blocked bool
}

func (f fixedMPPE) MPPE() *ppp.MPPE   { return f.m }
func (f fixedMPPE) MPPEBlocked() bool { return f.blocked || f.m != nil }

// mppePair is a client session and the server's mirror image.
func mppePair(stateless bool) (client, server *ppp.MPPE) {
	a, b := [16]byte{1, 2, 3}, [16]byte{4, 5, 6}
	return ppp.NewMPPESession(ppp.MPPE128, stateless, a, b), ppp.NewMPPESession(ppp.MPPE128, stateless, b, a)
}

// encapMPPE writes L2TP, FF 03 00 FD and the MPPE header in front of the
// packet, encrypted so the server decrypts it, without allocating.
func TestEncapMPPE(t *testing.T) {
	for _, stateless := range []bool{true, false} {
		cm, sm := mppePair(stateless)
		var seq l2tp.DataSequence
		pkt := ipv4(clientPPPAddr, remoteHost, 1400, 3)
		buf := make([]byte, txHeadroom+bufSize)
		bad := 0
		allocs := testing.AllocsPerRun(allocRuns, func() {
			copy(buf[txHeadroom:], pkt)
			d, ok := encapMPPE(buf, txHeadroom, len(pkt), 7, 8, &seq, cm)
			if !ok {
				bad++
				return
			}
			_, payload, err := l2tp.ParseHeader(d)
			if err != nil {
				bad++
				return
			}
			proto, info, err := ppp.ParseFrame(payload)
			if err != nil || proto != ppp.ProtoMPPE {
				bad++
				return
			}
			if p, ip, err := sm.Decrypt(info); err != nil || p != ppp.ProtoIPv4 || !bytes.Equal(ip, pkt) {
				bad++
			}
		})
		if bad != 0 || allocs != 0 {
			t.Errorf("stateless=%v: %d bad frames, %v allocations per packet", stateless, bad, allocs)
		}
	}
}

// receive decrypts the server's 0x00FD frames in place for the TUN device
// without allocating, and drops IP in the clear while MPPE is on; transmit
// sends nothing in the clear while MPPE is required but not up.
func TestDataPathMPPE(t *testing.T) {
	lns := newFakeLNS(t)
	f := newFakeTUN(t)
	c := mustDial(t, lns, testConfig(t, lns), f)
	defer c.Close()
	cm, sm := mppePair(false)
	c.crypt = fixedMPPE{m: cm}

	inner := ipv4(remoteHost, clientPPPAddr, 1400, 4)
	msg := lns.dataMessage(make([]byte, ppp.MPPEOverhead+len(inner)))
	msg[l2tp.DataHeaderLen+2], msg[l2tp.DataHeaderLen+3] = 0x00, 0xfd
	frame := msg[l2tp.DataHeaderLen+ppp.HeaderLen:]
	view := make([]byte, rxHeadroom+bufSize)[rxHeadroom:]
	bad := 0
	allocs := testing.AllocsPerRun(allocRuns, func() {
		copy(frame[ppp.MPPEOverhead:], inner)
		sm.Encrypt(frame, ppp.ProtoIPv4)
		n := copy(view, msg)
		p := c.receive(view, n, lns.addr)
		// In place, with the TUN's write headroom in front (rxLoop's contract).
		if !bytes.Equal(p, inner) || cap(view)-cap(p) < l2tp.DataHeaderLen+ppp.HeaderLen+ppp.MPPEOverhead {
			bad++
		}
	})
	if bad != 0 || allocs != 0 {
		t.Errorf("%d encrypted packets not delivered, %v allocations per packet; stats %+v", bad, allocs, c.Stats())
	}
	// IP in the clear while MPPE is on: dropped and counted.
	plain := lns.dataMessage(ipv4(remoteHost, clientPPPAddr, 100, 5))
	n := copy(view, plain)
	if p := c.receive(view, n, lns.addr); p != nil || c.Stats().RxMPPE != 1 {
		t.Errorf("plaintext IP accepted with MPPE on; stats %+v", c.Stats())
	}

	// Required, not up yet: nothing leaves.
	c.crypt = fixedMPPE{blocked: true}
	pkt := ipv4(clientPPPAddr, remoteHost, 100, 3)
	bufs := [][]byte{make([]byte, txHeadroom+bufSize)}
	copy(bufs[0][txHeadroom:], pkt)
	before := c.Stats().TxPackets
	c.transmit(bufs, []int{len(pkt)}, 1, make([][]byte, 0, 1))
	if st := c.Stats(); st.TxPackets != before || st.TxMPPEBlocked != 1 {
		t.Errorf("plaintext sent while MPPE is required; stats %+v", st)
	}
}
