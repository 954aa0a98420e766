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

// Script records for FuzzLinkInput: kind, length, payload.
const (
	fzFrame  = iota // payload: protocol (2) + information field
	fzAck           // payload[0]: 0 LCP, 1 IPCP, 2 IPV6CP: Configure-Ack the link's last request
	fzRefuse        // payload[0]: protocol as above, payload[1] odd = Reject else Nak, rest: options
	fzSleep         // payload[0]: seconds of fake time
	fzClose         // Close from another goroutine
	fzKinds
)

func fzRecord(kind byte, payload ...byte) []byte {
	return append([]byte{kind, byte(len(payload))}, payload...)
}

func fzPacket(proto Protocol, p Packet) []byte {
	return fzRecord(fzFrame, appendFrame(nil, proto, p)...)
}

func fzRaw(proto Protocol, info []byte) []byte {
	return fzRecord(fzFrame, append([]byte{byte(proto >> 8), byte(proto)}, info...)...)
}

func fzScript(records ...[]byte) []byte {
	var b []byte
	for _, r := range records {
		b = append(b, r...)
	}
	return b
}

// FuzzLinkInput feeds arbitrary frames, replies and timer expiries to a
// running Link. It must never panic or hang, and everything it sends must be
// well formed.
func FuzzLinkInput(f *testing.F) {
	f.Add(fzScript( // l2tpns-like: PAP, IPCP with a Nak, echo, terminate
		fzPacket(ProtoLCP, Packet{Code: CodeConfigureRequest, ID: 1, Data: unhex("010405b60304c02305066b0506cf1104064e130702cb007101")}),
		fzPacket(ProtoLCP, Packet{Code: CodeConfigureRequest, ID: 2, Data: unhex("010405b60304c02305066b0506cf")}),
		fzRecord(fzAck, 0),
		fzRaw(ProtoPAP, PAPPacket{Code: PAPAuthenticateAck, ID: 1, NoMsgLength: true}.Append(nil)),
		fzPacket(ProtoIPCP, Packet{Code: CodeConfigureRequest, ID: 1, Data: unhex("0306cb007101")}),
		fzRecord(fzRefuse, 1, 1, 0x81, 6, 0, 0, 0, 0, 0x83, 6, 0, 0, 0, 0),
		fzRecord(fzRefuse, 1, 0, 3, 6, 203, 0, 113, 192),
		fzRecord(fzAck, 1),
		fzRecord(fzRefuse, 2, 1, 1, 10, 0, 0, 0, 0, 0, 0, 0, 0),
		fzPacket(ProtoLCP, Packet{Code: CodeEchoRequest, ID: 7, Data: make([]byte, 8)}),
		fzPacket(ProtoCCP, Packet{Code: CodeConfigureRequest, ID: 1}),
		fzRecord(fzSleep, 25),
		fzPacket(ProtoLCP, Packet{Code: CodeTerminateRequest, ID: 9, Data: []byte("bye")}),
	))
	f.Add(fzScript( // SoftEther-like: EAP, Magic rejected, MS-CHAPv2, then close
		fzPacket(ProtoLCP, Packet{Code: CodeConfigureRequest, ID: 0, Data: unhex("0304c227")}),
		fzRecord(fzRefuse, 0, 1, 5, 6, 0, 0, 0, 0),
		fzPacket(ProtoLCP, Packet{Code: CodeConfigureRequest, ID: 1, Data: unhex("0305c22381")}),
		fzRecord(fzAck, 0),
		fzRaw(ProtoCHAP, CHAPPacket{Code: CHAPChallenge, ID: 2, Value: make([]byte, 16), Name: []byte("vm")}.Append(nil)),
		fzRaw(ProtoCHAP, CHAPPacket{Code: CHAPSuccess, ID: 2, Message: []byte("S=584F9AD9CC31AE2C7BB65562A6F50E2C735FE303")}.Append(nil)),
		fzRecord(fzClose),
		fzRecord(fzSleep, 4),
	))
	f.Add(fzScript( // CHAP-MD5 failure, garbage, long silence
		fzPacket(ProtoLCP, Packet{Code: CodeConfigureRequest, ID: 3, Data: unhex("0305c22305")}),
		fzRecord(fzAck, 0),
		fzRaw(ProtoCHAP, CHAPPacket{Code: CHAPChallenge, ID: 1, Value: make([]byte, 16)}.Append(nil)),
		fzRaw(ProtoCHAP, CHAPPacket{Code: CHAPFailure, ID: 1, Message: []byte("E=691 R=0")}.Append(nil)),
		fzRecord(fzFrame, 0xc0, 0x21, 0x01, 0x02, 0xff, 0xff),
		fzRecord(fzSleep, 200),
	))
	f.Fuzz(func(t *testing.T, script []byte) {
		synctest.Test(t, func(t *testing.T) { runLinkScript(t, script) })
	})
}

