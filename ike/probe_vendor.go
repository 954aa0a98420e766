package ike

// Vendor IDs that name an implementation, for `l2tpvpn probe`: which family
// of server answered. Only IDs whose bytes have a public, checkable source
// are listed; any other ID is shown as hex.
//
//	strongSwan   MD5("strongSwan"), charon's own ID (sent with send_vendor_id)
//	Cisco Unity  MD5("CISCO-UNITY"), the first 14 bytes, then major 1 minor 0
//	Windows      MD5("MS NT5 ISAKMPOAKLEY") then a 4-byte version (vendor.go)
//	Libreswan    the ASCII string "OE-Libreswan-" and its version (libreswan
//	             lib/libswan/lswversion.c, sent with send-vendorid)
//	Openswan     4f4548724b6e5e68557c604f (2.2.0) and 4f4572696f5c77557f746249
//	             (2.3.0), as nmap's ike-fingerprints.lua records them
//	FortiGate    1d6e178f6c2c0be284985465450fe9d4 (nmap ike-fingerprints.lua)
//	SonicWall    404bf439522ca3f6 (ike-scan's ike-vendor-ids, nmap) and
//	             5b362bc820f6 then a model byte pair (nmap)
//
// The MD5 ones were checked by computing the hash. SoftEther sends no ID of
// its own: its answer carries exactly RFC 3947, NAT-T drafts 03, 02, 02\n
// and 00, and DPD (IkeAddVendorIdPayloads in SoftEther's Proto_IKE.c); that
// set is taken as a hint only. MikroTik RouterOS and Cisco Meraki publish
// no ID we could confirm, so they are not recognised here.

import (
	"bytes"
	"encoding/hex"
	"slices"
)

// Server families a vendor ID can name.
const (
	FamilyStrongSwan = "strongswan"
	FamilyLibreswan  = "libreswan" // also Openswan
	FamilyWindows    = "windows"
	FamilyCisco      = "cisco"
	FamilyFortiGate  = "fortigate"
	FamilySonicWall  = "sonicwall"
	FamilySoftEther  = "softether"
)

var familyIDs = []struct {
	prefix string
	name   string
	family string
}{
	{"\x88\x2f\xe5\x6d\x6f\xd2\x0d\xbc\x22\x51\x61\x3b\x2e\xbe\x5b\xeb", "strongSwan", FamilyStrongSwan},
	{"\x12\xf5\xf2\x8c\x45\x71\x68\xa9\x70\x2d\x9f\xe2\x74\xcc", "Cisco Unity", FamilyCisco},
	{vendorIDs[VendorMSNT5ISAKMPOAKLEY].id[:prefixLen], "MS NT5 ISAKMPOAKLEY", FamilyWindows},
	{"OE-Libreswan-", "Libreswan", FamilyLibreswan},
	{"\x4f\x45\x48\x72\x4b\x6e\x5e\x68\x55\x7c\x60\x4f", "Openswan 2.2.0", FamilyLibreswan},
	{"\x4f\x45\x72\x69\x6f\x5c\x77\x55\x7f\x74\x62\x49", "Openswan 2.3.0", FamilyLibreswan},
	{"\x1d\x6e\x17\x8f\x6c\x2c\x0b\xe2\x84\x98\x54\x65\x45\x0f\xe9\xd4", "FortiGate", FamilyFortiGate},
	{"\x40\x4b\xf4\x39\x52\x2c\xa3\xf6", "SonicWall", FamilySonicWall},
	{"\x5b\x36\x2b\xc8\x20\xf6", "SonicWall", FamilySonicWall},
}

// DescribeVendorID names a vendor ID: a capability (NAT-T, DPD, ...), an
// implementation with its family, or the hex of an unknown one.
func DescribeVendorID(b []byte) (name, family string) {
	if v := (&VendorID{Data: b}).Vendor(); v != VendorUnknown {
		if v == VendorMSNT5ISAKMPOAKLEY {
			return v.String(), FamilyWindows
		}
		return v.String(), ""
	}
	for _, f := range familyIDs {
		if bytes.HasPrefix(b, []byte(f.prefix)) {
			if f.family == FamilyLibreswan && f.name == "Libreswan" {
				return string(b), f.family // "OE-Libreswan-5.0"
			}
			return f.name, f.family
		}
	}
	return hex.EncodeToString(b), ""
}

// softEtherVendors is the set of IDs SoftEther's IKE server sends.
var softEtherVendors = []Vendor{VendorNATTRFC3947, VendorNATTDraft03, VendorNATTDraft02, VendorNATTDraft02N, VendorNATTDraft00, VendorDPD}

// VendorFamily is the server family the vendor IDs of one answer name,
// "" if none. An implementation's own ID decides; failing that, exactly
// SoftEther's set of capability IDs suggests SoftEther (hint is then true).
func VendorFamily(ids [][]byte) (family string, hint bool) {
	var seen []Vendor
	for _, b := range ids {
		if _, f := DescribeVendorID(b); f != "" {
			return f, false
		}
		seen = append(seen, (&VendorID{Data: b}).Vendor())
	}
	if len(seen) == len(softEtherVendors) {
		match := true
		for _, v := range softEtherVendors {
			if !slices.Contains(seen, v) {
				match = false
			}
		}
		if match {
			return FamilySoftEther, true
		}
	}
	return "", false
}

// NATTSupport says which NAT traversal the vendor IDs announce: "RFC 3947",
// the newest draft, or "" for none.
func NATTSupport(ids [][]byte) string {
	best := ""
	for _, b := range ids {
		switch v := (&VendorID{Data: b}).Vendor(); v {
		case VendorNATTRFC3947:
			return "RFC 3947"
		case VendorNATTDraft03, VendorNATTDraft02, VendorNATTDraft02N, VendorNATTDraft00:
			if best == "" || v == VendorNATTDraft03 {
				best = v.String()
			}
		}
	}
	return best
}
