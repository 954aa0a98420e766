package ike

// The Responder against our own initiator (Session), through the wire bytes
// (server_harness_test.go): handshakes, refusals, many clients behind one
// NAT.

import (
	"errors"
	"log/slog"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/secret"
)

// up waits until the client and the server both have a child SA and
// checks they are the two ends of one pair.
func up(t *testing.T, n *srvNet, c *srvClient) (*ChildSA, ResponderChild) {
	t.Helper()
	cc := c.event(ChildUp, time.Minute).Child
	sc := n.next("up", time.Minute).child
	checkPair(t, cc, sc)
	return cc, sc
}

func TestResponderHandshake(t *testing.T) {
	cases := []struct {
		name     string
		ike, esp string // the client's offer; "" = its defaults
		srvIKE   string // the server's acceptable list; "" = defaults
		mode     esp.Mode
		wantIKE  string
		wantESP  string
		encap    uint16
	}{
		{name: "transport defaults", mode: esp.Transport, wantIKE: "aes256-sha256-modp2048", wantESP: "aes256gcm16",
			encap: EncapUDPTransport},
		{name: "tunnel", mode: esp.Tunnel, esp: "aes128-sha256", wantIKE: "aes256-sha256-modp2048", wantESP: "aes128-sha256",
			encap: EncapUDPTunnel},
		{name: "legacy 3des-sha1-modp1024", ike: "3des-sha1-modp1024", esp: "3des-sha1", mode: esp.Transport,
			wantIKE: "3des-sha1-modp1024", wantESP: "3des-sha1", encap: EncapUDPTransport},
		{name: "first acceptable of the client's", ike: "aes256-sha256-ecp384,aes128-sha1-modp2048,3des-sha1-modp1024",
			srvIKE: "3des-sha1-modp1024,aes128-sha1-modp2048", esp: "aes256-sha1,aes128-sha1", mode: esp.Transport,
			wantIKE: "aes128-sha1-modp2048", wantESP: "aes256-sha1", encap: EncapUDPTransport},
		{name: "pfs", ike: "aes128-sha256-modp2048", esp: "aes128-sha256-modp2048", mode: esp.Transport,
			wantIKE: "aes128-sha256-modp2048", wantESP: "aes128-sha256-modp2048", encap: EncapUDPTransport},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var rc ResponderConfig
				if tc.srvIKE != "" {
					rc.IKE = mustIKE(t, tc.srvIKE)
				}
				n := newSrvNet(t, rc)
				cfg := Config{Mode: tc.mode, DPDDelay: -1}
				if tc.ike != "" {
					cfg.IKE = mustIKE(t, tc.ike)
				}
				if tc.esp != "" {
					cfg.ESP = mustESP(t, tc.esp)
				}
				c := n.client(cfg, 40000, 40001)
				p1 := c.event(Phase1Up, time.Minute)
				if got := p1.Phase1.Proposal.String(); got != tc.wantIKE {
					t.Errorf("phase 1 %s, want %s", got, tc.wantIKE)
				}
				if p1.Phase1.NATT != "rfc3947" || !p1.Phase1.DPD || p1.Phase1.PeerID != "ip:"+srvAddr.String() {
					t.Errorf("phase 1 info %+v", p1.Phase1)
				}
				_, sc := up(t, n, c)
				if sc.Proposal.String() != tc.wantESP || sc.Mode != tc.mode || sc.Encap != tc.encap || !sc.NATT {
					t.Errorf("child %s %v encap %d natt %v, want %s %v encap %d", sc.Proposal, sc.Mode, sc.Encap, sc.NATT,
						tc.wantESP, tc.mode, tc.encap)
				}
				if sc.Peer != c.pub4500 || sc.Local != srv4500 || sc.PeerID != "ip:192.168.1.10" || sc.Rekey {
					t.Errorf("child peer %v local %v id %q rekey %v", sc.Peer, sc.Local, sc.PeerID, sc.Rekey)
				}
				private := netip.MustParseAddr("192.168.1.10")
				if sc.PeerTS.Prefix != netip.PrefixFrom(private, 32) || sc.PeerTS.Port != L2TPPort || sc.PeerTS.Protocol != 17 ||
					sc.LocalTS.Prefix != netip.PrefixFrom(srvAddr, 32) || sc.LocalTS.Port != L2TPPort {
					t.Errorf("selectors %+v %+v", sc.PeerTS, sc.LocalTS)
				}
				if tc.mode == esp.Transport && (sc.PeerOA != private || sc.LocalOA != srvAddr) {
					t.Errorf("NAT-OA %v %v, want %v %v", sc.PeerOA, sc.LocalOA, private, srvAddr)
				}
				ps := n.r.Peers()
				if len(ps) != 1 || ps[0].Addr != c.pub4500 || ps[0].ID != "ip:192.168.1.10" || !ps[0].NATT || !ps[0].BehindNAT ||
					ps[0].IKE.String() != tc.wantIKE || len(ps[0].ESP) != 1 || ps[0].Established.IsZero() {
					t.Errorf("peers %+v", ps)
				}
				n.noSecret(string(testPSK))
			})
		})
	}
}

