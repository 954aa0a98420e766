package l2tp

import (
	"context"
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

// countingRand yields 1, 2, 3, ... (mod 256): the LNS's first tunnel ID is
// 0x0102 and, without a secret, that tunnel's first session ID 0x0304, so
// the fuzz seeds can address them. Safe for concurrent use.
type countingRand struct {
	mu sync.Mutex
	n  byte
}

func (r *countingRand) Read(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range b {
		r.n++
		b[i] = r.n
	}
	return len(b), nil
}

// lnsFuzzInput packs datagrams for FuzzLNSInput: a mode byte (bit 0: with
// tunnel secret), then per datagram the peer (one byte), its length (two)
// and the bytes.
func lnsFuzzInput(secret bool, dgrams ...[]byte) []byte {
	b := []byte{0}
	if secret {
		b[0] = 1
	}
	for _, d := range dgrams {
		b = append(b, 0) // the first peer; the fuzzer may change it
		b = binary.BigEndian.AppendUint16(b, uint16(len(d)))
		b = append(b, d...)
	}
	return b
}

// lnsFuzzSeed is a whole LAC conversation with the LNS's predictable IDs.
func lnsFuzzSeed() [][]byte {
	const lnsTunnel, lnsSession = 0x0102, 0x0304
	msg := func(m Message, ns, nr uint16) []byte {
		m.Header.Ns, m.Header.Nr = ns, nr
		return m.Append(nil)
	}
	rq := NewMessage(SCCRQ, 0, 0)
	rq.Add(Uint16AVP(AVPProtocolVersion, true, 0x0100), BytesAVP(AVPHostName, true, []byte("lac")),
		Uint32AVP(AVPFramingCapabilities, true, FramingSync), Uint16AVP(AVPAssignedTunnelID, true, 0x0abc),
		Uint16AVP(AVPReceiveWindowSize, true, 4))
	icrq := NewMessage(ICRQ, lnsTunnel, 0)
	icrq.Add(Uint16AVP(AVPAssignedSessionID, true, 0x0def), BytesAVP(AVPCallSerialNumber, true, []byte{0, 0, 0, 1}))
	iccn := NewMessage(ICCN, lnsTunnel, lnsSession)
	iccn.Add(Uint32AVP(AVPTxConnectSpeed, true, 1e6), Uint32AVP(AVPFramingType, true, FramingSync))
	cdn := NewMessage(CDN, lnsTunnel, lnsSession)
	cdn.Add(Result{Code: 1}.AVP(), Uint16AVP(AVPAssignedSessionID, true, 0x0def))
	stop := NewMessage(StopCCN, lnsTunnel, 0)
	stop.Add(Uint16AVP(AVPAssignedTunnelID, true, 0x0abc), Result{Code: 1}.AVP())
	data := make([]byte, DataHeaderLen+4)
	PutDataHeader(data, lnsTunnel, lnsSession)
	seqData := make([]byte, DataHeaderSeqLen+4)
	PutDataHeaderSeq(seqData, lnsTunnel, lnsSession, 5, 0)
	return [][]byte{
		msg(rq, 0, 0),
		msg(NewMessage(SCCCN, lnsTunnel, 0), 1, 1),
		msg(icrq, 2, 1),
		msg(iccn, 3, 2),
		data, seqData,
		msg(NewMessage(HELLO, lnsTunnel, 0), 4, 2),
		msg(cdn, 5, 2),
		msg(stop, 6, 3),
	}
}

// FuzzLNSInput feeds arbitrary datagrams from two peers to an LNS, then lets
// fake time run through its timers. Nothing may panic, deadlock or leak a
// goroutine.
func FuzzLNSInput(f *testing.F) {
	seed := lnsFuzzSeed()
	f.Add(lnsFuzzInput(false, seed...))
	f.Add(lnsFuzzInput(true, seed...))
	f.Add(lnsFuzzInput(false, seed[0], seed[0], seed[1], seed[2], seed[2], seed[4]))
	f.Add(lnsFuzzInput(false, seed[0], seed[8]))

	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		synctest.Test(t, func(t *testing.T) {
			cfg := LNSConfig{Config: Config{Rand: &countingRand{}}, MaxTunnels: 4, MaxSessionsPerTunnel: 2,
				OnData: func(*LNSSession, []byte) {}}
			if in[0]&1 != 0 {
				cfg.Secret = secret.FromString("fuzz-secret")
			}
			cfg.Send = func(PeerKey, []byte) error { return nil }
			n := NewLNS(cfg)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- n.Run(ctx) }()
			peers := [2]PeerKey{
				{Addr: netip.MustParseAddrPort("192.0.2.1:1701")},
				{Addr: netip.MustParseAddrPort("192.0.2.2:4500"), Conn: 7},
			}
			for rest := in[1:]; len(rest) >= 3; {
				peer := peers[rest[0]&1]
				k := min(int(binary.BigEndian.Uint16(rest[1:])), len(rest)-3)
				n.Input(peer, rest[3:3+k])
				n.Data(peer, rest[3:3+k])
				rest = rest[3+k:]
				synctest.Wait()
			}
			<-time.After(time.Minute) // acks, retransmissions, HELLO, expiry
			n.Stats()
			cancel()
			<-done
		})
	})
}

// The seed conversation gets as far as a session that is up, carries data
// and is cleared: the fuzzer starts from deep inside the state machines.
func TestLNSFuzzSeedReachesSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ups, downs, data int
		n := NewLNS(LNSConfig{Config: Config{Rand: &countingRand{}},
			Send:          func(PeerKey, []byte) error { return nil },
			OnSession:     func(*LNSSession) { ups++ },
			OnSessionDown: func(*LNSSession, error) { downs++ },
			OnData:        func(*LNSSession, []byte) { data++ }})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- n.Run(ctx) }()
		peer := PeerKey{Addr: netip.MustParseAddrPort("192.0.2.1:1701")}
		for _, d := range lnsFuzzSeed() {
			n.Input(peer, d)
			synctest.Wait()
		}
		if ups != 1 || downs != 1 || data != 2 {
			t.Errorf("%d up, %d down, %d data messages; want 1, 1, 2", ups, downs, data)
		}
		<-time.After(time.Minute)
		if st := n.Stats(); st.Tunnels != 0 || st.Malformed != 0 {
			t.Errorf("Stats %+v", st)
		}
		cancel()
		<-done
	})
}
