package ike

// The Vendor ID payload, RFC 2408 3.16, and the vendor IDs that matter to an
// L2TP/IPsec client: NAT traversal (RFC 3947 and its drafts, whose IDs are
// MD5 of the names below), dead peer detection (RFC 3706 2.1), XAUTH, IKE
// fragmentation as Cisco announces it, and Windows' "MS NT5 ISAKMPOAKLEY".

import (
	"bytes"
	"strconv"
)

// VendorID is the Vendor ID payload. Data aliases the input when decoded.
type VendorID struct {
	Data []byte
}

// Type returns PayloadVendorID.
func (p *VendorID) Type() PayloadType { return PayloadVendorID }

// AppendBody appends the vendor ID.
func (p *VendorID) AppendBody(b []byte) []byte { return append(b, p.Data...) }

func parseVendorID(b []byte) (*VendorID, error) {
	if len(b) == 0 {
		return nil, malformed(PayloadVendorID, "empty vendor ID")
	}
	return &VendorID{Data: b}, nil
}

// Vendor names a known vendor ID.
type Vendor int

// Known vendor IDs.
const (
	VendorUnknown           Vendor = iota
	VendorNATTRFC3947              // MD5("RFC 3947")
	VendorNATTDraft00              // MD5("draft-ietf-ipsec-nat-t-ike-00")
	VendorNATTDraft02              // MD5("draft-ietf-ipsec-nat-t-ike-02")
	VendorNATTDraft02N             // MD5("draft-ietf-ipsec-nat-t-ike-02\n")
	VendorNATTDraft03              // MD5("draft-ietf-ipsec-nat-t-ike-03")
	VendorDPD                      // RFC 3706, version 1.0
	VendorXAUTH                    // draft-ietf-ipsec-isakmp-xauth
	VendorFragmentation            // Cisco-style IKE fragmentation; 4 flag bytes follow
	VendorMSNT5ISAKMPOAKLEY        // Windows; a 4-byte version follows
)

var vendorNames = [...]string{
	VendorUnknown:           "unknown",
	VendorNATTRFC3947:       "RFC 3947 NAT-T",
	VendorNATTDraft00:       "draft-ietf-ipsec-nat-t-ike-00",
	VendorNATTDraft02:       "draft-ietf-ipsec-nat-t-ike-02",
	VendorNATTDraft02N:      `draft-ietf-ipsec-nat-t-ike-02\n`,
	VendorNATTDraft03:       "draft-ietf-ipsec-nat-t-ike-03",
	VendorDPD:               "DPD",
	VendorXAUTH:             "XAUTH",
	VendorFragmentation:     "FRAGMENTATION",
	VendorMSNT5ISAKMPOAKLEY: "MS NT5 ISAKMPOAKLEY",
}

func (v Vendor) String() string {
	if v >= 0 && int(v) < len(vendorNames) {
		return vendorNames[v]
	}
	return "VENDOR(" + strconv.Itoa(int(v)) + ")"
}

// vendorIDs are the IDs we send for each vendor; prefix says that received
// IDs match on this prefix only (a version or flags follow).
var vendorIDs = [...]struct {
	id     string
	prefix bool
}{
	VendorNATTRFC3947:       {"\x4a\x13\x1c\x81\x07\x03\x58\x45\x5c\x57\x28\xf2\x0e\x95\x45\x2f", false},
	VendorNATTDraft00:       {"\x44\x85\x15\x2d\x18\xb6\xbb\xcd\x0b\xe8\xa8\x46\x95\x79\xdd\xcc", false},
	VendorNATTDraft02:       {"\xcd\x60\x46\x43\x35\xdf\x21\xf8\x7c\xfd\xb2\xfc\x68\xb6\xa4\x48", false},
	VendorNATTDraft02N:      {"\x90\xcb\x80\x91\x3e\xbb\x69\x6e\x08\x63\x81\xb5\xec\x42\x7b\x1f", false},
	VendorNATTDraft03:       {"\x7d\x94\x19\xa6\x53\x10\xca\x6f\x2c\x17\x9d\x92\x15\x52\x9d\x56", false},
	VendorDPD:               {"\xaf\xca\xd7\x13\x68\xa1\xf1\xc9\x6b\x86\x96\xfc\x77\x57\x01\x00", false},
	VendorXAUTH:             {"\x09\x00\x26\x89\xdf\xd6\xb7\x12", false},
	VendorFragmentation:     {"\x40\x48\xb7\xd5\x6e\xbc\xe8\x85\x25\xe7\xde\x7f\x00\xd6\xc2\xd3\x80\x00\x00\x00", true},
	VendorMSNT5ISAKMPOAKLEY: {"\x1e\x2b\x51\x69\x05\x99\x1c\x7d\x7c\x96\xfc\xbf\xb5\x87\xe4\x61\x00\x00\x00\x09", true},
}

// prefixLen is how much of a prefix-matched ID is compared: the 16-byte hash
// before the version or flags.
const prefixLen = 16

// ID returns the vendor ID bytes we send for v (nil for VendorUnknown). For
// Fragmentation the flags are 0x80000000, for MS NT5 the version is 9.
func (v Vendor) ID() []byte {
	if v <= VendorUnknown || int(v) >= len(vendorIDs) {
		return nil
	}
	return []byte(vendorIDs[v].id)
}

// Vendor identifies the vendor ID, VendorUnknown if it is none of the known.
func (p *VendorID) Vendor() Vendor {
	for v := VendorUnknown + 1; int(v) < len(vendorIDs); v++ {
		known := vendorIDs[v]
		if known.prefix {
			if len(p.Data) >= prefixLen && bytes.Equal(p.Data[:prefixLen], []byte(known.id[:prefixLen])) {
				return v
			}
			continue
		}
		if string(p.Data) == known.id {
			return v
		}
	}
	return VendorUnknown
}

// NewVendorID returns the Vendor ID payload announcing v.
func NewVendorID(v Vendor) *VendorID { return &VendorID{Data: v.ID()} }
