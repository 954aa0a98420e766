package l2tp

import (
	"encoding/binary"
	"strconv"
)

// AVP format, RFC 2661 4.1:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|M|H| rsvd  |      Length       |           Vendor ID           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Attribute Type        |        Attribute Value...
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

const (
	avpBitM       = 0x8000
	avpBitH       = 0x4000
	avpLengthMask = 0x03ff
	avpHeaderLen  = 6

	// MaxAVPValueLen is the longest Attribute Value an AVP can carry: the
	// Length field has 10 bits and counts the 6-octet AVP header.
	MaxAVPValueLen = avpLengthMask - avpHeaderLen
)

// AVPType is the Attribute Type of an AVP with Vendor ID 0 (RFC 2661 4.4).
type AVPType uint16

// Attribute types defined by RFC 2661 (section 4.4, IANA list in 10.1).
const (
	AVPMessageType               AVPType = 0
	AVPResultCode                AVPType = 1
	AVPProtocolVersion           AVPType = 2
	AVPFramingCapabilities       AVPType = 3
	AVPBearerCapabilities        AVPType = 4
	AVPTieBreaker                AVPType = 5
	AVPFirmwareRevision          AVPType = 6
	AVPHostName                  AVPType = 7
	AVPVendorName                AVPType = 8
	AVPAssignedTunnelID          AVPType = 9
	AVPReceiveWindowSize         AVPType = 10
	AVPChallenge                 AVPType = 11
	AVPQ931CauseCode             AVPType = 12
	AVPChallengeResponse         AVPType = 13
	AVPAssignedSessionID         AVPType = 14
	AVPCallSerialNumber          AVPType = 15
	AVPMinimumBPS                AVPType = 16
	AVPMaximumBPS                AVPType = 17
	AVPBearerType                AVPType = 18
	AVPFramingType               AVPType = 19
	AVPCalledNumber              AVPType = 21
	AVPCallingNumber             AVPType = 22
	AVPSubAddress                AVPType = 23
	AVPTxConnectSpeed            AVPType = 24
	AVPPhysicalChannelID         AVPType = 25
	AVPInitialReceivedLCPConfReq AVPType = 26
	AVPLastSentLCPConfReq        AVPType = 27
	AVPLastReceivedLCPConfReq    AVPType = 28
	AVPProxyAuthenType           AVPType = 29
	AVPProxyAuthenName           AVPType = 30
	AVPProxyAuthenChallenge      AVPType = 31
	AVPProxyAuthenID             AVPType = 32
	AVPProxyAuthenResponse       AVPType = 33
	AVPCallErrors                AVPType = 34
	AVPACCM                      AVPType = 35
	AVPRandomVector              AVPType = 36
	AVPPrivateGroupID            AVPType = 37
	AVPRxConnectSpeed            AVPType = 38
	AVPSequencingRequired        AVPType = 39
)

