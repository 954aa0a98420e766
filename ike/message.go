package ike

// An ISAKMP message (RFC 2408 3): the header, then a chain of payloads linked
// by their next-payload fields, or, with the E flag, the encrypted chain.

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Message is a decoded ISAKMP message.
type Message struct {
	Header Header
	// Payloads are the decoded payloads of a clear message. For an encrypted
	// message (FlagEncryption) they are empty after Parse; decrypt Ciphertext
	// and call ParsePayloads(Header.NextPayload, plaintext).
	Payloads []Payload
	// Ciphertext is the body of an encrypted message, everything after the
	// header up to Header.Length. Append writes it as the body when the E flag
	// is set; Payloads are then ignored.
	Ciphertext []byte
}

// Parse decodes one ISAKMP message: b is the UDP payload on port 500, or on
// port 4500 after the 4-byte non-ESP marker (RFC 3948 2.2). Bytes beyond the
// header's Length field are ignored. In a clear message the payload chain must
// end exactly at Length. The result aliases b.
func Parse(b []byte) (Message, error) {
	var m Message
	h, err := ParseHeader(b)
	if err != nil {
		return m, err
	}
	m.Header = h
	body := b[HeaderLen:h.Length]
	if h.Flags&FlagEncryption != 0 {
		m.Ciphertext = body
		return m, nil
	}
	ps, rest, err := ParsePayloads(h.NextPayload, body)
	if err != nil {
		return m, err
	}
	if len(rest) != 0 {
		return m, malformed(PayloadNone, "%d bytes after the last payload", len(rest))
	}
	m.Payloads = ps
	return m, nil
}

// Append appends the encoded message to b. It computes Header.Length and, for
// clear messages, Header.NextPayload from the payloads (the Header field of m
// is not modified). For an encrypted message the header is written as given,
// with the computed length, followed by Ciphertext.
func (m *Message) Append(b []byte) []byte {
	start := len(b)
	h := m.Header
	if h.Flags&FlagEncryption == 0 {
		h.NextPayload = FirstPayload(m.Payloads)
	}
	b = h.Append(b)
	if h.Flags&FlagEncryption != 0 {
		b = append(b, m.Ciphertext...)
	} else {
		b = AppendPayloads(b, m.Payloads)
	}
	binary.BigEndian.PutUint32(b[start+24:], uint32(len(b)-start))
	return b
}

// Len is the length of the encoded message.
func (m *Message) Len() int { return len(m.Append(nil)) }

// String summarises the message the way charon logs it, e.g.
// "ID_PROT [ SA V V V ]" or "QUICK_MODE 0x6b87efaf [ encrypted ]".
func (m *Message) String() string {
	var sb strings.Builder
	sb.WriteString(m.Header.Exchange.String())
	if m.Header.MessageID != 0 {
		fmt.Fprintf(&sb, " 0x%08x", m.Header.MessageID)
	}
	sb.WriteString(" ")
	if m.Header.Flags&FlagEncryption != 0 && len(m.Payloads) == 0 {
		sb.WriteString("[ encrypted ]")
		return sb.String()
	}
	sb.WriteString(SummarizePayloads(m.Payloads))
	return sb.String()
}

// SummarizePayloads lists the payload types as "[ HASH SA No ID ID ]".
func SummarizePayloads(ps []Payload) string {
	var sb strings.Builder
	sb.WriteString("[ ")
	for _, p := range ps {
		sb.WriteString(p.Type().String())
		if n, ok := p.(*Notify); ok {
			sb.WriteString("(" + n.MessageType.String() + ")")
		}
		sb.WriteString(" ")
	}
	sb.WriteString("]")
	return sb.String()
}
