package ppp

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

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
	var mu sync.Mutex
	last := map[Protocol]Packet{}
	var challenge CHAPPacket
	send := func(fr []byte) error {
		// Called from Run's goroutine: report with Errorf, never Fatalf.
		if len(fr) < 2 {
			t.Errorf("frame %x", fr)
			return nil
		}
		proto, info := Protocol(binary.BigEndian.Uint16(fr)), fr[2:]
		switch proto {
		case ProtoLCP, ProtoIPCP, ProtoIPV6CP:
			p, err := ParsePacket(info)
			if err != nil || p.Len() != len(info) {
				t.Errorf("sent a bad %v packet %x: %v", proto, info, err)
			}
			if p.Code <= CodeConfigureReject && checkOptions(p.Data) != nil {
				t.Errorf("sent bad options %x", info)
			}
			if p.Code == CodeConfigureRequest {
				mu.Lock()
				last[proto] = Packet{Code: p.Code, ID: p.ID, Data: append([]byte(nil), p.Data...)}
				mu.Unlock()
			}
		case ProtoPAP:
			if _, err := ParsePAP(info); err != nil {
				t.Errorf("sent bad PAP %x", info)
			}
		case ProtoCHAP:
			p, err := ParseCHAP(info)
			if err != nil {
				t.Errorf("sent bad CHAP %x", info)
			}
			if p.Code == CHAPChallenge {
				mu.Lock()
				challenge = CHAPPacket{Code: p.Code, ID: p.ID, Value: append([]byte(nil), p.Value...)}
				mu.Unlock()
			}
		default:
			t.Errorf("sent protocol %v", proto)
		}
		return nil
	}
	s := NewServerLink(ServerConfig{
		Lookup: testUsers(map[string]Credential{
			"alice": {Password: secret.FromString("s3cret")},
			"bob":   {NTHash: NTPasswordHash(secret.FromString("b"))},
		}),
		LocalIP: testLocalIP, PeerIP: testPeerIP, DNS: testDNS, IPv6: true, AuthRetries: 1,
		Rand: rand.NewChaCha8([32]byte{7}),
	}, send)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	synctest.Wait()
	ncps := [3]Protocol{ProtoLCP, ProtoIPCP, ProtoIPV6CP}
	for records := 0; len(script) >= 2 && records < 100; records++ {
		kind, n := script[0], int(script[1])
		script = script[2:]
		n = min(n, len(script))
		payload := script[:n]
		script = script[n:]
		switch kind % fzServerKinds {
		case fzFrame:
			if len(payload) >= 2 {
				s.Input(Protocol(binary.BigEndian.Uint16(payload)), payload[2:])
			}
		case fzAck, fzRefuse:
			if len(payload) < 1 {
				break
			}
			proto := ncps[int(payload[0])%3]
			mu.Lock()
			p, ok := last[proto]
			mu.Unlock()
			if !ok {
				break
			}
			reply := Packet{Code: CodeConfigureAck, ID: p.ID, Data: p.Data}
			if kind%fzServerKinds == fzRefuse && len(payload) >= 2 {
				reply = Packet{Code: CodeConfigureNak, ID: p.ID, Data: payload[2:]}
				if payload[1]&1 == 1 {
					reply.Code = CodeConfigureReject
				}
			}
			s.Input(proto, reply.Append(nil))
		case fzRespond:
			mu.Lock()
			c := challenge
			mu.Unlock()
			if len(payload) < 1 || len(c.Value) != 16 {
				break
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
		case fzSleep:
			d := time.Second
			if len(payload) > 0 {
				d = time.Duration(payload[0]) * time.Second
			}
			time.Sleep(d)
		case fzClose:
			go s.Close(context.Background(), "fuzz")
		}
		synctest.Wait()
	}
	cancel()
	<-done
	_ = s.Stats()
	_ = s.Info()
}
