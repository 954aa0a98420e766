package ike

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// TestTruncationSweepMessages cuts every golden message at every length, both
// as is (the header length then runs past the datagram) and with the header
// length patched to the cut, so the payload chain itself is truncated. Every
// prefix must fail cleanly or parse to something that re-encodes to it.
func TestTruncationSweepMessages(t *testing.T) {
	for name, full := range goldenMessages(t) {
		for n := 0; n < len(full); n++ {
			if _, err := Parse(full[:n]); err == nil {
				t.Errorf("%s: prefix of %d bytes parsed", name, n)
			}
			if n < HeaderLen {
				continue
			}
			b := bytes.Clone(full[:n])
			binary.BigEndian.PutUint32(b[24:], uint32(n))
			m, err := Parse(b)
			if err != nil {
				continue
			}
			if got := m.Append(nil); !bytes.Equal(got, b) {
				t.Errorf("%s: prefix %d parsed but re-encodes differently", name, n)
			}
		}
	}
}

// TestTruncationSweepPlaintexts does the same for the decrypted bodies.
func TestTruncationSweepPlaintexts(t *testing.T) {
	for _, g := range goldenPlaintexts {
		full := unhex(t, g.plain)
		for n := 0; n < len(full); n++ {
			b := full[:n]
			ps, pad, err := ParsePayloads(g.first, b)
			if err != nil {
				continue
			}
			if got := append(AppendPayloads(nil, ps), pad...); !bytes.Equal(got, b) {
				t.Errorf("%s: prefix %d parsed but re-encodes differently", g.name, n)
			}
		}
	}
}

// TestTruncationSweepPayloads cuts every golden payload body.
func TestTruncationSweepPayloads(t *testing.T) {
	for typ, bodies := range goldenBodies(t) {
		for _, full := range bodies {
			for n := 0; n <= len(full); n++ {
				p, err := ParsePayload(typ, full[:n])
				if err != nil {
					if p != nil {
						t.Errorf("%v: payload and error", typ)
					}
					continue
				}
				checkCanonical(t, typ, full[:n], p)
			}
		}
	}
}

// checkCanonical requires a decoded payload to re-encode to a body that
// decodes and re-encodes identically; for all but SA (whose RESERVED bytes are
// not kept) to exactly the input.
func checkCanonical(t *testing.T, typ PayloadType, b []byte, p Payload) {
	t.Helper()
	if p.Type() != typ {
		t.Fatalf("decoded %v as %v", typ, p.Type())
	}
	enc := p.AppendBody(nil)
	if typ != PayloadSA && !bytes.Equal(enc, b) {
		t.Fatalf("%v: %x re-encodes to %x", typ, b, enc)
	}
	p2, err := ParsePayload(typ, enc)
	if err != nil {
		t.Fatalf("%v: re-encoding does not parse: %v", typ, err)
	}
	if enc2 := p2.AppendBody(nil); !bytes.Equal(enc, enc2) {
		t.Fatalf("%v: encoding not stable: %x then %x", typ, enc, enc2)
	}
}

func FuzzParse(f *testing.F) {
	for _, b := range goldenMessages(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		enc := m.Append(nil)
		m2, err := Parse(enc)
		if err != nil {
			t.Fatalf("re-encoding does not parse: %v", err)
		}
		if enc2 := m2.Append(nil); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable")
		}
	})
}

func FuzzParsePayloads(f *testing.F) {
	for _, g := range goldenPlaintexts {
		f.Add(uint8(g.first), unhex(f, g.plain))
	}
	f.Fuzz(func(t *testing.T, first uint8, b []byte) {
		ps, pad, err := ParsePayloads(PayloadType(first), b)
		if err != nil {
			return
		}
		enc := AppendPayloads(nil, ps)
		if len(enc)+len(pad) != len(b) {
			t.Fatalf("re-encoding has another length")
		}
		ps2, pad2, err := ParsePayloads(FirstPayload(ps), enc)
		if err != nil || len(pad2) != 0 || len(ps2) != len(ps) {
			t.Fatalf("re-encoding does not parse: %v", err)
		}
	})
}

// fuzzPayload is one fuzz target per payload decoder, seeded with the golden
// bodies of that type and with the encoder's output.
func fuzzPayload(f *testing.F, typ PayloadType) {
	for _, b := range goldenBodies(f)[typ] {
		f.Add(b)
	}
	for _, p := range allPayloads() {
		if p.Type() == typ {
			f.Add(p.AppendBody(nil))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePayload(typ, b)
		if err != nil {
			if p != nil {
				t.Fatalf("payload and error")
			}
			return
		}
		checkCanonical(t, typ, b, p)
	})
}

func FuzzSA(f *testing.F)          { fuzzPayload(f, PayloadSA) }
func FuzzKE(f *testing.F)          { fuzzPayload(f, PayloadKE) }
func FuzzID(f *testing.F)          { fuzzPayload(f, PayloadID) }
func FuzzCert(f *testing.F)        { fuzzPayload(f, PayloadCert) }
func FuzzCertRequest(f *testing.F) { fuzzPayload(f, PayloadCR) }
func FuzzHash(f *testing.F)        { fuzzPayload(f, PayloadHash) }
func FuzzSignature(f *testing.F)   { fuzzPayload(f, PayloadSig) }
func FuzzNonce(f *testing.F)       { fuzzPayload(f, PayloadNonce) }
func FuzzNotify(f *testing.F)      { fuzzPayload(f, PayloadNotify) }
func FuzzDelete(f *testing.F)      { fuzzPayload(f, PayloadDelete) }
func FuzzVendorID(f *testing.F)    { fuzzPayload(f, PayloadVendorID) }
func FuzzNATD(f *testing.F)        { fuzzPayload(f, PayloadNATD) }
func FuzzNATOA(f *testing.F)       { fuzzPayload(f, PayloadNATOA) }

// FuzzCRAuthority decodes the Certificate Authority of a CR payload (a DER
// Name, dn.go): no input may panic; a name that decodes prints and equals
// itself.
func FuzzCRAuthority(f *testing.F) {
	f.Add(bmpName)
	f.Add([]byte{0x30, 0x00})
	f.Add(mustID(f, "dn:C=US, O=Example, CN=vpn.example.com").Data)
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := parseDN(b)
		if err != nil {
			return
		}
		_ = n.String()
		_ = formatDN(b)
		if !sameDN(b, b) {
			t.Errorf("%x is not equal to itself", b)
		}
		_ = (&CertRequest{Encoding: CertX509Signature, Authority: b}).AppendBody(nil)
	})
}

// FuzzFragment decodes fragment messages (seeded with the golden one and
// the encoder's output): a decoded fragment re-encodes to the bytes it came
// from (but for the ignored RESERVED byte), and its body passes the payload
// decoder canonically.
func FuzzFragment(f *testing.F) {
	f.Add(unhex(f, goldenFragment))
	msg := testMessage(700, ExchangeQuickMode, FlagEncryption, 9)
	per, count := fragmentPlan(len(msg), 300, true)
	for _, b := range splitMessage(msg, 3, per, count) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, frag, err := ParseFragment(b)
		if err != nil {
			if frag != nil {
				t.Fatalf("fragment and error")
			}
			return
		}
		want := bytes.Clone(b[:h.Length])
		want[HeaderLen+1] = 0 // RESERVED: ignored, written as zero
		if got := reencodeFragment(h, frag); !bytes.Equal(got, want) {
			t.Fatalf("re-encodes to %x", got)
		}
		checkCanonical(t, PayloadFragment, b[HeaderLen+genericHeaderLen:h.Length], frag)
	})
}
