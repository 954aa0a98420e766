package ike

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/esp"
)

func TestAppendIKEv1KeyLine(t *testing.T) {
	ck := [8]byte{0xe3, 0x95, 0x0c, 0xb7, 0xf0, 0x35, 0xc0, 0x14}
	got := string(AppendIKEv1KeyLine([]byte("x\n"), ck, []byte{0xd2, 0x4c}))
	if got != "x\ne3950cb7f035c014,d24c\n" {
		t.Errorf("%q", got)
	}
}

func TestAppendESPSALine(t *testing.T) {
	src, dst := netip.MustParseAddr("203.0.113.130"), netip.MustParseAddr("203.0.113.129")
	km := make([]byte, 36)
	km[0], km[35] = 0xaa, 0xbb
	got := string(AppendESPSALine(nil, src, dst, 0x0c4ae6b5, esp.Transform{Enc: esp.AESCBC, Integ: esp.HMACSHA1_96}, km))
	want := `"IPv4","203.0.113.130","203.0.113.129","0x0c4ae6b5","AES-CBC [RFC3602]","0xaa000000000000000000000000000000",` +
		`"HMAC-SHA-1-96 [RFC2404]","0x00000000000000000000000000000000000000bb"` + "\n"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	gcm := string(AppendESPSALine(nil, netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2"), 1,
		esp.Transform{Enc: esp.AESGCM16}, make([]byte, 36)))
	if !strings.HasPrefix(gcm, `"IPv6","2001:db8::1","2001:db8::2","0x00000001","AES-GCM with 16 octet ICV [RFC4106]","0x`+strings.Repeat("00", 36)+`","NULL",""`) {
		t.Errorf("gcm: %s", gcm)
	}
	for _, c := range []struct {
		integ esp.IntegAlg
		name  string
		n     int
	}{{esp.HMACSHA256_128, "HMAC-SHA-256-128 [RFC4868]", 32}, {esp.HMACSHA384_192, "HMAC-SHA-384-192 [RFC4868]", 48},
		{esp.HMACSHA512_256, "HMAC-SHA-512-256 [RFC4868]", 64}, {esp.HMACMD5_96, "HMAC-MD5-96 [RFC2403]", 16}} {
		line := string(AppendESPSALine(nil, src, dst, 1, esp.Transform{Enc: esp.TripleDES, Integ: c.integ}, make([]byte, 24+c.n)))
		want := `"TripleDES-CBC [RFC2451]","0x` + strings.Repeat("00", 24) + `","` + c.name + `","0x` + strings.Repeat("00", c.n) + "\"\n"
		if !strings.HasSuffix(line, want) {
			t.Errorf("%v: %s", c.integ, line)
		}
	}
}

// TestKeylogTshark has tshark decrypt the sw-sw tunnel capture with key files
// written by AppendIKEv1KeyLine (MM5 then shows its HASH payload) and
// AppendESPSALine (the ESP packets then show inner UDP 1701).
func TestKeylogTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	r := loadCryptoRuns(t)[2]
	if r.Pcap != "sw-sw-tunnel-aes128sha1.pcap" {
		t.Fatalf("run %s", r.Name)
	}
	k := r.keys(t)
	var ck [8]byte
	copy(ck[:], r.in(t, "CKY_I"))
	cfg := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(cfg, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ikev1_decryption_table", AppendIKEv1KeyLine(nil, ck, k.Ka))
	q := r.QuickModes[0]
	spi := uint32(0x9c4ae6b5) // the responder's SPI: initiator → responder traffic
	km := keymat(HashSHA1, k.SKEYIDd, nil, uint8(ProtoESP), spi, r.qm(t, q, "Ni_b"), r.qm(t, q, "Nr_b"), 36)
	write("esp_sa", AppendESPSALine(nil, netip.MustParseAddr("203.0.113.130"), netip.MustParseAddr("203.0.113.129"),
		spi, esp.Transform{Enc: esp.AESCBC, Integ: esp.HMACSHA1_96}, km))

	run := func(filter, field string) string {
		cmd := exec.Command(tshark, "-n", "-r", filepath.Join(capturesDir, r.Pcap),
			"-o", "esp.enable_encryption_decode:TRUE", "-Y", filter, "-T", "fields", "-e", field)
		cmd.Env = append(os.Environ(), "WIRESHARK_CONFIG_DIR="+cfg, "HOME="+cfg)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		return strings.Join(strings.Fields(string(out)), " ")
	}
	if got := run("frame.number==5", "isakmp.hash"); got != r.Phase1["HASH_I"] {
		t.Errorf("MM5 HASH via tshark = %q, want %s", got, r.Phase1["HASH_I"])
	}
	if got := run("udp.dstport==1701", "frame.number"); got != "10 11 12" {
		t.Errorf("frames with inner UDP 1701: %q", got)
	}
}
