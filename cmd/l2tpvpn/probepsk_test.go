package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike"
	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/secret"
)

const labPSK = "lab-psk-0b5c9e1f"

var (
	labClient = netip.MustParseAddr("192.0.2.10")
	labServer = netip.MustParseAddr("198.51.100.1")
)

// pskLab is an L2TP/IPsec server made of our own responder roles, in
// process: ike.Responder, l2tp.LNS and a ppp.ServerLink per session,
// ESP between them as probeESP does it (mirrored). It records when each
// message of the probe arrives.
type pskLab struct {
	p     *pskProbe
	r     *ike.Responder
	lns   *l2tp.LNS
	auth  []ppp.AuthMethod
	ctx   context.Context
	wg    sync.WaitGroup
	mu    sync.Mutex
	times []time.Time
	pairs map[uint32]*probeESP // by the server's inbound SPI
	up    int
	down  int
	wire  bytes.Buffer // everything the probe sent
}

func newPSKLab(t *testing.T, ctx context.Context, espList string, modes []esp.Mode, auth []ppp.AuthMethod) *pskLab {
	t.Helper()
	l := &pskLab{p: &pskProbe{}, auth: auth, ctx: ctx, pairs: map[uint32]*probeESP{}}
	props, err := ike.ParseESPProposals(espList)
	if err != nil {
		t.Fatal(err)
	}
	l.r, err = ike.NewResponder(ike.ResponderConfig{PSK: secret.FromString(labPSK), ESP: props, Modes: modes, ESPRekeyMargin: -1, DPDDelay: -1,
		Send: func(_ netip.AddrPort, natt bool, b []byte) error {
			if natt {
				l.p.input4500(append(make([]byte, 4), b...))
			} else {
				l.p.input500(b)
			}
			return nil
		},
		OnChildSA:      l.childUp,
		OnChildDeleted: l.childDown})
	if err != nil {
		t.Fatal(err)
	}
	l.lns = l2tp.NewLNS(l2tp.LNSConfig{Config: l2tp.Config{HostName: "lab-lns", VendorName: "Lab Vendor", FirmwareRevision: 0x0203},
		Send: func(pk l2tp.PeerKey, b []byte) error {
			if e := l.pair(uint32(pk.Conn)); e != nil {
				return e.seal(b)
			}
			return nil
		},
		OnSession: l.session})
	l.wg.Go(func() { l.r.Run(ctx) })
	l.wg.Go(func() { l.lns.Run(ctx) })
	return l
}

func (l *pskLab) pair(spi uint32) *probeESP {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pairs[spi]
}

func (l *pskLab) childUp(c ike.ResponderChild) {
	in, out, err := c.NewSAs(nil)
	if err != nil {
		panic(err)
	}
	spi := c.SPIIn
	e := &probeESP{child: &ike.ChildSA{In: in, Out: out, Mode: c.Mode}, local: labServer, server: labClient,
		send: func(pkt []byte) error { l.p.input4500(pkt); return nil }}
	e.recv = func(msg []byte) {
		h, _, err := l2tp.ParseHeader(msg)
		if err != nil {
			return
		}
		pk := l2tp.PeerKey{Addr: netip.AddrPortFrom(labClient, 4500), Conn: uint64(spi)}
		if h.Control {
			l.lns.Input(pk, bytes.Clone(msg))
			return
		}
		if s, frame := l.lns.Data(pk, msg); s != nil {
			if proto, info, err := ppp.ParseFrame(frame); err == nil {
				l.link(s).Input(proto, info)
			}
		}
	}
	l.mu.Lock()
	l.pairs[spi] = e
	l.up++
	l.mu.Unlock()
}

func (l *pskLab) childDown(c ike.ResponderChild) {
	l.mu.Lock()
	l.down++
	l.mu.Unlock()
}

var labLinks sync.Map // *l2tp.LNSSession → *ppp.ServerLink

