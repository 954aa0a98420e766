package proxy

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	xproxy "golang.org/x/net/proxy"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

// socksDial dials addr through the proxy with x/net's SOCKS5 client.
func socksDial(t *testing.T, p *Proxy, auth *xproxy.Auth, addr string) (net.Conn, error) {
	t.Helper()
	d, err := xproxy.SOCKS5("tcp", p.Addr().String(), auth, &net.Dialer{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return d.(xproxy.ContextDialer).DialContext(context.Background(), "tcp", addr)
}

func socksDialAuth(t *testing.T, p *Proxy, user, pw, addr string) (net.Conn, error) {
	t.Helper()
	return socksDial(t, p, &xproxy.Auth{User: user, Password: pw}, addr)
}

func TestSOCKS5Connect(t *testing.T) {
	echo := tcpEcho(t)
	n := newFakeNet()
	n.names["echo.vpn"] = []netip.Addr{loopback}
	p := startProxy(t, Config{}, n)

	c, err := socksDial(t, p, nil, echo.String())
	if err != nil {
		t.Fatal(err)
	}
	echoRoundTrip(t, c, "hello through socks")
	c.Close()

	// DOMAINNAME: resolved through the tunnel's resolver (the fake).
	c, err = socksDial(t, p, nil, "echo.vpn:"+strconv.Itoa(int(echo.Port())))
	if err != nil {
		t.Fatal(err)
	}
	echoRoundTrip(t, c, "by name")
	c.Close()

	// "localhost" is known to the host, not to the tunnel: it must fail.
	if c, err := socksDial(t, p, nil, "localhost:"+strconv.Itoa(int(echo.Port()))); err == nil {
		c.Close()
		t.Fatal("a name unknown to the tunnel's DNS was resolved (host resolver used?)")
	} else if !strings.Contains(err.Error(), "host unreachable") {
		t.Errorf("unresolvable name: %v, want host unreachable", err)
	}
	if got := p.Stats().Refused[ReasonResolve]; got != 1 {
		t.Errorf("refused for resolution = %d, want 1", got)
	}

	// A closed port inside: connection refused (0x05).
	if c, err := socksDial(t, p, nil, closedPort(t).String()); err == nil {
		c.Close()
		t.Fatal("dial to a closed port succeeded")
	} else if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("closed port: %v, want connection refused", err)
	}
	// The byte counters are added when a connection's splice ends, which
	// is after the client's Close returns: wait for the slots to be freed.
	waitNoActive(t, p)
	st := p.Stats()
	if st.Accepted != 4 || st.BytesToVPN == 0 || st.BytesToVPN != st.BytesFromVPN {
		t.Errorf("stats %+v", st)
	}
}

func TestSOCKS5Auth(t *testing.T) {
	echo := tcpEcho(t)
	var logs syncBuffer
	const pw = "s3cret-proxy-pw"
	p := startProxy(t, Config{User: "alice", Password: secret.FromString(pw), Logger: testLogger(&logs)}, newFakeNet())

	c, err := socksDial(t, p, &xproxy.Auth{User: "alice", Password: pw}, echo.String())
	if err != nil {
		t.Fatal(err)
	}
	echoRoundTrip(t, c, "authenticated")
	c.Close()

	if c, err := socksDial(t, p, &xproxy.Auth{User: "alice", Password: "badpass-xyz"}, echo.String()); err == nil {
		c.Close()
		t.Error("wrong password accepted")
	}
	if c, err := socksDial(t, p, nil, echo.String()); err == nil {
		c.Close()
		t.Error("no authentication accepted while a user is set")
	}
	if got := p.Stats().Refused[ReasonAuth]; got != 2 {
		t.Errorf("refused for auth = %d, want 2", got)
	}
	if strings.Contains(logs.String(), pw) || strings.Contains(logs.String(), "badpass-xyz") {
		t.Errorf("a password reached the log:\n%s", logs.String())
	}
}

func TestSOCKS5BindRefused(t *testing.T) {
	p := startProxy(t, Config{}, newFakeNet())
	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte{5, 1, 0, 5, cmdBind, 0, 1, 127, 0, 0, 1, 0, 9})
	reply := make([]byte, 12)
	if _, err := io.ReadFull(c, reply); err != nil {
		t.Fatal(err)
	}
	if reply[3] != repCommandUnsupported {
		t.Errorf("BIND reply %#x, want %#x", reply[3], repCommandUnsupported)
	}
}

