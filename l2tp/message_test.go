package l2tp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

// build returns the encoding of m with the given AVPs appended.
func build(typ MessageType, avps ...AVP) []byte {
	m := NewMessage(typ, 7, 0)
	m.Add(avps...)
	return m.Append(nil)
}

func TestMessageAppendLen(t *testing.T) {
	msgs := []Message{
		NewMessage(ZLB, 1, 2),
		NewMessage(HELLO, 1, 0),
		{Type: SCCCN}, // no Message Type AVP in the list: Append writes one
		{Type: CDN, AVPs: []AVP{Result{Code: 2, ErrorCode: 8, Message: "x"}.AVP()}},
	}
	m := NewMessage(SCCRQ, 0, 0)
	m.Add(BytesAVP(AVPHostName, true, []byte("host")), AVP{Vendor: 9, Type: 1, Value: []byte{1, 2, 3}, Reserved: 5})
	msgs = append(msgs, m)
	for _, m := range msgs {
		b := m.Append(nil)
		if len(b) != m.Len() {
			t.Errorf("%s: Append %d bytes, Len %d", m.Type, len(b), m.Len())
		}
		got, err := ParseMessage(b, nil)
		if err != nil {
			t.Errorf("%s: %v", m.Type, err)
			continue
		}
		if got.Type != m.Type || int(got.Header.Length) != len(b) {
			t.Errorf("%s: parsed as %s, Length %d", m.Type, got.Type, got.Header.Length)
		}
	}
}

func TestParseMessageUnknownAVPs(t *testing.T) {
	b := build(HELLO,
		AVP{Vendor: 311, Type: 99, Value: []byte("vendor stuff")},   // unknown, M clear: skipped by length
		AVP{Type: 200, Value: []byte{0x80, 0x08, 0, 0, 0, 9, 0, 1}}, // its value looks like an AVP: must not be parsed as one
		Uint16AVP(AVPAssignedTunnelID, true, 5),
	)
	m, err := ParseMessage(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.AVPs) != 4 || m.AVPs[2].Type != 200 || m.AVPs[3].Type != AVPAssignedTunnelID {
		t.Fatalf("AVPs %+v", m.AVPs)
	}
	if err := m.CheckMandatory(); err != nil {
		t.Errorf("CheckMandatory: %v", err)
	}
	if !bytes.Equal(m.Append(nil), b) {
		t.Error("re-encoding differs")
	}
}

func TestCheckMandatory(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want *UnknownMandatoryError
	}{
		{"unknown type M", build(ICRP, AVP{Mandatory: true, Type: 99, Value: []byte{1}}),
			&UnknownMandatoryError{Message: ICRP, Type: 99}},
		{"vendor M", build(HELLO, AVP{Mandatory: true, Vendor: 9, Type: 1}),
			&UnknownMandatoryError{Message: HELLO, Vendor: 9, Type: 1}},
		{"reserved bits M", build(SCCRP, AVP{Mandatory: true, Reserved: 1, Type: AVPHostName, Value: []byte("x")}),
			&UnknownMandatoryError{Message: SCCRP, Type: AVPHostName}},
		{"unknown message type M", build(99), &UnknownMandatoryError{Message: 99, Type: AVPMessageType}},
		{"unknown message type no M", func() []byte {
			m := Message{Header: Header{Control: true, HasLength: true, HasSequence: true},
				AVPs: []AVP{Uint16AVP(AVPMessageType, false, 99)}}
			return m.Append(nil)
		}(), nil},
		{"reserved AVP type 20 no M", build(HELLO, AVP{Type: 20}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMessage(tt.b, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = m.CheckMandatory()
			if tt.want == nil {
				if err != nil {
					t.Errorf("got %v", err)
				}
				return
			}
			var u *UnknownMandatoryError
			if !errors.As(err, &u) || *u != *tt.want || !errors.Is(err, ErrUnknownMandatory) {
				t.Errorf("got %v, want %+v", err, tt.want)
			}
		})
	}
}

