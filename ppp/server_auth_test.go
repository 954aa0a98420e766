package ppp

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

// A wrong password, an unknown user and a user with only an NT hash for a
// method that needs the cleartext: the client's Run fails with the
// server's verdict (MS-CHAPv2: E=691), the server's with a ServerAuthError
// saying why, and neither error shows a password.
func TestServerAuthFailures(t *testing.T) {
	cases := []struct {
		method     AuthMethod
		user, pass string
		reason     string
	}{
		{AuthPAP, "alice", "Xq7-bad", "wrong password"},
		{AuthCHAPMD5, "alice", "Xq7-bad", "wrong password"},
		{AuthMSCHAPv2, "alice", "Xq7-bad", "wrong password"},
		{AuthMSCHAPv2, "mallory", "s3cret", "unknown user"},
		{AuthCHAPMD5, "bob", "hashed", "only an NT hash"},
		{AuthPAP, "bob", "hashed", "only an NT hash"},
	}
	for _, c := range cases {
		t.Run(c.method.String()+"/"+c.user, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				scfg := testServerConfig()
				scfg.Auth = []AuthMethod{c.method}
				scfg.Lookup = testUsers(map[string]Credential{
					"alice": {Password: secret.FromString("s3cret")},
					"bob":   {NTHash: NTPasswordHash(secret.FromString("hashed"))},
				})
				ccfg := testClientConfig()
				ccfg.User, ccfg.Password = c.user, secret.FromString(c.pass)
				p := startPair(t, scfg, ccfg, nil)
				cerr, serr := p.waitBoth()
				var ae *AuthError
				if !errors.As(cerr, &ae) || ae.Method != c.method {
					t.Fatalf("client Run = %v, want an AuthError for %v\n%s", cerr, c.method, p.trace())
				}
				if c.method == AuthMSCHAPv2 && ae.Code != 691 {
					t.Errorf("MS-CHAPv2 failure code %d, want 691", ae.Code)
				}
				var se *ServerAuthError
				if !errors.As(serr, &se) || se.User != c.user || !strings.Contains(se.Reason, c.reason) {
					t.Fatalf("server Run = %v, want a ServerAuthError for %q: %s", serr, c.user, c.reason)
				}
				for _, s := range []string{cerr.Error(), serr.Error(), p.trace()} {
					if strings.Contains(s, c.pass) || strings.Contains(s, "s3cret") {
						t.Errorf("a password shows in %q", s)
					}
				}
				if k := p.kinds(); !strings.Contains(strings.Join(k, " "), "auth.failed") || k[len(k)-1] != "down" {
					t.Errorf("server events %v", k)
				}
			})
		})
	}
}

// rawClient drives a ServerLink with hand-made frames.
type rawClient struct {
	t    *testing.T
	s    *ServerLink
	out  chan []byte
	errc chan error
	stop context.CancelFunc
}

func startRaw(t *testing.T, cfg ServerConfig) *rawClient {
	r := &rawClient{t: t, out: make(chan []byte, 256), errc: make(chan error, 1)}
	r.s = NewServerLink(cfg, func(fr []byte) error { r.out <- fr; return nil })
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	go func() { r.errc <- r.s.Run(ctx) }()
	return r
}

type rawFrame struct {
	proto Protocol
	info  []byte
}

// frames returns what the server sent since the last call, once it is idle.
func (r *rawClient) frames() []rawFrame {
	synctest.Wait()
	var out []rawFrame
	for {
		select {
		case fr := <-r.out:
			out = append(out, rawFrame{Protocol(binary.BigEndian.Uint16(fr)), fr[2:]})
		default:
			return out
		}
	}
}

// find returns the first frame of proto with the given first octet (code).
func (r *rawClient) find(fs []rawFrame, proto Protocol, code uint8) []byte {
	r.t.Helper()
	for _, f := range fs {
		if f.proto == proto && len(f.info) > 0 && f.info[0] == code {
			return f.info
		}
	}
	var d []string
	for _, f := range fs {
		d = append(d, describe(f.proto, f.info))
	}
	r.t.Fatalf("no %v code %d among %q", proto, code, d)
	return nil
}

