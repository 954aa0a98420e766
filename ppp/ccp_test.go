package ppp

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
)

// mppeServer is a scripted CCP peer (MikroTik-like with "encryption
// required"): it asks for MPPE with the offered bits, follows the client's
// Nak, and acks a client request that asks for exactly want.
type mppeServer struct {
	offer    uint32 // the bits of its first request
	want     uint32 // what it acks in the client's request; 0 = reject the option
	silent   bool   // start no CCP of its own
	reqID    uint8
	reqBits  uint32
	requests []uint32 // MPPE bits of the client's requests (0: no option)
	naks     int      // Naks the client sent
	resetAck int
	resetReq int
	opened   bool
}

func (m *mppeServer) sendRequest(s *fakeServer) {
	m.reqID = s.newID()
	s.sendPacket(ProtoCCP, Packet{Code: CodeConfigureRequest, ID: m.reqID, Data: mppeOption(m.reqBits).Append(nil)})
}

func (m *mppeServer) start(s *fakeServer) {
	if m.silent {
		return
	}
	m.reqBits = m.offer
	m.sendRequest(s)
}

func (m *mppeServer) handle(s *fakeServer, p Packet) {
	switch p.Code {
	case CodeConfigureRequest:
		var bits uint32
		if o, _, err := NextOption(p.Data); err == nil && o.Type == ccpMPPE && len(o.Data) == 4 {
			bits = binary.BigEndian.Uint32(o.Data)
		}
		m.requests = append(m.requests, bits)
		switch {
		case bits != 0 && m.want == 0:
			s.sendPacket(ProtoCCP, Packet{Code: CodeConfigureReject, ID: p.ID, Data: p.Data})
		case bits != m.want && m.want != 0:
			s.sendPacket(ProtoCCP, Packet{Code: CodeConfigureNak, ID: p.ID, Data: mppeOption(m.want).Append(nil)})
		default:
			s.sendPacket(ProtoCCP, Packet{Code: CodeConfigureAck, ID: p.ID, Data: p.Data})
			m.opened = true
		}
	case CodeConfigureNak:
		m.naks++
		o, _, _ := NextOption(p.Data)
		m.reqBits = binary.BigEndian.Uint32(o.Data)
		m.sendRequest(s)
	case CodeConfigureAck, CodeConfigureReject:
	case CodeResetRequest:
		m.resetReq++
		s.sendPacket(ProtoCCP, Packet{Code: CodeResetAck, ID: p.ID})
	case CodeResetAck:
		m.resetAck++
	case CodeTerminateRequest:
		s.sendPacket(ProtoCCP, Packet{Code: CodeTerminateAck, ID: p.ID})
	default:
		s.t.Errorf("server got CCP %v", p.Code)
	}
}

func mppeProfile(m *mppeServer) serverProfile {
	p := softEtherProfile()
	p.authOffers = []AuthMethod{AuthMSCHAPv2}
	p.ccp = m
	return p
}

func TestCCPAllowAcceptsServerMPPE(t *testing.T) {
	for _, tc := range []struct {
		name        string
		offer, want uint32
		mppe        string
	}{
		{"mikrotik all bits", mppeBitH | mppeBitM | mppeBitS | mppeBitL, mppeBitS | mppeBitH, "mppe-128 stateless"},
		{"128 stateful", mppeBitS, mppeBitS, "mppe-128 stateful"},
		{"40 only", mppeBitL | mppeBitC, mppeBitL, "mppe-40 stateful"},
		{"56 and 40", mppeBitM | mppeBitL | mppeBitH, mppeBitM | mppeBitH, "mppe-56 stateless"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := &mppeServer{offer: tc.offer, want: tc.want}
				r := startLink(t, mppeProfile(srv), Config{})
				info := r.waitUp()
				if info.MPPE != tc.mppe {
					t.Errorf("IPInfo.MPPE %q, want %q", info.MPPE, tc.mppe)
				}
				m := r.link.MPPE()
				if m == nil || m.String() != tc.mppe || !r.link.MPPEBlocked() {
					t.Fatalf("MPPE() = %v, blocked %v", m, r.link.MPPEBlocked())
				}
				synctest.Wait()
				r.closeLink()
				// We asked for what the server offered (both directions
				// encrypted) and never for more.
				if len(srv.requests) == 0 || srv.requests[0] != tc.want {
					t.Errorf("client requests %x, want first %x", srv.requests, tc.want)
				}
				if tc.offer != tc.want && srv.naks != 1 {
					t.Errorf("client sent %d Naks, want 1", srv.naks)
				}
			})
		})
	}
}

func TestCCPAllowNoMPPEWithoutServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &mppeServer{silent: true}
		r := startLink(t, mppeProfile(srv), Config{})
		info := r.waitUp()
		synctest.Wait()
		r.closeLink()
		if info.MPPE != "" || r.link.MPPE() != nil || r.link.MPPEBlocked() {
			t.Errorf("MPPE on: %q %v %v", info.MPPE, r.link.MPPE(), r.link.MPPEBlocked())
		}
		if len(srv.requests) != 0 {
			t.Errorf("allow sent CCP requests %x: it must never ask", srv.requests)
		}
	})
}

func TestCCPOffProtocolRejects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &mppeServer{offer: mppeBitS | mppeBitH, want: mppeBitS | mppeBitH}
		r := startLink(t, mppeProfile(srv), Config{MPPE: MPPEOff})
		info := r.waitUp()
		synctest.Wait()
		r.closeLink()
		if info.MPPE != "" || r.link.MPPE() != nil {
			t.Errorf("MPPE on with off")
		}
		if !slices.Contains(r.srv.protoRejects, ProtoCCP) {
			t.Errorf("protocol rejects %v, want CCP", r.srv.protoRejects)
		}
	})
}

func TestCCPRequire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The server does not start CCP; we ask for MPPE-128 stateless.
		srv := &mppeServer{silent: true, want: mppeBitS | mppeBitH}
		r := startLink(t, mppeProfile(srv), Config{MPPE: MPPERequire})
		if !r.link.MPPEBlocked() {
			t.Error("require: IP not blocked before CCP")
		}
		r.srv.do(func() { srv.silent, srv.offer = false, mppeBitS|mppeBitH; srv.start(r.srv) }) // the server answers with its own request
		info := r.waitUp()
		synctest.Wait()
		r.closeLink()
		if info.MPPE != "mppe-128 stateless" {
			t.Errorf("MPPE %q", info.MPPE)
		}
		if len(srv.requests) == 0 || srv.requests[0] != mppeBitS|mppeBitH {
			t.Errorf("client requests %x", srv.requests)
		}
	})
}

func TestCCPRequireFails(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    func() serverProfile
		want string
	}{
		{"protocol-rejected", func() serverProfile { p := mppeProfile(nil); p.ccp = nil; return p }, "protocol-rejected CCP"},
		{"option rejected", func() serverProfile { return mppeProfile(&mppeServer{silent: true}) }, "rejected the MPPE option"},
		{"pap", l2tpnsProfile, "MPPE keys come only from MS-CHAPv2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := startLink(t, tc.p(), Config{MPPE: MPPERequire})
				_, err := r.link.WaitUp(context.Background())
				r.wait()
				if !errors.Is(err, ErrNegotiation) || !strings.Contains(err.Error(), "mppe is required") || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want mppe required: %s", err, tc.want)
				}
				if strings.Contains(err.Error(), "pfpass") {
					t.Fatal("password in the error")
				}
			})
		})
	}
}

func TestCCPResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &mppeServer{offer: mppeBitS, want: mppeBitS} // stateful
		r := startLink(t, mppeProfile(srv), Config{})
		r.waitUp()
		m := r.link.MPPE()
		// The server's Reset-Request: we ack and flush our next packet.
		r.srv.do(func() { r.srv.sendPacket(ProtoCCP, Packet{Code: CodeResetRequest, ID: 77}) })
		synctest.Wait()
		if srv.resetAck != 1 {
			t.Errorf("Reset-Acks %d, want 1", srv.resetAck)
		}
		b := make([]byte, MPPEOverhead+1)
		m.Encrypt(b, ProtoIPv4)
		if b[0]&mppeFlushed == 0 {
			t.Error("no flushed bit after the server's Reset-Request")
		}
		// Our receiver loses packets: we send a Reset-Request.
		peer := mppePeer(m)
		seal(peer, ProtoIPv4, []byte{0x45})
		if _, _, err := m.Decrypt(seal(peer, ProtoIPv4, []byte{0x45})); err == nil {
			t.Fatal("no loss detected")
		}
		synctest.Wait()
		if srv.resetReq != 1 {
			t.Errorf("Reset-Requests %d, want 1", srv.resetReq)
		}
		r.closeLink()
	})
}
