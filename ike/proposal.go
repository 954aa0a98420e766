package ike

// Proposal lists written the strongSwan way ("aes256-sha256-modp2048,
// 3des-sha1-modp1024" for IKE, "aes256gcm16,aes128-sha1" for ESP) and their
// conversion to and from SA transforms: phase 1 per RFC 2409 appendix A,
// phase 2 per the IPsec DOI (RFC 2407 4.4.4 and 4.5), UDP encapsulation modes
// per RFC 3947 and draft-ietf-ipsec-nat-t-ike-02/03.

import (
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/l2tpvpn/l2tpvpn/esp"
)

// IKEProposal is one phase-1 proposal: a cipher, a hash (also the prf) and a
// Diffie-Hellman group. Authentication is always a pre-shared key.
type IKEProposal struct {
	Enc     EncAlg
	KeyBits int // 128, 192 or 256 for AES; 0 for 3DES
	Hash    HashAlg
	Group   Group
}

// ESPProposal is one phase-2 proposal for ESP.
type ESPProposal struct {
	Enc     esp.EncAlg
	KeyBits int // AES key size (without the GCM salt); 0 for 3DES
	Integ   esp.IntegAlg
	Group   Group // PFS group, 0 = no PFS
}

// String returns the strongSwan form, e.g. "aes256-sha256-modp2048".
func (p IKEProposal) String() string {
	return encName(p.Enc == EncAESCBC, p.Enc == Enc3DES, false, p.KeyBits, uint16(p.Enc)) +
		"-" + p.Hash.String() + "-" + p.Group.String()
}

// String returns the strongSwan form, e.g. "aes128-sha1", "aes256gcm16" or
// "aes256-sha256-modp2048" with PFS.
func (p ESPProposal) String() string {
	s := encName(p.Enc == esp.AESCBC || p.Enc == esp.AESGCM16, p.Enc == esp.TripleDES,
		p.Enc == esp.AESGCM16, p.KeyBits, uint16(p.Enc))
	if p.Enc != esp.AESGCM16 || p.Integ != esp.None {
		s += "-" + integName(p.Integ)
	}
	if p.Group != 0 {
		s += "-" + p.Group.String()
	}
	return s
}

func encName(aes, tdes, gcm bool, bits int, raw uint16) string {
	switch {
	case gcm:
		return "aes" + strconv.Itoa(bits) + "gcm16"
	case aes:
		return "aes" + strconv.Itoa(bits)
	case tdes:
		return "3des"
	}
	return "enc(" + strconv.Itoa(int(raw)) + ")"
}

func integName(a esp.IntegAlg) string {
	switch a {
	case esp.HMACMD5_96:
		return "md5"
	case esp.HMACSHA1_96:
		return "sha1"
	case esp.HMACSHA256_128:
		return "sha256"
	case esp.HMACSHA384_192:
		return "sha384"
	case esp.HMACSHA512_256:
		return "sha512"
	}
	return a.String()
}

// DefaultIKEProposals returns what we offer in Main Mode unless configured
// otherwise, strongest first: the union of what Windows and macOS clients
// offer. Each call returns a fresh slice the caller may change.
func DefaultIKEProposals() []IKEProposal {
	return []IKEProposal{
		{EncAESCBC, 256, HashSHA256, MODP2048},
		{EncAESCBC, 128, HashSHA256, MODP2048},
		{EncAESCBC, 256, HashSHA1, MODP2048},
		{EncAESCBC, 128, HashSHA1, MODP2048},
		{Enc3DES, 0, HashSHA1, MODP2048},
		{EncAESCBC, 256, HashSHA256, ECP384},
		{EncAESCBC, 128, HashSHA256, ECP256},
		{EncAESCBC, 256, HashSHA1, MODP1024},
		{EncAESCBC, 128, HashSHA1, MODP1024},
		{Enc3DES, 0, HashSHA1, MODP1024},
	}
}

