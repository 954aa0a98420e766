package ppp

import (
	"context"
	"math/rand/v2"
	"testing"
	"testing/synctest"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

// Script records for FuzzServerLinkInput: those of FuzzLinkInput plus
// fzRespond, a CHAP Response to the server's last Challenge (payload[0]
// odd: MS-CHAPv2, else MD5; the rest: the password).
const (
	fzRespond = fzKinds + iota
	fzServerKinds
)

// FuzzServerLinkInput feeds arbitrary frames, replies and timer expiries
// to a running ServerLink. It must never panic or hang, and everything it
// sends must be well formed.
func FuzzServerLinkInput(f *testing.F) {
	lcpReq := fzPacket(ProtoLCP, Packet{Code: CodeConfigureRequest, ID: 1, Data: unhex("050611223344")})
	f.Add(fzScript( // PAP, IPCP with Naks, echo, terminate
		lcpReq, fzRecord(fzAck, 0),
		fzRecord(fzRefuse, 0, 0, 3, 4, 0xc0, 0x23),
		fzRecord(fzAck, 0),
		fzRaw(ProtoPAP, PAPPacket{Code: PAPAuthenticateRequest, ID: 1, PeerID: []byte("alice"), Password: []byte("s3cret")}.Append(nil)),
		fzPacket(ProtoIPCP, Packet{Code: CodeConfigureRequest, ID: 1, Data: unhex("0306000000008106000000008206000000000206002d0f01")}),
		fzPacket(ProtoIPCP, Packet{Code: CodeConfigureRequest, ID: 2, Data: unhex("0306c000020a8106c0000235")}),
		fzRecord(fzAck, 1),
		fzPacket(ProtoIPV6CP, Packet{Code: CodeConfigureRequest, ID: 1, Data: unhex("010a0000000000000000")}),
		fzPacket(ProtoLCP, Packet{Code: CodeEchoRequest, ID: 7, Data: make([]byte, 8)}),
		fzPacket(ProtoCCP, Packet{Code: CodeConfigureRequest, ID: 1}),
		fzRecord(fzSleep, 25),
		fzPacket(ProtoLCP, Packet{Code: CodeTerminateRequest, ID: 9, Data: []byte("bye")}),
	))
	f.Add(fzScript( // MS-CHAPv2, right then repeated, then close
		lcpReq, fzRecord(fzAck, 0),
		fzRecord(fzRespond, append([]byte{1}, "s3cret"...)...),
		fzRecord(fzRespond, append([]byte{1}, "s3cret"...)...),
		fzRecord(fzClose),
		fzRecord(fzSleep, 4),
	))
	f.Add(fzScript( // CHAP-MD5 wrong, garbage, EAP, long silence
		fzPacket(ProtoLCP, Packet{Code: CodeConfigureRequest, ID: 3, Data: unhex("0304c227")}),
		fzRecord(fzRefuse, 0, 0, 3, 4, 0xc2, 0x27),
		lcpReq, fzRecord(fzAck, 0),
		fzRecord(fzRespond, 0, 'x'),
		fzRecord(fzFrame, 0xc0, 0x21, 0x01, 0x02, 0xff, 0xff),
		fzRaw(ProtoCHAP, []byte{2, 1, 0, 5, 0}),
		fzRecord(fzSleep, 200),
	))
	f.Fuzz(func(t *testing.T, script []byte) {
		synctest.Test(t, func(t *testing.T) { runServerScript(t, script) })
	})
}

func runServerScript(t *testing.T, script []byte) {
	k := newFzSink(t)
	s := NewServerLink(ServerConfig{
		Lookup: testUsers(map[string]Credential{
			"alice": {Password: secret.FromString("s3cret")},
			"bob":   {NTHash: NTPasswordHash(secret.FromString("b"))},
		}),
		LocalIP: testLocalIP, PeerIP: testPeerIP, DNS: testDNS, IPv6: true, AuthRetries: 1,
		Rand: rand.NewChaCha8([32]byte{7}),
	}, k.send)
	respond := func(kind byte, payload []byte) { // fzRespond
		k.mu.Lock()
		c := k.challenge
		k.mu.Unlock()
		if len(payload) < 1 || len(c.Value) != 16 {
			return
		}
		pass := string(payload[1:])
		resp := CHAPPacket{Code: CHAPResponse, ID: c.ID, Name: []byte("alice")}
		if payload[0]&1 == 1 {
			peer := [16]byte{1}
			nt := generateNTResponse((*[16]byte)(c.Value), &peer, "alice", pass)
			resp.Value = append(append(append(peer[:], make([]byte, 8)...), nt[:]...), 0)
		} else {
			v := chapMD5Response(c.ID, pass, c.Value)
			resp.Value = v[:]
		}
		s.Input(ProtoCHAP, resp.Append(nil))
	}
	fzPlay(script, fzServerKinds, k, fzLink{s.Run, s.Input, func() { go s.Close(context.Background(), "fuzz") }}, respond)
	_ = s.Stats()
	_ = s.Info()
}
