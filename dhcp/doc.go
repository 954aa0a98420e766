// Package dhcp is the DHCPINFORM exchange a client runs over a PPP link once
// IPCP is up (RFC 2131 section 3.4), as the Windows L2TP client does: the
// address is already configured, so the client only asks the server for
// other parameters — classless static routes (RFC 3442 option 121 and
// Microsoft's 249), the domain name (15), the domain search list (RFC 3397
// option 119), DNS servers (6) and WINS servers (44).
//
// The package builds the request as a complete IPv4+UDP+BOOTP packet ready
// to be sent through the tunnel (NewInform, Inform.Append) and decodes the
// server's DHCPACK (ParseReply). It knows nothing about PPP, L2TP or the
// host; the vpn package wires it in.
//
// It is written here rather than imported because no library on the
// project's allowed list (the standard library, golang.org/x/net,
// golang.org/x/sys, golang.org/x/crypto) implements DHCP, and the part
// needed is small: one request and a length-checked decoder for the
// options above.
//
// Decoders check every length before indexing and never panic; each has a
// fuzz target. Parsed values are copies: nothing returned aliases the
// packet.
package dhcp
