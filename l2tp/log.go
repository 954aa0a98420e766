package l2tp

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strings"
)

// Debug logging, one line per control message in the style of strongSwan's
// charon:
//
//	sending SCCRQ [Ns=0 Nr=0] tunnel 0 → peer [ host "l2tpvpn" vendor "l2tpvpn" tunnel-id 4711 window 16 challenge ]
//	received SCCRP [Ns=0 Nr=1] from tunnel 54636 [ host "vm" vendor "L2TP" tunnel-id 54636 window 16 ]
//
// Challenges, responses, random vectors and hidden values are named, never
// printed; the secret never reaches a log line.

func (l *loop) debugEnabled() bool {
	return l.log.Enabled(context.Background(), slog.LevelDebug)
}

func (l *loop) debugf(format string, args ...any) {
	if l.debugEnabled() {
		l.log.Debug(fmt.Sprintf(format, args...))
	}
}

// logSend logs a message on its way out; retry > 0 marks a retransmission.
func (l *loop) logSend(m *Message, retry int) {
	if !l.debugEnabled() {
		return
	}
	verb := "sending"
	if retry > 0 {
		verb = fmt.Sprintf("retransmitting (%d)", retry)
	}
	where := fmt.Sprintf("tunnel %d", m.Header.TunnelID)
	if m.Header.SessionID != 0 {
		where += fmt.Sprintf(" session %d", m.Header.SessionID)
	}
	l.log.Debug(fmt.Sprintf("%s %s [Ns=%d Nr=%d] %s → peer%s", verb, m.Type, m.Header.Ns, m.Header.Nr, where, summarize(m)))
}

// logRecv logs a received message; note says what the transport did with it.
func (l *loop) logRecv(m *Message, note string) {
	if !l.debugEnabled() {
		return
	}
	from := l.peerID
	if m.Type == SCCRP || from == 0 {
		if a, ok := m.Find(AVPAssignedTunnelID); ok {
			if v, err := a.Uint16(); err == nil {
				from = v
			}
		}
	}
	where := fmt.Sprintf("from tunnel %d", from)
	if m.Header.SessionID != 0 {
		where += fmt.Sprintf(" to session %d", m.Header.SessionID)
	}
	if note != "" {
		note = " (" + note + ")"
	}
	l.log.Debug(fmt.Sprintf("received %s [Ns=%d Nr=%d] %s%s%s", m.Type, m.Header.Ns, m.Header.Nr, where, summarize(m), note))
}

// summarize lists a message's AVPs (after the Message Type) briefly.
func summarize(m *Message) string {
	if len(m.AVPs) <= 1 {
		return ""
	}
	var b strings.Builder
	b.WriteString(" [")
	for i := range m.AVPs[1:] {
		b.WriteByte(' ')
		b.WriteString(describeAVP(&m.AVPs[1+i]))
	}
	b.WriteString(" ]")
	return b.String()
}

func describeAVP(a *AVP) string {
	if a.Vendor != 0 {
		return fmt.Sprintf("vendor-%d-avp-%d", a.Vendor, uint16(a.Type))
	}
	name := strings.ToLower(strings.ReplaceAll(a.Type.String(), " ", "-"))
	if a.Hidden {
		return name + "(hidden)"
	}
	u16 := func() uint16 { return binary.BigEndian.Uint16(a.Value) }
	u32 := func() uint32 { return binary.BigEndian.Uint32(a.Value) }
	str := func() string {
		s := string(a.Value)
		if len(s) > 64 {
			s = s[:64] + "…"
		}
		return fmt.Sprintf("%q", s)
	}
	switch a.Type {
	case AVPHostName:
		return "host " + str()
	case AVPVendorName:
		return "vendor " + str()
	case AVPAssignedTunnelID, AVPAssignedSessionID, AVPReceiveWindowSize, AVPFirmwareRevision:
		if len(a.Value) == 2 {
			short := map[AVPType]string{AVPAssignedTunnelID: "tunnel-id", AVPAssignedSessionID: "session-id",
				AVPReceiveWindowSize: "window", AVPFirmwareRevision: "firmware"}[a.Type]
			if a.Type == AVPFirmwareRevision {
				return fmt.Sprintf("%s 0x%04x", short, u16())
			}
			return fmt.Sprintf("%s %d", short, u16())
		}
	case AVPProtocolVersion:
		if len(a.Value) == 2 {
			return fmt.Sprintf("version %d.%d", a.Value[0], a.Value[1])
		}
	case AVPFramingCapabilities, AVPFramingType:
		if len(a.Value) == 4 {
			return fmt.Sprintf("%s %s", name, bits(u32(), "sync", "async"))
		}
	case AVPBearerCapabilities, AVPBearerType:
		if len(a.Value) == 4 {
			return fmt.Sprintf("%s %s", name, bits(u32(), "digital", "analog"))
		}
	case AVPCallSerialNumber, AVPTxConnectSpeed, AVPRxConnectSpeed:
		if len(a.Value) == 4 {
			return fmt.Sprintf("%s %d", name, u32())
		}
	case AVPResultCode:
		if r, err := ParseResult(a.Value); err == nil {
			s := fmt.Sprintf("result %d/%d", r.Code, r.ErrorCode)
			if r.Message != "" {
				s += fmt.Sprintf(" %q", r.Message)
			}
			return s
		}
	}
	return name
}

func bits(v uint32, low, high string) string {
	var parts []string
	if v&1 != 0 {
		parts = append(parts, low)
	}
	if v&2 != 0 {
		parts = append(parts, high)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "+")
}
