package l2tp

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

// fuzzDatagrams packs messages for FuzzTunnelInput: a mode byte (bit 0: with
// tunnel secret), then each datagram with a 2-byte length.
func fuzzDatagrams(t testing.TB, secret bool, hexes ...string) []byte {
	b := []byte{0}
	if secret {
		b[0] = 1
	}
	for _, h := range hexes {
		d := unhex(t, h)
		b = binary.BigEndian.AppendUint16(b, uint16(len(d)))
		b = append(b, d...)
	}
	return b
}

// FuzzTunnelInput feeds arbitrary datagrams to a Tunnel that is establishing
// (and, once it can, opening a session), then lets fake time run through the
// timers. Nothing may panic, deadlock or leak a goroutine.
func FuzzTunnelInput(f *testing.F) {
	f.Add(fuzzDatagrams(f, false, seSCCRP, seZLB1, seICRP, seZLB2, seCDN, seStopCCN))
	f.Add(fuzzDatagrams(f, false, seSCCRP, seICRP, seStopCCN))
	f.Add(fuzzDatagrams(f, false, seSCCRP, seZLB1, seZLB1, seSCCRP, seICRP, seICRP, seCDN))
	f.Add(fuzzDatagrams(f, true, nsSecretSCCRP, nsSecretZLB1, nsSecretZLB2))
	f.Add(fuzzDatagrams(f, true, seSCCRP))
	hello := NewMessage(HELLO, 0xd56c, 0)
	hello.Header.Ns, hello.Header.Nr = 1, 2
	hello.Add(AVP{Mandatory: true, Vendor: 4, Type: 1})
	sli := NewMessage(SLI, 0xd56c, 0xf46c)
	sli.Header.Ns, sli.Header.Nr = 1, 2
	sli.Add(BytesAVP(AVPACCM, true, make([]byte, 10)))
	f.Add(append(fuzzDatagrams(f, false, seSCCRP), append(binary.BigEndian.AppendUint16(nil, uint16(sli.Len())), sli.Append(nil)...)...))
	f.Add(append(fuzzDatagrams(f, false, seSCCRP), append(binary.BigEndian.AppendUint16(nil, uint16(hello.Len())), hello.Append(nil)...)...))

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		synctest.Test(t, func(t *testing.T) {
			cfg := Config{Rand: replayRand(t, 0xd56c, "", 0xf46c)}
			if data[0]&1 != 0 {
				cfg = Config{Secret: secret.FromString("pgtunnelsecret"),
					Rand: replayRand(t, 0xf8ae, "7525d467f1a615b466c6a8161fa6473c", 0xdac1)}
			}
			tun := NewTunnel(cfg, func([]byte) error { return nil })
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- tun.Run(ctx) }()
			async(func() (TunnelInfo, error) { return tun.Establish(ctx) })
			synctest.Wait()
			var sess chan outcome[SessionInfo]
			for rest := data[1:]; len(rest) >= 2; {
				n := int(binary.BigEndian.Uint16(rest))
				rest = rest[2:]
				n = min(n, len(rest))
				tun.Input(rest[:n])
				rest = rest[n:]
				synctest.Wait()
				// Try to open the session until the tunnel lets us.
				if sess == nil {
					sess = async(func() (SessionInfo, error) { return tun.OpenSession(ctx) })
					synctest.Wait()
					select {
					case r := <-sess:
						if errors.Is(r.err, ErrNotEstablished) {
							sess = nil
						}
					default:
					}
				}
			}
			<-time.After(25 * time.Second) // acks, retransmissions, giving up
			cancel()
			<-done
			tun.Stats()
		})
	})
}