func TestSOCKS5UDPAssociate(t *testing.T) {
	echo := udpEcho(t)
	n := newFakeNet()
	n.names["dns.vpn"] = []netip.Addr{loopback}
	p := startProxy(t, Config{}, n)

	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = c.Write([]byte{5, 1, 0, 5, cmdUDPAssociate, 0, 1, 0, 0, 0, 0, 0, 0})
	reply := make([]byte, 2+10)
	if _, err := io.ReadFull(c, reply); err != nil {
		t.Fatal(err)
	}
	if reply[3] != repSucceeded || reply[5] != atypIPv4 {
		t.Fatalf("UDP ASSOCIATE reply % x", reply)
	}
	relay := netip.AddrPortFrom(netip.AddrFrom4([4]byte(reply[6:10])), uint16(reply[10])<<8|uint16(reply[11]))

	u, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	_ = u.SetDeadline(time.Now().Add(10 * time.Second))

	for _, dst := range [][]byte{
		appendAddr([]byte{0, 0, 0}, echo), // IPv4 destination
		append(append([]byte{0, 0, 0, atypDomain, 7}, "dns.vpn"...), byte(echo.Port()>>8), byte(echo.Port())),
	} {
		dgram := append(dst, "ping"...)
		if _, err := u.WriteToUDPAddrPort(dgram, relay); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 2048)
		m, _, err := u.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatal(err)
		}
		want := append(appendAddr([]byte{0, 0, 0}, echo), "ping"...)
		if !bytes.Equal(buf[:m], want) {
			t.Errorf("relayed reply % x, want % x", buf[:m], want)
		}
	}
	// A fragment is dropped: nothing comes back, and the next datagram
	// still works.
	frag := append(appendAddr([]byte{0, 0, 1}, echo), "frag"...)
	_, _ = u.WriteToUDPAddrPort(frag, relay)
	_, _ = u.WriteToUDPAddrPort(append(appendAddr([]byte{0, 0, 0}, echo), "after"...), relay)
	buf := make([]byte, 2048)
	m, _, err := u.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(buf[:m], []byte("after")) {
		t.Errorf("after a fragment got % x", buf[:m])
	}

	// Closing the TCP connection ends the association.
	c.Close()
	waitNoActive(t, p)
}

// waitNoActive polls until every slot of p is free (slots are freed
// asynchronously after a connection closes) and fails after 10 s.
func waitNoActive(t *testing.T, p *Proxy) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for p.Stats().Active != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d slots still active", p.Stats().Active)
		}
		<-time.After(5 * time.Millisecond)
	}
}

func TestSOCKS5IdleTimeout(t *testing.T) {
	echo := tcpEcho(t)
	p := startProxy(t, Config{IdleTimeout: 100 * time.Millisecond}, newFakeNet())
	c, err := socksDial(t, p, nil, echo.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echoRoundTrip(t, c, "x")
	start := time.Now()
	waitClosed(t, c, 10*time.Second)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("closed after %v, before the idle timeout", d)
	}
}

func TestSOCKS5IPv6WithoutIPv6InTheTunnel(t *testing.T) {
	n := newFakeNet()
	n.noV6 = true
	p := startProxy(t, Config{}, n)
	if c, err := socksDial(t, p, nil, "[fd00::1]:22"); err == nil {
		c.Close()
		t.Fatal("IPv6 dial succeeded")
	} else if !strings.Contains(err.Error(), "address type not supported") {
		t.Errorf("IPv6 without IPv6 in the tunnel: %v", err)
	}
}

func TestParseRequestTruncations(t *testing.T) {
	for _, full := range [][]byte{
		{5, 1, 0, 1, 10, 1, 2, 3, 0, 22},
		append(append([]byte{5, 1, 0, 3, 8}, "git.corp"...), 0, 80),
		append([]byte{5, 1, 0, 4}, append(make([]byte, 16), 1, 187)...),
	} {
		if _, _, err := parseRequest(full); err != nil {
			t.Fatalf("parseRequest(% x): %v", full, err)
		}
		for i := range full {
			if _, _, err := parseRequest(full[:i]); err == nil {
				t.Errorf("prefix % x accepted", full[:i])
			}
		}
		if _, _, err := parseRequest(append(full, 0)); err == nil {
			t.Errorf("trailing byte accepted after % x", full)
		}
	}
	if _, _, err := parseRequest([]byte{5, 1, 0, 9, 0, 0}); err != errSOCKSAddrType {
		t.Errorf("unknown ATYP: %v", err)
	}
}
