package l2tp

import (
	"bytes"
	"context"
	"testing"
	"testing/synctest"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

// Replays of the captured servers: the Tunnel gets the IDs (and challenge)
// the probe used, so the servers' real messages fit it byte for byte.

// replayRand yields our tunnel ID, the challenge (if any), our session ID and
// a call serial number, in the order the Tunnel reads them.
func replayRand(t *testing.T, tunnelID uint16, challenge string, sessionID uint16) *bytes.Reader {
	b := []byte{byte(tunnelID >> 8), byte(tunnelID)}
	b = append(b, unhex(t, challenge)...)
	b = append(b, byte(sessionID>>8), byte(sessionID), 0, 0, 0, 1)
	return bytes.NewReader(b)
}

type replayStep struct {
	send string        // a captured server message to feed, or
	want []MessageType // what the tunnel must send next
}

func runReplay(t *testing.T, cfg Config, wantTunnel TunnelInfo, wantSession SessionInfo, steps []replayStep) {
	f := newLNS(t, cfg)
	est := async(func() (TunnelInfo, error) { return f.tun.Establish(context.Background()) })
	var sess chan outcome[SessionInfo]
	var closed chan outcome[struct{}]
	for i, s := range steps {
		if s.send != "" {
			if !f.tun.Input(unhex(t, s.send)) {
				t.Fatalf("step %d: Input refused", i)
			}
			synctest.Wait()
			continue
		}
		for _, typ := range s.want {
			f.expect(typ)
			switch typ {
			case SCCCN: // established: open the session at once, as the probe did
				if r := <-est; r.err != nil || r.v != wantTunnel {
					t.Fatalf("Establish: %+v %v, want %+v", r.v, r.err, wantTunnel)
				}
				sess = async(func() (SessionInfo, error) { return f.tun.OpenSession(context.Background()) })
			case ICCN: // session up: close, as the probe did after its ping
				if r := <-sess; r.err != nil || r.v != wantSession {
					t.Fatalf("OpenSession: %+v %v, want %+v", r.v, r.err, wantSession)
				}
				closed = async(func() (struct{}, error) { return struct{}{}, f.tun.Close(context.Background()) })
			}
		}
	}
	if err := f.runResult(); err != nil {
		t.Errorf("Run: %v", err)
	}
	if c := <-closed; c.err != nil {
		t.Errorf("Close: %v", c.err)
	}
	if s := f.tun.Stats(); s.Malformed != 0 || s.Duplicates != 0 || s.Retransmits != 0 {
		t.Errorf("Stats %+v", s)
	}
	f.quiet()
}

// SoftEther (se-l2tp-ppp-pap.pcap): it answers our CDN with its own CDN and
// our StopCCN with its own StopCCN, both of which we acknowledge.
func TestReplaySoftEther(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		runReplay(t, Config{Rand: replayRand(t, 0xd56c, "", 0xf46c)},
			TunnelInfo{LocalID: 0xd56c, PeerID: 1, PeerHostName: "vm", PeerVendor: "L2TP", PeerWindow: 16, PeerProtocolVersion: 0x0100},
			SessionInfo{LocalID: 0xf46c, PeerID: 1}, []replayStep{
				{want: []MessageType{SCCRQ}},
				{send: seSCCRP},
				{want: []MessageType{SCCCN, ICRQ}},
				{send: seZLB1},
				{send: seICRP},
				{want: []MessageType{ICCN}},
				{send: seZLB2},
				{want: []MessageType{CDN, StopCCN}},
				{send: seCDN},
				{send: seStopCCN},
				{want: []MessageType{ZLB}},
			})
	})
}

// l2tpns (l2tpns-l2tp-ppp-pap.pcap): no Receive Window Size, plain ZLB acks.
func TestReplayL2tpns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		runReplay(t, Config{Rand: replayRand(t, 0xf684, "", 0x424f)},
			TunnelInfo{LocalID: 0xf684, PeerID: 2, PeerHostName: "vm", PeerWindow: 4, PeerProtocolVersion: 0x0100},
			SessionInfo{LocalID: 0x424f, PeerID: 1}, []replayStep{
				{want: []MessageType{SCCRQ}},
				{send: nsSCCRP},
				{want: []MessageType{SCCCN, ICRQ}},
				{send: nsZLB1},
				{send: nsICRP},
				{want: []MessageType{ICCN}},
				{send: nsZLB2},
				{want: []MessageType{CDN, StopCCN}},
				{send: nsZLB3},
				{send: nsZLB4},
			})
	})
}

// l2tpns with the tunnel secret (l2tpns-secret-l2tp-ppp-chap.pcap): our
// challenge is the probe's, so l2tpns's real Challenge Response must verify.
func TestReplayL2tpnsSecret(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{Secret: secret.FromString("pgtunnelsecret"), Rand: replayRand(t, 0xf8ae, "7525d467f1a615b466c6a8161fa6473c", 0xdac1)}
		f := newLNS(t, cfg)
		f.id = 3
		rq, res := f.startEstablish()
		ch, _ := rq.Find(AVPChallenge)
		if !bytes.Equal(ch.Value, unhex(t, "7525d467f1a615b466c6a8161fa6473c")) {
			t.Fatalf("challenge %x", ch.Value)
		}
		f.tun.Input(unhex(t, nsSecretSCCRP))
		f.expect(SCCCN)
		r := <-res
		if r.err != nil || !r.v.Authenticated || r.v.PeerID != 3 || r.v.PeerHostName != "vm" || r.v.PeerWindow != 4 {
			t.Fatalf("Establish: %+v %v", r.v, r.err)
		}
		go f.tun.Close(context.Background())
		f.expect(StopCCN)
		// l2tpns acks with Nr=3 here (our StopCCN is Ns 2).
		z := NewMessage(ZLB, 0xf8ae, 0)
		z.Header.Ns, z.Header.Nr = 1, 3
		f.input(z)
		if err := f.runResult(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}
