package ike

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"net/netip"
	"path/filepath"
	"reflect"
	"testing"
)

// TestGoldenRoundTrip decodes each golden message and requires the encoder to
// produce the captured bytes again.
func TestGoldenRoundTrip(t *testing.T) {
	for name, b := range goldenMessages(t) {
		m, err := Parse(b)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := m.Append(nil); !bytes.Equal(got, b) {
			t.Errorf("%s: re-encoded\n%x\nwant\n%x", name, got, b)
		}
		if m.Len() != len(b) {
			t.Errorf("%s: Len %d, want %d", name, m.Len(), len(b))
		}
	}
}

func vendors(t *testing.T, ps []Payload) []Vendor {
	t.Helper()
	var vs []Vendor
	for _, p := range ps {
		if v, ok := p.(*VendorID); ok {
			vs = append(vs, v.Vendor())
		}
	}
	return vs
}

func types(ps []Payload) []PayloadType {
	var ts []PayloadType
	for _, p := range ps {
		ts = append(ts, p.Type())
	}
	return ts
}

func wantPhase1Transform(t *testing.T, tr Transform, num uint8, want map[AttributeType]uint64) {
	t.Helper()
	if tr.Number != num || tr.ID != TransformKeyIKE {
		t.Errorf("transform %d: number %d id %d", num, tr.Number, tr.ID)
	}
	if len(tr.Attributes) != len(want) {
		t.Errorf("transform %d: %d attributes, want %d", num, len(tr.Attributes), len(want))
	}
	for typ, v := range want {
		a, ok := tr.Attribute(typ)
		if !ok {
			t.Errorf("transform %d: no attribute %d", num, typ)
			continue
		}
		if got, _ := a.Uint(); got != v || !a.Basic {
			t.Errorf("transform %d: attribute %d = %d (basic %v), want %d", num, typ, got, a.Basic, v)
		}
	}
}

// charon's MM1: one ISAKMP proposal with three transforms
// (aes128-sha1-modp2048, aes256-sha256-modp2048, 3des-sha1-modp1024).
func TestGoldenMM1(t *testing.T) {
	for _, tc := range []struct {
		name, msg, cky string
	}{
		{"se", goldenSEMM1, "a1128abaf6881118"},
		{"sw", goldenSWMM1, "e3950cb7f035c014"},
	} {
		m, err := Parse(unhex(t, tc.msg))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		h := m.Header
		if hex.EncodeToString(h.InitiatorCookie[:]) != tc.cky || h.ResponderCookie != [8]byte{} ||
			h.Exchange != ExchangeIDProt || h.Flags != 0 || h.MessageID != 0 || h.Length != 248 ||
			h.Version != Version || h.NextPayload != PayloadSA {
			t.Errorf("%s: header %+v", tc.name, h)
		}
		if got := m.String(); got != "ID_PROT [ SA V V V V V ]" {
			t.Errorf("%s: String %q", tc.name, got)
		}
		sa := m.Payloads[0].(*SA)
		if sa.DOI != DOIIPsec || sa.Situation != SituationIdentityOnly || len(sa.Proposals) != 1 {
			t.Fatalf("%s: SA %+v", tc.name, sa)
		}
		if len(sa.Raw) != 124-4 {
			t.Errorf("%s: raw SA body %d bytes", tc.name, len(sa.Raw))
		}
		p := sa.Proposals[0]
		if p.Number != 1 || p.Protocol != ProtoISAKMP || len(p.SPI) != 0 || len(p.Transforms) != 3 {
			t.Fatalf("%s: proposal %+v", tc.name, p)
		}
		wantPhase1Transform(t, p.Transforms[0], 1, map[AttributeType]uint64{
			AttrEncryption: 7, AttrKeyLength: 128, AttrHash: 2, AttrGroup: 14,
			AttrAuthMethod: 1, AttrLifeType: 1, AttrLifeDuration: 15840})
		wantPhase1Transform(t, p.Transforms[1], 2, map[AttributeType]uint64{
			AttrEncryption: 7, AttrKeyLength: 256, AttrHash: 4, AttrGroup: 14,
			AttrAuthMethod: 1, AttrLifeType: 1, AttrLifeDuration: 15840})
		wantPhase1Transform(t, p.Transforms[2], 3, map[AttributeType]uint64{
			AttrEncryption: 5, AttrHash: 2, AttrGroup: 2,
			AttrAuthMethod: 1, AttrLifeType: 1, AttrLifeDuration: 15840})
		want := []Vendor{VendorXAUTH, VendorDPD, VendorFragmentation, VendorNATTRFC3947, VendorNATTDraft02N}
		if got := vendors(t, m.Payloads); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: vendors %v, want %v", tc.name, got, want)
		}
	}
}

