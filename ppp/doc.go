// Package ppp is the client (LAC) side of the Point-to-Point Protocol as it
// runs inside an L2TP session: the frame codec, the RFC 1661 option
// negotiation automaton shared by LCP, IPCP and IPV6CP, the LCP keepalive,
// and authentication of the client to the server with PAP (RFC 1334),
// CHAP-MD5 (RFC 1994) or MS-CHAPv2 (RFC 2759), and MPPE encryption (RFC
// 3078, keys per RFC 3079) negotiated by CCP (RFC 1962); the data path
// encrypts and decrypts with [Link.MPPE].
//
// The package knows nothing about L2TP or TUN devices. The caller strips the
// L2TP data header, calls [ParseFrame] on what remains, hands IPv4/IPv6
// packets to its data path and every other frame to [Link.Input]. The Link
// sends its control frames through the send function given to [NewLink].
//
// A Link is driven by one goroutine, [Link.Run], which owns every state
// machine and timer:
//
//	Input ──► queue ──► Run ──► LCP automaton ─┬─► authentication (PAP, CHAP, MS-CHAPv2)
//	timers ─────────────┘                      ├─► IPCP automaton   ──► WaitUp / Event
//	Close ──────────────┘                      └─► IPV6CP automaton ──► Event
//
// Phases follow RFC 1661 section 3.2: Establish (LCP), Authenticate,
// Network (IPCP, IPV6CP), Terminate.
//
// Framing options inside L2TP (RFC 2661 section 5 carries PPP frames
// without HDLC-like framing): the server's ACCM, Protocol-Field-Compression
// and Address-and-Control-Field-Compression options are acked, since they
// only say what the server may send us, and [ParseFrame] decodes every
// received frame with or without FF 03 and with a 1- or 2-byte Protocol
// field whatever was negotiated. We never ask for any of them and always
// send FF 03 and 2-byte protocols (RFC 1661 6.5/6.6 allow it). Callback
// (RFC 1570) and the multilink options MRRU, Short Sequence Number and
// Endpoint Discriminator (RFC 1990) are Configure-Rejected: one link, no
// bundle, no callback through a tunnel.
//
// The authenticator (server) side is [ServerLink] (server.go): the same
// automaton and codecs, the same link core (core.go: Run loop, receive
// dispatch, keepalive, counters; shared LCP and IPV6CP options), the
// options asked for the other way round, and the client's credentials
// checked through a lookup function.
package ppp
