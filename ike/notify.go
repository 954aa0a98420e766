package ike

// The Notification payload, RFC 2408 3.14:
//
//	!              Domain of Interpretation  (DOI)                  !
//	!  Protocol-ID  !   SPI Size    !      Notify Message Type      !
//	~                Security Parameter Index (SPI)                 ~
//	~                       Notification Data                       ~
//
// Message types: RFC 2408 3.14.1, RFC 2407 4.6.3, RFC 3706 (DPD).

import (
	"encoding/binary"
	"strconv"
)

// NotifyType is a notify message type.
type NotifyType uint16

// Error types (RFC 2408 3.14.1).
const (
	NotifyInvalidPayloadType      NotifyType = 1
	NotifyDOINotSupported         NotifyType = 2
	NotifySituationNotSupported   NotifyType = 3
	NotifyInvalidCookie           NotifyType = 4
	NotifyInvalidMajorVersion     NotifyType = 5
	NotifyInvalidMinorVersion     NotifyType = 6
	NotifyInvalidExchangeType     NotifyType = 7
	NotifyInvalidFlags            NotifyType = 8
	NotifyInvalidMessageID        NotifyType = 9
	NotifyInvalidProtocolID       NotifyType = 10
	NotifyInvalidSPI              NotifyType = 11
	NotifyInvalidTransformID      NotifyType = 12
	NotifyAttributesNotSupported  NotifyType = 13
	NotifyNoProposalChosen        NotifyType = 14
	NotifyBadProposalSyntax       NotifyType = 15
	NotifyPayloadMalformed        NotifyType = 16
	NotifyInvalidKeyInformation   NotifyType = 17
	NotifyInvalidIDInformation    NotifyType = 18
	NotifyInvalidCertEncoding     NotifyType = 19
	NotifyInvalidCertificate      NotifyType = 20
	NotifyCertTypeUnsupported     NotifyType = 21
	NotifyInvalidCertAuthority    NotifyType = 22
	NotifyInvalidHashInformation  NotifyType = 23
	NotifyAuthenticationFailed    NotifyType = 24
	NotifyInvalidSignature        NotifyType = 25
	NotifyAddressNotification     NotifyType = 26
	NotifyNotifySALifetime        NotifyType = 27
	NotifyCertificateUnavailable  NotifyType = 28
	NotifyUnsupportedExchangeType NotifyType = 29
	NotifyUnequalPayloadLengths   NotifyType = 30
	notifyErrorMax                NotifyType = 16383
	NotifyConnected               NotifyType = 16384 // RFC 2408 3.14.1
	NotifyResponderLifetime       NotifyType = 24576 // RFC 2407 4.6.3.1
	NotifyReplayStatus            NotifyType = 24577 // RFC 2407 4.6.3.2
	NotifyInitialContact          NotifyType = 24578 // RFC 2407 4.6.3.3
	NotifyRUThere                 NotifyType = 36136 // RFC 3706 5
	NotifyRUThereAck              NotifyType = 36137 // RFC 3706 5
)

var notifyErrorNames = [...]string{
	1: "INVALID-PAYLOAD-TYPE", 2: "DOI-NOT-SUPPORTED", 3: "SITUATION-NOT-SUPPORTED",
	4: "INVALID-COOKIE", 5: "INVALID-MAJOR-VERSION", 6: "INVALID-MINOR-VERSION",
	7: "INVALID-EXCHANGE-TYPE", 8: "INVALID-FLAGS", 9: "INVALID-MESSAGE-ID",
	10: "INVALID-PROTOCOL-ID", 11: "INVALID-SPI", 12: "INVALID-TRANSFORM-ID",
	13: "ATTRIBUTES-NOT-SUPPORTED", 14: "NO-PROPOSAL-CHOSEN", 15: "BAD-PROPOSAL-SYNTAX",
	16: "PAYLOAD-MALFORMED", 17: "INVALID-KEY-INFORMATION", 18: "INVALID-ID-INFORMATION",
	19: "INVALID-CERT-ENCODING", 20: "INVALID-CERTIFICATE", 21: "CERT-TYPE-UNSUPPORTED",
	22: "INVALID-CERT-AUTHORITY", 23: "INVALID-HASH-INFORMATION", 24: "AUTHENTICATION-FAILED",
	25: "INVALID-SIGNATURE", 26: "ADDRESS-NOTIFICATION", 27: "NOTIFY-SA-LIFETIME",
	28: "CERTIFICATE-UNAVAILABLE", 29: "UNSUPPORTED-EXCHANGE-TYPE", 30: "UNEQUAL-PAYLOAD-LENGTHS",
}

func (t NotifyType) String() string {
	if t > 0 && int(t) < len(notifyErrorNames) {
		return notifyErrorNames[t]
	}
	switch t {
	case NotifyConnected:
		return "CONNECTED"
	case NotifyResponderLifetime:
		return "RESPONDER-LIFETIME"
	case NotifyReplayStatus:
		return "REPLAY-STATUS"
	case NotifyInitialContact:
		return "INITIAL-CONTACT"
	case NotifyRUThere:
		return "R-U-THERE"
	case NotifyRUThereAck:
		return "R-U-THERE-ACK"
	}
	return "NOTIFY(" + strconv.Itoa(int(t)) + ")"
}

// IsError reports whether t is an error type (1 to 16383, RFC 2408 3.14.1).
func (t NotifyType) IsError() bool { return t >= 1 && t <= notifyErrorMax }

// Notify is the Notification payload. SPI and Data alias the input when
// decoded. For R-U-THERE(-ACK) the SPI is the two cookies and Data the
// 4-byte sequence number (RFC 3706 5).
type Notify struct {
	DOI         uint32
	Protocol    ProtocolID
	MessageType NotifyType
	SPI         []byte
	Data        []byte
}

// Type returns PayloadNotify.
func (p *Notify) Type() PayloadType { return PayloadNotify }

// AppendBody appends the notification body.
func (p *Notify) AppendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, p.DOI)
	b = append(b, byte(p.Protocol), byte(len(p.SPI)))
	b = binary.BigEndian.AppendUint16(b, uint16(p.MessageType))
	b = append(b, p.SPI...)
	return append(b, p.Data...)
}

func parseNotify(b []byte) (*Notify, error) {
	if len(b) < 8 {
		return nil, malformed(PayloadNotify, "%d bytes, shorter than its fixed part", len(b))
	}
	p := &Notify{
		DOI:         binary.BigEndian.Uint32(b[0:4]),
		Protocol:    ProtocolID(b[4]),
		MessageType: NotifyType(binary.BigEndian.Uint16(b[6:8])),
	}
	spiSize := int(b[5])
	b = b[8:]
	if spiSize > len(b) {
		return nil, malformed(PayloadNotify, "SPI size %d runs past the payload", spiSize)
	}
	p.SPI, p.Data = b[:spiSize], b[spiSize:]
	return p, nil
}

// Err returns a *NotifyError for an error notification, nil otherwise.
func (p *Notify) Err() error {
	if !p.MessageType.IsError() {
		return nil
	}
	return &NotifyError{Type: p.MessageType}
}