func (r *rawClient) packet(proto Protocol, p Packet) { r.s.Input(proto, p.Append(nil)) }

// openLCP opens LCP with an acceptable request of ours and an Ack of the
// server's; it returns what the server sent after that.
func (r *rawClient) openLCP() []rawFrame {
	req := mustPacket(r.t, r.find(r.frames(), ProtoLCP, uint8(CodeConfigureRequest)))
	r.packet(ProtoLCP, Packet{Code: CodeConfigureRequest, ID: 1, Data: unhex("050611223344")})
	r.packet(ProtoLCP, Packet{Code: CodeConfigureAck, ID: req.ID, Data: req.Data})
	return r.frames()
}

// end stops Run and returns the link's failure, or Run's result.
func (r *rawClient) end() error {
	err := r.s.Err()
	r.stop()
	if runErr := <-r.errc; err == nil {
		err = runErr
	}
	return err
}

// The client's own Authentication-Protocol option (EAP here: it would have
// us authenticate ourselves) is Configure-Rejected; a Nak of our offer that
// suggests EAP gets the next allowed method, never EAP.
func TestServerEAPRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRaw(t, testServerConfig())
		fs := r.frames()
		req := mustPacket(t, r.find(fs, ProtoLCP, uint8(CodeConfigureRequest)))
		if !bytes.Contains(req.Data, []byte{lcpAuthProtocol, 5, 0xc2, 0x23, 0x81}) {
			t.Fatalf("first offer %x, want MS-CHAPv2", req.Data)
		}
		eap := Option{Type: lcpAuthProtocol, Data: []byte{0xc2, 0x27}}
		r.packet(ProtoLCP, Packet{Code: CodeConfigureRequest, ID: 1, Data: AppendOptions(nil, eap, Option{Type: lcpMagicNumber, Data: []byte{1, 2, 3, 4}})})
		r.packet(ProtoLCP, Packet{Code: CodeConfigureNak, ID: req.ID, Data: eap.Append(nil)})
		fs = r.frames()
		rej := mustPacket(t, r.find(fs, ProtoLCP, uint8(CodeConfigureReject)))
		if !bytes.Equal(rej.Data, eap.Append(nil)) {
			t.Errorf("Configure-Reject %x, want the EAP option alone", rej.Data)
		}
		next := mustPacket(t, r.find(fs, ProtoLCP, uint8(CodeConfigureRequest)))
		if !bytes.Contains(next.Data, []byte{lcpAuthProtocol, 5, 0xc2, 0x23, 5}) {
			t.Errorf("offer after the EAP Nak %x, want CHAP-MD5", next.Data)
		}
		// Nak'd again with EAP: PAP; then nothing is left.
		r.packet(ProtoLCP, Packet{Code: CodeConfigureNak, ID: next.ID, Data: eap.Append(nil)})
		next = mustPacket(t, r.find(r.frames(), ProtoLCP, uint8(CodeConfigureRequest)))
		if !bytes.Contains(next.Data, []byte{lcpAuthProtocol, 4, 0xc0, 0x23}) {
			t.Errorf("third offer %x, want PAP", next.Data)
		}
		r.packet(ProtoLCP, Packet{Code: CodeConfigureNak, ID: next.ID, Data: eap.Append(nil)})
		fs = r.frames()
		term := mustPacket(t, r.find(fs, ProtoLCP, uint8(CodeTerminateRequest)))
		r.packet(ProtoLCP, Packet{Code: CodeTerminateAck, ID: term.ID})
		err := <-r.errc
		if !errors.Is(err, ErrNegotiation) || !strings.Contains(err.Error(), "it asked for EAP") {
			t.Errorf("Run = %v", err)
		}
		r.stop()
	})
}