func TestResponderWrongPSK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newSrvNet(t, ResponderConfig{})
		c := n.client(Config{PSK: secret.FromString("not the server's key"), DPDDelay: -1}, 40000, 40001)
		err := c.failed(time.Minute)
		if !errors.Is(err, ErrAuthentication) {
			t.Fatalf("client error %v, want ErrAuthentication", err)
		}
		t.Logf("client: %v", err)
		if len(n.r.Peers()) != 0 || n.r.Stats().AuthFailed == 0 {
			t.Errorf("peers %v stats %+v", n.r.Peers(), n.r.Stats())
		}
		if n.logged(slog.LevelWarn, "pre-shared key differs") == 0 {
			t.Error("no warning that the pre-shared keys differ")
		}
		n.none("up", time.Minute)
		n.noSecret("not the server's key")
		n.noSecret(string(testPSK))
		// The half-open Main Mode is dropped in time.
		synctest.Wait()
		time.Sleep(DefaultHalfOpenExpiry)
		n.r.Tick(time.Now())
		if s := n.r.Stats(); s.HalfOpenExpired != 1 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestResponderNoProposal(t *testing.T) {
	t.Run("phase 1", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			n := newSrvNet(t, ResponderConfig{IKE: mustIKE(t, "aes256-sha256-modp2048")})
			c := n.client(Config{IKE: mustIKE(t, "3des-sha1-modp1024,aes128-sha1-modp1024"), DPDDelay: -1}, 40000, 40001)
			err := c.failed(time.Minute)
			if !errors.Is(err, ErrNoProposalChosen) {
				t.Fatalf("client error %v, want ErrNoProposalChosen", err)
			}
			if s := n.r.Stats(); s.NoProposal == 0 || len(n.r.sas) != 0 {
				t.Errorf("stats %+v, %d SAs kept", s, len(n.r.sas))
			}
			if n.logged(slog.LevelWarn, "no proposal chosen") == 0 {
				t.Error("no warning")
			}
		})
	})
	t.Run("quick mode", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			n := newSrvNet(t, ResponderConfig{ESP: mustESP(t, "aes256gcm16")})
			c := n.client(Config{ESP: mustESP(t, "aes128-sha1,3des-sha1"), DPDDelay: -1}, 40000, 40001)
			err := c.failed(time.Minute)
			if !errors.Is(err, ErrNoProposalChosen) {
				t.Fatalf("client error %v, want ErrNoProposalChosen", err)
			}
			n.none("up", time.Second)
		})
	})
	t.Run("mode", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			n := newSrvNet(t, ResponderConfig{Modes: []esp.Mode{esp.Transport}})
			c := n.client(Config{Mode: esp.Tunnel, DPDDelay: -1}, 40000, 40001)
			if err := c.failed(time.Minute); !errors.Is(err, ErrNoProposalChosen) {
				t.Fatalf("client error %v, want ErrNoProposalChosen", err)
			}
		})
	})
}

// Two clients behind one NAT, with different private addresses, come from
// the same public address on different ports: two peers, two pairs.
func TestResponderTwoBehindOneNAT(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newSrvNet(t, ResponderConfig{})
		a := n.client(Config{Local: netip.MustParseAddr("192.168.1.10"), DPDDelay: -1}, 40000, 40001)
		_, sa := up(t, n, a)
		b := n.client(Config{Local: netip.MustParseAddr("192.168.1.11"), DPDDelay: -1}, 40002, 40003)
		cb, sb := up(t, n, b)
		if sa.Peer == sb.Peer || sa.SPIIn == sb.SPIIn || sb.Peer != b.pub4500 {
			t.Errorf("pairs not distinct: %v/%08x and %v/%08x", sa.Peer, sa.SPIIn, sb.Peer, sb.SPIIn)
		}
		if ps := n.r.Peers(); len(ps) != 2 {
			t.Fatalf("peers %+v", ps)
		}
		// a's pair does not open b's packets.
		in, _, err := sa.NewSAs(nil)
		if err != nil {
			t.Fatal(err)
		}
		payload := []byte("l2tp")
		buf := make([]byte, cb.Out.Headroom()+len(payload)+cb.Out.Tailroom())
		copy(buf[cb.Out.Headroom():], payload)
		pkt, err := cb.Out.Seal(buf, cb.Out.Headroom(), len(payload), 17)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := in.Open(pkt); err == nil {
			t.Error("a's inbound SA opened b's packet")
		}
		// One leaves; the other stays.
		b.stop()
		if g := n.next("gone", time.Minute); g.peer != b.pub4500 {
			t.Errorf("gone %v, want %v", g.peer, b.pub4500)
		}
		if ps := n.r.Peers(); len(ps) != 1 || ps[0].Addr != a.pub4500 {
			t.Errorf("peers %+v", ps)
		}
	})
}