// DefaultESPProposals returns what we offer in Quick Mode unless
// configured otherwise, strongest first. Each call returns a fresh slice.
func DefaultESPProposals() []ESPProposal {
	return []ESPProposal{
		{esp.AESGCM16, 256, esp.None, 0},
		{esp.AESGCM16, 128, esp.None, 0},
		{esp.AESCBC, 256, esp.HMACSHA256_128, 0},
		{esp.AESCBC, 128, esp.HMACSHA256_128, 0},
		{esp.AESCBC, 256, esp.HMACSHA1_96, 0},
		{esp.AESCBC, 128, esp.HMACSHA1_96, 0},
		{esp.TripleDES, 0, esp.HMACSHA1_96, 0},
		{esp.AESCBC, 256, esp.HMACMD5_96, 0},
		{esp.AESCBC, 128, esp.HMACMD5_96, 0},
		{esp.TripleDES, 0, esp.HMACMD5_96, 0},
	}
}

// FormatIKEProposals joins the proposals with commas.
func FormatIKEProposals(ps []IKEProposal) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// FormatESPProposals joins the proposals with commas.
func FormatESPProposals(ps []ESPProposal) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// ProposalError is a proposal list that could not be parsed. It unwraps to
// ErrProposalSyntax.
type ProposalError struct {
	Proposal string // the offending proposal (or the whole list if it is empty)
	Reason   string
}

func (e *ProposalError) Error() string {
	return "ike: proposal " + strconv.Quote(e.Proposal) + ": " + e.Reason
}

// Unwrap returns ErrProposalSyntax.
func (e *ProposalError) Unwrap() error { return ErrProposalSyntax }

// ErrProposalSyntax is the class of ProposalError.
var ErrProposalSyntax = errors.New("ike: invalid proposal list")

// token tables (strongSwan proposal keywords)

type encToken struct {
	bits int
	tdes bool
	gcm  bool
}

var encTokens = map[string]encToken{
	"aes": {bits: 128}, "aes128": {bits: 128}, "aes192": {bits: 192}, "aes256": {bits: 256},
	"3des":        {tdes: true},
	"aes128gcm16": {bits: 128, gcm: true}, "aes192gcm16": {bits: 192, gcm: true}, "aes256gcm16": {bits: 256, gcm: true},
	"aes128gcm": {bits: 128, gcm: true}, "aes192gcm": {bits: 192, gcm: true}, "aes256gcm": {bits: 256, gcm: true},
}

var hashTokens = map[string]HashAlg{
	"md5": HashMD5, "sha1": HashSHA1, "sha": HashSHA1,
	"sha256": HashSHA256, "sha2_256": HashSHA256,
	"sha384": HashSHA384, "sha2_384": HashSHA384,
	"sha512": HashSHA512, "sha2_512": HashSHA512,
}

var integByHash = map[HashAlg]esp.IntegAlg{
	HashMD5: esp.HMACMD5_96, HashSHA1: esp.HMACSHA1_96, HashSHA256: esp.HMACSHA256_128,
	HashSHA384: esp.HMACSHA384_192, HashSHA512: esp.HMACSHA512_256,
}

var groupTokens = map[string]Group{
	"modp768": MODP768, "modp1024": MODP1024, "modp1536": MODP1536, "modp2048": MODP2048,
	"modp3072": MODP3072, "modp4096": MODP4096, "ecp256": ECP256, "ecp384": ECP384,
}

// splitList splits a comma-separated list into lower-case proposals; a
// trailing "!" (strongSwan's "strict", which is how we always behave) is
// dropped.
func splitList(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		p = strings.TrimSuffix(p, "!")
		if p == "" {
			return nil, &ProposalError{Proposal: s, Reason: "empty proposal in the list"}
		}
		out = append(out, p)
	}
	return out, nil
}

func parseGroup(prop, tok string) (Group, error) {
	g, ok := groupTokens[tok]
	if !ok {
		return 0, unknownToken(prop, tok)
	}
	if g == MODP768 {
		return 0, &ProposalError{Proposal: prop, Reason: "DH groups under 1024 bits are refused (" + tok + ")"}
	}
	return g, nil
}

func unknownToken(prop, tok string) error {
	return &ProposalError{Proposal: prop, Reason: "unknown algorithm " + strconv.Quote(tok)}
}

