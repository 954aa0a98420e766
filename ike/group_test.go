package ike

import (
	"bytes"
	"errors"
	"math/big"
	"strings"
	"testing"
)

var allGroups = []Group{MODP1024, MODP1536, MODP2048, MODP3072, MODP4096, ECP256, ECP384}

func TestGroupNames(t *testing.T) {
	want := map[Group]string{
		MODP768: "modp768", MODP1024: "modp1024", MODP1536: "modp1536", MODP2048: "modp2048",
		MODP3072: "modp3072", MODP4096: "modp4096", ECP256: "ecp256", ECP384: "ecp384", 99: "group(99)",
	}
	for g, s := range want {
		if g.String() != s {
			t.Errorf("%d: %q, want %q", uint16(g), g.String(), s)
		}
	}
	if MODP768.Supported() || Group(99).Supported() || Group(0).Supported() {
		t.Error("modp768/99/0 supported")
	}
	if _, err := NewDH(MODP768, nil); !errors.Is(err, ErrUnsupported) {
		t.Errorf("NewDH(modp768): %v", err)
	}
}

func TestModpPrimes(t *testing.T) {
	bits := map[Group]int{MODP1024: 1024, MODP1536: 1536, MODP2048: 2048, MODP3072: 3072, MODP4096: 4096}
	for g, n := range bits {
		p := g.modpPrime()
		if p == nil || p.BitLen() != n || !p.ProbablyPrime(4) {
			t.Errorf("%v: bad prime", g)
			continue
		}
		// Safe prime: (p-1)/2 is prime too (RFC 3526), and the low 64 bits are all ones.
		q := new(big.Int).Rsh(p, 1)
		if !q.ProbablyPrime(2) || p.Uint64() != ^uint64(0) {
			t.Errorf("%v: not the RFC 3526 form", g)
		}
	}
}

func TestDHAgreement(t *testing.T) {
	for _, g := range allGroups {
		a, err := NewDH(g, nil)
		if err != nil {
			t.Fatalf("%v: %v", g, err)
		}
		b, err := NewDH(g, nil)
		if err != nil {
			t.Fatalf("%v: %v", g, err)
		}
		if a.Group() != g {
			t.Errorf("%v: Group() = %v", g, a.Group())
		}
		s1, err1 := a.Shared(b.Public())
		s2, err2 := b.Shared(a.Public())
		if err1 != nil || err2 != nil || !bytes.Equal(s1, s2) {
			t.Errorf("%v: no agreement: %v %v", g, err1, err2)
		}
		wantPub, wantShared := len(a.Public()), len(s1)
		if strings.HasPrefix(g.String(), "ecp") {
			if wantPub != 2*wantShared {
				t.Errorf("%v: public %d bytes, shared %d", g, wantPub, wantShared)
			}
		} else if wantPub != (g.modpPrime().BitLen()+7)/8 || wantShared != wantPub {
			t.Errorf("%v: public %d bytes, shared %d", g, wantPub, wantShared)
		}
	}
}

func TestModpPadding(t *testing.T) {
	// A small exponent gives a public value shorter than the prime: it
	// must be left-padded. 2^1 = 2.
	d := newMODP(MODP1024, big.NewInt(1))
	pub := d.Public()
	if len(pub) != 128 || pub[127] != 2 || !bytes.Equal(pub[:127], make([]byte, 127)) {
		t.Errorf("public %x", pub)
	}
	peer := make([]byte, 128)
	peer[127] = 3
	s, err := d.Shared(peer) // 3^1
	if err != nil || len(s) != 128 || s[127] != 3 {
		t.Errorf("shared %x %v", s, err)
	}
}

