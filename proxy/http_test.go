package proxy

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

// proxyClient is an HTTP client that uses p as its proxy; base supplies
// the TLS settings (nil: plain).
func proxyClient(p *Proxy, userinfo *url.Userinfo, base *http.Transport) *http.Client {
	u := &url.URL{Scheme: "http", Host: p.Addr().String(), User: userinfo}
	tr := &http.Transport{}
	if base != nil {
		tr = base.Clone()
	}
	tr.Proxy = http.ProxyURL(u)
	tr.DisableKeepAlives = true
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// webServer answers with the headers that matter to the tests.
func webHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Saw-Proxy-Authorization", strconv.FormatBool(r.Header.Get("Proxy-Authorization") != ""))
	w.Header().Set("X-Saw-Forwarded-For", strconv.FormatBool(r.Header.Get("X-Forwarded-For") != ""))
	io.WriteString(w, "hello from "+r.Host+r.URL.Path)
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestHTTPAbsoluteURIAndCONNECTOnTheSOCKSPort(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(webHandler))
	defer web.Close()
	tlsWeb := httptest.NewTLSServer(http.HandlerFunc(webHandler))
	defer tlsWeb.Close()
	echo := tcpEcho(t)

	n := newFakeNet()
	n.names["web.vpn"] = []netip.Addr{loopback}
	const pw = "http-proxy-pw"
	p := startProxy(t, Config{User: "bob", Password: secret.FromString(pw)}, n)
	c := proxyClient(p, url.UserPassword("bob", pw), nil)

	// Absolute-URI GET, by a name only the tunnel's DNS knows.
	webPort := web.Listener.Addr().(*net.TCPAddr).Port
	resp, body := get(t, c, "http://web.vpn:"+strconv.Itoa(webPort)+"/x")
	if resp.StatusCode != 200 || body != "hello from web.vpn:"+strconv.Itoa(webPort)+"/x" {
		t.Fatalf("GET: %s %q", resp.Status, body)
	}
	if resp.Header.Get("X-Saw-Proxy-Authorization") != "false" || resp.Header.Get("X-Saw-Forwarded-For") != "false" {
		t.Errorf("proxy headers reached the server: %v", resp.Header)
	}

	// A name the host knows but the tunnel does not.
	resp, _ = get(t, c, "http://localhost:"+strconv.Itoa(webPort)+"/")
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("GET of a name unknown to the tunnel: %s, want 502", resp.Status)
	}

	// CONNECT: https through the tunnel.
	tc := proxyClient(p, url.UserPassword("bob", pw), tlsWeb.Client().Transport.(*http.Transport))
	resp, body = get(t, tc, tlsWeb.URL+"/tls")
	if resp.StatusCode != 200 || !strings.HasSuffix(body, "/tls") {
		t.Fatalf("GET over CONNECT: %s %q", resp.Status, body)
	}

	// SOCKS5 on the same port.
	conn, err := socksDialAuth(t, p, "bob", pw, echo.String())
	if err != nil {
		t.Fatal(err)
	}
	echoRoundTrip(t, conn, "socks on the http port")
	conn.Close()

	// Without credentials: 407 with a challenge.
	resp, _ = get(t, proxyClient(p, nil, nil), "http://web.vpn:"+strconv.Itoa(webPort)+"/")
	if resp.StatusCode != http.StatusProxyAuthRequired || !strings.HasPrefix(resp.Header.Get("Proxy-Authenticate"), "Basic") {
		t.Errorf("no credentials: %s %v", resp.Status, resp.Header)
	}
	resp, _ = get(t, proxyClient(p, url.UserPassword("bob", "nope"), nil), "http://web.vpn:"+strconv.Itoa(webPort)+"/")
	if resp.StatusCode != http.StatusProxyAuthRequired {
		t.Errorf("wrong password: %s", resp.Status)
	}
}

func TestHTTPConnectRawSplice(t *testing.T) {
	echo := tcpEcho(t)
	p := startProxy(t, Config{}, newFakeNet())
	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	// The first payload bytes come in the same write as the request.
	io.WriteString(c, "CONNECT "+echo.String()+" HTTP/1.1\r\nHost: "+echo.String()+"\r\n\r\nearly")
	want := "HTTP/1.1 200 Connection established\r\n\r\nearly"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	echoRoundTrip(t, c, "more")
}

func TestHTTPNotConnectedAndLimit(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(webHandler))
	defer web.Close()
	echo := tcpEcho(t)
	p := startProxy(t, Config{MaxConns: 1}, nil)
	c := proxyClient(p, nil, nil)
	resp, body := get(t, c, web.URL)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "VPN not connected") {
		t.Errorf("not connected: %s %q", resp.Status, body)
	}

	p.SetNet(newFakeNet())
	waitNoActive(t, p)
	// Hold the one slot with a SOCKS connection.
	held, err := socksDial(t, p, nil, echo.String())
	if err != nil {
		t.Fatal(err)
	}
	echoRoundTrip(t, held, "hold")
	resp, body = get(t, c, web.URL)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "limit") {
		t.Errorf("over the limit: %s %q", resp.Status, body)
	}
	if got, err := socksDial(t, p, nil, echo.String()); err == nil {
		got.Close()
		t.Error("SOCKS connection over the limit accepted")
	} else if !strings.Contains(err.Error(), "general") {
		t.Errorf("SOCKS over the limit: %v, want general failure", err)
	}
	if got := p.Stats().Refused[ReasonLimit]; got != 2 {
		t.Errorf("refused for the limit = %d, want 2", got)
	}
	held.Close()
	waitNoActive(t, p)
	resp, _ = get(t, c, web.URL)
	if resp.StatusCode != 200 {
		t.Errorf("after the slot was freed: %s", resp.Status)
	}
}