// ParseIKEProposals parses a comma-separated list of enc-hash-group
// proposals, e.g. "aes256-sha256-modp2048,3des-sha1-modp1024".
func ParseIKEProposals(s string) ([]IKEProposal, error) {
	props, err := splitList(s)
	if err != nil {
		return nil, err
	}
	out := make([]IKEProposal, 0, len(props))
	for _, prop := range props {
		toks := strings.Split(prop, "-")
		if len(toks) != 3 {
			return nil, &ProposalError{Proposal: prop, Reason: "want encryption-hash-group, e.g. aes256-sha256-modp2048"}
		}
		et, ok := encTokens[toks[0]]
		if !ok {
			return nil, unknownToken(prop, toks[0])
		}
		if et.gcm {
			return nil, &ProposalError{Proposal: prop, Reason: "AES-GCM (" + toks[0] + ") is not valid in IKEv1 phase 1"}
		}
		h, ok := hashTokens[toks[1]]
		if !ok {
			return nil, unknownToken(prop, toks[1])
		}
		g, err := parseGroup(prop, toks[2])
		if err != nil {
			return nil, err
		}
		p := IKEProposal{Enc: EncAESCBC, KeyBits: et.bits, Hash: h, Group: g}
		if et.tdes {
			p.Enc, p.KeyBits = Enc3DES, 0
		}
		out = append(out, p)
	}
	return out, nil
}

// ParseESPProposals parses a comma-separated list of enc-integ[-group] or
// gcm[-group] proposals, e.g. "aes256gcm16,aes128-sha1-modp2048".
func ParseESPProposals(s string) ([]ESPProposal, error) {
	props, err := splitList(s)
	if err != nil {
		return nil, err
	}
	out := make([]ESPProposal, 0, len(props))
	for _, prop := range props {
		toks := strings.Split(prop, "-")
		et, ok := encTokens[toks[0]]
		if !ok {
			return nil, unknownToken(prop, toks[0])
		}
		p := ESPProposal{Enc: esp.AESCBC, KeyBits: et.bits}
		switch {
		case et.tdes:
			p.Enc, p.KeyBits = esp.TripleDES, 0
		case et.gcm:
			p.Enc = esp.AESGCM16
		}
		rest := toks[1:]
		if !et.gcm {
			if len(rest) == 0 {
				return nil, &ProposalError{Proposal: prop, Reason: "missing integrity algorithm, e.g. aes128-sha1"}
			}
			h, ok := hashTokens[rest[0]]
			if !ok {
				return nil, unknownToken(prop, rest[0])
			}
			p.Integ = integByHash[h]
			rest = rest[1:]
		} else if len(rest) > 0 {
			if _, ok := hashTokens[rest[0]]; ok {
				return nil, &ProposalError{Proposal: prop, Reason: "AES-GCM takes no integrity algorithm (" + rest[0] + ")"}
			}
		}
		switch len(rest) {
		case 0:
		case 1:
			g, err := parseGroup(prop, rest[0])
			if err != nil {
				return nil, err
			}
			p.Group = g
		default:
			return nil, &ProposalError{Proposal: prop, Reason: "too many algorithms, want encryption-integrity[-group]"}
		}
		out = append(out, p)
	}
	return out, nil
}

// Phase-1 attribute values (RFC 2409 appendix A).
const (
	authMethodPSK   = 1
	lifeTypeSeconds = 1
)

// Encapsulation Mode attribute values (RFC 2407 4.5, RFC 3947 3, and the
// values of draft-ietf-ipsec-nat-t-ike-02/03 that older peers still use).
const (
	EncapTunnel            = 1
	EncapTransport         = 2
	EncapUDPTunnel         = 3
	EncapUDPTransport      = 4
	EncapUDPTunnelDraft    = 61443
	EncapUDPTransportDraft = 61444
)

// ESP transform IDs (RFC 2407 4.4.4, RFC 4106 8.1).
const (
	espTransform3DES   = 3
	espTransformAES    = 12
	espTransformAESGCM = 20
)

// Authentication Algorithm attribute values (RFC 2407 4.5, RFC 4868 2.4).
var authAlgByInteg = map[esp.IntegAlg]uint16{
	esp.HMACMD5_96: 1, esp.HMACSHA1_96: 2, esp.HMACSHA256_128: 5,
	esp.HMACSHA384_192: 6, esp.HMACSHA512_256: 7,
}

// lifeAttributes appends a seconds life type and duration: basic if the
// number fits 16 bits, else 4 variable bytes. Nothing for lifetime <= 0.
func lifeAttributes(attrs []Attribute, typ, dur AttributeType, lifetime time.Duration) []Attribute {
	secs := int64(lifetime / time.Second)
	if secs <= 0 {
		return attrs
	}
	attrs = append(attrs, BasicAttribute(typ, lifeTypeSeconds))
	if secs <= 0xffff {
		return append(attrs, BasicAttribute(dur, uint16(secs)))
	}
	if secs > 0xffffffff {
		secs = 0xffffffff
	}
	return append(attrs, VariableAttribute(dur, binary.BigEndian.AppendUint32(nil, uint32(secs))))
}

