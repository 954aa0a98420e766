package ppp

// One-line summaries of control messages for Debug logs, in the style of
// charon's "sending ID_PROT request [ SA V V V ]". Passwords and response
// values are never shown.

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// describe summarizes the information field of a control frame.
func describe(proto Protocol, info []byte) string {
	switch proto {
	case ProtoLCP, ProtoIPCP, ProtoIPV6CP, ProtoCCP:
		p, err := ParsePacket(info)
		if err != nil {
			return fmt.Sprintf("%v [malformed]", proto)
		}
		return describePacket(proto, p)
	case ProtoPAP:
		p, err := ParsePAP(info)
		if err != nil {
			return "PAP [malformed]"
		}
		s := fmt.Sprintf("PAP %v id=%d", p.Code, p.ID)
		if p.Code == PAPAuthenticateRequest {
			return s + fmt.Sprintf(" user=%q", sanitize(p.PeerID)) // never the password
		}
		if len(p.Message) > 0 {
			s += fmt.Sprintf(" msg=%q", sanitize(p.Message))
		}
		return s
	case ProtoCHAP:
		p, err := ParseCHAP(info)
		if err != nil {
			return "CHAP [malformed]"
		}
		s := fmt.Sprintf("CHAP %v id=%d", p.Code, p.ID)
		switch p.Code {
		case CHAPChallenge, CHAPResponse:
			s += fmt.Sprintf(" name=%q value=%d bytes", sanitize(p.Name), len(p.Value))
		default:
			if len(p.Message) > 0 {
				s += fmt.Sprintf(" msg=%q", sanitize(p.Message))
			}
		}
		return s
	}
	return fmt.Sprintf("%v (%d bytes)", proto, len(info))
}

func describePacket(proto Protocol, p Packet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v %v id=%d", proto, p.Code, p.ID)
	switch p.Code {
	case CodeConfigureRequest, CodeConfigureAck, CodeConfigureNak, CodeConfigureReject:
		b.WriteString(" [")
		first := true
		for d := p.Data; len(d) > 0; {
			o, rest, err := NextOption(d)
			if err != nil {
				b.WriteString(" malformed")
				break
			}
			if !first {
				b.WriteByte(' ')
			}
			first = false
			b.WriteString(describeOption(proto, o))
			d = rest
		}
		b.WriteString("]")
	case CodeTerminateRequest, CodeTerminateAck:
		if s := printable(p.Data); s != "" {
			fmt.Fprintf(&b, " %q", s)
		}
	case CodeCodeReject:
		if len(p.Data) > 0 {
			fmt.Fprintf(&b, " rejects %v", Code(p.Data[0]))
		}
	case CodeProtocolReject:
		if len(p.Data) >= 2 {
			fmt.Fprintf(&b, " rejects %v", Protocol(binary.BigEndian.Uint16(p.Data)))
		}
	case CodeEchoRequest, CodeEchoReply, CodeDiscardRequest:
		if len(p.Data) >= 4 {
			fmt.Fprintf(&b, " magic=0x%08x", binary.BigEndian.Uint32(p.Data))
		}
	}
	return b.String()
}

func describeOption(proto Protocol, o Option) string {
	d := o.Data
	switch proto {
	case ProtoLCP:
		switch o.Type {
		case lcpMRU:
			if len(d) == 2 {
				return fmt.Sprintf("mru=%d", binary.BigEndian.Uint16(d))
			}
		case lcpMagicNumber:
			if len(d) == 4 {
				return fmt.Sprintf("magic=0x%08x", binary.BigEndian.Uint32(d))
			}
		case lcpAuthProtocol:
			_, name := authOption(d)
			return "auth=" + name
		case lcpACCM:
			return fmt.Sprintf("accm=%x", d)
		case lcpPFC:
			return "pfc"
		case lcpACFC:
			return "acfc"
		case lcpMRRU:
			return fmt.Sprintf("mrru=%x", d)
		case lcpEndpointDiscrimina:
			return fmt.Sprintf("endpoint-disc=%x", d)
		}
	case ProtoIPCP:
		name := map[uint8]string{ipcpIPAddress: "addr", ipcpPrimaryDNS: "dns1", ipcpSecondaryDNS: "dns2",
			ipcpPrimaryNBNS: "nbns1", ipcpSecondaryNBNS: "nbns2", ipcpIPAddresses: "addrs"}[o.Type]
		if name != "" && len(d) == 4 {
			return name + "=" + netip.AddrFrom4([4]byte(d)).String()
		}
		if o.Type == ipcpCompression {
			return fmt.Sprintf("compression=%x", d)
		}
	case ProtoIPV6CP:
		if o.Type == ipv6cpInterfaceID && len(d) == 8 {
			return fmt.Sprintf("ifid=%x", d)
		}
	}
	return fmt.Sprintf("opt%d=%x", o.Type, d)
}