// A client that rejects the Authentication-Protocol option outright fails
// the negotiation.
func TestServerAuthOptionRejected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRaw(t, testServerConfig())
		req := mustPacket(t, r.find(r.frames(), ProtoLCP, uint8(CodeConfigureRequest)))
		o, _, _ := NextOption(req.Data)
		r.packet(ProtoLCP, Packet{Code: CodeConfigureReject, ID: req.ID, Data: o.Append(nil)})
		r.find(r.frames(), ProtoLCP, uint8(CodeTerminateRequest))
		if err := r.end(); !errors.Is(err, ErrNegotiation) || !strings.Contains(err.Error(), "refuses to authenticate") {
			t.Errorf("Run = %v", err)
		}
	})
}

// A client that never authenticates: after AuthTimeout the server fails
// with ErrAuthTimeout and sends a Terminate-Request. The unanswered CHAP
// Challenge is retransmitted meanwhile with the same Identifier.
func TestServerAuthTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testServerConfig()
		cfg.AuthTimeout = 20 * time.Second
		r := startRaw(t, cfg)
		ch := r.find(r.openLCP(), ProtoCHAP, uint8(CHAPChallenge))
		time.Sleep(4 * time.Second)
		again := r.find(r.frames(), ProtoCHAP, uint8(CHAPChallenge))
		if !bytes.Equal(ch, again) {
			t.Errorf("retransmitted Challenge %x differs from %x", again, ch)
		}
		time.Sleep(20 * time.Second)
		term := r.find(r.frames(), ProtoLCP, uint8(CodeTerminateRequest))
		if p := mustPacket(t, term); string(p.Data) != "Authentication timed out" {
			t.Errorf("Terminate-Request data %q", p.Data)
		}
		if err := r.end(); !errors.Is(err, ErrAuthTimeout) {
			t.Errorf("Run = %v, want ErrAuthTimeout", err)
		}
	})
}