var avpNames = [...]string{
	AVPMessageType:               "Message Type",
	AVPResultCode:                "Result Code",
	AVPProtocolVersion:           "Protocol Version",
	AVPFramingCapabilities:       "Framing Capabilities",
	AVPBearerCapabilities:        "Bearer Capabilities",
	AVPTieBreaker:                "Tie Breaker",
	AVPFirmwareRevision:          "Firmware Revision",
	AVPHostName:                  "Host Name",
	AVPVendorName:                "Vendor Name",
	AVPAssignedTunnelID:          "Assigned Tunnel ID",
	AVPReceiveWindowSize:         "Receive Window Size",
	AVPChallenge:                 "Challenge",
	AVPQ931CauseCode:             "Q.931 Cause Code",
	AVPChallengeResponse:         "Challenge Response",
	AVPAssignedSessionID:         "Assigned Session ID",
	AVPCallSerialNumber:          "Call Serial Number",
	AVPMinimumBPS:                "Minimum BPS",
	AVPMaximumBPS:                "Maximum BPS",
	AVPBearerType:                "Bearer Type",
	AVPFramingType:               "Framing Type",
	AVPCalledNumber:              "Called Number",
	AVPCallingNumber:             "Calling Number",
	AVPSubAddress:                "Sub-Address",
	AVPTxConnectSpeed:            "Tx Connect Speed",
	AVPPhysicalChannelID:         "Physical Channel ID",
	AVPInitialReceivedLCPConfReq: "Initial Received LCP CONFREQ",
	AVPLastSentLCPConfReq:        "Last Sent LCP CONFREQ",
	AVPLastReceivedLCPConfReq:    "Last Received LCP CONFREQ",
	AVPProxyAuthenType:           "Proxy Authen Type",
	AVPProxyAuthenName:           "Proxy Authen Name",
	AVPProxyAuthenChallenge:      "Proxy Authen Challenge",
	AVPProxyAuthenID:             "Proxy Authen ID",
	AVPProxyAuthenResponse:       "Proxy Authen Response",
	AVPCallErrors:                "Call Errors",
	AVPACCM:                      "ACCM",
	AVPRandomVector:              "Random Vector",
	AVPPrivateGroupID:            "Private Group ID",
	AVPRxConnectSpeed:            "Rx Connect Speed",
	AVPSequencingRequired:        "Sequencing Required",
}

// String returns the RFC 2661 name of the attribute ("Result Code").
func (t AVPType) String() string {
	if t.known() {
		return avpNames[t]
	}
	return "AVP(" + strconv.Itoa(int(t)) + ")"
}

// known reports whether RFC 2661 defines t (with Vendor ID 0).
func (t AVPType) known() bool {
	return int(t) < len(avpNames) && avpNames[t] != ""
}

// AVP is one attribute-value pair. When Hidden is set, Value holds the hidden
// (wire) form; Reveal turns it back into the original value (RFC 2661 4.3).
type AVP struct {
	Mandatory bool  // M bit
	Hidden    bool  // H bit
	Reserved  uint8 // the four reserved header bits; non-zero makes the AVP unrecognized (4.1)
	Vendor    uint16
	Type      AVPType
	Value     []byte
}

// recognized reports whether we know this AVP (4.1: reserved bits set → unrecognized).
func (a *AVP) recognized() bool {
	return a.Vendor == 0 && a.Reserved == 0 && a.Type.known()
}

// Len is the encoded length; values beyond MaxAVPValueLen are cut (see Append).
func (a *AVP) Len() int {
	return avpHeaderLen + min(len(a.Value), MaxAVPValueLen)
}

// Append appends the encoded AVP to b. A Value longer than MaxAVPValueLen
// cannot be encoded and is cut at that length.
func (a *AVP) Append(b []byte) []byte {
	v := a.Value
	if len(v) > MaxAVPValueLen {
		v = v[:MaxAVPValueLen]
	}
	hdr := uint16(avpHeaderLen+len(v)) | uint16(a.Reserved&0x0f)<<10
	if a.Mandatory {
		hdr |= avpBitM
	}
	if a.Hidden {
		hdr |= avpBitH
	}
	b = binary.BigEndian.AppendUint16(b, hdr)
	b = binary.BigEndian.AppendUint16(b, a.Vendor)
	b = binary.BigEndian.AppendUint16(b, uint16(a.Type))
	return append(b, v...)
}

