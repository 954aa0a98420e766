// Package l2tp is the LAC (client) side of L2TPv2, RFC 2661, and, as LNS
// (lns.go), the server side: many tunnels and sessions from many LACs, each
// tunnel in the same control loop with the LNS's half of the handshakes.
//
// It has two halves:
//
//   - Codecs: the header (ParseHeader, Header.Append; PutDataHeader and
//     PutDataHeaderSeq for the data path), AVPs including hidden ones (RFC
//     2661 4.1, 4.3) and control messages (ParseMessage, Message.Append).
//     Decoders check every length before they index, never panic, and return
//     slices that alias their input.
//   - The control connection: a Tunnel runs the reliable transport (5.8 and
//     Appendix A), the tunnel and incoming-call state machines (7.2.1, 7.4.1),
//     tunnel authentication (5.1.1) and the HELLO keepalive (5.5) in one
//     goroutine, Run. The caller owns the UDP socket; data messages never go
//     through the Tunnel.
//
// Inbound:
//
//	socket ─► ParseHeader ─┬─ T bit set ─► Tunnel.Input ─► control loop
//	                       └─ data ──────► (caller) PPP, by session ID
//
// Outbound control messages leave through the send func given to NewTunnel;
// data messages get their header in the caller's headroom from the session's
// DataSequence (PutHeader): 6 bytes, or 10 with Ns and Nr while the session is
// sequenced (RFC 2661 5.4), which the DataSequence decides from Sequencing
// Required and the server's own data messages (Received).
package l2tp
