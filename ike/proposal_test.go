package ike

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
)

func TestDefaultProposalStrings(t *testing.T) {
	wantIKE := "aes256-sha256-modp2048,aes128-sha256-modp2048,aes256-sha1-modp2048,aes128-sha1-modp2048," +
		"3des-sha1-modp2048,aes256-sha256-ecp384,aes128-sha256-ecp256,aes256-sha1-modp1024,aes128-sha1-modp1024," +
		"3des-sha1-modp1024"
	if got := FormatIKEProposals(DefaultIKEProposals()); got != wantIKE {
		t.Errorf("IKE defaults %s", got)
	}
	wantESP := "aes256gcm16,aes128gcm16,aes256-sha256,aes128-sha256,aes256-sha1,aes128-sha1,3des-sha1," +
		"aes256-md5,aes128-md5,3des-md5"
	if got := FormatESPProposals(DefaultESPProposals()); got != wantESP {
		t.Errorf("ESP defaults %s", got)
	}
	ike, err := ParseIKEProposals(wantIKE)
	if err != nil || FormatIKEProposals(ike) != wantIKE {
		t.Errorf("IKE reparse: %v", err)
	}
	espp, err := ParseESPProposals(wantESP)
	if err != nil || FormatESPProposals(espp) != wantESP {
		t.Errorf("ESP reparse: %v", err)
	}
	if s := (ESPProposal{esp.AESCBC, 256, esp.HMACSHA256_128, MODP2048}).String(); s != "aes256-sha256-modp2048" {
		t.Errorf("PFS: %s", s)
	}
	if s := (ESPProposal{esp.AESGCM16, 128, esp.None, ECP256}).String(); s != "aes128gcm16-ecp256" {
		t.Errorf("GCM PFS: %s", s)
	}
}

func TestParseProposalAliases(t *testing.T) {
	ike := map[string]string{
		"aes-sha-modp1024":           "aes128-sha1-modp1024",
		"AES192-SHA2_384-MODP3072":   "aes192-sha384-modp3072",
		" aes256-sha2_512-modp4096!": "aes256-sha512-modp4096",
		"3des-md5-modp1536":          "3des-md5-modp1536",
		"aes128-sha2_256-ecp384":     "aes128-sha256-ecp384",
	}
	for in, want := range ike {
		ps, err := ParseIKEProposals(in)
		if err != nil || len(ps) != 1 || ps[0].String() != want {
			t.Errorf("%q: %v %v", in, ps, err)
		}
	}
	espm := map[string]string{
		"aes-sha":              "aes128-sha1",
		"aes128gcm":            "aes128gcm16",
		"aes256gcm-modp2048":   "aes256gcm16-modp2048",
		"3des-sha2_256":        "3des-sha256",
		"aes192-sha384-ecp256": "aes192-sha384-ecp256",
		"aes256-sha2_512":      "aes256-sha512",
	}
	for in, want := range espm {
		ps, err := ParseESPProposals(in)
		if err != nil || len(ps) != 1 || ps[0].String() != want {
			t.Errorf("%q: %v %v", in, ps, err)
		}
	}
}

func TestParseProposalErrors(t *testing.T) {
	ike := map[string]string{
		"aes256-sha7-modp2048":                     `ike: proposal "aes256-sha7-modp2048": unknown algorithm "sha7"`,
		"aes128-sha1-modp768":                      "DH groups under 1024 bits are refused",
		"aes128gcm16-sha1-modp2048":                "not valid in IKEv1 phase 1",
		"aes128-sha1":                              "want encryption-hash-group",
		"aes128-sha1-modp2048-modp1024":            "want encryption-hash-group",
		"blowfish-sha1-modp2048":                   `unknown algorithm "blowfish"`,
		"aes128-sha1-modp9999":                     `unknown algorithm "modp9999"`,
		"aes128-sha1-modp2048,,3des-sha1-modp1024": "empty proposal",
		"": "empty proposal",
	}
	for in, want := range ike {
		_, err := ParseIKEProposals(in)
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrProposalSyntax) {
			t.Errorf("IKE %q: %v, want %q", in, err, want)
		}
	}
	espm := map[string]string{
		"aes128":                 "missing integrity",
		"aes128-sha7":            `ike: proposal "aes128-sha7": unknown algorithm "sha7"`,
		"aes128gcm16-sha1":       "takes no integrity",
		"aes128-sha1-modp768":    "under 1024 bits",
		"aes128-sha1-modp2048-x": "too many",
		"aes128gcm16-modp2048-x": "too many",
		"aes128-sha1-foo":        `unknown algorithm "foo"`,
		"chacha20poly1305":       `unknown algorithm "chacha20poly1305"`,
		",":                      "empty proposal",
	}
	for in, want := range espm {
		_, err := ParseESPProposals(in)
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrProposalSyntax) {
			t.Errorf("ESP %q: %v, want %q", in, err, want)
		}
	}
}

