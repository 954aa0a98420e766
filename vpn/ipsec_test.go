package vpn

import (
	"testing"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike"
)

func testChild(t *testing.T, in, out uint32) *ike.ChildSA {
	t.Helper()
	tr := esp.Transform{Enc: esp.AESGCM16}
	key := make([]byte, 20)
	inSA, err := esp.NewSA(in, tr, key, esp.Transport, nil)
	if err != nil {
		t.Fatal(err)
	}
	outSA, err := esp.NewSA(out, tr, key, esp.Transport, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &ike.ChildSA{In: inSA, Out: outSA, Mode: esp.Transport}
}

func inboundSPIs(p *ipsecPath) map[uint32]bool {
	m := map[uint32]bool{}
	for _, sa := range *p.in.Load() {
		m[sa.SPI()] = true
	}
	return m
}

// With the commit bit the server's CONNECTED comes after QM3: the pair's
// inbound SA receives from ChildInbound on, its outbound is used only from
// ChildUp. Before the fix ChildInbound was ignored and the server's first
// packets under the new SA were dropped as unknown SPI.
func TestCommitBitInboundFirst(t *testing.T) {
	c := &Conn{ipsec: &ipsecPath{}}
	first := testChild(t, 0x100, 0x200)
	c.ikeEvent(ike.Event{Kind: ike.ChildUp, Child: first})
	next := testChild(t, 0x101, 0x201)
	c.ikeEvent(ike.Event{Kind: ike.ChildInbound, Child: next})
	if in := inboundSPIs(c.ipsec); !in[0x100] || !in[0x101] {
		t.Fatalf("after ChildInbound the inbound SPIs are %v, want 100 and 101", in)
	}
	if out := c.ipsec.out.Load(); out.SPI() != 0x200 {
		t.Fatalf("outbound %x before CONNECTED, want the old 200", out.SPI())
	}
	c.ikeEvent(ike.Event{Kind: ike.ChildUp, Child: next})
	if out := c.ipsec.out.Load(); out.SPI() != 0x201 {
		t.Fatalf("outbound %x after CONNECTED, want 201", out.SPI())
	}
	if n := len(*c.ipsec.in.Load()); n != 2 {
		t.Fatalf("%d inbound SAs, want 2 (the pending one is not counted twice)", n)
	}
	// A pair that never got CONNECTED goes away whole.
	never := testChild(t, 0x102, 0x202)
	c.ikeEvent(ike.Event{Kind: ike.ChildInbound, Child: never})
	c.ikeEvent(ike.Event{Kind: ike.ChildDown, Child: never})
	if in := inboundSPIs(c.ipsec); in[0x102] || len(in) != 2 {
		t.Fatalf("inbound SPIs after ChildDown: %v", in)
	}
}
