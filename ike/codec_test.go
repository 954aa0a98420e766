package ike

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

// allPayloads is one of every payload type, as an encoder would build them.
func allPayloads() []Payload {
	return []Payload{
		&Hash{Data: bytes.Repeat([]byte{0xaa}, 20)},
		&SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{
			{Number: 1, Protocol: ProtoESP, SPI: []byte{1, 2, 3, 4}, Transforms: []Transform{
				{Number: 1, ID: 12, Attributes: []Attribute{
					BasicAttribute(AttrSALifeType, 1),
					VariableAttribute(AttrSALifeDuration, []byte{0, 0, 0x0e, 0x10}),
					BasicAttribute(AttrEncapsulationMode, 4),
					BasicAttribute(AttrAuthAlgorithm, 2),
					BasicAttribute(AttrSAKeyLength, 128),
				}},
				{Number: 2, ID: 3},
			}},
			{Number: 2, Protocol: ProtoESP, SPI: []byte{5, 6, 7, 8}, Transforms: []Transform{{Number: 1, ID: 20}}},
		}},
		&Nonce{Data: []byte("0123456789abcdef")},
		&KeyExchange{Data: bytes.Repeat([]byte{7}, 128)},
		IDAddr(netip.MustParseAddr("192.0.2.2"), 17, 1701),
		IDSubnet(netip.MustParsePrefix("10.1.0.0/16"), 0, 0),
		IDSubnet(netip.MustParsePrefix("2001:db8::/32"), 0, 0),
		IDName(IDFQDN, "vpn.example.org", 0, 0),
		&NATOA{Addr: netip.MustParseAddr("192.0.2.2")},
		&NATOA{Draft: true, Addr: netip.MustParseAddr("2001:db8::1")},
		&NATD{Hash: bytes.Repeat([]byte{1}, 20)},
		&NATD{Draft: true, Hash: bytes.Repeat([]byte{2}, 20)},
		&Notify{DOI: DOIIPsec, Protocol: ProtoISAKMP, MessageType: NotifyRUThere,
			SPI: bytes.Repeat([]byte{3}, 16), Data: []byte{0, 0, 0, 1}},
		&Delete{DOI: DOIIPsec, Protocol: ProtoESP, SPISize: 4, SPIs: [][]byte{{1, 2, 3, 4}, {5, 6, 7, 8}}},
		NewVendorID(VendorDPD),
		&Cert{Encoding: CertX509Signature, Data: []byte{0x30, 0x00}},
		&CertRequest{Encoding: CertX509Signature, Authority: []byte{}},
		&Signature{Data: []byte{9, 9, 9}},
		&RawPayload{PayloadType: 200, Body: []byte{1, 2, 3}},
	}
}

func TestMessageRoundTrip(t *testing.T) {
	m := Message{
		Header: Header{
			InitiatorCookie: [8]byte{1, 2, 3, 4, 5, 6, 7, 8},
			ResponderCookie: [8]byte{9, 10, 11, 12, 13, 14, 15, 16},
			Exchange:        ExchangeQuickMode,
			MessageID:       0x6b87efaf,
		},
		Payloads: allPayloads(),
	}
	b := m.Append([]byte{0xee}) // appends after existing bytes
	if b[0] != 0xee || len(b)-1 != m.Len() {
		t.Fatalf("Append wrote %d bytes, Len %d", len(b)-1, m.Len())
	}
	got, err := Parse(b[1:])
	if err != nil {
		t.Fatal(err)
	}
	if got.Header.NextPayload != PayloadHash || got.Header.Version != Version ||
		int(got.Header.Length) != len(b)-1 || got.Header.MessageID != 0x6b87efaf {
		t.Errorf("header %+v", got.Header)
	}
	got.Payloads[1].(*SA).Raw = nil
	for i := range m.Payloads {
		if !reflect.DeepEqual(got.Payloads[i], m.Payloads[i]) {
			t.Errorf("payload %d differs after round trip:\n%+v\n%+v", i, got.Payloads[i], m.Payloads[i])
		}
	}
	want := "QUICK_MODE 0x6b87efaf [ HASH SA No KE ID ID ID ID NAT-OA NAT-OA(draft) NAT-D NAT-D(draft) " +
		"N(R-U-THERE) D V CERT CERTREQ SIG PAYLOAD(200) ]"
	if s := got.String(); s != want {
		t.Errorf("String\n%q\nwant\n%q", s, want)
	}
}

