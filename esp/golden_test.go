package esp

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"testing"
)

// Known answers from /work/shared/captures: ESP packets (UDP payload on port
// 4500) sent by strongSwan charon, their KEYMAT (recomputed from the IKE
// exchange and matching charon's logged keys) and the decrypted inner
// packets. Extracted with
//
//	tshark -r X.pcap -Y esp -T fields -e frame.number -e udp.payload
type goldenESP struct {
	frame int
	pkt   string // SPI | seq | IV | ciphertext | ICV
	inner string // decrypted inner IPv4 packet (tunnel mode, next header 4)
}

type goldenSA struct {
	name   string
	t      Transform
	spi    uint32
	keymat string
	src    netip.Addr // inner IPv4 addresses
	dst    netip.Addr
	pkts   []goldenESP
}

var goldenSAs = []goldenSA{
	{
		name:   "sw-sw-tunnel-aes128sha1",
		t:      Transform{Enc: AESCBC, Integ: HMACSHA1_96},
		spi:    0x9c4ae6b5,
		keymat: "e00ad6aaf831d3c93640602069d1e9f043a095619db29d9b0ce17bdccfde220e6dc321c0eb2fabe7"[:72],
		src:    netip.MustParseAddr("203.0.113.130"),
		dst:    netip.MustParseAddr("203.0.113.129"),
		pkts: []goldenESP{
			{10, "9c4ae6b5000000012110564a8717ed1aa1261b32acc60d079c49105e1ca37fde7c989babedbef82ff0dda4f2af38edaf1e36f309fdcc5cfce188ede69349446dacdcceb91e59a369fe9597c86dbf7141c77f8d8f",
				"450000296eb8400040115307cb007182cb00718106a506a50015771c676f6c64656e2d7564702d310a"},
			{11, "9c4ae6b5000000029befc2e5b8c57d1d527560160618160e61577cbe9e4256583efcd6a1bd7cc1355190b1113279b5ff995ce3e378fb91acf6d8f544cc5b14e44e1f7f631c5f4288925255e2f999fc873eb79e80",
				"450000296eba400040115305cb007182cb00718106a506a50015771b676f6c64656e2d7564702d320a"},
			{12, "9c4ae6b500000003da079662ca5fb0dd6ebd71ee88b730786ae7a94489fcef4bc173c838f16c703ed0cb8b34153fb3e59bf4e5d08df546104253e1470ab079fc8726a4f41abd579d822a30ec6d680fb21e11723d",
				"450000296ee54000401152dacb007182cb00718106a506a50015771a676f6c64656e2d7564702d330a"},
		},
	},
	{
		name:   "sw-sw-tunnel-aes256gcm16",
		t:      Transform{Enc: AESGCM16},
		spi:    0xe69510ea,
		keymat: "5f5e419bb1d5e4600f9d14568ac98eb82e82646e72a9d4fc4faca38f5e71901c4c806547b7d362cb"[:72],
		src:    netip.MustParseAddr("203.0.113.130"),
		dst:    netip.MustParseAddr("203.0.113.129"),
		pkts: []goldenESP{
			{10, "e69510ea000000016bb04120d21e8f3cc29e042f977138d57dde53f269faec542773f55c983915eabca93b4036be2546f279343e0d7c55e8f0bf81fdb67fc67f57aab00444c8a3afe29dcb2e",
				"450000292e064000401193b9cb007182cb00718106a506a50015771c676f6c64656e2d7564702d310a"},
			{11, "e69510ea000000026bb04120d21e8f3fffb73e07bcf07bba13f61e0d7c839cac86dbbe01a63a4d4b764cb80a697ce811b1d3b6e3169590962f5657215678413e8b9c078c80ac0771a83403f0",
				"450000292e174000401193a8cb007182cb00718106a506a50015771b676f6c64656e2d7564702d320a"},
			{12, "e69510ea000000036bb04120d21e8f3eaca36994b120aeed1b55dfe25338b6373559adcd3baf6d613e3e138d328f71ccd4670cb0258d39048e0f500a6a12ca51966f32c9ecce39cd6e359b7a",
				"450000292e5f400040119360cb007182cb00718106a506a50015771a676f6c64656e2d7564702d330a"},
		},
	},
	{
		name:   "se-mm-qm-tunnel-esp",
		t:      Transform{Enc: AESCBC, Integ: HMACSHA1_96},
		spi:    0xb584ceb1,
		keymat: "6c0a578bd0dd77be013075b773be53e53015581363be62eaeadbaa4afde39b36f0d6c7474fdb1080"[:72],
		src:    netip.MustParseAddr("192.0.2.2"),
		dst:    netip.MustParseAddr("192.0.2.1"),
		pkts: []goldenESP{
			{12, "b584ceb100000001f5edc6de7c8c73ee37725630bfc1d749b88a5b8da91d59f2507ac22e9e802c5e48101affb10a41658a360231f2094734cb747728e6a850d260dff340bf2a54d104396ce00367be4409904e02",
				"45000029c6fc40004011efc3c0000202c000020106a506a500156c1d676f6c64656e2d7564702d310a"},
			{13, "b584ceb1000000029a9cab92673bfb0e147177e281b46d31a4a48c056f0823ba7104aa0c563918ccd0b2257b2620df36e2f68d1f9c6af6829070779ba3267b60fd32fc7472e20e91d7442dafbedc5ddc9b18aabb",
				"45000029c71040004011efafc0000202c000020106a506a500156c1c676f6c64656e2d7564702d320a"},
			{14, "b584ceb100000003f7c826352c695b358c031aac4eef36fd724762fb3fbb2f91a88a3109a6ee1b268aaca1a6fc40f60c961943db3384152f4846ebef6b88a92f61e73c6571ee3731027ae7dd04e9922ec5c93aec",
				"45000029c73740004011ef88c0000202c000020106a506a500156c1b676f6c64656e2d7564702d330a"},
		},
	},
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGoldenOpen(t *testing.T) {
	for _, g := range goldenSAs {
		t.Run(g.name, func(t *testing.T) {
			sa, err := NewSA(g.spi, g.t, unhex(t, g.keymat), Tunnel, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range g.pkts {
				pkt := unhex(t, p.pkt)
				if k, spi := Classify(pkt); k != KindESP || spi != g.spi {
					t.Fatalf("frame %d: Classify = %v %#x", p.frame, k, spi)
				}
				payload, nh, err := sa.Open(pkt)
				if err != nil {
					t.Fatalf("frame %d: Open: %v", p.frame, err)
				}
				if nh != NextHeaderIPv4 {
					t.Errorf("frame %d: next header %d, want 4", p.frame, nh)
				}
				want := unhex(t, p.inner)
				if !bytes.Equal(payload, want) {
					t.Fatalf("frame %d: inner packet\n got %x\nwant %x", p.frame, payload, want)
				}
				if sa.Seq() != uint64(i+1) {
					t.Errorf("frame %d: Seq() = %d", p.frame, sa.Seq())
				}
				// The inner packet is IPv4 (20-byte header) + UDP 1701 -> 1701.
				h, data, err := ParseUDP(payload[20:])
				if err != nil || h.SrcPort != 1701 || h.DstPort != 1701 {
					t.Fatalf("frame %d: inner udp %+v %v", p.frame, h, err)
				}
				if want := "golden-udp-" + string(rune('1'+i)) + "\n"; string(data) != want {
					t.Errorf("frame %d: udp payload %q, want %q", p.frame, data, want)
				}
				if !VerifyUDPChecksum(payload[20:], g.src, g.dst) {
					t.Errorf("frame %d: inner udp checksum does not verify", p.frame)
				}
			}
			// Every captured packet again: now a replay.
			for _, p := range g.pkts {
				if _, _, err := sa.Open(unhex(t, p.pkt)); err != ErrReplay {
					t.Errorf("frame %d replayed: err = %v, want ErrReplay", p.frame, err)
				}
			}
		})
	}
}

// TestGoldenUDPChecksum recomputes the inner UDP checksum of a captured
// packet with PutUDPChecksum and requires identical bytes.
func TestGoldenUDPChecksum(t *testing.T) {
	for _, g := range goldenSAs {
		inner := unhex(t, g.pkts[0].inner)
		udp := inner[20:]
		b := make([]byte, len(udp))
		copy(b[UDPHeaderLen:], udp[UDPHeaderLen:])
		if err := PutUDPChecksum(b, g.src, g.dst, 1701, 1701, len(udp)-UDPHeaderLen); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, udp) {
			t.Errorf("%s: got %x, want %x", g.name, b, udp)
		}
	}
}
