package vpn

// IPsec delegated to strongSwan's charon (--ipsec=strongswan): charon does
// IKE and the kernel (or charon's kernel-libipsec) does ESP for whatever we
// send from our UDP port 1701 to the server's. The connection itself then
// looks like plain L2TP: an ordinary UDP socket bound to exactly the
// 5-tuple of the child's traffic selectors.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/l2tpvpn/l2tpvpn/esp"
	"github.com/l2tpvpn/l2tpvpn/ike"
	"github.com/l2tpvpn/l2tpvpn/ike/vici"
)

// charonTimeout bounds charon's IKE when the caller's context has no
// deadline.
const charonTimeout = 60 * time.Second

// charonSocket opens the L2TP socket of a delegated connection, bound to
// source:1701. connectSocket later connects it to server:1701, once the
// CHILD_SA (and with kernel-libipsec its routes) exists: a socket connected
// earlier keeps the route it found then, past the IPsec device.
func charonSocket(src netip.Addr) (*net.UDPConn, error) {
	return net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, l2tpPort)))
}

// connectSocket connects a bound UDP socket to server, so that it sends and
// receives exactly the child's 5-tuple.
func connectSocket(conn *net.UDPConn, server netip.AddrPort) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var cerr error
	err = rc.Control(func(fd uintptr) {
		cerr = unix.Connect(int(fd), sockaddr(server))
	})
	if err != nil {
		return err
	}
	return cerr
}

// charonRecord is what `disconnect --cleanup` needs to unload a killed
// run's connection from charon: STATEDIR/NAME.charon.json, written before
// anything is loaded and removed once everything is unloaded. No secret.
type charonRecord struct {
	Socket string `json:"socket"`
	Conn   string `json:"conn"`
}

const charonRecordSuffix = ".charon.json"

func charonRecordPath(stateDir, name string) string {
	return filepath.Join(stateDir, name+charonRecordSuffix)
}

func writeCharonRecord(stateDir, name, socket string) error {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(charonRecord{Socket: socket, Conn: vici.ConnName(name)})
	if err != nil {
		return err
	}
	return os.WriteFile(charonRecordPath(stateDir, name), append(b, '\n'), 0o600)
}

// CharonRecords lists the connections that may have left something in
// charon (their process did not unload it).
func CharonRecords(stateDir string) []string {
	ents, _ := os.ReadDir(stateDir)
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), charonRecordSuffix); ok && e.Type().IsRegular() {
			names = append(names, n)
		}
	}
	return names
}

// CleanupCharon unloads from charon what connection name loaded, if its
// record says it may have left something (a killed run). It reports what
// it did; found is false when there was no record.
func CleanupCharon(stateDir, name string, logger *slog.Logger) (done string, found bool, err error) {
	path := charonRecordPath(stateDir, name)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", true, err
	}
	var r charonRecord
	if err := json.Unmarshal(b, &r); err != nil || r.Socket == "" {
		return "", true, fmt.Errorf("%s: not a record of ours", path)
	}
	if charonGone(r.Socket) {
		// Its SAs and loaded connections went with it: the record has
		// nothing left to undo.
		if err := os.Remove(path); err != nil {
			return "", true, err
		}
		return fmt.Sprintf("charon is not running (%s): its state is gone; removed the record", r.Socket), true, nil
	}
	if err := vici.Unload(r.Socket, name, logger); err != nil {
		return "", true, err
	}
	os.Remove(path)
	return fmt.Sprintf("charon (%s): terminated and unloaded %s", r.Socket, r.Conn), true, nil
}

// charonGone says whether no charon runs behind socket: the socket is
// missing, or nothing accepts on it (left over). Not when access is denied
// or charon is slow: then it may still hold our SAs.
func charonGone(socket string) bool {
	c, err := net.Dial("unix", socket)
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ECONNREFUSED)
}

// startCharon loads the connection into charon and waits for the CHILD_SA.
func (c *Conn) startCharon(ctx context.Context, local netip.Addr) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, charonTimeout)
		defer cancel()
	}
	socket := c.cfg.VICISocket
	if socket == "" {
		socket = vici.DefaultSocket
	}
	if err := writeCharonRecord(c.cfg.StateDir, c.cfg.Name, socket); err != nil {
		return &Error{Phase: "ike", Reason: ReasonHost, Err: fmt.Errorf("writing %s: %w", charonRecordPath(c.cfg.StateDir, c.cfg.Name), err)}
	}
	d, err := vici.Dial(ctx, vici.Config{
		Socket: c.cfg.VICISocket, Name: c.cfg.Name, PSK: c.cfg.PSK,
		IKE: c.cfg.IKEProposals, ESP: c.cfg.ESPProposals, Mode: c.cfg.ESPMode,
		Local: local, Remote: c.peer.Load().Addr(),
		IKELifetime: c.cfg.IKELifetime, ESPLifetime: c.cfg.ESPLifetime, DPDDelay: c.cfg.DPDDelay,
		Logger: c.log.With("layer", "charon"), Events: c.charonEvent,
	})
	if err != nil {
		// Dial unloaded what it loaded (as far as charon could be reached).
		os.Remove(charonRecordPath(c.cfg.StateDir, c.cfg.Name))
		return charonError(err)
	}
	c.charon = d
	if err := connectSocket(c.sock.conn, *c.peer.Load()); err != nil {
		return &Error{Phase: "socket", Reason: ReasonHost, Err: fmt.Errorf("connecting the L2TP socket to the server: %w", err)}
	}
	return nil
}

