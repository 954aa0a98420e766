package ppp

// Microsoft Point-to-Point Encryption, client side: the session keys of RFC
// 3079 section 3 (derived from the MS-CHAPv2 exchange) and the packet format
// and key changes of RFC 3078 sections 3, 7 and 8. The data path encrypts
// and decrypts in place; nothing here allocates per packet.

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"sync/atomic"

	"golang.org/x/crypto/md4"
)

// ProtoMPPE is the PPP protocol of an MPPE (or MPPC) datagram (RFC 3078
// section 3, RFC 1962 section 2.2: "compressed datagram").
const ProtoMPPE Protocol = 0x00fd

// MPPEOverhead is what MPPE puts between the PPP header and the payload: the
// 2-byte MPPE header and the encrypted 2-byte inner protocol.
const MPPEOverhead = 4

// MPPE header bits (RFC 3078 section 3) and the 12-bit coherency count.
const (
	mppeFlushed   = 0x80 // A: the RC4 tables were re-initialized for this packet
	mppeEncrypted = 0x10 // D: the payload is encrypted
	mppeCountMask = 0x0fff
	mppeCountMod  = 0x1000
)

// Key-derivation constants (RFC 3079 section 3.4).
var (
	mppeMagic1 = []byte("This is the MPPE Master Key")
	mppeMagic2 = []byte("On the client side, this is the send key; on the server side, it is the receive key.")
	mppeMagic3 = []byte("On the client side, this is the receive key; on the server side, it is the send key.")
)

// shaPad1 is 40 zero octets, shaPad2 40 octets of 0xf2 (RFC 3079 section 3.4).
var shaPad2 = [40]byte{
	0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2,
	0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2,
	0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2,
	0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2,
}

// passwordHashHash is HashNtPasswordHash (RFC 2759 section 8.4): MD4 of
// the NT password hash.
func passwordHashHash(password string) [16]byte {
	ph := ntPasswordHash(password)
	h := md4.New()
	h.Write(ph[:])
	var out [16]byte
	h.Sum(out[:0])
	return out
}

// mppeMasterKey is GetMasterKey (RFC 3079 section 3.4): the first 16 octets
// of SHA1(PasswordHashHash ‖ NT-Response ‖ Magic1).
func mppeMasterKey(passwordHashHash [16]byte, ntResponse [24]byte) [16]byte {
	h := sha1.New()
	h.Write(passwordHashHash[:])
	h.Write(ntResponse[:])
	h.Write(mppeMagic1)
	var sum [sha1.Size]byte
	h.Sum(sum[:0])
	return [16]byte(sum[:16])
}

// mppeStartKey is GetAsymmetricStartKey (RFC 3079 section 3.4) for the
// client: its send key (Magic2) or its receive key (Magic3).
func mppeStartKey(master [16]byte, send bool) [16]byte {
	magic := mppeMagic3
	if send {
		magic = mppeMagic2
	}
	var zero [40]byte
	h := sha1.New()
	h.Write(master[:])
	h.Write(zero[:])
	h.Write(magic)
	h.Write(shaPad2[:])
	var sum [sha1.Size]byte
	h.Sum(sum[:0])
	return [16]byte(sum[:16])
}

// newKeyFromSHA is GetNewKeyFromSHA (RFC 3079 section 3.4, RFC 3078
// section 7.3): SHA1(StartKey ‖ SHApad1 ‖ SessionKey ‖ SHApad2), the first n
// octets into out. It does not allocate.
func newKeyFromSHA(out, start, session []byte, n int) {
	var buf [16 + 40 + 16 + 40]byte
	copy(buf[:n], start[:n])
	copy(buf[n+40:n+40+n], session[:n])
	copy(buf[n+40+n:], shaPad2[:])
	sum := sha1.Sum(buf[:n+40+n+40])
	copy(out[:n], sum[:n])
}

