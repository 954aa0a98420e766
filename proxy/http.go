package proxy

// The HTTP proxy: CONNECT host:port (RFC 9110 section 9.3.6) and
// absolute-URI requests (RFC 9112 section 3.2.2), so that tools which only
// read HTTPS_PROXY/HTTP_PROXY work. net/http parses, httputil forwards.

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
)

// connKey is the context key of the *httpConn a request came on.
type connKey struct{}

// httpConn is a host-side connection handed to the HTTP server. Its reads
// start with the bytes buffered while sniffing the protocol; closing it
// frees its slot of MaxConns.
type httpConn struct {
	net.Conn
	r       *bufio.Reader
	slot    bool   // holds a slot of MaxConns
	release func() // frees the slot; nil without one
	once    sync.Once
}

func (c *httpConn) Read(b []byte) (int, error) { return c.r.Read(b) }

func (c *httpConn) Close() error {
	c.once.Do(func() {
		if c.release != nil {
			c.release()
		}
	})
	return c.Conn.Close()
}

// CloseWrite half-closes the connection when it can.
func (c *httpConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}

// chanListener feeds the connections that acceptMain recognised as HTTP
// to the one http.Server.
type chanListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// deliver hands c to the HTTP server; false once the listener is closed.
func (l *chanListener) deliver(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (p *Proxy) newHTTPServer() *http.Server {
	return &http.Server{
		Handler:           http.HandlerFunc(p.serveHTTP),
		ReadHeaderTimeout: p.cfg.DialTimeout,
		IdleTimeout:       p.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
	}
}

// newTransport makes the transport of absolute-URI requests: every dial
// goes through the tunnel (names through its DNS), no host proxy settings,
// no connection reuse across clients.
func (p *Proxy) newTransport(g *generation) *http.Transport {
	return &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := splitHostPort(addr)
			if err != nil {
				return nil, err
			}
			ctx, cancel := context.WithTimeout(ctx, p.cfg.DialTimeout)
			defer cancel()
			return dialHostPort(ctx, g.n, "tcp", host, port)
		},
	}
}

// proxyAuthOK checks Proxy-Authorization: Basic (RFC 7617) when a user is
// configured.
func (p *Proxy) proxyAuthOK(r *http.Request) bool {
	if p.cfg.User == "" {
		return true
	}
	scheme, cred, ok := strings.Cut(r.Header.Get("Proxy-Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return false
	}
	defer clear(raw)
	i := strings.IndexByte(string(raw), ':')
	if i < 0 {
		return false
	}
	return p.credentialsOK(string(raw[:i]), raw[i+1:])
}

func (p *Proxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.enter() {
		http.Error(w, "proxy: closing", http.StatusServiceUnavailable)
		return
	}
	defer p.wg.Done() // the handler runs on http.Server's goroutine: Close waits for it
	hc, _ := r.Context().Value(connKey{}).(*httpConn)
	client := r.RemoteAddr
	if !p.proxyAuthOK(r) {
		w.Header().Set("Proxy-Authenticate", `Basic realm="l2tpvpn"`)
		p.refuse(ReasonAuth, "proto", "http", "client", client)
		http.Error(w, "proxy authentication required", http.StatusProxyAuthRequired)
		return
	}
	if hc == nil || !hc.slot {
		w.Header().Set("Connection", "close")
		p.refuse(ReasonLimit, "proto", "http", "client", client, "max", p.cfg.MaxConns)
		http.Error(w, "proxy: connection limit reached", http.StatusServiceUnavailable)
		return
	}
	g := p.current()
	if g == nil {
		p.refuse(ReasonNotConnected, "proto", "http", "client", client)
		http.Error(w, "proxy: VPN not connected", http.StatusServiceUnavailable)
		return
	}
	if r.Method == http.MethodConnect {
		p.httpConnect(w, r, g)
		return
	}
	if !r.URL.IsAbs() || r.URL.Scheme != "http" || r.URL.Host == "" {
		p.refuse(ReasonBadRequest, "proto", "http", "client", client, "err", "not an absolute http URI")
		http.Error(w, "proxy: only absolute http:// URIs and CONNECT are proxied", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(g.ctx, cancel) // a new tunnel ends the request
	defer stop()
	rp := &httputil.ReverseProxy{
		Transport: g.transport,
		Rewrite:   func(*httputil.ProxyRequest) {}, // the URL is absolute already; hop-by-hop headers go
		ErrorLog:  slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			p.httpDialFailed(w, r, err)
		},
	}
	rp.ServeHTTP(w, r.WithContext(ctx))
}

// httpDialFailed answers 502 (504 for a timeout) and counts the refusal.
func (p *Proxy) httpDialFailed(w http.ResponseWriter, r *http.Request, err error) {
	code, _ := errorKind(err)
	status := http.StatusBadGateway
	if code == repTTLExpired {
		status = http.StatusGatewayTimeout
	}
	reason := ReasonDial
	var re *resolveError
	if errors.As(err, &re) {
		reason = ReasonResolve
	}
	msg := describe(err)
	p.refuse(reason, "proto", "http", "client", r.RemoteAddr, "dst", r.Host, "err", msg)
	http.Error(w, "proxy: "+r.Host+": "+msg, status)
}

// httpConnect dials r.Host through the tunnel, answers 200 and splices.
func (p *Proxy) httpConnect(w http.ResponseWriter, r *http.Request, g *generation) {
	host, port, err := splitHostPort(r.Host)
	if err != nil {
		p.refuse(ReasonBadRequest, "proto", "http", "client", r.RemoteAddr, "err", err.Error())
		http.Error(w, "proxy: CONNECT needs host:port", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(g.ctx, p.cfg.DialTimeout)
	remote, err := dialHostPort(ctx, g.n, "tcp", host, port)
	cancel()
	if err != nil {
		p.httpDialFailed(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	conn, brw, err := rc.Hijack()
	if err != nil {
		_ = remote.Close()
		http.Error(w, "proxy: cannot take over the connection", http.StatusInternalServerError)
		return
	}
	if _, err := conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		_ = conn.Close()
		_ = remote.Close()
		return
	}
	p.log.Debug("proxy: http connect", "client", r.RemoteAddr, "dst", r.Host)
	p.splice(g.ctx, &readerConn{Conn: conn, r: brw.Reader}, remote, true)
}
