package ike

import (
	"bytes"
	"crypto/elliptic"
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

// tlv is one DER element with a short or one-byte long length.
func tlv(tag byte, content ...[]byte) []byte {
	c := bytes.Join(content, nil)
	if len(c) < 0x80 {
		return append([]byte{tag, byte(len(c))}, c...)
	}
	return append([]byte{tag, 0x81, byte(len(c))}, c...)
}

// bmpName is a Name as Windows Server 2012 R2 puts it in its CRs: every
// value a BMPString (tag 0x1e, UTF-16BE):
//
//	SEQUENCE {
//	  SET { SEQUENCE { OID 2.5.4.6 (C),  PrintableString "DE" } }
//	  SET { SEQUENCE { OID 2.5.4.10 (O), BMPString "Exämple, Inc" } }
//	  SET { SEQUENCE { OID 2.5.4.3 (CN), BMPString "Test CA" } }
//	}
var bmpName = []byte{
	0x30, 0x49,
	0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, 'D', 'E',
	0x31, 0x21, 0x30, 0x1f, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x1e, 0x18,
	0x00, 'E', 0x00, 'x', 0x00, 0xe4, 0x00, 'm', 0x00, 'p', 0x00, 'l', 0x00, 'e', 0x00, ',', 0x00, ' ',
	0x00, 'I', 0x00, 'n', 0x00, 'c',
	0x31, 0x17, 0x30, 0x15, 0x06, 0x03, 0x55, 0x04, 0x03, 0x1e, 0x0e,
	0x00, 'T', 0x00, 'e', 0x00, 's', 0x00, 't', 0x00, ' ', 0x00, 'C', 0x00, 'A',
}

func TestDNBMPString(t *testing.T) {
	n, err := parseDN(bmpName)
	if err != nil {
		t.Fatal(err)
	}
	const want = `C=DE, O=Exämple\, Inc, CN=Test CA`
	if got := n.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// The same name with UTF8String values, as ParseDN would make it
	// from the text, is the same name.
	id, err := ParseDN(want)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(id.Data, bmpName) || !sameDN(id.Data, bmpName) {
		t.Error("the UTF8String form is not the same name as the BMPString form")
	}
	if got := (ID{Type: IDDERASN1DN, Data: bmpName}).String(); got != "dn:"+want {
		t.Errorf("ID.String %q", got)
	}
}

func TestDNTruncation(t *testing.T) {
	subject := issue(t, nil, "Trunc CA", testECKey(t, elliptic.P256()), true, nil).cert.RawSubject
	for _, full := range [][]byte{bmpName, subject} {
		for n := 0; n < len(full); n++ {
			if _, err := parseDN(full[:n]); err == nil {
				t.Errorf("prefix %d of %x parsed", n, full)
			}
		}
		if _, err := parseDN(append(bytes.Clone(full), 0)); err == nil {
			t.Error("trailing byte accepted")
		}
	}
}

func TestDNMalformedValues(t *testing.T) {
	cn := []byte{0x06, 0x03, 0x55, 0x04, 0x03}
	for name, der := range map[string][]byte{
		"odd BMPString":  tlv(0x30, tlv(0x31, tlv(0x30, cn, tlv(0x1e, []byte{0, 'a', 0})))),
		"bad UTF8String": tlv(0x30, tlv(0x31, tlv(0x30, cn, tlv(0x0c, []byte{0xff, 0xfe})))),
		"integer value":  tlv(0x30, tlv(0x31, tlv(0x30, cn, tlv(0x02, []byte{1})))),
	} {
		n, err := parseDN(der)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if n[0][0].str || n[0][0].value[0] != '#' {
			t.Errorf("%s: read as %q", name, n.String())
		}
	}
	for name, der := range map[string][]byte{
		"empty set":     tlv(0x30, tlv(0x31)),
		"no value":      tlv(0x30, tlv(0x31, tlv(0x30, cn))),
		"extra element": tlv(0x30, tlv(0x31, tlv(0x30, cn, tlv(0x13, []byte("a")), tlv(0x13, []byte("b"))))),
		"not a set":     tlv(0x30, tlv(0x30, tlv(0x30, cn, tlv(0x13, []byte("a"))))),
	} {
		if _, err := parseDN(der); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDNEqual(t *testing.T) {
	name := func(tag int, cn string) []byte {
		seq := pkix.RDNSequence{
			{{Type: asn1.ObjectIdentifier{2, 5, 4, 6}, Value: "US"}},
			{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: asn1.RawValue{Tag: tag, Bytes: []byte(cn)}}},
		}
		b, err := asn1.Marshal(seq)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	printable := name(asn1.TagPrintableString, "vpn example")
	for _, tc := range []struct {
		b    []byte
		want bool
	}{
		{name(asn1.TagUTF8String, "vpn example"), true},
		{name(asn1.TagIA5String, "VPN Example"), true},
		{name(asn1.TagPrintableString, "vpn  example "), true},
		{name(asn1.TagUTF8String, "vpn other"), false},
		{mustID(t, "dn:CN=vpn example, C=US").Data, false}, // another order
		{mustID(t, "dn:C=US").Data, false},
	} {
		if got := sameDN(printable, tc.b); got != tc.want {
			t.Errorf("sameDN(%s, %s) = %v", formatDN(printable), formatDN(tc.b), got)
		}
	}
}

func TestMatchID(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"fqdn:vpn.example.com", "fqdn:VPN.example.com.", true},
		{"fqdn:vpn.example.com", "user-fqdn:vpn@example.com", false},
		{"ip:192.0.2.1", "192.0.2.1", true},
		{"ip:192.0.2.1", "ip:192.0.2.2", false},
		{"user-fqdn:Alice@Example.com", "alice@example.com", true},
		{"dn:C=US, O=Example, CN=x", "dn:/C=US/O=example/CN=X", true},
		{"key-id:Group", "key-id:group", false},
	} {
		if got := matchID(mustID(t, tc.a), mustID(t, tc.b)); got != tc.want {
			t.Errorf("matchID(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}

// ID.String of a DN is read back by ParseID to the same name (pkix's
// String, used before, printed it in reverse).
func TestDNStringRoundTrip(t *testing.T) {
	for _, s := range []string{`dn:C=US, O=Example\, Inc., OU=VPN, CN=vpn.example.com`, "dn:DC=com, DC=example, UID=alice, E=a@example.com"} {
		id := mustID(t, s)
		if got := id.String(); got != s {
			t.Errorf("String %q, want %q", got, s)
		}
		if back := mustID(t, id.String()); !back.Equal(id) {
			t.Errorf("%s does not read back", s)
		}
	}
}