// transform returns the phase-1 transform number num for p: Encryption, Key
// Length (AES), Hash, Authentication Method (pre-shared key), Group, and the
// lifetime in seconds.
func (p IKEProposal) transform(num uint8, lifetime time.Duration) Transform {
	return p.transformAuth(num, lifetime, authPSK)
}

// transformAuth is transform with the authentication method am.
func (p IKEProposal) transformAuth(num uint8, lifetime time.Duration, am authMethod) Transform {
	attrs := []Attribute{BasicAttribute(AttrEncryption, uint16(p.Enc))}
	if p.Enc == EncAESCBC {
		attrs = append(attrs, BasicAttribute(AttrKeyLength, uint16(p.KeyBits)))
	}
	attrs = append(attrs,
		BasicAttribute(AttrHash, uint16(p.Hash)),
		BasicAttribute(AttrAuthMethod, uint16(am)),
		BasicAttribute(AttrGroup, uint16(p.Group)))
	attrs = lifeAttributes(attrs, AttrLifeType, AttrLifeDuration, lifetime)
	return Transform{Number: num, ID: TransformKeyIKE, Attributes: attrs}
}

// lifeSeconds reads the duration that follows a seconds life type in a
// list of (type, duration) pairs; 0 if there is none.
func lifeSeconds(attrs []Attribute, typ, dur AttributeType) (time.Duration, error) {
	var life time.Duration
	seconds := false
	for _, a := range attrs {
		switch a.Type {
		case typ:
			v, _ := a.Uint()
			seconds = v == lifeTypeSeconds
		case dur:
			v, ok := a.Uint()
			if !ok {
				return 0, &UnsupportedError{What: "life duration of " + strconv.Itoa(len(a.Data)) + " bytes"}
			}
			if seconds {
				life = time.Duration(min(v, 1<<32)) * time.Second
			}
		}
	}
	return life, nil
}

func attrValue(t Transform, typ AttributeType) (uint16, bool) {
	a, ok := t.Attribute(typ)
	if !ok {
		return 0, false
	}
	v, ok := a.Uint()
	if !ok || v > 0xffff {
		return 0, false
	}
	return uint16(v), true
}

// ikeProposalFromTransform reads the phase-1 transform the responder chose,
// which must use a pre-shared key. life is the lifetime in seconds it
// carries, 0 if absent.
func ikeProposalFromTransform(t Transform) (IKEProposal, time.Duration, error) {
	p, life, am, err := phase1FromTransform(t)
	if err == nil && am != authPSK {
		return p, 0, &UnsupportedError{What: am.String()}
	}
	return p, life, err
}

// phase1FromTransform reads a phase-1 transform and its authentication
// method, which the caller checks.
func phase1FromTransform(t Transform) (IKEProposal, time.Duration, authMethod, error) {
	p, life, err := phase1Algorithms(t)
	if err != nil {
		return p, 0, 0, err
	}
	am, ok := attrValue(t, AttrAuthMethod)
	if !ok {
		return p, 0, 0, malformed(PayloadTransform, "phase 1 transform without authentication method")
	}
	return p, life, authMethod(am), nil
}

func phase1Algorithms(t Transform) (IKEProposal, time.Duration, error) {
	var p IKEProposal
	if t.ID != TransformKeyIKE {
		return p, 0, &UnsupportedError{What: "phase 1 transform id " + strconv.Itoa(int(t.ID))}
	}
	enc, ok1 := attrValue(t, AttrEncryption)
	hash, ok2 := attrValue(t, AttrHash)
	group, ok3 := attrValue(t, AttrGroup)
	if !ok1 || !ok2 || !ok3 {
		return p, 0, malformed(PayloadTransform, "phase 1 transform without encryption, hash or group")
	}
	p.Enc, p.Hash, p.Group = EncAlg(enc), HashAlg(hash), Group(group)
	if bits, ok := attrValue(t, AttrKeyLength); ok {
		p.KeyBits = int(bits)
	}
	if p.Enc == Enc3DES && p.KeyBits == 192 {
		p.KeyBits = 0
	}
	if _, err := p.Enc.KeyLen(p.KeyBits); err != nil {
		return p, 0, err
	}
	if !p.Hash.Supported() {
		return p, 0, &UnsupportedError{What: "hash algorithm " + p.Hash.String()}
	}
	if !p.Group.Supported() {
		return p, 0, &UnsupportedError{What: "Diffie-Hellman group " + p.Group.String()}
	}
	if _, ok := t.Attribute(AttrPRF); ok {
		return p, 0, &UnsupportedError{What: "phase 1 PRF attribute"}
	}
	life, err := lifeSeconds(t.Attributes, AttrLifeType, AttrLifeDuration)
	return p, life, err
}