// SAi_b as logged for the HASH_I computation (se-mm-qm-transport.vectors.json).
const seSAib = "00000001000000010000007001010003030000240101000080010007800e0080800200028004000e80030001800b0001800c3de0030000240201000080010007800e0100800200048004000e80030001800b0001800c3de0000000200301000080010005800200028004000280030001800b0001800c3de0"

func TestGoldenSARaw(t *testing.T) {
	m, err := Parse(unhex(t, goldenSEMM1))
	if err != nil {
		t.Fatal(err)
	}
	sa := m.Payloads[0].(*SA)
	if hex.EncodeToString(sa.Raw) != seSAib {
		t.Errorf("SA raw body\n%x\nwant\n%s", sa.Raw, seSAib)
	}
	if got := sa.AppendBody(nil); !bytes.Equal(got, sa.Raw) {
		t.Errorf("SA re-encoded body differs from raw")
	}
}

func TestGoldenMM2(t *testing.T) {
	for _, tc := range []struct {
		name, msg string
		want      []Vendor
	}{
		// SoftEther answers with every NAT-T flavour it knows.
		{"se", goldenSEMM2, []Vendor{VendorNATTRFC3947, VendorNATTDraft03, VendorNATTDraft02N,
			VendorNATTDraft02, VendorNATTDraft00, VendorDPD}},
		{"sw", goldenSWMM2, []Vendor{VendorXAUTH, VendorDPD, VendorFragmentation, VendorNATTRFC3947}},
	} {
		m, err := Parse(unhex(t, tc.msg))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if m.Header.ResponderCookie == [8]byte{} || m.Header.Exchange != ExchangeIDProt {
			t.Errorf("%s: header %+v", tc.name, m.Header)
		}
		sa := m.Payloads[0].(*SA)
		if len(sa.Proposals) != 1 || len(sa.Proposals[0].Transforms) != 1 {
			t.Fatalf("%s: SA %+v", tc.name, sa)
		}
		wantPhase1Transform(t, sa.Proposals[0].Transforms[0], sa.Proposals[0].Transforms[0].Number,
			map[AttributeType]uint64{AttrEncryption: 7, AttrKeyLength: 128, AttrHash: 2, AttrGroup: 14,
				AttrAuthMethod: 1, AttrLifeType: 1, AttrLifeDuration: 15840})
		if got := vendors(t, m.Payloads); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: vendors %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestGoldenMM3MM4(t *testing.T) {
	for _, tc := range []struct {
		name, msg, nonce string
	}{
		{"se MM3", goldenSEMM3, "2c6661d8776757f789e61f5b8d2144b691d2c059cd0257f91ded34fb26a099c9"},
		{"se MM4", goldenSEMM4, "4a44302e3047f05dcb09d4f4dec1ca88"},
		{"sw MM3", goldenSWMM3, "f23336ef49e85aa00d378731229cf36e01aafdd9bf8d843abf0301eb98025d7e"},
		{"sw MM4", goldenSWMM4, "cb6079086521e85e47ced45a23ae109abcbda36d575242d0a52afb8ff9176e79"},
	} {
		m, err := Parse(unhex(t, tc.msg))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want := []PayloadType{PayloadKE, PayloadNonce, PayloadNATD, PayloadNATD}
		if got := types(m.Payloads); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: payloads %v", tc.name, got)
		}
		if ke := m.Payloads[0].(*KeyExchange); len(ke.Data) != 256 {
			t.Errorf("%s: KE %d bytes, want 256 (MODP-2048)", tc.name, len(ke.Data))
		}
		if n := m.Payloads[1].(*Nonce); hex.EncodeToString(n.Data) != tc.nonce {
			t.Errorf("%s: nonce %x", tc.name, n.Data)
		}
		for _, p := range m.Payloads[2:] {
			if d := p.(*NATD); d.Draft || len(d.Hash) != 20 {
				t.Errorf("%s: NAT-D %+v", tc.name, d)
			}
		}
	}
}

func TestGoldenEncryptedMM5(t *testing.T) {
	b := stripMarker(t, unhex(t, goldenSEMM5))
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Flags != FlagEncryption || m.Header.NextPayload != PayloadID || len(m.Payloads) != 0 ||
		len(m.Ciphertext) != len(b)-HeaderLen || len(m.Ciphertext)%16 != 0 {
		t.Errorf("header %+v, %d payloads, %d ciphertext bytes", m.Header, len(m.Payloads), len(m.Ciphertext))
	}
	if got := m.String(); got != "ID_PROT [ encrypted ]" {
		t.Errorf("String %q", got)
	}
}

var vectorNames = map[string]PayloadType{
	"HASH": PayloadHash, "SA": PayloadSA, "NONCE": PayloadNonce, "ID": PayloadID,
	"NAT-OA": PayloadNATOA, "N": PayloadNotify, "D": PayloadDelete, "KE": PayloadKE,
}

// TestGoldenPlaintexts decodes every decrypted MM5/MM6/Quick Mode/Informational
// body of the captures, checks the payload list and re-encodes it.
func TestGoldenPlaintexts(t *testing.T) {
	for _, g := range goldenPlaintexts {
		plain := unhex(t, g.plain)
		ps, pad, err := ParsePayloads(g.first, plain)
		if err != nil {
			t.Errorf("%s: %v", g.name, err)
			continue
		}
		var want []PayloadType
		for _, n := range g.payloads {
			want = append(want, vectorNames[n])
		}
		if got := types(ps); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: payloads %v, want %v", g.name, got, want)
		}
		if len(pad) > 16 {
			t.Errorf("%s: %d bytes of padding", g.name, len(pad))
		}
		if got := append(AppendPayloads(nil, ps), pad...); !bytes.Equal(got, plain) {
			t.Errorf("%s: re-encoded\n%x\nwant\n%x", g.name, got, plain)
		}
	}
}

