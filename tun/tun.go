// Package tun owns the TUN device and every change the client makes to the
// host's network configuration: the interface, its addresses, MTU and routes.
// Each change is recorded as it is made and undone, in reverse order, by
// Close, so the host ends up as it was whatever happens to the connection.
//
// The device itself is golang.zx2c4.com/wireguard/tun (imported as wgtun),
// used through its batch API; addresses and routes go through netlink.
package tun

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
	wgtun "golang.zx2c4.com/wireguard/tun"
)

// Config describes the interface to create.
type Config struct {
	Name   string     // interface name, e.g. "l2tp0"
	MTU    int        // link MTU
	Local  netip.Addr // our IPv4 address from IPCP
	Peer   netip.Addr // the server's end of the point-to-point link; may be invalid
	Routes []netip.Prefix
	// IPv6LinkLocal, when valid, is added as fe80::/64 address (from the
	// IPV6CP interface identifier).
	IPv6LinkLocal netip.Addr
	Logger        *slog.Logger
}

// Device is a configured TUN interface. Read and Write are the batch calls of
// the underlying wireguard TUN; they may be used from one reader and one
// writer goroutine at the same time.
type Device struct {
	dev  wgtun.Device
	name string
	log  *slog.Logger

	mu     sync.Mutex
	undo   []func() error // host changes to revert, in the order they were made
	closed bool
}

// ErrPermission is returned when the process may not create a TUN device.
var ErrPermission = errors.New("tun: permission denied creating the TUN device (run as root or grant CAP_NET_ADMIN)")

// Open creates the TUN device and applies cfg. On any error everything done
// so far is undone before returning.
func Open(cfg Config) (*Device, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Name == "" {
		cfg.Name = "l2tp0"
	}
	if len(cfg.Name) > 15 {
		return nil, fmt.Errorf("tun: interface name %q is longer than 15 characters", cfg.Name)
	}
	if _, err := net.InterfaceByName(cfg.Name); err == nil {
		return nil, fmt.Errorf("tun: interface %s already exists (another connection using it?); choose another with --interface", cfg.Name)
	}
	dev, err := wgtun.CreateTUN(cfg.Name, cfg.MTU)
	if err != nil {
		if errors.Is(err, errPerm) {
			return nil, ErrPermission
		}
		return nil, fmt.Errorf("tun: create %s: %w", cfg.Name, err)
	}
	d := &Device{dev: dev, name: cfg.Name, log: log}
	if err := d.configure(cfg); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Wrap makes a Device of an existing wgtun.Device without touching the
// host: no addresses, routes or MTU are set, and Readdress and
// AddIPv6LinkLocal fail. It is for packet sinks that are not kernel
// interfaces (tests use wireguard's tuntest.ChannelTUN).
// FromFile wraps a TUN device that was created and configured elsewhere,
// typically in another network namespace, whose file was handed to us:
// only its file is used (no lookup by name, no netlink), so it works
// across namespaces. Closing the Device closes the file.
func FromFile(f *os.File, name string, log *slog.Logger) (*Device, error) {
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		return nil, fmt.Errorf("tun: %s: %w", name, err)
	}
	f.Close()
	dev, _, err := wgtun.CreateUnmonitoredTUNFromFD(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tun: %s: %w", name, err)
	}
	return Wrap(dev, name, log), nil
}

func Wrap(dev wgtun.Device, name string, log *slog.Logger) *Device {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Device{dev: dev, name: name, log: log}
}

func (d *Device) configure(cfg Config) error {
	link, err := netlink.LinkByName(d.name)
	if err != nil {
		return fmt.Errorf("tun: find %s: %w", d.name, err)
	}
	// The only IPv6 link-local address the link may have is the one IPV6CP
	// negotiates; stop the kernel from generating its own.
	if err := netlink.LinkSetIP6AddrGenMode(link, nl.IN6_ADDR_GEN_MODE_NONE); err != nil {
		d.log.Debug("cannot turn off IPv6 address generation", "err", err)
	}
	if err := netlink.LinkSetMTU(link, cfg.MTU); err != nil {
		return fmt.Errorf("tun: set mtu %d on %s: %w", cfg.MTU, d.name, err)
	}
	// After a reconnect the server may hand out another address with the
	// same peer; the new one is then a secondary, and removing the old one
	// would take it and every route through the device with it, unless
	// the kernel promotes it.
	if err := os.WriteFile("/proc/sys/net/ipv4/conf/"+d.name+"/promote_secondaries", []byte("1"), 0); err != nil {
		d.log.Debug("cannot turn on promote_secondaries", "err", err)
	}
	// Addresses and routes on the device vanish with it; they are still
	// recorded so Close removes them explicitly and in order.
	addr := &netlink.Addr{IPNet: prefixNet(netip.PrefixFrom(cfg.Local, 32))}
	if cfg.Peer.IsValid() {
		addr.Peer = prefixNet(netip.PrefixFrom(cfg.Peer, 32))
	}
	if err := netlink.AddrAdd(link, addr); err != nil {
		return fmt.Errorf("tun: add address %s to %s: %w", cfg.Local, d.name, err)
	}
	d.record(func() error { return netlink.AddrDel(link, addr) })
	if cfg.IPv6LinkLocal.IsValid() {
		if err := d.AddIPv6LinkLocal(cfg.IPv6LinkLocal); err != nil {
			d.log.Warn("could not add IPv6 link-local address", "addr", cfg.IPv6LinkLocal, "err", err)
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("tun: bring %s up: %w", d.name, err)
	}
	for _, p := range cfg.Routes {
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: prefixNet(p.Masked()), Scope: netlink.SCOPE_LINK}
		if err := netlink.RouteAdd(r); err != nil {
			return fmt.Errorf("tun: add route %s dev %s: %w", p, d.name, err)
		}
		d.record(func() error { return netlink.RouteDel(r) })
	}
	return nil
}

