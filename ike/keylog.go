package ike

// Key files for Wireshark, for debugging only: they hold secrets, so they
// are written only when the user asks for them, never logged.
//
// Both are Wireshark "user access tables" (UAT): one record per line, fields
// separated by commas. The IKEv1 table ("ikev1_decryption_table") maps the
// initiator cookie to Ka; its two fields are byte fields, which Wireshark
// writes and reads as bare hex (a quoted cookie is rejected as not being 8
// octets). The ESP table ("esp_sa") maps an SA (protocol, addresses, SPI) to
// its algorithms and keys; its fields are double-quoted strings, the
// algorithms named as Wireshark's ESP dissector names them.

import (
	"encoding/hex"
	"net/netip"
	"strconv"

	"github.com/l2tpvpn/l2tpvpn/esp"
)

// AppendIKEv1KeyLine appends one line of Wireshark's ikev1_decryption_table:
// <CKY-I as 16 hex digits>,<Ka in hex> and a newline (no quotes: see above).
func AppendIKEv1KeyLine(b []byte, ckyI [8]byte, ka []byte) []byte {
	b = hex.AppendEncode(b, ckyI[:])
	b = append(b, ',')
	b = hex.AppendEncode(b, ka)
	return append(b, '\n')
}

// AppendESPSALine appends one line of Wireshark's esp_sa table for the SA with
// the given SPI from src to dst:
// "IPv4","<src>","<dst>","0x<spi>","<enc>","0x<key>","<auth>","0x<key>".
// keymat is split like esp.NewSA splits it: encryption key (for AES-GCM the key
// and the 4-byte salt, which Wireshark wants together) then integrity key.
func AppendESPSALine(b []byte, src, dst netip.Addr, spi uint32, t esp.Transform, keymat []byte) []byte {
	proto := "IPv4"
	if src.Is6() && !src.Is4In6() {
		proto = "IPv6"
	}
	authName, authLen := wiresharkAuth(t.Integ)
	if authLen > len(keymat) {
		authLen = len(keymat)
	}
	encKey := keymat[:len(keymat)-authLen]
	authKey := keymat[len(keymat)-authLen:]

	b = appendQuoted(b, proto)
	b = append(b, ',')
	b = appendQuoted(b, addrOrWildcard(src))
	b = append(b, ',')
	b = appendQuoted(b, addrOrWildcard(dst))
	b = append(b, `,"0x`...)
	spiHex := strconv.FormatUint(uint64(spi), 16)
	for i := len(spiHex); i < 8; i++ {
		b = append(b, '0')
	}
	b = append(b, spiHex...)
	b = append(b, `",`...)
	b = appendQuoted(b, wiresharkEnc(t.Enc))
	b = append(b, `,"0x`...)
	b = hex.AppendEncode(b, encKey)
	b = append(b, `",`...)
	b = appendQuoted(b, authName)
	b = append(b, `,"`...)
	if len(authKey) > 0 {
		b = append(b, "0x"...)
		b = hex.AppendEncode(b, authKey)
	}
	return append(b, "\"\n"...)
}

func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// wiresharkEnc returns the name of Wireshark's esp_encryption_type_vals.
func wiresharkEnc(a esp.EncAlg) string {
	switch a {
	case esp.AESCBC:
		return "AES-CBC [RFC3602]"
	case esp.TripleDES:
		return "TripleDES-CBC [RFC2451]"
	case esp.AESGCM16:
		return "AES-GCM with 16 octet ICV [RFC4106]"
	}
	return "NULL"
}

// wiresharkAuth returns the name of Wireshark's esp_authentication_type_vals
// and the integrity key length.
func wiresharkAuth(a esp.IntegAlg) (string, int) {
	switch a {
	case esp.HMACSHA1_96:
		return "HMAC-SHA-1-96 [RFC2404]", 20
	case esp.HMACSHA256_128:
		return "HMAC-SHA-256-128 [RFC4868]", 32
	case esp.HMACSHA256_96:
		return "HMAC-SHA-256-96 [draft-ietf-ipsec-ciph-sha-256-00]", 32
	case esp.HMACSHA384_192:
		return "HMAC-SHA-384-192 [RFC4868]", 48
	case esp.HMACSHA512_256:
		return "HMAC-SHA-512-256 [RFC4868]", 64
	case esp.HMACMD5_96:
		return "HMAC-MD5-96 [RFC2403]", 16
	}
	return "NULL", 0
}

// addrOrWildcard is the address, or "*" (any) for the zero Addr.
func addrOrWildcard(a netip.Addr) string {
	if !a.IsValid() {
		return "*"
	}
	return a.Unmap().String()
}