// AuthRetries: a PAP client may try again after a Nak; an MS-CHAPv2
// client gets R=1 and a new challenge, which its next Response (Identifier
// + 1) answers.
func TestServerAuthRetries(t *testing.T) {
	pap := func(id uint8, pass string) []byte {
		return PAPPacket{Code: PAPAuthenticateRequest, ID: id, PeerID: []byte("alice"), Password: []byte(pass)}.Append(nil)
	}
	synctest.Test(t, func(t *testing.T) {
		cfg := testServerConfig()
		cfg.Auth, cfg.AuthRetries = []AuthMethod{AuthPAP}, 1
		r := startRaw(t, cfg)
		r.openLCP()
		r.s.Input(ProtoPAP, pap(1, "nope"))
		r.find(r.frames(), ProtoPAP, uint8(PAPAuthenticateNak))
		r.s.Input(ProtoPAP, pap(2, "s3cret"))
		fs := r.frames()
		r.find(fs, ProtoPAP, uint8(PAPAuthenticateAck))
		r.find(fs, ProtoIPCP, uint8(CodeConfigureRequest))
		// The Ack was lost: the repeated request is acked again.
		r.s.Input(ProtoPAP, pap(3, "s3cret"))
		r.find(r.frames(), ProtoPAP, uint8(PAPAuthenticateAck))
		if err := r.end(); err != context.Canceled {
			t.Errorf("Run = %v", err)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		cfg := testServerConfig()
		cfg.Auth, cfg.AuthRetries = []AuthMethod{AuthMSCHAPv2}, 1
		r := startRaw(t, cfg)
		ch, err := ParseCHAP(r.find(r.openLCP(), ProtoCHAP, uint8(CHAPChallenge)))
		if err != nil {
			t.Fatal(err)
		}
		respond := func(id uint8, challenge [16]byte, pass string) {
			peer := [16]byte{7, 7, 7}
			nt := generateNTResponse(&challenge, &peer, "alice", pass)
			v := append(append(append(peer[:], make([]byte, 8)...), nt[:]...), 0)
			r.s.Input(ProtoCHAP, CHAPPacket{Code: CHAPResponse, ID: id, Value: v, Name: []byte("alice")}.Append(nil))
		}
		respond(ch.ID, [16]byte(ch.Value), "nope")
		fail, _ := ParseCHAP(r.find(r.frames(), ProtoCHAP, uint8(CHAPFailure)))
		f, err := parseMSCHAPv2Failure(fail.Message)
		if err != nil || f.Error != 691 || !f.Retry || !f.HasChallenge {
			t.Fatalf("Failure %q: %+v %v", fail.Message, f, err)
		}
		respond(ch.ID+1, f.Challenge, "s3cret")
		ok, _ := ParseCHAP(r.find(r.frames(), ProtoCHAP, uint8(CHAPSuccess)))
		s, err := parseMSCHAPv2Success(ok.Message)
		peer := [16]byte{7, 7, 7}
		nt := generateNTResponse(&f.Challenge, &peer, "alice", "s3cret")
		if err != nil || s.AuthResponse != generateAuthenticatorResponse("s3cret", &nt, &peer, &f.Challenge, "alice") {
			t.Errorf("Success %q: %v", ok.Message, err)
		}
		if up := r.s.Info(); up.User != "alice" || up.Auth != AuthMSCHAPv2 {
			t.Errorf("Info %+v", up)
		}
		r.end()
	})
}

// Malformed frames in every phase are counted and dropped; the link goes
// on and comes up.
func TestServerMalformed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testServerConfig()
		cfg.Auth = []AuthMethod{AuthPAP}
		r := startRaw(t, cfg)
		junk := [][]byte{{}, {1}, {1, 2, 0, 3}, {1, 2, 0xff, 0xff}, {1, 1, 0, 6, 1, 0}}
		for _, j := range junk {
			r.s.Input(ProtoLCP, j)
		}
		r.openLCP()
		for _, j := range junk {
			r.s.Input(ProtoPAP, j)
			r.s.Input(ProtoCHAP, j)
		}
		r.s.Input(ProtoPAP, PAPPacket{Code: PAPAuthenticateRequest, ID: 1, PeerID: []byte("alice"), Password: []byte("s3cret")}.Append(nil))
		r.find(r.frames(), ProtoPAP, uint8(PAPAuthenticateAck))
		for _, j := range junk {
			r.s.Input(ProtoIPCP, j)
		}
		r.frames()
		if st := r.s.Stats(); st.Malformed < 10 {
			t.Errorf("Malformed = %d, want at least 10", st.Malformed)
		}
		if err := r.s.Err(); err != nil {
			t.Errorf("link failed: %v", err)
		}
		r.end()
	})
}

// The server's keepalive declares a silent client dead after EchoFailures
// unanswered Echo-Requests.
func TestServerEchoTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testServerConfig()
		cfg.EchoInterval, cfg.EchoFailures = 10*time.Second, 3
		cfg.Auth, cfg.MaxConfigure = []AuthMethod{AuthPAP}, 100 // IPCP goes unanswered meanwhile
		r := startRaw(t, cfg)
		r.openLCP()
		r.s.Input(ProtoPAP, PAPPacket{Code: PAPAuthenticateRequest, ID: 1, PeerID: []byte("alice"), Password: []byte("s3cret")}.Append(nil))
		time.Sleep(time.Minute)
		r.frames()
		var ee *EchoTimeoutError
		if err := r.end(); !errors.As(err, &ee) || ee.Count != 3 {
			t.Errorf("Run = %v, want EchoTimeoutError after 3", err)
		}
		if st := r.s.Stats(); st.EchoSent != 3 {
			t.Errorf("EchoSent = %d", st.EchoSent)
		}
	})
}