// AddRoute routes p through the device (a server's route to one client);
// remove takes it away again, and Close removes what is left.
func (d *Device) AddRoute(p netip.Prefix) (remove func() error, err error) {
	link, err := netlink.LinkByName(d.name)
	if err != nil {
		return nil, fmt.Errorf("tun: find %s: %w", d.name, err)
	}
	r := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: prefixNet(p.Masked()), Scope: netlink.SCOPE_LINK}
	if err := netlink.RouteReplace(r); err != nil {
		return nil, fmt.Errorf("tun: add route %s dev %s: %w", p, d.name, err)
	}
	var once sync.Once
	del := func() error {
		var err error
		once.Do(func() {
			if err = netlink.RouteDel(r); isGone(err) {
				err = nil
			}
		})
		return err
	}
	d.record(del)
	return del, nil
}

// AddIPv6LinkLocal adds an fe80::/64 address (IPV6CP may finish after the
// device is up). It is removed again by Close.
func (d *Device) AddIPv6LinkLocal(a netip.Addr) error {
	link, err := netlink.LinkByName(d.name)
	if err != nil {
		return fmt.Errorf("tun: find %s: %w", d.name, err)
	}
	ll := &netlink.Addr{IPNet: prefixNet(netip.PrefixFrom(a, 64)), Flags: 0x02 /* IFA_F_NODAD */}
	if err := netlink.AddrAdd(link, ll); errors.Is(err, syscall.EEXIST) {
		return nil // the same link-local again, after a reconnect
	} else if err != nil {
		return fmt.Errorf("tun: add %s to %s: %w", a, d.name, err)
	}
	d.record(func() error { return netlink.AddrDel(link, ll) })
	return nil
}

// Readdress gives the device a new IPv4 address, peer and MTU after a
// reconnect (the server may assign another address). Routes through the
// device stay. Unchanged values are left alone.
func (d *Device) Readdress(local, peer netip.Addr, mtu int) error {
	link, err := netlink.LinkByName(d.name)
	if err != nil {
		return fmt.Errorf("tun: find %s: %w", d.name, err)
	}
	if link.Attrs().MTU != mtu {
		if err := netlink.LinkSetMTU(link, mtu); err != nil {
			return fmt.Errorf("tun: set mtu %d on %s: %w", mtu, d.name, err)
		}
	}
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("tun: list addresses of %s: %w", d.name, err)
	}
	want := &netlink.Addr{IPNet: prefixNet(netip.PrefixFrom(local, 32))}
	if peer.IsValid() {
		want.Peer = prefixNet(netip.PrefixFrom(peer, 32))
	}
	for _, a := range addrs {
		if a.IP.Equal(want.IP) && ((a.Peer == nil) == (want.Peer == nil)) && (a.Peer == nil || a.Peer.IP.Equal(want.Peer.IP)) {
			return nil // unchanged
		}
	}
	// Add the new address first: removing the only address would take the
	// device's routes with it.
	if err := netlink.AddrAdd(link, want); err != nil && !errors.Is(err, syscall.EEXIST) {
		return fmt.Errorf("tun: add address %s to %s: %w", local, d.name, err)
	}
	d.record(func() error { return netlink.AddrDel(link, want) })
	for _, a := range addrs {
		old := a
		if err := netlink.AddrDel(link, &old); err != nil && !isGone(err) {
			d.log.Warn("could not remove the previous address", "addr", a.IPNet, "err", err)
		}
	}
	return nil
}

func (d *Device) record(f func() error) {
	d.mu.Lock()
	d.undo = append(d.undo, f)
	d.mu.Unlock()
}

// Name is the interface name.
func (d *Device) Name() string { return d.name }

// BatchSize is the number of packets one Read or Write may carry.
func (d *Device) BatchSize() int { return d.dev.BatchSize() }

// Read reads a batch of IP packets, each placed at bufs[i][offset:].
func (d *Device) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	return d.dev.Read(bufs, sizes, offset)
}

// Write writes a batch of IP packets found at bufs[i][offset:]. offset must be
// at least WriteHeadroom.
func (d *Device) Write(bufs [][]byte, offset int) (int, error) {
	return d.dev.Write(bufs, offset)
}

// WriteHeadroom is the headroom Write needs in front of each packet (the
// virtio-net header the Linux TUN offload path writes there).
const WriteHeadroom = 16

// Close undoes every recorded change in reverse order and closes the device.
// It is idempotent.
func (d *Device) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	undo := d.undo
	d.undo = nil
	d.mu.Unlock()
	var errs []error
	for i := len(undo) - 1; i >= 0; i-- {
		if err := undo[i](); err != nil && !isGone(err) {
			errs = append(errs, err)
		}
	}
	if err := d.dev.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tun: restore %s: %w", d.name, err)
	}
	return nil
}

func prefixNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), bits)}
}
