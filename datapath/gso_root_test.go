//go:build hostroot

// Root-only: GSO against a real route MTU, in a network namespace of its
// own:
//
//	go test -tags hostroot ./datapath/
package datapath

import (
	"os/exec"
	"testing"

	"github.com/l2tpvpn/l2tpvpn/internal/rootns"
)

// A GSO message whose datagrams are larger than the route's MTU is refused
// (EMSGSIZE; EINVAL before Linux 6.3) where single datagrams would be
// fragmented: the batch still arrives whole, one datagram per message, and
// GSO stays off for the socket.
func TestRootGSOLargerThanMTU(t *testing.T) {
	const ns = "l2v-pf-gso"
	rootns.Enter(t, ns)
	if out, err := exec.Command("ip", "-n", ns, "link", "set", "lo", "mtu", "1280", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link: %v: %s", err, out)
	}
	a, b, dst := pair(t, 64)
	if !a.GSO() {
		t.Fatal("the kernel refused UDP GSO on the socket: this test needs it (Linux 4.18+)")
	}
	pkts := datagrams(1400, 1400, 1400, 1400, 1400, 300)
	n, err := a.WriteBatch(pkts, dst)
	if err != nil || n != len(pkts) {
		t.Fatalf("sent %d of %d: %v", n, len(pkts), err)
	}
	if a.GSO() {
		t.Fatal("GSO still on after the kernel refused a message larger than the MTU")
	}
	receiveAll(t, b, pkts)
}