// parseAVP decodes the AVP at the front of b and returns the rest. The Length
// field is checked against the minimum of 6 and against len(b) before anything
// is sliced, so a bad length never mis-parses what follows. Value aliases b.
func parseAVP(b []byte) (AVP, []byte, error) {
	var a AVP
	if len(b) < avpHeaderLen {
		return a, nil, malformed("%d trailing octets, too short for an AVP", len(b))
	}
	hdr := binary.BigEndian.Uint16(b)
	n := int(hdr & avpLengthMask)
	a.Mandatory = hdr&avpBitM != 0
	a.Hidden = hdr&avpBitH != 0
	a.Reserved = uint8(hdr>>10) & 0x0f
	a.Vendor = binary.BigEndian.Uint16(b[2:])
	a.Type = AVPType(binary.BigEndian.Uint16(b[4:]))
	switch {
	case n < avpHeaderLen:
		return a, nil, malformed("AVP %d length %d is below the minimum of 6", a.Type, n)
	case n > len(b):
		return a, nil, malformed("AVP %d length %d runs past the message (%d octets left)", a.Type, n, len(b))
	}
	a.Value = b[avpHeaderLen:n:n]
	return a, b[n:], nil
}

// Uint16 decodes a 2-octet value (Assigned Tunnel ID, Receive Window Size, ...).
func (a *AVP) Uint16() (uint16, error) {
	if a.Hidden {
		return 0, malformed("%s is hidden", a.Type)
	}
	if len(a.Value) != 2 {
		return 0, malformed("%s has %d octets, want 2", a.Type, len(a.Value))
	}
	return binary.BigEndian.Uint16(a.Value), nil
}

// Uint32 decodes a 4-octet value (Framing Capabilities, Call Serial Number, ...).
func (a *AVP) Uint32() (uint32, error) {
	if a.Hidden {
		return 0, malformed("%s is hidden", a.Type)
	}
	if len(a.Value) != 4 {
		return 0, malformed("%s has %d octets, want 4", a.Type, len(a.Value))
	}
	return binary.BigEndian.Uint32(a.Value), nil
}

// Uint16AVP builds a 2-octet AVP.
func Uint16AVP(t AVPType, mandatory bool, v uint16) AVP {
	return AVP{Mandatory: mandatory, Type: t, Value: binary.BigEndian.AppendUint16(nil, v)}
}

// Uint32AVP builds a 4-octet AVP.
func Uint32AVP(t AVPType, mandatory bool, v uint32) AVP {
	return AVP{Mandatory: mandatory, Type: t, Value: binary.BigEndian.AppendUint32(nil, v)}
}

// BytesAVP builds an AVP with the given value (not copied).
func BytesAVP(t AVPType, mandatory bool, v []byte) AVP {
	return AVP{Mandatory: mandatory, Type: t, Value: v}
}

// Framing and bearer bits (RFC 2661 4.4.3, 4.4.4).
const (
	FramingSync  = 1 // S: synchronous framing
	FramingAsync = 2 // A: asynchronous framing
	BearerDigit  = 1 // D: digital access
	BearerAnalog = 2 // A: analog access
)

// Result is the value of a Result Code AVP (RFC 2661 4.4.2).
type Result struct {
	Code      uint16
	ErrorCode uint16 // 0 when absent
	Message   string // the optional Error Message
}

// ParseResult decodes a Result Code AVP value. NUL padding at the end of the
// message is dropped (SoftEther pads it with zeros).
func ParseResult(v []byte) (Result, error) {
	var r Result
	if len(v) < 2 {
		return r, malformed("Result Code has %d octets, want at least 2", len(v))
	}
	r.Code = binary.BigEndian.Uint16(v)
	if len(v) >= 4 {
		r.ErrorCode = binary.BigEndian.Uint16(v[2:])
	}
	if len(v) > 4 {
		m := v[4:]
		for len(m) > 0 && m[len(m)-1] == 0 {
			m = m[:len(m)-1]
		}
		r.Message = string(m)
	}
	return r, nil
}

// AVP encodes r as a Result Code AVP (M set): 8 octets with only a result code,
// 10 with an error code, more with a message.
func (r Result) AVP() AVP {
	v := binary.BigEndian.AppendUint16(nil, r.Code)
	if r.ErrorCode != 0 || r.Message != "" {
		v = binary.BigEndian.AppendUint16(v, r.ErrorCode)
		v = append(v, r.Message...)
	}
	return AVP{Mandatory: true, Type: AVPResultCode, Value: v}
}