// IPCP option by option: the client's 0.0.0.0 and a wrong address are
// Nak'd with the assigned one, DNS likewise, NBNS without WINS configured
// and IP-Compression are rejected, and a request without an address gets
// a Nak suggesting it.
func TestServerIPCPOptions(t *testing.T) {
	s := NewServerLink(testServerConfig(), func([]byte) error { return nil })
	h := s.ipcpL
	addr := func(t uint8, a string) Option {
		return Option{Type: t, Data: unhex(a)}
	}
	cases := []struct {
		name string
		req  []Option
		code Code
		want []Option
	}{
		{"zero", []Option{addr(ipcpIPAddress, "00000000"), addr(ipcpPrimaryDNS, "00000000")}, CodeConfigureNak,
			[]Option{addr(ipcpIPAddress, "c000020a"), addr(ipcpPrimaryDNS, "c0000235")}},
		{"other address", []Option{addr(ipcpIPAddress, "0a000001")}, CodeConfigureNak, []Option{addr(ipcpIPAddress, "c000020a")}},
		{"assigned", []Option{addr(ipcpIPAddress, "c000020a"), addr(ipcpSecondaryDNS, "c0000236")}, CodeConfigureAck, nil},
		{"compression", []Option{addr(ipcpIPAddress, "00000000"), {Type: ipcpCompression, Data: unhex("002d0f01")}, addr(ipcpPrimaryNBNS, "00000000")},
			CodeConfigureReject, []Option{{Type: ipcpCompression, Data: unhex("002d0f01")}, addr(ipcpPrimaryNBNS, "00000000")}},
		{"no address", []Option{addr(ipcpPrimaryDNS, "c0000235")}, CodeConfigureNak, []Option{addr(ipcpIPAddress, "c000020a")}},
	}
	for _, c := range cases {
		code, reply, err := h.checkRequest(AppendOptions(nil, c.req...), false, nil)
		if err != nil || code != c.code || (code != CodeConfigureAck && !bytes.Equal(reply, AppendOptions(nil, c.want...))) {
			t.Errorf("%s: %v %s %v, want %v %s", c.name, code, hex.EncodeToString(reply), err, c.code, hex.EncodeToString(AppendOptions(nil, c.want...)))
		}
	}
	// Past Max-Failure a wrong address is rejected instead.
	code, _, _ := h.checkRequest(addr(ipcpIPAddress, "0a000001").Append(nil), true, nil)
	if code != CodeConfigureReject {
		t.Errorf("rejectNaks: %v", code)
	}
}

// RFC 2759 section 9.2 from the authenticator's side, knowing only the NT
// hash 44EBBA8D5312B8D611474411F56989AE of "clientPass": the NT-Response
// verifies and the Success message carries the RFC's authenticator
// response; a "BIGCO\User" name hashes as "User" while Lookup gets it
// whole.
func TestServerMSCHAPv2RFCVector(t *testing.T) {
	for _, name := range []string{"User", `BIGCO\User`} {
		var asked string
		s := NewServerLink(ServerConfig{Lookup: func(u string) (Credential, bool) {
			asked = u
			return Credential{NTHash: secret.New(unhex("44EBBA8D5312B8D611474411F56989AE"))}, true
		}}, func([]byte) error { return nil })
		s.auth.challenge = [16]byte(unhex("5B5D7C7D7B3F2F3E3C2C602132262628"))
		value := append(unhex("21402324255E262A28295F2B3A337C7E"), make([]byte, 8)...)
		value = append(value, unhex("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF")...)
		value = append(value, 0)
		ok, why, msg := s.verifyMSCHAPv2(name, value)
		if !ok || string(msg) != "S=407A5589115FD0D6209F510FE9C04566932CDA56 M=Access granted" || asked != name {
			t.Errorf("%s: ok %v (%s), Success %q, Lookup got %q", name, ok, why, msg, asked)
		}
		value[30] ^= 1
		if ok, why, _ := s.verifyMSCHAPv2(name, value); ok || why != "wrong password" {
			t.Errorf("%s: a corrupted NT-Response verified (%v, %q)", name, ok, why)
		}
	}
}