func TestGoldenPlaintextFields(t *testing.T) {
	find := func(name string) []Payload {
		t.Helper()
		for _, g := range goldenPlaintexts {
			if g.name == name {
				ps, _, err := ParsePayloads(g.first, unhex(t, g.plain))
				if err != nil {
					t.Fatal(err)
				}
				return ps
			}
		}
		t.Fatalf("no plaintext %q", name)
		return nil
	}
	// MM5 of se-mm-qm-transport: IDii_b = 01000000c0000202.
	ps := find("se-mm-qm-transport MM5")
	id := ps[0].(*Identification)
	if a, ok := id.Addr(); !ok || a != netip.MustParseAddr("192.0.2.2") || id.Protocol != 0 || id.Port != 0 {
		t.Errorf("IDii %+v", id)
	}
	if got := hex.EncodeToString(id.AppendBody(nil)); got != "01000000c0000202" {
		t.Errorf("IDii_b %s", got)
	}
	if h := ps[1].(*Hash); hex.EncodeToString(h.Data) != "c1c4b33663ae6c6ace7036739990fab69efa232c" {
		t.Errorf("HASH_I %x", h.Data)
	}
	// QM1 (frame 7): transport mode, ESP proposal with SPI 08e2676a, UDP/1701 IDs, NAT-OA.
	ps = find("se-mm-qm-transport frame 7")
	sa := ps[1].(*SA)
	if len(sa.Proposals) == 0 || sa.Proposals[0].Protocol != ProtoESP ||
		hex.EncodeToString(sa.Proposals[0].SPI) != "08e2676a" {
		t.Fatalf("QM1 SA %+v", sa)
	}
	tr := sa.Proposals[0].Transforms[0]
	if a, ok := tr.Attribute(AttrEncapsulationMode); !ok || a.Value != 4 {
		t.Errorf("QM1 encapsulation mode %+v (want 4, UDP-Transport)", a)
	}
	idci := ps[3].(*Identification)
	if idci.Protocol != 17 || idci.Port != 1701 {
		t.Errorf("QM1 IDci %+v", idci)
	}
	for _, p := range ps[5:] {
		if oa := p.(*NATOA); !oa.Addr.Is4() || oa.Draft {
			t.Errorf("NAT-OA %+v", oa)
		}
	}
	// Frame 9: charon's N(NO-PROPOSAL-CHOSEN) for the ESP SPI.
	n := find("se-mm-qm-transport frame 9")[1].(*Notify)
	if n.MessageType != NotifyNoProposalChosen || n.Protocol != ProtoESP || hex.EncodeToString(n.SPI) != "08e2676a" {
		t.Errorf("notify %+v", n)
	}
	if err := n.Err(); err == nil || err.Error() != "ike: peer sent NO-PROPOSAL-CHOSEN" {
		t.Errorf("notify error %v", err)
	}
	// Frame 14: DELETE of ESP SPI 993596bf.
	d := find("se-mm-qm-transport frame 14")[1].(*Delete)
	if d.Protocol != ProtoESP || len(d.SPIs) != 1 || hex.EncodeToString(d.SPIs[0]) != "993596bf" {
		t.Errorf("delete %+v", d)
	}
	// se-mm-qm-tunnel-esp frame 8: PAYLOAD-MALFORMED.
	n = find("se-mm-qm-tunnel-esp frame 8")[1].(*Notify)
	if n.MessageType != NotifyPayloadMalformed {
		t.Errorf("notify %v", n.MessageType)
	}
}