func TestEncryptedRoundTrip(t *testing.T) {
	m := Message{Header: Header{Exchange: ExchangeInformational, Flags: FlagEncryption,
		NextPayload: PayloadHash, MessageID: 7}, Ciphertext: bytes.Repeat([]byte{5}, 32)}
	b := m.Append(nil)
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Header.NextPayload != PayloadHash || !bytes.Equal(got.Ciphertext, m.Ciphertext) || len(got.Payloads) != 0 {
		t.Errorf("got %+v", got)
	}
}

func TestIdentificationHelpers(t *testing.T) {
	id := IDSubnet(netip.MustParsePrefix("10.1.2.3/20"), 17, 1701)
	if p, ok := id.Prefix(); !ok || p != netip.MustParsePrefix("10.1.0.0/20") {
		t.Errorf("prefix %v %v", p, ok)
	}
	if _, ok := id.Addr(); ok {
		t.Errorf("Addr on a subnet")
	}
	single := IDAddr(netip.MustParseAddr("::ffff:192.0.2.1"), 0, 0)
	if single.IDType != IDIPv4Addr {
		t.Errorf("mapped address gave %v", single.IDType)
	}
	if p, ok := single.Prefix(); !ok || p.Bits() != 32 {
		t.Errorf("single prefix %v", p)
	}
	bad := &Identification{IDType: IDIPv4AddrSubnet, Data: []byte{10, 0, 0, 0, 255, 0, 255, 0}}
	if _, ok := bad.Prefix(); ok {
		t.Errorf("non-contiguous mask accepted")
	}
}

func TestEnumStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{NotifyNoProposalChosen.String(), "NO-PROPOSAL-CHOSEN"},
		{NotifyPayloadMalformed.String(), "PAYLOAD-MALFORMED"},
		{NotifyInvalidIDInformation.String(), "INVALID-ID-INFORMATION"},
		{NotifyAuthenticationFailed.String(), "AUTHENTICATION-FAILED"},
		{NotifyInvalidPayloadType.String(), "INVALID-PAYLOAD-TYPE"},
		{NotifyInitialContact.String(), "INITIAL-CONTACT"},
		{NotifyRUThere.String(), "R-U-THERE"},
		{NotifyRUThereAck.String(), "R-U-THERE-ACK"},
		{NotifyType(9999).String(), "NOTIFY(9999)"},
		{ExchangeIDProt.String(), "ID_PROT"},
		{ExchangeQuickMode.String(), "QUICK_MODE"},
		{ExchangeType(99).String(), "EXCHANGE(99)"},
		{(FlagEncryption | FlagCommit | 0x40).String(), "E|C|0x40"},
		{PayloadNATDDraft.String(), "NAT-D(draft)"},
		{IDUserFQDN.String(), "ID_USER_FQDN"},
		{IDKeyID.String(), "ID_KEY_ID"},
		{ProtoESP.String(), "ESP"},
		{CertX509Signature.String(), "X509_SIGNATURE"},
		{VendorNATTDraft02N.String(), `draft-ietf-ipsec-nat-t-ike-02\n`},
		{VendorMSNT5ISAKMPOAKLEY.String(), "MS NT5 ISAKMPOAKLEY"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	if !NotifyAuthenticationFailed.IsError() || NotifyInitialContact.IsError() {
		t.Errorf("IsError")
	}
}