// charonError classifies a failure of the delegated IPsec.
func charonError(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		// Interrupted while charon negotiated, as startIPsec reports it.
		return &Error{Phase: "ike", Reason: ReasonUnreachable, Err: err}
	case errors.Is(err, vici.ErrNoSocket):
		return &Error{Phase: "ike", Reason: ReasonIPsecUnavailable, Err: err,
			Hint: "start charon with the vici plugin and point --vici-socket at its socket, or use the built-in IPsec (--ipsec on)"}
	case errors.Is(err, vici.ErrNoIKEv1), errors.Is(err, vici.ErrNoKernelESP), errors.Is(err, vici.ErrCharon):
		return &Error{Phase: "ike", Reason: ReasonIPsecUnavailable, Err: err}
	}
	return ikeError(err)
}

// charonEvent turns charon's phase 1 and 2 reports into our events (on the
// delegate's goroutine).
func (c *Conn) charonEvent(ev vici.Event) {
	switch ev.Kind {
	case vici.Phase1Up:
		name := EventIKEPhase1Up
		if ev.Rekey {
			name = EventIKEPhase1Rekeyed
		}
		c.log.Info("ike phase 1 up (charon)", "ike_sa", ev.IKE.Name, "id", ev.IKE.UniqueID, "alg", ev.IKE.Alg, "rekey", ev.Rekey)
		c.emit(Event{Event: name, IKE: ev.IKE.Alg, PeerID: ev.IKE.RemoteID, LifetimeS: ev.IKE.RekeyS})
	case vici.ChildUp:
		if ev.Rekey {
			c.charonRekeys.Add(1)
		}
		c.log.Info("ike phase 2 up (charon)", "child_sa", ev.Child.Name, "id", ev.Child.UniqueID, "alg", ev.Child.Alg,
			"mode", ev.Child.Mode, "spi_in", ev.Child.SPIIn, "spi_out", ev.Child.SPIOut, "rekey", ev.Rekey)
		c.emit(Event{Event: EventIKEPhase2Up, ESP: ev.Child.Alg, Mode: ev.Child.Mode,
			SPIIn: ev.Child.SPIIn, SPIOut: ev.Child.SPIOut, LifetimeS: ev.Child.LifeS, Rekey: ev.Rekey})
	}
}

// charonDone is closed when charon lost our SAs (nil without delegation).
func (c *Conn) charonDone() <-chan struct{} {
	if c.charon == nil {
		return nil
	}
	return c.charon.Done()
}

// charonLost is the link-lost error for SAs charon no longer has.
func (c *Conn) charonLost() error {
	err := c.charon.Err()
	if err == nil {
		err = &ike.Error{Kind: ike.ErrPeerGone, Msg: "ike: charon's SAs are gone"}
	}
	return &Error{Phase: "ike", Reason: ReasonLinkLost, Err: err, Hint: "charon's log says why"}
}

// stopCharon terminates the SAs and unloads the connection from charon.
func (c *Conn) stopCharon() {
	if c.charon == nil {
		return
	}
	if err := c.charon.Close(); err != nil {
		c.log.Warn("charon: could not unload the connection; 'l2tpvpn disconnect --cleanup "+c.cfg.Name+"' tries again", "err", err)
		return
	}
	os.Remove(charonRecordPath(c.cfg.StateDir, c.cfg.Name))
}

// CharonStatus is charon's view of a delegated connection (nil otherwise).
func (c *Conn) CharonStatus(ctx context.Context) (*vici.Status, error) {
	if c.charon == nil {
		return nil, nil
	}
	st, err := c.charon.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("charon status: %w", err)
	}
	return &st, nil
}

// delegatedMTU is the largest IP packet a delegated connection carries
// without fragmenting: worst-case ESP-in-UDP overhead, and in tunnel mode
// within the 1400 bytes of kernel-libipsec's device.
func delegatedMTU(mode esp.Mode) int {
	m := 1500 - (20 + 8 + 8 + 16 + 15 + 2 + 32 + esp.UDPHeaderLen + 6 + 4)
	if mode == esp.Tunnel {
		m = min(m-ipv4HeaderLen, tunnelModeMTU)
	}
	return m
}