func runLinkScript(t *testing.T, script []byte) {
	k := newFzSink(t)
	l := NewLink(Config{User: "u", Password: secret.FromString("p"), IPv6: true, Rand: rand.NewChaCha8([32]byte{7})}, k.send)
	fzPlay(script, fzKinds, k, fzLink{l.Run, l.Input, func() { go l.Close(context.Background()) }}, nil)
	_ = l.Stats()
}

// fzSink is the send function of a link under a fuzz script: it checks
// that every frame is well formed and keeps the last Configure-Request of
// each of LCP, IPCP and IPV6CP and the last CHAP Challenge.
type fzSink struct {
	t         *testing.T
	mu        sync.Mutex
	last      map[Protocol]Packet
	challenge CHAPPacket
}

func newFzSink(t *testing.T) *fzSink { return &fzSink{t: t, last: map[Protocol]Packet{}} }

func (k *fzSink) send(fr []byte) error {
	t := k.t
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
			k.mu.Lock()
			k.last[proto] = Packet{Code: p.Code, ID: p.ID, Data: append([]byte(nil), p.Data...)}
			k.mu.Unlock()
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
			k.mu.Lock()
			k.challenge = CHAPPacket{Code: p.Code, ID: p.ID, Value: append([]byte(nil), p.Value...)}
			k.mu.Unlock()
		}
	default:
		t.Errorf("sent protocol %v", proto)
	}
	return nil
}

// fzLink is the link a script plays against.
type fzLink struct {
	run   func(context.Context) error
	input func(Protocol, []byte) bool
	close func() // from another goroutine
}

// fzPlay runs the link and plays script against it in a synctest bubble:
// records of kind modulo kinds; extra plays the kinds from fzKinds on.
func fzPlay(script []byte, kinds byte, k *fzSink, l fzLink, extra func(kind byte, payload []byte)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.run(ctx) }()
	synctest.Wait()
	ncps := [3]Protocol{ProtoLCP, ProtoIPCP, ProtoIPV6CP}
	for records := 0; len(script) >= 2 && records < 100; records++ { // keep each run fast
		kind, n := script[0]%kinds, int(script[1])
		script = script[2:]
		n = min(n, len(script))
		payload := script[:n]
		script = script[n:]
		switch kind {
		case fzFrame:
			if len(payload) >= 2 {
				l.input(Protocol(binary.BigEndian.Uint16(payload)), payload[2:])
			}
		case fzAck, fzRefuse:
			if len(payload) < 1 {
				break
			}
			proto := ncps[int(payload[0])%3]
			k.mu.Lock()
			p, ok := k.last[proto]
			k.mu.Unlock()
			if !ok {
				break
			}
			reply := Packet{Code: CodeConfigureAck, ID: p.ID, Data: p.Data}
			if kind == fzRefuse && len(payload) >= 2 {
				reply = Packet{Code: CodeConfigureNak, ID: p.ID, Data: payload[2:]}
				if payload[1]&1 == 1 {
					reply.Code = CodeConfigureReject
				}
			}
			l.input(proto, reply.Append(nil))
		case fzSleep:
			d := time.Second
			if len(payload) > 0 {
				d = time.Duration(payload[0]) * time.Second
			}
			time.Sleep(d)
		case fzClose:
			l.close()
		default:
			extra(kind, payload)
		}
		synctest.Wait()
	}
	cancel()
	<-done
}