func TestVendorMatch(t *testing.T) {
	for v := VendorNATTRFC3947; v <= VendorMSNT5ISAKMPOAKLEY; v++ {
		if got := NewVendorID(v).Vendor(); got != v {
			t.Errorf("%v: identified as %v", v, got)
		}
	}
	// Windows sends other versions after the same hash.
	ms := append(VendorMSNT5ISAKMPOAKLEY.ID()[:16:16], 0, 0, 0, 4)
	if got := (&VendorID{Data: ms}).Vendor(); got != VendorMSNT5ISAKMPOAKLEY {
		t.Errorf("MS NT5 version 4: %v", got)
	}
	if got := (&VendorID{Data: []byte{1, 2, 3}}).Vendor(); got != VendorUnknown {
		t.Errorf("unknown: %v", got)
	}
	if VendorUnknown.ID() != nil {
		t.Errorf("ID of unknown")
	}
}

func TestErrors(t *testing.T) {
	e := (&Notify{MessageType: NotifyAuthenticationFailed}).Err()
	var ne *NotifyError
	if !errors.Is(e, ErrNotify) || !errors.As(e, &ne) || ne.Type != NotifyAuthenticationFailed {
		t.Errorf("notify error %v", e)
	}
	if (&Notify{MessageType: NotifyInitialContact}).Err() != nil {
		t.Errorf("status notify is an error")
	}
}

// header builds a clear ISAKMP message with body after the header.
func header(first PayloadType, body []byte) []byte {
	h := Header{NextPayload: first, Exchange: ExchangeIDProt, Length: uint32(HeaderLen + len(body))}
	return append(h.Append(nil), body...)
}

func TestParseErrors(t *testing.T) {
	ok := AppendPayloads(nil, []Payload{&Nonce{Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}}})
	v2 := header(PayloadNonce, ok)
	v2[17] = 0x20
	longer := header(PayloadNonce, ok)
	binary.BigEndian.PutUint32(longer[24:], uint32(len(longer)+1))
	shortLen := header(PayloadNonce, ok)
	binary.BigEndian.PutUint32(shortLen[24:], 27)
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"short", make([]byte, 27), ErrMalformed},
		{"version 2", v2, ErrVersion},
		{"length beyond datagram", longer, ErrMalformed},
		{"length below header", shortLen, ErrMalformed},
		{"payload length 3", header(PayloadNonce, []byte{0, 0, 0, 3}), ErrMalformed},
		{"payload length beyond message", header(PayloadNonce, []byte{0, 0, 0, 9, 1}), ErrMalformed},
		{"chain runs past message", header(PayloadNonce, []byte{10, 0, 0, 5, 1}), ErrMalformed},
		{"trailing bytes", header(PayloadNonce, append(append([]byte{}, ok...), 0)), ErrMalformed},
		{"proposal at top level", header(PayloadProposal, []byte{0, 0, 0, 4}), ErrMalformed},
		{"unknown critical", header(200, []byte{0, 0x80, 0, 4}), ErrMalformed},
		{"empty nonce", header(PayloadNonce, []byte{0, 0, 0, 4}), ErrMalformed},
		{"SA with DOI 2", header(PayloadSA, []byte{0, 0, 0, 12, 0, 0, 0, 2, 0, 0, 0, 1}), ErrUnsupported},
		{"SA with secrecy", header(PayloadSA, []byte{0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 3}), ErrUnsupported},
		{"SA without proposal", header(PayloadSA, []byte{0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 1}), ErrMalformed},
	} {
		_, err := Parse(tc.b)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
	}
	// An unknown payload without the critical bit is kept.
	m, err := Parse(header(200, []byte{0, 0, 0, 5, 42}))
	if err != nil || len(m.Payloads) != 1 || m.Payloads[0].(*RawPayload).Body[0] != 42 {
		t.Errorf("unknown payload: %v %+v", err, m.Payloads)
	}
}

