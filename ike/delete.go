package ike

// The Delete payload, RFC 2408 3.15:
//
//	!              Domain of Interpretation  (DOI)                  !
//	!  Protocol-Id  !   SPI Size    !           # of SPIs           !
//	~               Security Parameter Index(es) (SPI)              ~
//
// For an ISAKMP SA the SPI is the two cookies (16 bytes); for ESP and AH 4 bytes.

import "encoding/binary"

// Delete is the Delete payload. The SPIs alias the input when decoded.
type Delete struct {
	DOI      uint32
	Protocol ProtocolID
	SPISize  uint8
	SPIs     [][]byte // each SPISize bytes long
}

// Type returns PayloadDelete.
func (p *Delete) Type() PayloadType { return PayloadDelete }

// AppendBody appends the delete body. Every SPI must be SPISize bytes long.
func (p *Delete) AppendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, p.DOI)
	b = append(b, byte(p.Protocol), p.SPISize)
	b = binary.BigEndian.AppendUint16(b, uint16(len(p.SPIs)))
	for _, spi := range p.SPIs {
		b = append(b, spi...)
	}
	return b
}

func parseDelete(b []byte) (*Delete, error) {
	if len(b) < 8 {
		return nil, malformed(PayloadDelete, "%d bytes, shorter than its fixed part", len(b))
	}
	p := &Delete{
		DOI:      binary.BigEndian.Uint32(b[0:4]),
		Protocol: ProtocolID(b[4]),
		SPISize:  b[5],
	}
	n := int(binary.BigEndian.Uint16(b[6:8]))
	b = b[8:]
	if n*int(p.SPISize) != len(b) {
		return nil, malformed(PayloadDelete, "%d SPIs of %d bytes in %d bytes", n, p.SPISize, len(b))
	}
	if n > 0 && p.SPISize == 0 {
		return nil, malformed(PayloadDelete, "%d SPIs of size 0", n)
	}
	p.SPIs = make([][]byte, n)
	for i := range p.SPIs {
		p.SPIs[i] = b[:p.SPISize:p.SPISize]
		b = b[p.SPISize:]
	}
	return p, nil
}
