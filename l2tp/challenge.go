package l2tp

import "crypto/md5"

// ChallengeResponse computes the tunnel authentication response of RFC 2661
// 5.1.1 and 4.4.3: a CHAP-style MD5 (RFC 1994) over the message type of the
// message carrying the response as the one-octet ID (2 for SCCRP, 3 for
// SCCCN), the shared secret and the challenge.
func ChallengeResponse(t MessageType, secret, challenge []byte) [md5.Size]byte {
	h := md5.New()
	h.Write([]byte{byte(t)})
	h.Write(secret)
	h.Write(challenge)
	var r [md5.Size]byte
	h.Sum(r[:0])
	return r
}