func TestPayloadErrors(t *testing.T) {
	saWith := func(prop []byte) []byte { return append([]byte{0, 0, 0, 1, 0, 0, 0, 1}, prop...) }
	tr := []byte{0, 0, 0, 8, 1, 1, 0, 0}
	for _, tc := range []struct {
		name string
		t    PayloadType
		body []byte
	}{
		{"proposal too short", PayloadSA, saWith([]byte{0, 0, 0, 7, 1, 1, 0})},
		{"proposal length beyond SA", PayloadSA, saWith([]byte{0, 0, 0, 9, 1, 1, 0, 0})},
		{"SPI beyond proposal", PayloadSA, saWith([]byte{0, 0, 0, 8, 1, 1, 4, 0})},
		{"missing transform", PayloadSA, saWith([]byte{0, 0, 0, 8, 1, 1, 0, 1})},
		{"extra transform", PayloadSA, saWith(append([]byte{0, 0, 0, 16, 1, 1, 0, 0}, tr...))},
		{"transform chain says more", PayloadSA, saWith(append([]byte{0, 0, 0, 16, 1, 1, 0, 1}, append([]byte{3}, tr[1:]...)...))},
		{"proposal chain says more", PayloadSA, saWith(append([]byte{2, 0, 0, 16, 1, 1, 0, 1}, tr...))},
		{"bytes after last proposal", PayloadSA, saWith(append([]byte{0, 0, 0, 16, 1, 1, 0, 1}, append(tr, 0)...))},
		{"attribute truncated", PayloadSA, saWith(append([]byte{0, 0, 0, 18, 1, 1, 0, 1}, 0, 0, 0, 10, 1, 1, 0, 0, 0x80, 1))},
		{"variable attribute overrun", PayloadSA, saWith(append([]byte{0, 0, 0, 20, 1, 1, 0, 1}, 0, 0, 0, 12, 1, 1, 0, 0, 0, 2, 0, 1))},
		{"ID short", PayloadID, []byte{1, 0, 0}},
		{"ID v4 wrong length", PayloadID, []byte{1, 0, 0, 0, 1, 2, 3}},
		{"ID empty FQDN", PayloadID, []byte{2, 0, 0, 0}},
		{"notify short", PayloadNotify, []byte{0, 0, 0, 1, 3, 4, 0}},
		{"notify SPI overrun", PayloadNotify, []byte{0, 0, 0, 1, 3, 4, 0, 14, 1}},
		{"delete count mismatch", PayloadDelete, []byte{0, 0, 0, 1, 3, 4, 0, 2, 1, 2, 3, 4}},
		{"delete SPI size 0", PayloadDelete, []byte{0, 0, 0, 1, 3, 0, 0, 2}},
		{"NAT-OA bad type", PayloadNATOA, []byte{2, 0, 0, 0, 1, 2, 3, 4}},
		{"NAT-OA reserved", PayloadNATOA, []byte{1, 0, 1, 0, 1, 2, 3, 4}},
		{"NAT-OA short", PayloadNATOADraft, []byte{1, 0, 0}},
		{"empty NAT-D", PayloadNATD, nil},
		{"empty KE", PayloadKE, nil},
		{"empty hash", PayloadHash, nil},
		{"empty VID", PayloadVendorID, nil},
		{"empty cert", PayloadCert, nil},
		{"empty CR", PayloadCR, nil},
		{"empty SIG", PayloadSig, nil},
	} {
		p, err := ParsePayload(tc.t, tc.body)
		if !errors.Is(err, ErrMalformed) || p != nil {
			t.Errorf("%s: %v, %v", tc.name, p, err)
		}
	}
}

func TestPaddingAfterLastPayload(t *testing.T) {
	body := AppendPayloads(nil, []Payload{&Hash{Data: []byte{1, 2, 3, 4}}})
	plain := append(body, 1, 2, 3, 4, 5, 6, 7, 8)
	ps, pad, err := ParsePayloads(PayloadHash, plain)
	if err != nil || len(ps) != 1 || !bytes.Equal(pad, []byte{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Errorf("%v %v %x", err, ps, pad)
	}
}

func TestFindPayload(t *testing.T) {
	ps := allPayloads()
	if n, ok := FindPayload[*Nonce](ps); !ok || string(n.Data) != "0123456789abcdef" {
		t.Errorf("nonce %v %v", n, ok)
	}
	if _, ok := FindPayload[*Nonce](ps[:1]); ok {
		t.Errorf("found a nonce in a HASH-only list")
	}
}
