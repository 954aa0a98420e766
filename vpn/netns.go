package vpn

// Namespace mode (l2tpvpn exec --netns): the tunnel's IP packets go to a
// TUN device that lives in another network namespace, where the command
// runs. The device comes from Config.Device, which creates and configures
// it in that namespace and hands us its file; nothing of the host's own
// network changes and no root is needed where unprivileged user namespaces
// are allowed. Like proxy mode, it is a different packet sink, not a
// different data path.

import (
	"fmt"
	"net/netip"
	"os"
	"slices"

	"github.com/l2tpvpn/l2tpvpn/ppp"
	"github.com/l2tpvpn/l2tpvpn/tun"
)

// DeviceSettings are what a connection negotiated for the device: the
// addresses and MTU from PPP, the DNS servers and search domains (IPCP's,
// else DHCP's).
type DeviceSettings struct {
	Local, Peer netip.Addr
	MTU         int
	DNS         []netip.Addr
	Search      []string
}

// DeviceProvider makes the packet device in namespace mode.
type DeviceProvider interface {
	// Open creates the TUN device configured with s and returns its file
	// (the client owns it from then on) and its interface name.
	Open(s DeviceSettings) (*os.File, string, error)
	// Update applies a later connection's settings to the same device
	// (a reconnect that got another address or DNS servers).
	Update(s DeviceSettings) error
}

// deviceSettings collects a connection's settings for the provider.
func deviceSettings(c *Conn, ipi ppp.IPInfo, peer netip.Addr, mtu int) DeviceSettings {
	return DeviceSettings{Local: ipi.Local, Peer: peer, MTU: mtu,
		DNS: slices.Clone(c.info.DHCP.dnsServers(ipi.DNS)), Search: c.info.DHCP.search()}
}

// openProvided is openHost for namespace mode.
func (cl *Client) openProvided(c *Conn, ipi ppp.IPInfo, peer, _ netip.Addr, mtu int) (*tun.Device, hostConfigurer, error) {
	f, name, err := cl.cfg.Device.Open(deviceSettings(c, ipi, peer, mtu))
	if err != nil {
		return nil, nil, &Error{Phase: "netns", Reason: ReasonHost, Err: err,
			Hint: "the TUN device in the command's network namespace could not be made: check that unprivileged user namespaces are allowed and /dev/net/tun exists"}
	}
	dev, err := tun.FromFile(f, name, cl.log.With("layer", "tun"))
	if err != nil {
		f.Close()
		return nil, nil, &Error{Phase: "netns", Reason: ReasonHost, Err: err}
	}
	h := &providedHost{name: name}
	h.set(deviceSettings(c, ipi, peer, mtu))
	return dev, h, nil
}

// updateProvided is the reconnect's readdress in namespace mode.
func (cl *Client) updateProvided(c *Conn, ipi ppp.IPInfo, peer netip.Addr, mtu int) error {
	s := deviceSettings(c, ipi, peer, mtu)
	if err := cl.cfg.Device.Update(s); err != nil {
		return &Error{Phase: "netns", Reason: ReasonHost, Err: fmt.Errorf("updating the namespace's device: %w", err)}
	}
	if h, ok := cl.host.(*providedHost); ok {
		h.set(s)
	}
	return nil
}

// providedHost: the provider owns what it changed in its namespace; the
// host's own network is untouched. It keeps what status shows.
type providedHost struct {
	name string
	dns  []string
	srch []string
}

func (h *providedHost) set(s DeviceSettings) { h.dns, h.srch = addrStrings(s.DNS), s.Search }

func (h *providedHost) Summary() tun.HostSummary {
	return tun.HostSummary{Mode: "netns", Routes: []string{"default dev " + h.name + " (in the command's namespace)"},
		IPv6: "not routed", DNS: h.dns, DNSVia: "/etc/resolv.conf in the command's namespace", Search: h.srch}
}
func (*providedHost) UpdateDNS([]netip.Addr) error   { return nil } // Update carries the DNS
func (*providedHost) Repin(netip.Addr) (bool, error) { return false, nil }
func (*providedHost) Close() error                   { return nil }
