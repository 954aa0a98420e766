package ike

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sw-cert-frag.pcap: our client against strongSwan 5.9.8 with RSA 4096
// certificates and fragmentation = force on both sides (lab PKI:
// C=ZZ, O=l2tpvpn lab, CN=lab CA; server CN=vpn.lab.example; client
// CN=alice). sw-cert-frag.ikev1keys is the client's Wireshark key log of
// that run (a throwaway lab key). The server's messages are the reference:
// its CR in Main Mode 4 (in clear), its Main Mode 6 in fragments, which
// reassemble, decrypt with the logged key and carry ID_DER_ASN1_DN, its
// X.509 certificate and a signature.
func TestGoldenCertificateFragments(t *testing.T) {
	pcap := filepath.Join(capturesDir, "sw-cert-frag.pcap")
	payloads, ports := udpPayloads(t, pcap)
	ka := goldenIKEKey(t, filepath.Join(capturesDir, "sw-cert-frag.ikev1keys"))

	var ours, theirs reassembler
	var mm5, mm6 []byte
	var cr *CertRequest
	serverFrags := 0
	for i, p := range payloads {
		fromServer := ports[i] == 500 || ports[i] == 4500
		if len(p) >= 4 && p[0]|p[1]|p[2]|p[3] == 0 {
			p = p[4:] // non-ESP marker
		} else if len(p) < HeaderLen || p[0]|p[1]|p[2]|p[3] == 0xff {
			continue
		}
		if isFragment(p) {
			h, f, err := ParseFragment(p)
			if err != nil {
				t.Fatalf("datagram %d: a fragment that does not decode: %v", i+1, err)
			}
			r := &ours
			if fromServer {
				r, serverFrags = &theirs, serverFrags+1
			}
			w, _ := r.add(h, f, testEpoch)
			if w == nil {
				continue
			}
			p = w
		}
		m, err := Parse(p)
		if err != nil || m.Header.Exchange != ExchangeIDProt {
			continue
		}
		switch {
		case fromServer && m.Header.Flags&FlagEncryption == 0 && hasPayload[*KeyExchange](m.Payloads):
			cr, _ = FindPayload[*CertRequest](m.Payloads)
		case !fromServer && m.Header.Flags&FlagEncryption != 0 && mm5 == nil:
			mm5 = bytes.Clone(p)
		case fromServer && m.Header.Flags&FlagEncryption != 0 && mm6 == nil:
			mm6 = bytes.Clone(p)
		}
	}
	if serverFrags < 2 {
		t.Fatalf("%d fragments from the server, want its Main Mode 6 in several", serverFrags)
	}
	if cr == nil || cr.Encoding != CertX509Signature {
		t.Fatalf("no X.509 CR in the server's Main Mode 4: %+v", cr)
	}
	if got := formatDN(cr.Authority); got != "C=ZZ, O=l2tpvpn lab, CN=lab CA" {
		t.Errorf("CR names %q, want the lab CA", got)
	}
	if mm5 == nil || mm6 == nil {
		t.Fatalf("Main Mode 5 found %v, 6 found %v (reassembled from fragments)", mm5 != nil, mm6 != nil)
	}
	m5, _ := Parse(mm5)
	m6, _ := Parse(mm6)
	iv := m5.Ciphertext[len(m5.Ciphertext)-16:] // CBC: MM6 continues from MM5's last block
	pt, _, err := decryptCBC(EncAESCBC, ka, iv, m6.Ciphertext)
	if err != nil {
		t.Fatal(err)
	}
	ps, _, err := ParsePayloads(m6.Header.NextPayload, pt)
	if err != nil {
		t.Fatalf("Main Mode 6 decrypts to bad payloads: %v", err)
	}
	id, ok := FindPayload[*Identification](ps)
	if !ok || id.IDType != IDDERASN1DN || IDOf(id).String() != "dn:C=ZZ, O=l2tpvpn lab, CN=vpn.lab.example" {
		t.Errorf("server ID %v", id)
	}
	cert, ok := FindPayload[*Cert](ps)
	if !ok || cert.Encoding != CertX509Signature {
		t.Fatalf("no X.509 CERT in Main Mode 6: %s", summary(ps))
	}
	c, err := x509.ParseCertificate(cert.Data)
	if err != nil {
		t.Fatalf("the server's CERT payload: %v", err)
	}
	if c.Subject.CommonName != "vpn.lab.example" || !sameDN(c.RawSubject, id.Data) {
		t.Errorf("certificate subject %s does not match the ID", c.Subject)
	}
	if sig, ok := FindPayload[*Signature](ps); !ok || len(sig.Data) != 512 {
		t.Errorf("SIG payload: want a 4096-bit RSA signature (512 bytes): %v", sig)
	}
}

// goldenIKEKey reads the Ka of the only line of a Wireshark
// ikev1_decryption_table.
func goldenIKEKey(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		_, ka, ok := strings.Cut(l, ",")
		if k, err := hex.DecodeString(strings.Trim(strings.TrimSpace(ka), "\"")); ok && err == nil {
			return k
		}
	}
	t.Fatalf("%s: no key line", path)
	return nil
}