func (l *pskLab) link(s *l2tp.LNSSession) *ppp.ServerLink {
	v, _ := labLinks.Load(s)
	return v.(*ppp.ServerLink)
}

func (l *pskLab) session(s *l2tp.LNSSession) {
	link := ppp.NewServerLink(ppp.ServerConfig{Auth: l.auth, Lookup: func(string) (ppp.Credential, bool) { return ppp.Credential{}, false }},
		func(f []byte) error {
			b := make([]byte, 16+len(f))
			copy(b[16:], f)
			start := s.PutHeader(b, 16)
			if e := l.pair(uint32(s.Peer().Conn)); e != nil && start >= 0 {
				return e.seal(b[start:])
			}
			return nil
		})
	labLinks.Store(s, link)
	l.wg.Go(func() { link.Run(l.ctx) })
}

// link is the probe's side of the wire.
func (l *pskLab) link4probe() *pskLink {
	rec := func(b []byte) {
		l.mu.Lock()
		l.times = append(l.times, time.Now())
		l.wire.Write(b)
		l.mu.Unlock()
	}
	return &pskLink{Local: labClient, Server: labServer,
		Send500: func(b []byte) error {
			rec(b)
			l.r.Input(netip.AddrPortFrom(labClient, 500), netip.AddrPortFrom(labServer, 500), false, b)
			return nil
		},
		Send4500: func(d []byte) error {
			rec(d)
			kind, spi := esp.Classify(d)
			switch kind {
			case esp.KindIKE:
				l.r.Input(netip.AddrPortFrom(labClient, 4500), netip.AddrPortFrom(labServer, 4500), true, d[4:])
			case esp.KindESP:
				if e := l.pair(spi); e != nil {
					e.input(d)
				}
			}
			return nil
		}}
}

// maxPerSecond is the most messages within any one second.
func maxPerSecond(times []time.Time) int {
	most := 0
	for i := range times {
		n := 0
		for j := i; j < len(times) && times[j].Sub(times[i]) < time.Second; j++ {
			n++
		}
		most = max(most, n)
	}
	return most
}

