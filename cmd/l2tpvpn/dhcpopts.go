package main

// The DHCPINFORM settings (issue 12): whether to ask the server for routes
// and domains after IPCP, whether its routes join split routing, and
// Windows' class-based route.

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/l2tpvpn/l2tpvpn/vpn"
)

// dhcpOpts are connectOpts' DHCPINFORM settings.
type dhcpOpts struct {
	inform           string
	routesFromServer bool
	classRoute       bool
}

// dhcpOptNames are the keys dhcpFlags defines, in the order help shows them.
var dhcpOptNames = []string{"dhcp-inform", "routes-from-server", "class-route"}

func dhcpFlags(fs *pflag.FlagSet, o *dhcpOpts) {
	fs.StringVar(&o.inform, "dhcp-inform", "auto", "ask the server for routes, domain and search list with a DHCPINFORM after IPCP, as Windows does: auto (servers known to answer: SoftEther, Windows RRAS), on or off; waits at most 3 s")
	fs.BoolVar(&o.routesFromServer, "routes-from-server", true, "split mode: route the classless routes the server pushes (DHCP options 121/249) through the tunnel (full mode only shows them)")
	fs.BoolVar(&o.classRoute, "class-route", false, "split mode: also route the classful network of our address (A /8, B /16, C /24) through the tunnel, as Windows does unless disabled")
}

// dhcpConfig fills cfg's DHCPINFORM settings.
func (o *connectOpts) dhcpConfig(cfg *vpn.Config) error {
	m, err := vpn.ParseDHCPInform(o.dhcpX.inform)
	if err != nil {
		return o.keyErrf("dhcp-inform", "%q is not auto, on or off", o.dhcpX.inform)
	}
	cfg.DHCPInform = m
	cfg.IgnoreServerRoutes = !o.dhcpX.routesFromServer
	cfg.ClassRoute = o.dhcpX.classRoute
	return nil
}

// dhcpLine is the server's DHCP answer in one line, for the ppp.dhcp event
// and status.
func dhcpLine(ev vpn.Event) string {
	s := "dhcp answer from " + ev.Server
	for _, f := range []struct {
		name string
		vals []string
	}{{"routes", ev.Routes}, {"domain", []string{ev.Domain}}, {"search", ev.Search}, {"dns", ev.DNS}, {"wins", ev.WINS}} {
		if v := strings.TrimSpace(strings.Join(f.vals, ", ")); v != "" {
			s += "; " + f.name + " " + v
		}
	}
	return s
}
