package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// spliceBufSize is the copy buffer of one direction of a spliced
// connection.
const spliceBufSize = 32 << 10

// bufPool holds the copy buffers, so a spliced connection allocates none
// per read.
var bufPool = sync.Pool{New: func() any { b := make([]byte, spliceBufSize); return &b }}

// splice copies both ways between client (host side) and remote (tunnel
// side, or the local service of a reverse forward) until both directions
// end, the connections are idle for IdleTimeout, or ctx ends (the tunnel
// generation was replaced, or the proxy closed). It closes both.
// clientIsHost tells which way is into the tunnel, for the byte counters.
func (p *Proxy) splice(ctx context.Context, client, remote net.Conn, clientIsHost bool) {
	stop := context.AfterFunc(ctx, func() {
		_ = client.Close()
		_ = remote.Close()
	})
	defer stop()
	up, down := &p.toVPN, &p.fromVPN
	if !clientIsHost {
		up, down = down, up
	}
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.copyDir(remote, client, &last, up)
	}()
	p.copyDir(client, remote, &last, down)
	<-done
	_ = client.Close()
	_ = remote.Close()
}

// copyDir copies src to dst with a read deadline of IdleTimeout that is
// refreshed by traffic in either direction (last). At EOF it half-closes
// dst if it can, so the other direction can still finish; on an error or
// idleness it closes both.
//
// Deadlines are moved only when a quarter of IdleTimeout has passed since
// they were set: setting one costs a timer allocation on gVisor's
// connections, and a connection is then closed between 1 and 1.25 times
// IdleTimeout after its last traffic.
func (p *Proxy) copyDir(dst, src net.Conn, last *atomic.Int64, count *atomic.Uint64) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	idle := p.cfg.IdleTimeout
	var rd, wd lazyDeadline
	for {
		now := time.Now()
		rd.refresh(src.SetReadDeadline, now, idle)
		n, err := src.Read(buf)
		if n > 0 {
			now = time.Now()
			last.Store(now.UnixNano())
			wd.refresh(dst.SetWriteDeadline, now, idle)
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
			count.Add(uint64(n))
		}
		if err == nil {
			continue
		}
		if isTimeout(err) {
			if time.Since(time.Unix(0, last.Load())) < idle {
				rd = lazyDeadline{} // busy the other way: wait again
				continue
			}
			p.log.Debug("proxy: connection idle, closing", "remote", src.RemoteAddr().String(), "idle", idle)
			break
		}
		if cw, ok := dst.(interface{ CloseWrite() error }); ok && isEOF(err) {
			_ = cw.CloseWrite()
			return
		}
		break
	}
	_ = src.Close()
	_ = dst.Close()
}

// lazyDeadline moves a deadline to now+idle only when it was set more
// than idle/4 ago.
type lazyDeadline struct{ set time.Time }

func (d *lazyDeadline) refresh(setDeadline func(time.Time) error, now time.Time, idle time.Duration) {
	if !d.set.IsZero() && now.Sub(d.set) < idle/4 {
		return
	}
	d.set = now
	_ = setDeadline(now.Add(idle))
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }

// readerConn is a connection whose reads go through a bufio.Reader that
// has already buffered its first bytes (the protocol sniffing).
type readerConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *readerConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// CloseWrite half-closes the underlying connection when it can.
func (c *readerConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}
