package proxy

import (
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseForward(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Forward
	}{
		{"tcp:127.0.0.1:5432=10.1.2.3:5432", Forward{"tcp", netip.MustParseAddrPort("127.0.0.1:5432"), "10.1.2.3:5432"}},
		{"udp:127.0.0.1:5353=10.1.2.1:53", Forward{"udp", netip.MustParseAddrPort("127.0.0.1:5353"), "10.1.2.1:53"}},
		{"tcp:5432=db.internal:5432", Forward{"tcp", netip.MustParseAddrPort("127.0.0.1:5432"), "db.internal:5432"}},
		{"tcp:[::1]:8443=[fd00::1]:443", Forward{"tcp", netip.MustParseAddrPort("[::1]:8443"), "[fd00::1]:443"}},
	} {
		got, err := ParseForward(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseForward(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if again, err := ParseForward(got.String()); err != nil || again != got {
			t.Errorf("String() = %q does not parse back: %+v, %v", got.String(), again, err)
		}
	}
	for _, bad := range []string{"", "tcp", "sctp:1=2.2.2.2:1", "tcp:1=10.0.0.1", "tcp:1=10.0.0.1:0",
		"tcp:localhost:1=10.0.0.1:1", "tcp:=10.0.0.1:1", "tcp:1=", "tcp:70000=10.0.0.1:1", "tcp:1=:80"} {
		if f, err := ParseForward(bad); err == nil {
			t.Errorf("ParseForward(%q) = %+v, want an error", bad, f)
		} else if !strings.HasPrefix(err.Error(), "proxy: forward ") {
			t.Errorf("error %q does not name the setting", err)
		}
	}
}

func TestParseReverse(t *testing.T) {
	got, err := ParseReverse("tcp:8080=127.0.0.1:3000")
	if want := (Reverse{"tcp", 8080, netip.MustParseAddrPort("127.0.0.1:3000")}); err != nil || got != want {
		t.Errorf("ParseReverse = %+v, %v", got, err)
	}
	if got.String() != "tcp:8080=127.0.0.1:3000" {
		t.Errorf("String() = %q", got.String())
	}
	got, err = ParseReverse("udp:53=5353")
	if want := (Reverse{"udp", 53, netip.MustParseAddrPort("127.0.0.1:5353")}); err != nil || got != want {
		t.Errorf("ParseReverse = %+v, %v", got, err)
	}
	for _, bad := range []string{"tcp:0=127.0.0.1:1", "tcp:8080=127.0.0.1:0", "tcp:8080=host:1", "x:1=1", "tcp:8080"} {
		if r, err := ParseReverse(bad); err == nil {
			t.Errorf("ParseReverse(%q) = %+v, want an error", bad, r)
		}
	}
}

func TestForwardTCPAndUDP(t *testing.T) {
	echo := tcpEcho(t)
	uecho := udpEcho(t)
	n := newFakeNet()
	n.names["echo.vpn"] = []netip.Addr{loopback}
	ft, err := ParseForward("tcp:127.0.0.1:0=echo.vpn:" + strconv.Itoa(int(echo.Port())))
	if err != nil {
		t.Fatal(err)
	}
	fu, err := ParseForward("udp:127.0.0.1:0=" + uecho.String())
	if err != nil {
		t.Fatal(err)
	}
	dead, err := ParseForward("tcp:127.0.0.1:0=" + closedPort(t).String())
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, Config{Forwards: []Forward{ft, fu, dead}}, n)

	c, err := net.Dial("tcp", p.fwdTCP[0].Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	echoRoundTrip(t, c, "forwarded tcp")
	c.Close()

	u, err := net.Dial("udp", p.fwdUDP[0].LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	echoRoundTrip(t, u, "forwarded udp")
	echoRoundTrip(t, u, "same flow")

	// A remote that does not answer ends that connection only.
	c, err = net.Dial("tcp", p.fwdTCP[1].Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	waitClosed(t, c, 10*time.Second)
	if got := p.Stats().Refused[ReasonDial]; got != 1 {
		t.Errorf("refused for dial = %d, want 1", got)
	}
	c, err = net.Dial("tcp", p.fwdTCP[0].Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	echoRoundTrip(t, c, "still works")
	c.Close()
}

func TestReverseForwardAndSetNet(t *testing.T) {
	local := tcpEcho(t)
	r, err := ParseReverse("tcp:8080=" + local.String())
	if err != nil {
		t.Fatal(err)
	}
	n1 := newFakeNet()
	p := startProxy(t, Config{Reverses: []Reverse{r}}, n1)
	ln1 := <-n1.lnCh
	c, err := net.Dial("tcp", ln1.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	echoRoundTrip(t, c, "from inside the VPN")

	// A new stack: the old flow and listener end, a new listener opens.
	n2 := newFakeNet()
	p.SetNet(n2)
	waitClosed(t, c, 10*time.Second)
	c.Close()
	ln2 := <-n2.lnCh
	if c, err := net.Dial("tcp", ln1.Addr().String()); err == nil {
		c.Close()
		t.Error("the old stack's reverse listener still accepts")
	}
	c, err = net.Dial("tcp", ln2.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	echoRoundTrip(t, c, "after SetNet")
	c.Close()
}

func TestSetNetEndsEstablishedFlows(t *testing.T) {
	echo := tcpEcho(t)
	p := startProxy(t, Config{}, newFakeNet())
	c, err := socksDial(t, p, nil, echo.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echoRoundTrip(t, c, "before")
	p.SetNet(nil)
	waitClosed(t, c, 10*time.Second)
	if c, err := socksDial(t, p, nil, echo.String()); err == nil {
		c.Close()
		t.Error("SOCKS CONNECT accepted with no tunnel")
	} else if !strings.Contains(err.Error(), "network unreachable") {
		t.Errorf("no tunnel: %v, want network unreachable", err)
	}
}

func TestSetNetSameStackAgainRelistens(t *testing.T) {
	r, err := ParseReverse("tcp:8080=" + tcpEcho(t).String())
	if err != nil {
		t.Fatal(err)
	}
	n := newFakeNet()
	p := startProxy(t, Config{Reverses: []Reverse{r}}, n)
	<-n.lnCh
	// The same stack again (a reconnect that kept it): the old listener
	// must be gone before the new one binds the same tunnel port.
	p.SetNet(n)
	select {
	case ln := <-n.lnCh:
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		echoRoundTrip(t, c, "relistened")
		c.Close()
	default:
		t.Fatal("no reverse listener after SetNet with the same stack")
	}
}

func TestSplicedForwardAllocatesNothingPerRoundTrip(t *testing.T) {
	echo := tcpEcho(t)
	f, err := ParseForward("tcp:127.0.0.1:0=" + echo.String())
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, Config{Forwards: []Forward{f}}, newFakeNet())
	c, err := net.Dial("tcp", p.fwdTCP[0].Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := make([]byte, 1024)
	got := make([]byte, len(msg))
	roundTrip := func() {
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		roundTrip()
	}
	if a := testing.AllocsPerRun(200, roundTrip); a >= 1 {
		t.Errorf("%.1f allocations per round trip through the splice, want 0", a)
	}
}

func TestReverseForwardUDP(t *testing.T) {
	r, err := ParseReverse("udp:5353=" + udpEcho(t).String())
	if err != nil {
		t.Fatal(err)
	}
	n := newFakeNet()
	startProxy(t, Config{Reverses: []Reverse{r}}, n)
	pc := <-n.udpCh
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echoRoundTrip(t, c, "from inside, over udp")
}