// A client's Main Mode 1 with only the draft NAT-T vendor IDs, or none, is
// answered in kind; our initiator always offers RFC 3947, so this drives
// the Responder with hand-made messages.
func TestResponderNATTVendors(t *testing.T) {
	cases := []struct {
		name  string
		vids  []Vendor
		want  Vendor
		natdT PayloadType
	}{
		{"rfc3947", []Vendor{VendorNATTRFC3947, VendorNATTDraft03}, VendorNATTRFC3947, PayloadNATD},
		{"draft-03", []Vendor{VendorNATTDraft03, VendorNATTDraft02N}, VendorNATTDraft03, PayloadNATDDraft},
		{"draft-02", []Vendor{VendorNATTDraft02}, VendorNATTDraft02, PayloadNATDDraft},
		{"none", nil, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var sent [][]byte
			r, err := NewResponder(ResponderConfig{PSK: secret.New(testPSK), Send: func(_ netip.AddrPort, _ bool, b []byte) error {
				sent = append(sent, b)
				return nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			from := netip.AddrPortFrom(natAddr, 40000)
			mm1, ckyI := testMM1(mustIKE(t, "aes128-sha1-modp2048")[0], tc.vids...)
			r.Input(from, srv500, false, mm1)
			if len(sent) != 1 {
				t.Fatalf("%d answers", len(sent))
			}
			m, err := Parse(sent[0])
			if err != nil {
				t.Fatal(err)
			}
			_, rfc, draft, dpd := peerVendors(m.Payloads)
			got := draft
			if rfc {
				got = VendorNATTRFC3947
			}
			if got != tc.want || !dpd {
				t.Errorf("MM2 NAT-T %v dpd %v, want %v", got, dpd, tc.want)
			}
			// MM3: NAT-D payloads of the negotiated type, or none.
			dh, _ := NewDH(MODP2048, nil)
			mm3 := Message{Header: Header{InitiatorCookie: ckyI, ResponderCookie: m.Header.ResponderCookie, Exchange: ExchangeIDProt},
				Payloads: []Payload{&KeyExchange{Data: dh.Public()}, &Nonce{Data: make([]byte, 16)}}}
			r.Input(from, srv500, false, mm3.Append(nil))
			if len(sent) != 2 {
				t.Fatalf("%d answers", len(sent))
			}
			m4, err := Parse(sent[1])
			if err != nil {
				t.Fatal(err)
			}
			natd := 0
			for _, p := range m4.Payloads {
				if _, ok := p.(*NATD); ok {
					natd++
					if p.Type() != tc.natdT {
						t.Errorf("NAT-D type %v, want %v", p.Type(), tc.natdT)
					}
				}
			}
			if (natd == 2) != (tc.want != 0) {
				t.Errorf("%d NAT-D payloads in MM4", natd)
			}
		})
	}
}

// testMM1 is a Main Mode message 1 offering p with a PSK and vids.
func testMM1(p IKEProposal, vids ...Vendor) ([]byte, [8]byte) {
	var ckyI [8]byte
	copy(ckyI[:], fakeRand(8))
	sap := &SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{{Number: 1, Protocol: ProtoISAKMP,
		Transforms: []Transform{p.transform(1, time.Hour)}}}}
	payloads := []Payload{sap}
	for _, v := range vids {
		payloads = append(payloads, NewVendorID(v))
	}
	m := Message{Header: Header{InitiatorCookie: ckyI, Exchange: ExchangeIDProt}, Payloads: payloads}
	return m.Append(nil), ckyI
}

func TestResponderLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sent := 0
		r, err := NewResponder(ResponderConfig{PSK: secret.New(testPSK), MaxHalfOpen: 2, HalfOpenExpiry: 10 * time.Second,
			Send: func(netip.AddrPort, bool, []byte) error { sent++; return nil }})
		if err != nil {
			t.Fatal(err)
		}
		p := mustIKE(t, "aes128-sha1-modp2048")[0]
		for i := range 3 {
			mm1, _ := testMM1(p, VendorNATTRFC3947)
			r.Input(netip.AddrPortFrom(natAddr, uint16(40000+i)), srv500, false, mm1)
		}
		if s := r.Stats(); sent != 2 || s.OverLimit != 1 {
			t.Fatalf("sent %d, stats %+v", sent, s)
		}
		// A retransmitted MM1 is answered again without a new SA.
		mm1, _ := testMM1(p, VendorNATTRFC3947)
		time.Sleep(11 * time.Second)
		r.Tick(time.Now())
		if s := r.Stats(); s.HalfOpenExpired != 2 || len(r.sas) != 0 {
			t.Fatalf("stats %+v, %d SAs", s, len(r.sas))
		}
		from := netip.AddrPortFrom(natAddr, 41000)
		r.Input(from, srv500, false, mm1)
		r.Input(from, srv500, false, mm1)
		if sent != 4 || len(r.sas) != 1 {
			t.Errorf("sent %d, %d SAs", sent, len(r.sas))
		}
		// Junk is counted, never answered.
		for _, b := range [][]byte{nil, {1, 2, 3}, make([]byte, 28), mm1[:len(mm1)-1]} {
			r.Input(from, srv500, false, b)
		}
		if s := r.Stats(); sent != 4 || s.Malformed < 3 {
			t.Errorf("sent %d, stats %+v", sent, s)
		}
	})
}