// transform returns the ESP transform number num for p: the transform ID
// (ESP_3DES, ESP_AES, ESP_AES_GCM_16), the lifetime in seconds, the
// encapsulation mode, the authentication algorithm (none for GCM), the key
// length (AES) and the PFS group.
func (p ESPProposal) transform(num uint8, encap uint16, lifetime time.Duration) Transform {
	t := Transform{Number: num}
	switch p.Enc {
	case esp.TripleDES:
		t.ID = espTransform3DES
	case esp.AESCBC:
		t.ID = espTransformAES
	case esp.AESGCM16:
		t.ID = espTransformAESGCM
	}
	attrs := lifeAttributes(nil, AttrSALifeType, AttrSALifeDuration, lifetime)
	attrs = append(attrs, BasicAttribute(AttrEncapsulationMode, encap))
	if v, ok := authAlgByInteg[p.Integ]; ok {
		attrs = append(attrs, BasicAttribute(AttrAuthAlgorithm, v))
	}
	if p.Enc != esp.TripleDES {
		attrs = append(attrs, BasicAttribute(AttrSAKeyLength, uint16(p.KeyBits)))
	}
	if p.Group != 0 {
		attrs = append(attrs, BasicAttribute(AttrSAGroup, uint16(p.Group)))
	}
	t.Attributes = attrs
	return t
}

// espProposalFromTransform reads the ESP transform the responder chose, with
// its encapsulation mode and lifetime in seconds (0 if absent).
func espProposalFromTransform(t Transform) (ESPProposal, uint16, time.Duration, error) {
	var p ESPProposal
	bits, hasBits := attrValue(t, AttrSAKeyLength)
	switch t.ID {
	case espTransform3DES:
		p.Enc = esp.TripleDES
		if hasBits && bits != 192 {
			return p, 0, 0, &UnsupportedError{What: "3des key length " + strconv.Itoa(int(bits))}
		}
	case espTransformAES, espTransformAESGCM:
		p.Enc = esp.AESCBC
		if t.ID == espTransformAESGCM {
			p.Enc = esp.AESGCM16
		}
		if !hasBits {
			bits = 128 // RFC 3602 5.1 / RFC 4106 8.4 make the attribute mandatory; 128 is the usual default
		}
		if bits != 128 && bits != 192 && bits != 256 {
			return p, 0, 0, &UnsupportedError{What: "AES key length " + strconv.Itoa(int(bits))}
		}
		p.KeyBits = int(bits)
	default:
		return p, 0, 0, &UnsupportedError{What: "ESP transform id " + strconv.Itoa(int(t.ID))}
	}
	if v, ok := attrValue(t, AttrAuthAlgorithm); ok {
		for integ, a := range authAlgByInteg {
			if a == v {
				p.Integ = integ
			}
		}
		if p.Integ == esp.None {
			return p, 0, 0, &UnsupportedError{What: "ESP authentication algorithm " + strconv.Itoa(int(v))}
		}
	}
	if (p.Enc == esp.AESGCM16) != (p.Integ == esp.None) {
		return p, 0, 0, &UnsupportedError{What: "ESP transform " + p.String()}
	}
	if g, ok := attrValue(t, AttrSAGroup); ok {
		p.Group = Group(g)
		if !p.Group.Supported() {
			return p, 0, 0, &UnsupportedError{What: "PFS group " + p.Group.String()}
		}
	}
	encap, _ := attrValue(t, AttrEncapsulationMode)
	life, err := lifeSeconds(t.Attributes, AttrSALifeType, AttrSALifeDuration)
	return p, encap, life, err
}

// ParseGroup reads a Diffie-Hellman group name as proposals write it
// (modp2048, ecp256, ...).
func ParseGroup(s string) (Group, error) { return parseGroup(s, s) }