func TestModpSharedRejects(t *testing.T) {
	d, err := NewDH(MODP2048, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := MODP2048.modpPrime()
	pad := func(v *big.Int) []byte { return v.FillBytes(make([]byte, 256)) }
	bad := map[string][]byte{
		"zero":     make([]byte, 256),
		"one":      pad(big.NewInt(1)),
		"p-1":      pad(new(big.Int).Sub(p, big.NewInt(1))),
		"p":        pad(p),
		"all ones": bytes.Repeat([]byte{0xff}, 256),
		"short":    make([]byte, 255),
		"long":     append(pad(big.NewInt(2)), 0),
		"empty":    nil,
	}
	for name, v := range bad {
		if _, err := d.Shared(v); !errors.Is(err, ErrInvalidKE) {
			t.Errorf("%s: %v", name, err)
		}
	}
	s1, err := d.Shared(pad(big.NewInt(2)))
	if err != nil {
		t.Errorf("2: %v", err)
	}
	// SoftEther drops the leading zeros of its public value: same number.
	if s2, err := d.Shared([]byte{2}); err != nil || !bytes.Equal(s1, s2) {
		t.Errorf("2 without leading zeros: %v", err)
	}
}

func TestECPSharedRejects(t *testing.T) {
	for _, g := range []Group{ECP256, ECP384} {
		d, err := NewDH(g, nil)
		if err != nil {
			t.Fatal(err)
		}
		pub := d.Public()
		off := append([]byte(nil), pub...)
		off[len(off)-1] ^= 1 // y changed: not on the curve
		for name, v := range map[string][]byte{
			"off curve": off, "zero": make([]byte, len(pub)), "short": pub[:len(pub)-1],
			"long": append(append([]byte(nil), pub...), 0), "with 04": append([]byte{4}, pub...), "empty": nil,
		} {
			if _, err := d.Shared(v); !errors.Is(err, ErrInvalidKE) {
				t.Errorf("%v %s: %v", g, name, err)
			}
		}
	}
}

// TestRFC5903Vectors checks the test vectors of RFC 5903 section 8: the
// KE payload data (x || y) of both sides and the shared x coordinate.
func TestRFC5903Vectors(t *testing.T) {
	vectors := []struct {
		g                        Group
		i, gix, giy, r, grx, gry string
		girx                     string
	}{
		{
			g:    ECP256,
			i:    "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
			gix:  "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180",
			giy:  "5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
			r:    "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53",
			grx:  "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63",
			gry:  "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
			girx: "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE",
		},
		{
			g:    ECP384,
			i:    "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655E35B538041E649EE3FAEF896783AB194",
			gix:  "667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6DE3AC808ACB4BDB4C88732AEE95F41AA",
			giy:  "9482ED1FC0EEB9CAFC4984625CCFC23F65032149E0E144ADA024181535A0F38EEB9FCFF3C2C947DAE69B4C634573A81C",
			r:    "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942E0308312916B8ED2960E4BD55A7448FC",
			grx:  "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D0D1AC43A0336DEF96FDA41D0774A3571",
			gry:  "DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FFF83FA40142209DFF5EAAD96DB9E6386C",
			girx: "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4D603135569B9E9D09CF5D4A270F59746",
		},
	}
	for _, v := range vectors {
		c := v.g.curve()
		ki, err1 := c.NewPrivateKey(unhex(t, v.i))
		kr, err2 := c.NewPrivateKey(unhex(t, v.r))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		di, dr := &DH{group: v.g, priv: ki}, &DH{group: v.g, priv: kr}
		if got, want := di.Public(), unhex(t, v.gix+v.giy); !bytes.Equal(got, want) {
			t.Errorf("%v g^i = %X, want %X", v.g, got, want)
		}
		if got, want := dr.Public(), unhex(t, v.grx+v.gry); !bytes.Equal(got, want) {
			t.Errorf("%v g^r = %X, want %X", v.g, got, want)
		}
		for _, pair := range [][2]*DH{{di, dr}, {dr, di}} {
			s, err := pair[0].Shared(pair[1].Public())
			if err != nil || !bytes.Equal(s, unhex(t, v.girx)) {
				t.Errorf("%v g^ir = %X, %v", v.g, s, err)
			}
		}
	}
}

func FuzzDHShared(f *testing.F) {
	dhs := map[Group]*DH{}
	for _, g := range []Group{MODP1024, ECP256} {
		d, err := NewDH(g, nil)
		if err != nil {
			f.Fatal(err)
		}
		dhs[g] = d
		f.Add(uint16(g), d.Public())
	}
	f.Fuzz(func(t *testing.T, g uint16, peer []byte) {
		d := dhs[MODP1024]
		if g%2 == 1 {
			d = dhs[ECP256]
		}
		s, err := d.Shared(peer)
		if err == nil && len(s) == 0 {
			t.Fatal("empty secret without error")
		}
	})
}