func TestIKETransformRoundTrip(t *testing.T) {
	for _, life := range []time.Duration{0, 3 * time.Hour, 8 * time.Hour, 70000 * time.Second} {
		for i, p := range DefaultIKEProposals() {
			tr := p.transform(uint8(i+1), life)
			// Through the codec and back.
			sa := SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{{
				Number: 1, Protocol: ProtoISAKMP, Transforms: []Transform{tr}}}}
			parsed, err := parseSA(sa.AppendBody(nil))
			if err != nil {
				t.Fatal(err)
			}
			tr2 := parsed.Proposals[0].Transforms[0]
			if tr2.Number != uint8(i+1) || tr2.ID != TransformKeyIKE {
				t.Errorf("%v: transform %d id %d", p, tr2.Number, tr2.ID)
			}
			got, gotLife, err := ikeProposalFromTransform(tr2)
			if err != nil || got != p || gotLife != life {
				t.Errorf("%v life %v: got %v %v %v", p, life, got, gotLife, err)
			}
			a, _ := tr2.Attribute(AttrLifeDuration)
			if life > 0 && a.Basic != (life <= 0xffff*time.Second) {
				t.Errorf("life %v: basic=%v", life, a.Basic)
			}
		}
	}
}

func TestIKETransformGolden(t *testing.T) {
	// The proposal charon chose in the sw-sw runs (SAi_b of MM1, first
	// transform): AES-128, SHA1, MODP-2048, PSK, 15840 s.
	for _, r := range loadCryptoRuns(t)[2:3] {
		sa, err := parseSA(r.in(t, "SAi_b"))
		if err != nil {
			t.Fatal(err)
		}
		p, life, err := ikeProposalFromTransform(sa.Proposals[0].Transforms[0])
		if err != nil || p.String() != "aes128-sha1-modp2048" || life != 15840*time.Second {
			t.Errorf("%v %v %v", p, life, err)
		}
	}
}