// Against our own server roles: phase 2 finds exactly the ESP transforms
// the responder takes (in tunnel mode), PFS optional, the LNS's SCCRP and
// the PPP methods in the server's order; every pair is deleted; the rate
// holds; the profile has the narrow lists; the key is nowhere in the
// output.
func TestProbePSKInProcess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		l := newPSKLab(t, ctx, "aes128gcm16,aes256-sha1", []esp.Mode{esp.Tunnel}, []ppp.AuthMethod{ppp.AuthCHAPMD5, ppp.AuthMSCHAPv2})
		st := probeSettings{Timeout: time.Second, Rate: 10, L2TP: 1701, PSK: secret.FromString(labPSK), ESPMode: esp.Tunnel}
		rep := &probeReport{Server: labServer.String(), UDP500: true, IKEProbed: 1, IKEAccepted: []string{"aes256-sha256-modp2048"}}
		prop := ike.IKEProposal{Enc: ike.EncAESCBC, KeyBits: 256, Hash: ike.HashSHA256, Group: ike.MODP2048}
		if err := runPSK(ctx, l.link4probe(), prop, st, l.p, rep); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		p2 := rep.Phase2
		if rep.PSK != "accepted" || p2 == nil || !slices.Equal(p2.Accepted, []string{"aes128gcm16", "aes256-sha1"}) ||
			p2.Probed != len(ike.ProbeESPProposals()) || p2.PFS != "optional" || p2.Mode != "tunnel" {
			t.Fatalf("phase 2 %+v (psk %q)", p2, rep.PSK)
		}
		if x := rep.L2TPIPsec; x == nil || x.Answer != "SCCRP" || x.HostName != "lab-lns" || x.Vendor != "Lab Vendor" ||
			x.Firmware != 0x0203 || !slices.Contains(x.AVPs, "Host Name") || x.Error != "" {
			t.Fatalf("l2tp through ipsec %+v", x)
		}
		if a := rep.PPPAuth; a == nil || !slices.Equal(a.Methods, []string{"CHAP-MD5", "MS-CHAPv2"}) || a.Error != "" {
			t.Fatalf("ppp %+v", a)
		}
		l.mu.Lock()
		up, down, times, wire := l.up, l.down, slices.Clone(l.times), l.wire.String()
		l.mu.Unlock()
		if up == 0 || up != down {
			t.Errorf("%d pairs up at the server, %d deleted", up, down)
		}
		if n := maxPerSecond(times); n > 10 {
			t.Errorf("%d messages within a second at --rate 10", n)
		}
		if rep.Sent != len(times) {
			t.Errorf("counted %d messages, the server got %d", rep.Sent, len(times))
		}
		if strings.Contains(wire, labPSK) {
			t.Error("the key went over the wire in clear")
		}
		rep.finish("vpn.example", st)
		if rep.Verdict != verdictWorks || rep.exitCode() != exitOK {
			t.Errorf("verdict %s", rep.Verdict)
		}
		for _, want := range []string{`esp = ["aes128gcm16", "aes256-sha1"]`, `pfs = "none"`, `esp-mode = "tunnel"`, `auth = ["mschapv2", "chap"]`} {
			if !strings.Contains(rep.Profile, want) {
				t.Errorf("profile lacks %s:\n%s", want, rep.Profile)
			}
		}
		var out bytes.Buffer
		rep.writeTable(&out)
		js, _ := json.Marshal(rep)
		for _, s := range []string{out.String(), string(js)} {
			if strings.Contains(s, labPSK) {
				t.Errorf("the key is in the output:\n%s", s)
			}
		}
		t.Logf("table:\n%s", out.String())
		for _, want := range []string{"phase 2 accepted", "aes128gcm16", "PFS", "optional", "L2TP via IPsec", "lab-lns",
			"PPP authentication", "CHAP-MD5, MS-CHAPv2"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("table lacks %q:\n%s", want, out.String())
			}
		}
		cancel()
		l.wg.Wait()
	})
}

// A wrong key: errPSKRefused, verdict and exit code of an IKE
// authentication failure, and the key in no output.
func TestProbePSKWrongKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		l := newPSKLab(t, ctx, "aes128gcm16", nil, nil)
		const wrong = "wrong-key-7d3a11"
		st := probeSettings{Timeout: time.Second, Rate: 10, L2TP: 1701, PSK: secret.FromString(wrong)}
		rep := &probeReport{Server: labServer.String(), UDP500: true, IKEProbed: 1, IKEAccepted: []string{"aes256-sha256-modp2048"}}
		prop := ike.IKEProposal{Enc: ike.EncAESCBC, KeyBits: 256, Hash: ike.HashSHA256, Group: ike.MODP2048}
		err := runPSK(ctx, l.link4probe(), prop, st, l.p, rep)
		if err != errPSKRefused || rep.PSK != "refused" {
			t.Fatalf("err %v, psk %q", err, rep.PSK)
		}
		rep.finish("vpn.example", st)
		if rep.exitCode() != exitIKEAuth || rep.Profile != "" {
			t.Errorf("exit %d, profile %q", rep.exitCode(), rep.Profile)
		}
		var out bytes.Buffer
		rep.writeTable(&out)
		js, _ := json.Marshal(rep)
		if !strings.Contains(out.String(), "the pre-shared key was not accepted") {
			t.Errorf("table:\n%s", out.String())
		}
		for _, s := range []string{out.String(), string(js), err.Error()} {
			if strings.Contains(s, wrong) || strings.Contains(s, labPSK) {
				t.Errorf("a key in the output:\n%s", s)
			}
		}
		cancel()
		l.wg.Wait()
	})
}