// MPPEStrength is the session key length of RFC 3078 section 2.
type MPPEStrength uint8

// Key lengths; the 40- and 56-bit keys are 64-bit keys with a known prefix.
const (
	MPPE40 MPPEStrength = iota + 1
	MPPE56
	MPPE128
)

func (s MPPEStrength) String() string {
	switch s {
	case MPPE40:
		return "mppe-40"
	case MPPE56:
		return "mppe-56"
	case MPPE128:
		return "mppe-128"
	}
	return fmt.Sprintf("mppe-strength-%d", uint8(s))
}

func (s MPPEStrength) keyLen() int {
	if s == MPPE128 {
		return 16
	}
	return 8
}

// reduce applies the key reduction of RFC 3079 sections 3.1 and 3.2: the
// first 3 octets (40-bit) or the first octet (56-bit) of a 64-bit key are
// fixed.
func (s MPPEStrength) reduce(k []byte) {
	switch s {
	case MPPE40:
		k[0], k[1], k[2] = 0xd1, 0x26, 0x9e
	case MPPE56:
		k[0] = 0xd1
	}
}

// ErrMPPE is wrapped by the errors of MPPEs Decrypt.
var ErrMPPE = errors.New("ppp: mppe")

var (
	errMPPEShort     = fmt.Errorf("%w: packet shorter than its header", ErrMPPE)
	errMPPEPlain     = fmt.Errorf("%w: packet without the encrypted bit (compression is not negotiated)", ErrMPPE)
	errMPPENoFlush   = fmt.Errorf("%w: stateless packet without the flushed bit", ErrMPPE)
	errMPPELate      = fmt.Errorf("%w: coherency count behind (late or replayed packet)", ErrMPPE)
	errMPPEOutOfSync = fmt.Errorf("%w: coherency count out of sync: discarding until the server resets its key", ErrMPPE)
	errMPPEProto     = fmt.Errorf("%w: bad protocol field after decryption", ErrMPPE)
)

// mppeDir is the state of one direction: only one goroutine uses it.
type mppeDir struct {
	start   [16]byte // the start key (RFC 3079 "MasterSendKey"/"MasterReceiveKey")
	session [16]byte // the current session key
	rc4     rc4
	count   uint16 // coherency count of the last packet
	discard bool   // receive, stateful: out of sync, waiting for a flushed packet
}

// MPPE is an MPPE session: the keys and RC4 state of both directions.
// Encrypt is called by one goroutine (the sender), Decrypt by one other (the
// receiver); the Link's control loop may call Flush and Stats concurrently.
type MPPE struct {
	strength  MPPEStrength
	stateless bool
	keyLen    int

	tx      mppeDir
	txFlush atomic.Bool // a CCP Reset-Request asks to rekey before the next packet
	_       [64]byte    // keep the directions apart (false sharing)
	rx      mppeDir

	resetReq chan struct{} // the receiver asks the Link for a CCP Reset-Request

	rxDiscarded atomic.Uint64 // packets dropped while out of sync
	rxBad       atomic.Uint64 // malformed or late packets
	resets      atomic.Uint64 // Reset-Requests asked for
}

// newMPPE sets up a session from the MS-CHAPv2 values (RFC 3079 section 3).
func newMPPE(strength MPPEStrength, stateless bool, passwordHashHash [16]byte, ntResponse [24]byte) *MPPE {
	master := mppeMasterKey(passwordHashHash, ntResponse)
	return NewMPPESession(strength, stateless, mppeStartKey(master, true), mppeStartKey(master, false))
}

// NewMPPESession sets up a session from its start keys (RFC 3079
// "MasterSendKey" and "MasterReceiveKey"), for the server role and tests;
// a Link makes its own from MS-CHAPv2.
func NewMPPESession(strength MPPEStrength, stateless bool, sendStart, recvStart [16]byte) *MPPE {
	m := &MPPE{strength: strength, stateless: stateless, keyLen: strength.keyLen(), resetReq: make(chan struct{}, 1)}
	m.tx.start, m.rx.start = sendStart, recvStart
	for _, d := range []*mppeDir{&m.tx, &m.rx} {
		m.initialKey(d)
		d.count = mppeCountMod - 1 // the first packet carries count 0
	}
	return m
}