func TestIKETransformErrors(t *testing.T) {
	good := DefaultIKEProposals()[0].transform(1, time.Hour)
	mutate := func(f func(tr *Transform)) Transform {
		tr := Transform{Number: good.Number, ID: good.ID, Attributes: append([]Attribute(nil), good.Attributes...)}
		f(&tr)
		return tr
	}
	set := func(typ AttributeType, v uint16) func(*Transform) {
		return func(tr *Transform) {
			for i := range tr.Attributes {
				if tr.Attributes[i].Type == typ {
					tr.Attributes[i] = BasicAttribute(typ, v)
				}
			}
		}
	}
	drop := func(typ AttributeType) func(*Transform) {
		return func(tr *Transform) {
			var out []Attribute
			for _, a := range tr.Attributes {
				if a.Type != typ {
					out = append(out, a)
				}
			}
			tr.Attributes = out
		}
	}
	bad := map[string]Transform{
		"id":        mutate(func(tr *Transform) { tr.ID = 2 }),
		"enc":       mutate(set(AttrEncryption, 1)),
		"keylen":    mutate(set(AttrKeyLength, 100)),
		"no keylen": mutate(drop(AttrKeyLength)),
		"hash":      mutate(set(AttrHash, 3)),
		"group":     mutate(set(AttrGroup, 1)),
		"no group":  mutate(drop(AttrGroup)),
		"auth rsa":  mutate(set(AttrAuthMethod, 3)),
		"no auth":   mutate(drop(AttrAuthMethod)),
		"prf":       mutate(func(tr *Transform) { tr.Attributes = append(tr.Attributes, BasicAttribute(AttrPRF, 1)) }),
		"huge life": mutate(func(tr *Transform) {
			drop(AttrLifeDuration)(tr)
			tr.Attributes = append(tr.Attributes, VariableAttribute(AttrLifeDuration, make([]byte, 9)))
		}),
		"no enc":      mutate(drop(AttrEncryption)),
		"3des bits64": mutate(func(tr *Transform) { set(AttrEncryption, 5)(tr); set(AttrKeyLength, 64)(tr) }),
	}
	for name, tr := range bad {
		if _, _, err := ikeProposalFromTransform(tr); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// Kilobyte lifetimes are ignored; only seconds count.
	tr := mutate(func(tr *Transform) {
		tr.Attributes = append(tr.Attributes, BasicAttribute(AttrLifeType, 2), BasicAttribute(AttrLifeDuration, 1000))
	})
	if _, life, err := ikeProposalFromTransform(tr); err != nil || life != time.Hour {
		t.Errorf("kilobytes: %v %v", life, err)
	}
}

func TestESPTransformRoundTrip(t *testing.T) {
	props := append([]ESPProposal(nil), DefaultESPProposals()...)
	props = append(props, ESPProposal{esp.AESCBC, 192, esp.HMACSHA384_192, MODP2048},
		ESPProposal{esp.AESGCM16, 256, esp.None, ECP384}, ESPProposal{esp.AESCBC, 128, esp.HMACSHA512_256, 0})
	encaps := []uint16{EncapTunnel, EncapTransport, EncapUDPTunnel, EncapUDPTransport, EncapUDPTunnelDraft, EncapUDPTransportDraft}
	for _, life := range []time.Duration{0, time.Hour, 100000 * time.Second} {
		for i, p := range props {
			encap := encaps[i%len(encaps)]
			tr := p.transform(uint8(i+1), encap, life)
			sa := SA{DOI: DOIIPsec, Situation: SituationIdentityOnly, Proposals: []Proposal{{
				Number: 1, Protocol: ProtoESP, SPI: []byte{1, 2, 3, 4}, Transforms: []Transform{tr}}}}
			parsed, err := parseSA(sa.AppendBody(nil))
			if err != nil {
				t.Fatal(err)
			}
			got, gotEncap, gotLife, err := espProposalFromTransform(parsed.Proposals[0].Transforms[0])
			if err != nil || got != p || gotEncap != encap || gotLife != life {
				t.Errorf("%v: got %v %d %v %v", p, got, gotEncap, gotLife, err)
			}
		}
	}
	ids := map[esp.EncAlg]uint8{esp.TripleDES: 3, esp.AESCBC: 12, esp.AESGCM16: 20}
	for _, p := range props {
		tr := p.transform(1, EncapTunnel, 0)
		if tr.ID != ids[p.Enc] {
			t.Errorf("%v: id %d", p, tr.ID)
		}
		_, hasAuth := tr.Attribute(AttrAuthAlgorithm)
		_, hasKeyLen := tr.Attribute(AttrSAKeyLength)
		if hasAuth == (p.Enc == esp.AESGCM16) || hasKeyLen == (p.Enc == esp.TripleDES) {
			t.Errorf("%v: attributes %v", p, tr.Attributes)
		}
	}
}

func TestESPTransformGolden(t *testing.T) {
	// QM2 of sw-sw-tunnel-aes128sha1: the responder's chosen transform.
	r := loadCryptoRuns(t)[2]
	plain := unhex(t, r.Encrypted[1].Plaintext)
	ps, _, err := ParsePayloads(PayloadHash, plain)
	if err != nil {
		t.Fatal(err)
	}
	sa, ok := FindPayload[*SA](ps)
	if !ok {
		t.Fatal("no SA")
	}
	p, encap, life, err := espProposalFromTransform(sa.Proposals[0].Transforms[0])
	if err != nil || p.String() != "aes128-sha1" || encap != EncapUDPTunnel || life == 0 {
		t.Errorf("%v encap %d life %v: %v", p, encap, life, err)
	}
}

func TestESPTransformErrors(t *testing.T) {
	bad := map[string]Transform{
		"id":        {ID: 2},
		"aes bits":  {ID: 12, Attributes: []Attribute{BasicAttribute(AttrSAKeyLength, 64), BasicAttribute(AttrAuthAlgorithm, 2)}},
		"3des bits": {ID: 3, Attributes: []Attribute{BasicAttribute(AttrSAKeyLength, 128), BasicAttribute(AttrAuthAlgorithm, 2)}},
		"auth":      {ID: 12, Attributes: []Attribute{BasicAttribute(AttrSAKeyLength, 128), BasicAttribute(AttrAuthAlgorithm, 9)}},
		"no auth":   {ID: 12, Attributes: []Attribute{BasicAttribute(AttrSAKeyLength, 128)}},
		"gcm auth":  {ID: 20, Attributes: []Attribute{BasicAttribute(AttrSAKeyLength, 128), BasicAttribute(AttrAuthAlgorithm, 2)}},
		"pfs group": {ID: 20, Attributes: []Attribute{BasicAttribute(AttrSAKeyLength, 128), BasicAttribute(AttrSAGroup, 1)}},
	}
	for name, tr := range bad {
		if _, _, _, err := espProposalFromTransform(tr); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestParseProposalsTruncation parses every prefix of the default lists:
// each either fails with a ProposalError or round-trips.
func TestParseProposalsTruncation(t *testing.T) {
	ike, espl := FormatIKEProposals(DefaultIKEProposals()), FormatESPProposals(DefaultESPProposals())
	for n := 0; n <= len(ike); n++ {
		checkIKEList(t, ike[:n])
	}
	for n := 0; n <= len(espl); n++ {
		checkESPList(t, espl[:n])
	}
}

func checkIKEList(t *testing.T, s string) {
	ps, err := ParseIKEProposals(s)
	if err != nil {
		if !errors.Is(err, ErrProposalSyntax) {
			t.Fatalf("%q: %v", s, err)
		}
		return
	}
	again, err := ParseIKEProposals(FormatIKEProposals(ps))
	if err != nil || len(again) != len(ps) {
		t.Fatalf("%q: reparse %v", s, err)
	}
	for i := range ps {
		if again[i] != ps[i] {
			t.Fatalf("%q: %v != %v", s, again[i], ps[i])
		}
	}
}

func checkESPList(t *testing.T, s string) {
	ps, err := ParseESPProposals(s)
	if err != nil {
		if !errors.Is(err, ErrProposalSyntax) {
			t.Fatalf("%q: %v", s, err)
		}
		return
	}
	again, err := ParseESPProposals(FormatESPProposals(ps))
	if err != nil || len(again) != len(ps) {
		t.Fatalf("%q: reparse %v", s, err)
	}
	for i := range ps {
		if again[i] != ps[i] {
			t.Fatalf("%q: %v != %v", s, again[i], ps[i])
		}
	}
}

// TestTransformTruncation reads every prefix of every default transform's
// wire body: each either fails cleanly or yields a proposal that round-trips.
func TestTransformTruncation(t *testing.T) {
	var bodies [][]byte
	for i, p := range DefaultIKEProposals() {
		tr := p.transform(uint8(i), 100000*time.Second)
		bodies = append(bodies, tr.append(nil, PayloadNone)[genericHeaderLen:])
	}
	for i, p := range DefaultESPProposals() {
		tr := p.transform(uint8(i), EncapUDPTransport, time.Hour)
		bodies = append(bodies, tr.append(nil, PayloadNone)[genericHeaderLen:])
	}
	for _, b := range bodies {
		for n := 4; n <= len(b); n++ {
			tr, err := parseTransform(b[:n])
			if err != nil {
				continue
			}
			if p, life, err := ikeProposalFromTransform(tr); err == nil {
				if p2, _, err := ikeProposalFromTransform(p.transform(1, life)); err != nil || p2 != p {
					t.Fatalf("%x: %v round trip %v %v", b[:n], p, p2, err)
				}
			}
			if p, encap, life, err := espProposalFromTransform(tr); err == nil {
				if p2, _, _, err := espProposalFromTransform(p.transform(1, encap, life)); err != nil || p2 != p {
					t.Fatalf("%x: %v round trip %v %v", b[:n], p, p2, err)
				}
			}
		}
	}
}

func FuzzParseProposals(f *testing.F) {
	f.Add(FormatIKEProposals(DefaultIKEProposals()))
	f.Add(FormatESPProposals(DefaultESPProposals()))
	f.Add("aes256gcm16-modp2048,3des-sha1-modp768!")
	f.Fuzz(func(t *testing.T, s string) {
		checkIKEList(t, s)
		checkESPList(t, s)
	})
}

// FuzzProposalFromTransform decodes a transform body and reads it as a
// phase-1 and as an ESP transform; whatever is accepted must round-trip.
func FuzzProposalFromTransform(f *testing.F) {
	for i, p := range DefaultIKEProposals() {
		tr := p.transform(uint8(i), 100000*time.Second)
		f.Add(tr.append(nil, PayloadNone)[genericHeaderLen:])
	}
	for i, p := range DefaultESPProposals() {
		tr := p.transform(uint8(i), EncapUDPTransport, time.Hour)
		f.Add(tr.append(nil, PayloadNone)[genericHeaderLen:])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 4 {
			return
		}
		tr, err := parseTransform(b)
		if err != nil {
			return
		}
		if p, life, err := ikeProposalFromTransform(tr); err == nil {
			if tr.ID != TransformKeyIKE || !p.Group.Supported() || !p.Hash.Supported() || life < 0 {
				t.Fatalf("accepted %v", p)
			}
			p2, _, err := ikeProposalFromTransform(p.transform(1, life))
			if err != nil || p2 != p {
				t.Fatalf("%v: round trip %v %v", p, p2, err)
			}
		}
		if p, encap, life, err := espProposalFromTransform(tr); err == nil {
			p2, encap2, _, err := espProposalFromTransform(p.transform(1, encap, life))
			if err != nil || p2 != p || encap2 != encap {
				t.Fatalf("%v: round trip %v %v", p, p2, err)
			}
		}
	})
}
