package vici

// The VICI wire format for the fake charon (strongSwan's vici README,
// "Packet layer" and "Message format"): packets and messages, decoded with
// every length checked.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"
)

// Packet types (vici README, "Packet layer").
const (
	pktCmdRequest      = 0
	pktCmdResponse     = 1
	pktCmdUnknown      = 2
	pktEventRegister   = 3
	pktEventUnregister = 4
	pktEventConfirm    = 5
	pktEventUnknown    = 6
	pktEvent           = 7
)

// Message element types (vici README, "Message format").
const (
	elSectionStart = 1
	elSectionEnd   = 2
	elKeyValue     = 3
	elListStart    = 4
	elListItem     = 5
	elListEnd      = 6
)

// msg is a VICI message: its elements in order. A value is a string, a
// []string (a list) or a msg (a section).
type msg []kv

type kv struct {
	k string
	v any
}

// get follows a path of section names and keys; nil when absent.
func (m msg) get(path ...string) any {
	var cur any = m
	for _, p := range path {
		sec, ok := cur.(msg)
		if !ok {
			return nil
		}
		cur = nil
		for _, e := range sec {
			if e.k == p {
				cur = e.v
				break
			}
		}
	}
	return cur
}

func (m msg) str(path ...string) string { s, _ := m.get(path...).(string); return s }

// tree turns m into maps (sections), strings and []string, for
// reflect.DeepEqual.
func (m msg) tree() map[string]any {
	t := make(map[string]any, len(m))
	for _, e := range m {
		if sec, ok := e.v.(msg); ok {
			t[e.k] = sec.tree()
		} else {
			t[e.k] = e.v
		}
	}
	return t
}

func appendName(b []byte, s string) []byte {
	if len(s) > 255 {
		panic("fake charon: name too long: " + s)
	}
	return append(append(b, byte(len(s))), s...)
}

func appendValue(b []byte, s string) []byte {
	return append(binary.BigEndian.AppendUint16(b, uint16(len(s))), s...)
}

// append encodes m's elements.
func (m msg) append(b []byte) []byte {
	for _, e := range m {
		switch v := e.v.(type) {
		case string:
			b = appendValue(appendName(append(b, elKeyValue), e.k), v)
		case []string:
			b = appendName(append(b, elListStart), e.k)
			for _, it := range v {
				b = appendValue(append(b, elListItem), it)
			}
			b = append(b, elListEnd)
		case msg:
			b = appendName(append(b, elSectionStart), e.k)
			b = append(v.append(b), elSectionEnd)
		default:
			panic(fmt.Sprintf("fake charon: %s: value of type %T", e.k, e.v))
		}
	}
	return b
}

var errShort = errors.New("fake charon: message truncated")

func readName(b []byte) (string, []byte, error) {
	if len(b) < 1 || len(b) < 1+int(b[0]) {
		return "", nil, errShort
	}
	return string(b[1 : 1+int(b[0])]), b[1+int(b[0]):], nil
}

func readValue(b []byte) (string, []byte, error) {
	if len(b) < 2 {
		return "", nil, errShort
	}
	n := int(binary.BigEndian.Uint16(b))
	if len(b) < 2+n {
		return "", nil, errShort
	}
	return string(b[2 : 2+n]), b[2+n:], nil
}

// decodeMsg decodes the elements of a packet body.
func decodeMsg(b []byte) (msg, error) {
	m, _, err := decodeSection(b, 0)
	return m, err
}

// decodeSection reads elements up to the end of b (depth 0) or up to the
// SECTION_END of the section it is in, and returns the rest.
func decodeSection(b []byte, depth int) (msg, []byte, error) {
	m := msg{}
	for {
		if len(b) == 0 {
			if depth > 0 {
				return nil, nil, errShort
			}
			return m, nil, nil
		}
		t := b[0]
		b = b[1:]
		if t == elSectionEnd {
			if depth == 0 {
				return nil, nil, errors.New("fake charon: section end outside a section")
			}
			return m, b, nil
		}
		name, rest, err := readName(b)
		if err != nil {
			return nil, nil, err
		}
		switch t {
		case elKeyValue:
			var v string
			if v, rest, err = readValue(rest); err != nil {
				return nil, nil, err
			}
			m = append(m, kv{name, v})
		case elSectionStart:
			if depth >= 16 {
				return nil, nil, errors.New("fake charon: sections nested too deep")
			}
			var sec msg
			if sec, rest, err = decodeSection(rest, depth+1); err != nil {
				return nil, nil, err
			}
			m = append(m, kv{name, sec})
		case elListStart:
			list := []string{}
			for {
				if len(rest) == 0 {
					return nil, nil, errShort
				}
				if rest[0] == elListEnd {
					rest = rest[1:]
					break
				}
				if rest[0] != elListItem {
					return nil, nil, fmt.Errorf("fake charon: element %d in list %s", rest[0], name)
				}
				var v string
				if v, rest, err = readValue(rest[1:]); err != nil {
					return nil, nil, err
				}
				list = append(list, v)
			}
			m = append(m, kv{name, list})
		default:
			return nil, nil, fmt.Errorf("fake charon: unknown element type %d", t)
		}
		b = rest
	}
}

func named(typ byte) bool {
	return typ == pktCmdRequest || typ == pktEventRegister || typ == pktEventUnregister || typ == pktEvent
}

// appendPacket encodes one packet: length, type, name if the type has
// one, message.
func appendPacket(b []byte, typ byte, name string, m msg) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, typ)
	if named(typ) {
		b = appendName(b, name)
	}
	b = m.append(b)
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}

func readPacket(r io.Reader) (typ byte, name string, body []byte, err error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, "", nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n < 1 || n > 1<<20 {
		return 0, "", nil, fmt.Errorf("fake charon: packet length %d", n)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return 0, "", nil, err
	}
	typ, body = p[0], p[1:]
	if named(typ) {
		if name, body, err = readName(body); err != nil {
			return 0, "", nil, err
		}
	}
	return typ, name, body, nil
}

// handler answers one command: the events it streams (the command's
// streaming event, when the client registered it) and then the response.
// A nil response means no answer at all: the command hangs until the
func TestFakeCodec(t *testing.T) {
	m := msg{{"a", "1"}, {"l", []string{"x", "", "yz"}}, {"s", msg{{"b", ""}, {"t", msg{{"c", "3"}}}, {"e", []string{}}}}, {"z", "end"}}
	b := m.append(nil)
	got, err := decodeMsg(b)
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip: %v, %v", got, err)
	}
	for n := range len(b) {
		got, err := decodeMsg(b[:n])
		if err == nil && (len(got) > len(m) || !reflect.DeepEqual(got, m[:len(got)])) {
			t.Errorf("prefix %d decodes to %v", n, got)
		}
	}
	p := appendPacket(nil, pktCmdRequest, "load-conn", m)
	typ, name, body, err := readPacket(bytes.NewReader(p))
	if err != nil || typ != pktCmdRequest || name != "load-conn" || !bytes.Equal(body, b) {
		t.Errorf("packet: %d %q %x %v", typ, name, body, err)
	}
	for n := range len(p) {
		if _, _, _, err := readPacket(bytes.NewReader(p[:n])); err == nil {
			t.Errorf("packet prefix %d reads", n)
		}
	}
}
