// Package proxy serves proxy mode's listeners over an in-process network
// stack: a SOCKS5 (RFC 1928, RFC 1929) and HTTP proxy on one TCP port, port
// forwards from the host into the VPN and reverse forwards from the VPN to
// the host, and the ready checks run through the tunnel before a connection
// is declared up.
//
// The tunnel side is a Net (package vpn adapts the gVisor stack of
// golang.zx2c4.com/wireguard/tun/netstack to it). Every host name a client
// asks for is resolved with Net.LookupHost, that is through the tunnel's DNS
// servers, never with the host's resolver: the names of a private network
// are only known inside it, and asking the host's resolver would leak them.
//
// Why SOCKS5 is written here: the protocol is small (a greeting, one
// sub-negotiation, one request, one reply, and a UDP header), and there is no
// maintained Go SOCKS5 server on the project's short list of allowed
// dependencies (golang.org/x/net has only a client). Writing it ourselves
// also lets its parser follow the house rules: length-checked decoding with
// cryptobyte and a fuzz target. HTTP is not written here: net/http parses the
// requests and httputil.ReverseProxy forwards absolute-URI requests.
//
// Limits: at most Config.MaxConns proxied connections, forwarded TCP
// connections and forwarded UDP flows at a time; a client over the limit is
// still answered (SOCKS reply 0x01, HTTP 503) so it sees why. Every refusal
// is counted in Stats and logged at info once per reason per minute. Spliced
// connections end after Config.IdleTimeout without traffic either way.
//
// SOCKS reply codes (RFC 1928 section 6) are derived from the dial error:
// connection refused 0x05, network unreachable (also "VPN not connected")
// 0x03, host unreachable or a name that does not resolve 0x04, a timeout
// 0x06 (TTL expired: the nearest code RFC 1928 has for "no answer"), an IPv6
// destination the stack cannot reach 0x08, a command other than CONNECT and
// UDP ASSOCIATE 0x07, anything else (including the connection limit) 0x01.
package proxy