func TestParseMessageErrors(t *testing.T) {
	hdr := func(avps []byte) []byte {
		b := []byte{0xc8, 0x02, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}
		b = append(b, avps...)
		binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
		return b
	}
	mt := []byte{0x80, 0x08, 0, 0, 0, 0, 0, 6} // Message Type HELLO
	tests := []struct {
		name string
		b    []byte
	}{
		{"data message", []byte{0x00, 0x02, 0, 1, 0, 1}},
		{"AVP length 0", hdr(append(append([]byte{}, mt...), 0x80, 0x00, 0, 0, 0, 9, 0x80, 0x08, 0, 0, 0, 9, 0, 1))},
		{"AVP length 5", hdr(append(append([]byte{}, mt...), 0x80, 0x05, 0, 0, 0, 9))},
		{"AVP length beyond message", hdr(append(append([]byte{}, mt...), 0x80, 0x0a, 0, 0, 0, 9, 0, 1))},
		{"trailing bytes", hdr(append(append([]byte{}, mt...), 0, 0, 0))},
		{"first AVP not Message Type", hdr([]byte{0x80, 0x08, 0, 0, 0, 9, 0, 1})},
		{"first AVP vendor", hdr([]byte{0x80, 0x08, 0, 1, 0, 0, 0, 6})},
		{"Message Type hidden", hdr([]byte{0xc0, 0x08, 0, 0, 0, 0, 0, 6})},
		{"Message Type too long", hdr([]byte{0x80, 0x09, 0, 0, 0, 0, 0, 6, 0})},
		{"hidden AVP without Random Vector", hdr(append(append([]byte{}, mt...), 0xc0, 0x0a, 0, 0, 0, 9, 1, 2, 3, 4))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMessage(tt.b, []byte("secret"))
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("err %v, want ErrMalformed", err)
			}
			if m.AVPs != nil || m.Type != 0 {
				t.Errorf("partial result %+v", m)
			}
		})
	}
}

// TestParseMessageTruncation cuts messages at every length, also fixing up
// the Length field so that the cut lands inside the AVP chain: each must fail
// cleanly or parse into something that re-encodes to the same bytes.
func TestParseMessageTruncation(t *testing.T) {
	hidden := hiddenSample(t)
	for _, full := range [][]byte{unhex(t, seSCCRP), unhex(t, xlSCCRQ), unhex(t, seStopCCN), hidden} {
		for n := range len(full) {
			b := append([]byte(nil), full[:n]...)
			if _, err := ParseMessage(b, nil); !errors.Is(err, ErrMalformed) {
				t.Errorf("prefix %d/%d: err %v, want ErrMalformed", n, len(full), err)
			}
			if n < 4 {
				continue
			}
			binary.BigEndian.PutUint16(b[2:], uint16(n))
			for _, secret := range [][]byte{nil, []byte("pgtunnelsecret")} {
				m, err := ParseMessage(b, secret)
				if err != nil {
					if !errors.Is(err, ErrMalformed) {
						t.Errorf("prefix %d with Length fixed: %v is not ErrMalformed", n, err)
					}
					continue
				}
				if secret == nil && !bytes.Equal(m.Append(nil), b) {
					t.Errorf("prefix %d with Length fixed parsed inconsistently", n)
				}
			}
		}
	}
}

func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{seSCCRP, seZLB1, seICRP, seCDN, seStopCCN, nsSCCRP, nsSecretSCCRP, xlSCCRQ, xlICCN, xlCDN} {
		f.Add(unhex(f, s))
	}
	f.Add(hiddenSample(f))
	f.Add(build(HELLO, AVP{Vendor: 9, Type: 1, Mandatory: true, Reserved: 3}))
	f.Add(build(CDN, AVP{Vendor: 311, Type: AVPVendorName, Value: []byte("x")}, Result{Code: 3}.AVP()))
	secret := []byte("pgtunnelsecret")
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, s := range [][]byte{nil, secret} {
			m, err := ParseMessage(b, s)
			if err != nil {
				continue
			}
			_ = m.CheckMandatory()
			_ = summarize(&m)
			enc := m.Append(nil)
			if len(enc) != m.Len() {
				t.Fatalf("Append %d, Len %d", len(enc), m.Len())
			}
			m2, err := ParseMessage(enc, nil)
			if err != nil {
				t.Fatalf("re-encoded message does not parse: %v", err)
			}
			if int(m2.Header.Length) != len(enc) {
				t.Fatalf("Length %d, encoded %d", m2.Header.Length, len(enc))
			}
			m.Header.Priority = false          // Append writes a clean control header
			m.Header.Length = m2.Header.Length // revealed AVPs are shorter
			if !reflect.DeepEqual(m2, m) && !(len(m.AVPs) == 0 && len(m2.AVPs) == 0 && m2.Header == m.Header) {
				t.Fatalf("round trip\n%+v\n%+v", m, m2)
			}
		}
	})
}
