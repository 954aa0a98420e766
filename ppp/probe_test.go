package ppp

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// probeAgainst runs an AuthProbe against our ServerLink allowing auth and
// returns the names of the offers, and every protocol the probe sent.
func probeAgainst(t *testing.T, auth []AuthMethod) ([]string, []Protocol) {
	t.Helper()
	var names []string
	var sent []Protocol
	synctest.Test(t, func(t *testing.T) {
		frames := make(chan []byte, 64)
		srv := NewServerLink(ServerConfig{Auth: auth, Lookup: func(string) (Credential, bool) { return Credential{}, false }},
			func(f []byte) error {
				frames <- append([]byte(nil), f...)
				return nil
			})
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { srv.Run(ctx) })
		p := NewAuthProbe(0x12345678)
		send := func(fs ...[]byte) {
			for _, f := range fs {
				proto, info, err := ParseFrame(f)
				if err != nil {
					t.Fatal(err)
				}
				sent = append(sent, proto)
				srv.Input(proto, info)
			}
		}
		send(p.Request())
		for !p.Done() {
			select {
			case f := <-frames:
				send(p.Input(f)...)
			case <-time.After(2 * time.Second):
				send(p.Timeout()...)
			}
		}
		send(p.Terminate())
		for _, o := range p.Offers() {
			names = append(names, o.Name)
		}
		cancel()
		wg.Wait()
	})
	return names, sent
}

// The probe finds the methods the server allows, in the server's order,
// and sends nothing but LCP.
func TestAuthProbeFindsServerMethods(t *testing.T) {
	for _, c := range []struct {
		auth []AuthMethod
		want []string
	}{
		{[]AuthMethod{AuthMSCHAPv2, AuthCHAPMD5}, []string{"MS-CHAPv2", "CHAP-MD5"}},
		{[]AuthMethod{AuthPAP}, []string{"PAP"}},
		{[]AuthMethod{AuthCHAPMD5, AuthPAP, AuthMSCHAPv2}, []string{"CHAP-MD5", "MS-CHAPv2", "PAP"}},
		{nil, []string{"MS-CHAPv2", "CHAP-MD5", "PAP"}},
	} {
		got, sent := probeAgainst(t, c.auth)
		if !slices.Equal(got, c.want) {
			t.Errorf("server %v: offers %q, want %q", c.auth, got, c.want)
		}
		for _, p := range sent {
			if p != ProtoLCP {
				t.Errorf("server %v: the probe sent %s", c.auth, p)
			}
		}
	}
}

// A Configure-Request without Authentication-Protocol: no authentication.
func TestAuthProbeNoAuth(t *testing.T) {
	p := NewAuthProbe(1)
	p.Request()
	req := lcpFrame(Packet{Code: CodeConfigureRequest, ID: 7, Data: Option{Type: lcpMRU, Data: []byte{5, 0xdc}}.Append(nil)})
	if out := p.Input(req); out != nil || !p.Done() || !p.NoAuth() || len(p.Offers()) != 0 {
		t.Errorf("out %x done %v noauth %v offers %v", out, p.Done(), p.NoAuth(), p.Offers())
	}
}

// Malformed frames are ignored; every prefix of a request is safe.
func TestAuthProbeMalformed(t *testing.T) {
	req := lcpFrame(Packet{Code: CodeConfigureRequest, ID: 3, Data: Option{Type: lcpAuthProtocol, Data: []byte{0xc2, 0x23, 0x81}}.Append(nil)})
	for i := range req {
		p := NewAuthProbe(1)
		p.Input(req[:i])
	}
	p := NewAuthProbe(1)
	out := p.Input(req)
	if len(out) != 1 || len(p.Offers()) != 1 || p.Offers()[0].Method != AuthMSCHAPv2 {
		t.Fatalf("out %x offers %v", out, p.Offers())
	}
	_, info, _ := ParseFrame(out[0])
	nak, _ := ParsePacket(info)
	if nak.Code != CodeConfigureNak || nak.ID != 3 || string(nak.Data) != string([]byte{3, 5, 0xc2, 0x23, 5}) {
		t.Errorf("nak %+v", nak)
	}
}