// initialKey is the initial session key: GetNewKeyFromSHA(StartKey,
// StartKey), reduced (RFC 3079 sections 3.1-3.3).
func (m *MPPE) initialKey(d *mppeDir) {
	newKeyFromSHA(d.session[:], d.start[:], d.start[:], m.keyLen)
	m.strength.reduce(d.session[:m.keyLen])
	d.rc4.init(d.session[:m.keyLen])
}

// rekey changes the session key (RFC 3078 section 7.3): an interim key from
// SHA1, encrypted with itself, reduced, and RC4 set up with the result.
func (m *MPPE) rekey(d *mppeDir) {
	n := m.keyLen
	var interim [16]byte
	newKeyFromSHA(interim[:], d.start[:], d.session[:], n)
	d.rc4.init(interim[:n])
	d.rc4.xor(d.session[:n], interim[:n])
	m.strength.reduce(d.session[:n])
	d.rc4.init(d.session[:n])
}

// String says which MPPE runs, e.g. "mppe-128 stateless".
func (m *MPPE) String() string {
	if m.stateless {
		return m.strength.String() + " stateless"
	}
	return m.strength.String() + " stateful"
}

// Strength is the negotiated key length.
func (m *MPPE) Strength() MPPEStrength { return m.strength }

// Stateless says whether the key changes with every packet (RFC 3078 H bit).
func (m *MPPE) Stateless() bool { return m.stateless }

// Encrypt turns one outgoing frame into an MPPE datagram in place. b holds
// MPPEOverhead free bytes followed by the payload of protocol proto; it
// writes the MPPE header into b[0:2] and the protocol into b[2:4] and
// encrypts b[2:] (RFC 3078 section 3). The caller then writes the PPP
// header with ProtoMPPE in front of b. Only one goroutine may call it.
func (m *MPPE) Encrypt(b []byte, proto Protocol) {
	_ = b[MPPEOverhead-1]
	d := &m.tx
	d.count = (d.count + 1) & mppeCountMask
	flushed := m.txFlush.Swap(false)
	// RFC 3078 7.1 and 7.2: stateless mode changes the key for every
	// packet, stateful mode on every "flag" packet (low octet 0xff) and
	// after a Reset-Request; each change is flagged with the A bit.
	if m.stateless || d.count&0xff == 0xff || flushed {
		m.rekey(d)
		flushed = true
	}
	h := uint16(mppeEncrypted)<<8 | d.count
	if flushed {
		h |= mppeFlushed << 8
	}
	b[0], b[1] = byte(h>>8), byte(h)
	b[2], b[3] = byte(proto>>8), byte(proto)
	d.rc4.xor(b[2:], b[2:])
}

// Flush makes the next Encrypt change the key and set the flushed bit: the
// answer to the server's CCP Reset-Request (RFC 3078 section 8). Safe from
// any goroutine.
func (m *MPPE) Flush() { m.txFlush.Store(true) }

