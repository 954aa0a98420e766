//go:build hostroot

// Root-only: the receive path's TUN writes coalesce TCP segments (GRO)
// on a real TUN device, in a network namespace of its own:
//
//	go test -tags hostroot -run TestRootRxGRO ./vpn/
package vpn

import (
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/l2tp"
	"github.com/l2tpvpn/l2tpvpn/tun"

	"github.com/l2tpvpn/l2tpvpn/internal/rootns"
	wgtun "golang.zx2c4.com/wireguard/tun"
)

// TestRootRxGRO hands rxBatch one batch of consecutive segments of one TCP
// flow, as L2TP data messages laid out as rxLoop reads them, and counts the
// kernel's receive packets on the device: each write to a TUN device is
// one, so a batch coalesced by the device's Write is one or two, where
// one write per segment is as many as there are segments.
func TestRootRxGRO(t *testing.T) {
	const ns, name, segs = "l2v-pf-gro", "l2v-pf0", 32
	rootns.Enter(t, ns)

	wdev, err := wgtun.CreateTUN(name, 1400)
	if err != nil {
		t.Fatal(err)
	}
	dev := tun.Wrap(wdev, name, nil)
	defer dev.Close()
	if dev.BatchSize() < 2 {
		t.Fatal("the kernel gave the TUN device no offloads (IFF_VNET_HDR): this test needs them to check coalescing")
	}
	ipns(t, ns, "link set lo up")
	ipns(t, ns, "addr add "+clientPPPAddr.String()+"/32 dev "+name)
	ipns(t, ns, "link set "+name+" up")

	c, server := benchConn(t, dev)
	c.tunnel = l2tp.NewTunnel(l2tp.Config{}, func([]byte) error { return nil })
	remote := netip.AddrPortFrom(remoteHost, 5201)
	local := netip.AddrPortFrom(clientPPPAddr, 40000)
	var ds [][]byte
	for i := range segs {
		_, view, size := dataMessage(t, tcp4(remote, local, 1000+uint32(i)*1300, 1300))
		ds = append(ds, view[:size])
	}
	bufs := make([][]byte, segs)
	views := make([][]byte, segs)
	sizes := make([]int, segs)
	from := make([]netip.AddrPort, segs)
	for i, d := range ds {
		bufs[i] = make([]byte, rxHeadroom+rxBufSize)
		views[i] = bufs[i][rxHeadroom:]
		sizes[i] = copy(views[i], d)
		from[i] = server
	}
	before := rxPackets(t, ns, name)
	c.rxBatch(bufs, views, sizes, from, segs, make([][]byte, 0, segs))
	if st := c.Stats(); st.RxPackets != segs || st.TxErrors != 0 {
		t.Fatalf("stats %+v", st)
	}
	if got := rxPackets(t, ns, name) - before; got > 2 {
		t.Fatalf("%d segments took %d TUN writes, want them coalesced into 1 or 2", segs, got)
	}
}

func ipns(t *testing.T, ns, args string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns}, strings.Fields(args)...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", ns, args, err, out)
	}
	return string(out)
}

// rxPackets is the device's receive packet count (what was written to it).
func rxPackets(t *testing.T, ns, name string) uint64 {
	t.Helper()
	var links []struct {
		Stats struct {
			RX struct{ Packets uint64 } `json:"rx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal([]byte(ipns(t, ns, "-j -s link show dev "+name)), &links); err != nil || len(links) != 1 {
		t.Fatalf("ip -s link: %v", err)
	}
	return links[0].Stats.RX.Packets
}

// tcp4 is an IPv4 TCP segment (ACK, no options) with payload bytes of
// data at sequence number seq and valid checksums.
func tcp4(src, dst netip.AddrPort, seq uint32, payload int) []byte {
	p := make([]byte, 40+payload)
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	binary.BigEndian.PutUint16(p[6:], 0x4000) // DF
	p[8], p[9] = 64, 6
	copy(p[12:16], src.Addr().AsSlice())
	copy(p[16:20], dst.Addr().AsSlice())
	binary.BigEndian.PutUint16(p[10:], ^fold(sum16(p[:20]))) // sum16, fold: mss_test.go
	tcp := p[20:]
	binary.BigEndian.PutUint16(tcp[0:], src.Port())
	binary.BigEndian.PutUint16(tcp[2:], dst.Port())
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], 1)
	tcp[12] = 5 << 4
	tcp[13] = 0x10 // ACK
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	for i := 20; i < len(tcp); i++ {
		tcp[i] = byte(seq) + byte(i)
	}
	pseudo := sum16(p[12:20]) + 6 + uint64(len(tcp))
	binary.BigEndian.PutUint16(tcp[16:], ^fold(sum16(tcp)+pseudo))
	return p
}
