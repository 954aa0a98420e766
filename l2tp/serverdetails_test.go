package l2tp

// What real servers send beyond the basics (issue 12): the short Result
// Code forms, vendor-specific AVPs that reuse IETF attribute numbers, and
// the SCCRP's identification of the server.

import (
	"encoding/hex"
	"errors"
	"testing"
	"testing/synctest"
)

// RFC 2661 4.4.2: the Error Code and Error Message are optional. MikroTik
// (and xl2tpd since 1.3.14) send an 8-octet Result Code AVP, the result
// code alone; xl2tpd used to refuse it ("avp is incorrect size. 8 < 10").
func TestResultCodeForms(t *testing.T) {
	for _, tc := range []struct {
		name, avp string
		want      Result
	}{
		{"mikrotik 8-octet AVP", "800800000001" + "0003", Result{Code: 3}},
		{"with error code", "800a00000001" + "0002" + "0006", Result{Code: 2, ErrorCode: 6}},
		{"odd 3-octet value", "800900000001" + "000100", Result{Code: 1}},
		{"full with message", "801000000001" + "0002" + "0004" + "6e6f20697073", Result{Code: 2, ErrorCode: 4, Message: "no ips"}},
	} {
		cdn := NewMessage(CDN, 7, 9)
		cdn.Add(Uint16AVP(AVPAssignedSessionID, true, 9))
		wire := cdn.Append(nil)
		raw, _ := hex.DecodeString(tc.avp)
		wire = append(wire, raw...)
		wire[2], wire[3] = byte(len(wire)>>8), byte(len(wire)) // the header's Length
		m, err := ParseMessage(wire, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if err := m.CheckMandatory(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		e := resultError(&m)
		if e.Result != tc.want.Code || e.ErrorCode != tc.want.ErrorCode || e.Text != tc.want.Message {
			t.Errorf("%s: %+v, want %+v", tc.name, *e, tc.want)
		}
		if s := e.Error(); tc.want == (Result{Code: 3}) && s != "l2tp: server disconnected the session (CDN): administrative (result 3)" {
			t.Errorf("%s: %q", tc.name, s)
		}
	}
	// Our own result-only AVP is the same 8-octet form.
	if a := (Result{Code: 1}).AVP(); a.Len() != 8 {
		t.Errorf("result-only AVP is %d octets", a.Len())
	}
}

// RFC 2661 4.1: the Attribute Type is defined per Vendor ID. A Microsoft
// (311) AVP of type 8 is not the IETF Vendor Name, whether it comes before
// or after the real one; unknown vendor AVPs are skipped unless their M bit
// is set, which clears the tunnel (4.1) even though IETF type 8 is known.
func TestVendorAVPMatchedOnVendorID(t *testing.T) {
	msft := AVP{Vendor: 311, Type: AVPVendorName, Value: []byte("not the vendor name")}
	bbf := AVP{Vendor: 3561, Type: AVPProtocolVersion, Value: []byte("DEU.QSC.CP250572")} // xl2tpd issue 163
	m := NewMessage(SCCRP, 1, 0)
	m.Add(msft, bbf, Uint16AVP(AVPProtocolVersion, true, 0x0100), BytesAVP(AVPVendorName, false, []byte("MikroTik")), msft)
	got, err := ParseMessage(m.Append(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := got.Find(AVPVendorName); !ok || string(a.Value) != "MikroTik" {
		t.Errorf("Vendor Name %q %v", a.Value, ok)
	}
	if a, ok := got.Find(AVPProtocolVersion); !ok || a.Vendor != 0 {
		t.Errorf("Protocol Version from vendor %d", a.Vendor)
	}
	if err := got.CheckMandatory(); err != nil {
		t.Errorf("non-mandatory vendor AVPs: %v", err)
	}
	only := NewMessage(SCCRP, 1, 0)
	only.Add(msft)
	got, _ = ParseMessage(only.Append(nil), nil)
	if a, ok := got.Find(AVPVendorName); ok {
		t.Errorf("vendor 311 type 8 taken for the Vendor Name: %q", a.Value)
	}
	if s := describeAVP(&got.AVPs[1]); s != "vendor-311-avp-8" {
		t.Errorf("logged as %q", s)
	}
	msft.Mandatory = true
	hello := NewMessage(HELLO, 1, 0)
	hello.Add(msft)
	got, _ = ParseMessage(hello.Append(nil), nil)
	var u *UnknownMandatoryError
	if err := got.CheckMandatory(); !errors.As(err, &u) || u.Vendor != 311 || u.Type != AVPVendorName {
		t.Errorf("mandatory vendor 311 type 8: %v", err)
	}
}

// The SCCRP's host name, vendor and firmware identify the server family;
// a vendor AVP with type 8 does not overwrite the vendor.
func TestSCCRPIdentification(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLNS(t, Config{})
		_, res := f.startEstablish()
		f.deliver(f.sccrp(Uint16AVP(AVPFirmwareRevision, false, 0x0605),
			AVP{Vendor: 311, Type: AVPVendorName, Value: []byte("other")},
			AVP{Vendor: 311, Type: AVPFirmwareRevision, Value: []byte{0xde, 0xad}}))
		f.expect(SCCCN)
		r := <-res
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.v.PeerHostName != "fake-lns" || r.v.PeerVendor != "fake" || r.v.PeerFirmware != 0x0605 {
			t.Errorf("tunnel info %+v", r.v)
		}
		f.zlb()
	})
}