// Decrypt decrypts the information field of a received ProtoMPPE frame in
// place and returns the inner protocol and payload (aliasing b). A stateful
// session that lost packets drops what follows until the server flushes its
// key and asks the Link, through ResetRequests, for a CCP Reset-Request (RFC
// 3078 section 8.2). Only one goroutine may call it. It does not allocate.
func (m *MPPE) Decrypt(b []byte) (Protocol, []byte, error) {
	if len(b) < 3 {
		m.rxBad.Add(1)
		return 0, nil, errMPPEShort
	}
	flushed := b[0]&mppeFlushed != 0
	if b[0]&mppeEncrypted == 0 {
		m.rxBad.Add(1)
		return 0, nil, errMPPEPlain
	}
	count := (uint16(b[0])<<8 | uint16(b[1])) & mppeCountMask
	d := &m.rx
	if m.stateless {
		// RFC 3078 8.1: one key change per count step; a count behind
		// the last one is a late packet whose key is gone.
		if !flushed {
			m.rxBad.Add(1)
			return 0, nil, errMPPENoFlush
		}
		ahead := (count - d.count) & mppeCountMask
		if ahead == 0 || ahead > mppeCountMod/2 {
			m.rxBad.Add(1)
			return 0, nil, errMPPELate
		}
		for ; ahead > 0; ahead-- {
			m.rekey(d)
		}
		d.count = count
	} else {
		if !d.discard {
			if count != (d.count+1)&mppeCountMask {
				// RFC 3078 8.2: packets were lost; wait for a flushed one.
				d.count = (d.count + 1) & mppeCountMask
				d.discard = true
				m.askReset()
				m.rxDiscarded.Add(1)
				return 0, nil, errMPPEOutOfSync
			}
			d.count = count
		} else {
			if !flushed {
				m.rxDiscarded.Add(1)
				return 0, nil, errMPPEOutOfSync
			}
			// One key change for every flag packet we missed.
			for count&^0xff != d.count&^0xff {
				m.rekey(d)
				d.count = (d.count + 0x100) & mppeCountMask
			}
			d.count = count
			d.discard = false
		}
		if flushed {
			m.rekey(d)
		}
	}
	p := b[2:]
	d.rc4.xor(p, p)
	// The inner protocol, compressed to one octet or not (RFC 1661 6.5).
	if p[0]&1 == 1 {
		return Protocol(p[0]), p[1:], nil
	}
	if len(p) < 2 || p[1]&1 == 0 {
		m.rxBad.Add(1)
		return 0, nil, errMPPEProto
	}
	return Protocol(uint16(p[0])<<8 | uint16(p[1])), p[2:], nil
}

// askReset signals the Link to send a CCP Reset-Request, without blocking.
func (m *MPPE) askReset() {
	m.resets.Add(1)
	select {
	case m.resetReq <- struct{}{}:
	default:
	}
}

// MPPEStats are an MPPE session's receive counters.
type MPPEStats struct {
	Discarded     uint64 // dropped while out of sync (stateful mode)
	Bad           uint64 // malformed, unencrypted or late packets
	ResetRequests uint64 // CCP Reset-Requests asked for
}

// Stats returns the session's counters.
func (m *MPPE) Stats() MPPEStats {
	return MPPEStats{Discarded: m.rxDiscarded.Load(), Bad: m.rxBad.Load(), ResetRequests: m.resets.Load()}
}

// rc4 is the RC4 stream cipher. crypto/rc4 allocates a Cipher on every
// NewCipher and MPPE changes the key as often as every packet, so the key
// schedule runs here on a fixed state instead.
type rc4 struct {
	s    [256]byte
	i, j uint8
}

// init runs the key-scheduling algorithm.
func (c *rc4) init(key []byte) {
	for i := range c.s {
		c.s[i] = byte(i)
	}
	var j uint8
	for i := range c.s {
		j += c.s[i] + key[i%len(key)]
		c.s[i], c.s[j] = c.s[j], c.s[i]
	}
	c.i, c.j = 0, 0
}

// xor sets dst to src XOR the next len(src) keystream bytes; dst and src
// may be the same slice.
func (c *rc4) xor(dst, src []byte) {
	i, j := c.i, c.j
	s := &c.s
	if len(src) == 0 {
		return
	}
	_ = dst[len(src)-1]
	for k, v := range src {
		i++
		x := s[i]
		j += x
		y := s[j]
		s[i], s[j] = y, x
		dst[k] = v ^ s[x+y]
	}
	c.i, c.j = i, j
}
