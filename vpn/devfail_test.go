package vpn

import (
	"errors"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/tun"
	wgtun "golang.zx2c4.com/wireguard/tun"
	"golang.zx2c4.com/wireguard/tun/tuntest"
)

// failingTUN is a TUN device whose reads fail once told to, the way a
// device removed under us (ip link del) fails.
type failingTUN struct {
	wgtun.Device
	fail chan struct{}
}

var errDeviceGone = errors.New("read /dev/net/tun: file descriptor in bad state")

func (f *failingTUN) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	<-f.fail
	return 0, errDeviceGone
}

// Before the fix the transmit loop returned on such an error while
// keepalives kept the connection "up": everything the host sent was lost.
// Now the client ends with a host error that names the device.
func TestTUNReadFailureEndsClient(t *testing.T) {
	lns, d, ev := newClientFixture(t)
	ft := &failingTUN{Device: tuntest.NewChannelTUN().TUN(), fail: make(chan struct{})}
	cfg := clientConfig(t, lns, d, ev)
	cfg.openDevice = func(*Conn, ppp.IPInfo, netip.Addr, netip.Addr, int) (*tun.Device, hostConfigurer, error) {
		return tun.Wrap(ft, "l2v-fail0", nil), &d.host, nil
	}
	base := runtime.NumGoroutine()
	cl := mustConnect(t, cfg)
	ev.await(EventUp, 1)
	close(ft.fail)
	select {
	case <-cl.Done():
	case <-time.After(waitTimeout):
		t.Fatal("the client stayed up with a dead TUN device")
	}
	err := cl.Wait()
	if ReasonOf(err) != ReasonHost || !errors.Is(err, errDeviceGone) || !strings.Contains(err.Error(), "tun: read failed") {
		t.Fatalf("client ended with %v (reason %v)", err, ReasonOf(err))
	}
	if n := len(ev.names(EventReconnecting)); n != 0 {
		t.Errorf("%d reconnect attempts for a dead device, want none", n)
	}
	if n := count(lns.log(), "StopCCN"); n != 1 {
		t.Errorf("%d StopCCN sent, want 1 (a clean goodbye)", n)
	}
	checkGoroutines(t, base)
}
