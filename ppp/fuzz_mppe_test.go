package ppp

import (
	"bytes"
	"testing"
)

// FuzzMPPEDecrypt feeds arbitrary ProtoMPPE information fields to both
// kinds of session: no panic, an error or a payload inside the input, and
// a session that still decrypts a genuine packet once resynchronized.
func FuzzMPPEDecrypt(f *testing.F) {
	c := rfc3079Session(f, MPPE128, true)
	srv := mppePeer(c)
	for i := 0; i < 3; i++ {
		f.Add(seal(srv, ProtoIPv4, []byte{0x45, byte(i), 0, 0}), true)
	}
	f.Add([]byte{0x90, 0x00, 0x21}, false)
	f.Add([]byte{0x90, 0x00}, false)
	f.Add([]byte{}, true)
	f.Fuzz(func(t *testing.T, b []byte, stateless bool) {
		m := rfc3079Session(t, MPPE40, stateless)
		in := append([]byte(nil), b...)
		proto, p, err := m.Decrypt(in)
		if err != nil {
			if p != nil || proto != 0 {
				t.Fatalf("error with a result: %v %v", err, proto)
			}
		} else if len(p) > len(b) || (len(p) > 0 && &p[len(p)-1] != &in[len(in)-1]) {
			t.Fatalf("payload does not alias the input")
		}
		// A flushed genuine packet always gets through afterwards.
		peer := mppePeer(rfc3079Session(t, MPPE40, stateless))
		peer.tx = m.rx // same keys as m's receiver, its position
		peer.tx.discard = false
		peer.Flush()
		msg := []byte{0x45, 1, 2, 3}
		if _, got, err := m.Decrypt(seal(peer, ProtoIPv4, msg)); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("no resync: %v %x", err, got)
		}
	})
}

// FuzzCCPRequest runs arbitrary CCP Configure-Request options through the
// MPPE layer: no panic, an Ack only of exactly one usable MPPE setting, and
// a Nak that the layer itself would Ack.
func FuzzCCPRequest(f *testing.F) {
	for _, bits := range []uint32{mppeBitS | mppeBitH, mppeBitS | mppeBitM | mppeBitL | mppeBitH, mppeBitC, 0} {
		f.Add(mppeOption(bits).Append(nil))
	}
	f.Add([]byte{ccpMPPE, 5, 0, 0, 0})
	f.Add([]byte{26, 4, 0x0f, 0x00}) // Deflate
	f.Fuzz(func(t *testing.T, opts []byte) {
		if checkOptions(opts) != nil {
			return // the automaton drops malformed lists before the layer
		}
		l := &Link{}
		l.auth.method, l.auth.haveKeys = AuthMSCHAPv2, true
		h := newCCPLayer(l)
		code, reply, err := h.checkRequest(opts, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		switch code {
		case CodeConfigureAck:
			if len(opts) > 0 && (h.peerBits == 0 || mppeChoose(h.peerBits) != h.peerBits) {
				t.Fatalf("acked %x", opts)
			}
		case CodeConfigureNak:
			if c2, _, _ := h.checkRequest(reply, false, nil); c2 != CodeConfigureAck {
				t.Fatalf("our Nak %x is not acceptable to us", reply)
			}
		case CodeConfigureReject:
			if checkOptions(reply) != nil || len(reply) > len(opts) {
				t.Fatalf("reject %x of %x", reply, opts)
			}
		}
		h.prescan(opts)
		if _, err := ParseMPPEOption(opts); err == nil && len(opts) != 4 {
			t.Fatal("ParseMPPEOption accepted a wrong length")
		}
	})
}
