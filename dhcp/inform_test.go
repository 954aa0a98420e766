package dhcp

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"
)

func TestInform(t *testing.T) {
	hw := HWAddrFor("office")
	m := NewInform(seClient, hw, 1400)
	m.XID = 0x01020304
	pkt := m.Append([]byte{0xee}) // appends after what is there
	if pkt[0] != 0xee || len(pkt)-1 != m.Len() || len(m.Append(nil)) != m.Len() {
		t.Fatalf("Len %d, appended %d", m.Len(), len(pkt)-1)
	}
	pkt = pkt[1:]
	ip := pkt[:ipHeaderLen]
	if ip[0] != 0x45 || ip[9] != 17 || int(binary.BigEndian.Uint16(ip[2:])) != len(pkt) || refChecksum(ip) != 0 {
		t.Fatalf("IPv4 header % x", ip)
	}
	if netip.AddrFrom4([4]byte(ip[12:16])) != seClient || [4]byte(ip[16:20]) != [4]byte{255, 255, 255, 255} {
		t.Fatalf("addresses % x", ip[12:20])
	}
	u := pkt[ipHeaderLen:]
	if binary.BigEndian.Uint16(u[0:]) != 68 || binary.BigEndian.Uint16(u[2:]) != 67 || int(binary.BigEndian.Uint16(u[4:])) != len(u) {
		t.Fatalf("UDP header % x", u[:8])
	}
	s4 := seClient.As4()
	pseudo := append(append(s4[:], 255, 255, 255, 255), 0, 17, byte(len(u)>>8), byte(len(u)))
	if refChecksum(pseudo, u) != 0 || binary.BigEndian.Uint16(u[6:]) == 0 {
		t.Fatal("UDP checksum wrong")
	}
	bp := u[udpHeaderLen:]
	if len(bp) < 300 || bp[0] != 1 || bp[1] != 1 || bp[2] != 6 || binary.BigEndian.Uint32(bp[4:]) != m.XID ||
		netip.AddrFrom4([4]byte(bp[12:16])) != seClient || [6]byte(bp[28:34]) != hw || [4]byte(bp[236:240]) != magicCookie {
		t.Fatalf("BOOTP header % x", bp[:44])
	}
	for _, z := range [][]byte{bp[8:12], bp[16:28], bp[34:236]} { // secs, flags, yiaddr, siaddr, giaddr, rest of chaddr, sname, file
		if slices.ContainsFunc(z, func(b byte) bool { return b != 0 }) {
			t.Fatalf("non-zero field % x", z)
		}
	}
	var o options
	if err := collectOptions(bp[bootpFixedLen:], &o); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o[OptMessageType], []byte{MsgInform}) ||
		!slices.Equal(o[OptClientID], append([]byte{1}, hw[:]...)) ||
		!slices.Equal(o[OptParamRequest], []byte{1, 3, 6, 15, 44, 119, 121, 249}) ||
		!slices.Equal(o[OptMaxSize], []byte{0x05, 0x78}) {
		t.Fatalf("options % x", bp[bootpFixedLen:])
	}
	// A server sees a request, not a reply: ParseReply turns it away.
	if _, err := ParseReply(pkt, m.XID, seClient); err == nil {
		t.Fatal("our request parsed as a reply")
	}
}

func TestInformMaxSize(t *testing.T) {
	if m := NewInform(seClient, [6]byte{}, 500); m.MaxSize != 0 || len(m.Append(nil)) != m.Len() {
		t.Fatalf("max size %d below 576 kept", m.MaxSize)
	}
	a, b := NewInform(seClient, [6]byte{}, 1400), NewInform(seClient, [6]byte{}, 1400)
	if a.XID == b.XID {
		t.Fatal("the transaction id is not random")
	}
}

func TestHWAddrFor(t *testing.T) {
	a, b := HWAddrFor("office"), HWAddrFor("home")
	if a != HWAddrFor("office") || a == b {
		t.Fatalf("%x %x", a, b)
	}
	for _, hw := range [][6]byte{a, b} {
		if hw[0]&0x02 == 0 || hw[0]&0x01 != 0 {
			t.Fatalf("%x is not a locally administered unicast address", hw)
		}
	}
}