// TestCaptures parses every IKE datagram in every capture (when the captures
// are present) and re-encodes it.
func TestCaptures(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(capturesDir, "*.pcap"))
	if len(files) < 5 {
		t.Fatalf("want at least the 5 shared IKE captures in %s, found %d", capturesDir, len(files))
	}
	total := 0
	for _, f := range files {
		payloads, ports := udpPayloads(t, f)
		for i, b := range payloads {
			switch ports[i] {
			case 500:
			case 4500:
				if len(b) < 4 || b[0]|b[1]|b[2]|b[3] != 0 {
					continue // ESP or keepalive
				}
				b = b[4:]
			default:
				continue
			}
			total++
			m, err := Parse(b)
			if err != nil {
				t.Errorf("%s datagram %d: %v", filepath.Base(f), i+1, err)
				continue
			}
			if got := m.Append(nil); !bytes.Equal(got, b) {
				t.Errorf("%s datagram %d: re-encoding differs", filepath.Base(f), i+1)
			}
		}
	}
	t.Logf("%d IKE messages", total)
}

// TestGoldenHash1Input shows that the decoded chain gives the engine the exact
// bytes HASH(1) covers (RFC 2409 5.5): prf(SKEYID_a, M-ID | everything after
// the HASH payload, without padding). Values from se-mm-qm-transport.vectors.json.
func TestGoldenHash1Input(t *testing.T) {
	var g goldenPlain
	for _, x := range goldenPlaintexts {
		if x.name == "se-mm-qm-transport frame 7" {
			g = x
		}
	}
	plain := unhex(t, g.plain)
	ps, pad, err := ParsePayloads(PayloadHash, plain)
	if err != nil {
		t.Fatal(err)
	}
	h := ps[0].(*Hash)
	rest := plain[genericHeaderLen+len(h.Data) : len(plain)-len(pad)]
	if !bytes.Equal(rest, AppendPayloads(nil, ps[1:])) {
		t.Fatalf("rest differs from re-encoded payloads")
	}
	mac := hmac.New(sha1.New, unhex(t, "2e346d4b56a27fe4d7d37f1d05d8c9209691969c"))
	mac.Write(unhex(t, "6b87efaf"))
	mac.Write(rest)
	if got := mac.Sum(nil); !bytes.Equal(got, h.Data) {
		t.Errorf("HASH(1) %x, payload says %x", got, h.Data)
	}
}
