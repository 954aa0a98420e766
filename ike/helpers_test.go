package ike

import (
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex: %v", err)
	}
	return b
}

// stripMarker removes the 4-byte non-ESP marker of an IKE message on port 4500
// (RFC 3948 2.2).
func stripMarker(t testing.TB, b []byte) []byte {
	t.Helper()
	if len(b) < 4 || b[0]|b[1]|b[2]|b[3] != 0 {
		t.Fatalf("no non-ESP marker")
	}
	return b[4:]
}

// goldenMessages are every golden ISAKMP message, marker stripped.
func goldenMessages(t testing.TB) map[string][]byte {
	return map[string][]byte{
		"se MM1": unhex(t, goldenSEMM1),
		"se MM2": unhex(t, goldenSEMM2),
		"se MM3": unhex(t, goldenSEMM3),
		"se MM4": unhex(t, goldenSEMM4),
		"se MM5": stripMarker(t, unhex(t, goldenSEMM5)),
		"sw MM1": unhex(t, goldenSWMM1),
		"sw MM2": unhex(t, goldenSWMM2),
		"sw MM3": unhex(t, goldenSWMM3),
		"sw MM4": unhex(t, goldenSWMM4),
	}
}

// goldenBodies returns the payload bodies of all golden messages and
// plaintexts, by type, to seed the fuzz targets.
func goldenBodies(t testing.TB) map[PayloadType][][]byte {
	out := map[PayloadType][][]byte{}
	add := func(ps []Payload) {
		for _, p := range ps {
			out[p.Type()] = append(out[p.Type()], p.AppendBody(nil))
		}
	}
	for _, b := range goldenMessages(t) {
		if m, err := Parse(b); err == nil {
			add(m.Payloads)
		}
	}
	for _, g := range goldenPlaintexts {
		if ps, _, err := ParsePayloads(g.first, unhex(t, g.plain)); err == nil {
			add(ps)
		}
	}
	return out
}

// capturesDir holds copies of the IKE pcaps from the shared golden captures.
const capturesDir = "testdata"

// udpPayloads reads a libpcap file of Ethernet/IPv4/UDP frames and returns the
// UDP payloads with their source ports, in frame order.
func udpPayloads(t *testing.T, path string) (payloads [][]byte, ports []uint16) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 {
		t.Fatalf("%s: short pcap", path)
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if binary.BigEndian.Uint32(b) == 0xa1b2c3d4 {
		bo = binary.BigEndian
	}
	b = b[24:]
	for len(b) >= 16 {
		n := int(bo.Uint32(b[8:12]))
		if 16+n > len(b) {
			t.Fatalf("%s: truncated record", filepath.Base(path))
		}
		frame := b[16 : 16+n]
		b = b[16+n:]
		if len(frame) < 14+20 || binary.BigEndian.Uint16(frame[12:14]) != 0x0800 {
			continue
		}
		ip := frame[14:]
		ihl := int(ip[0]&0x0f) * 4
		if ip[9] != 17 || len(ip) < ihl+8 {
			continue
		}
		total := int(binary.BigEndian.Uint16(ip[2:4]))
		if total > len(ip) {
			t.Fatalf("%s: truncated IPv4 packet", filepath.Base(path))
		}
		udp := ip[ihl:total]
		payloads = append(payloads, udp[8:])
		ports = append(ports, binary.BigEndian.Uint16(udp[0:2]))
	}
	return payloads, ports
}
