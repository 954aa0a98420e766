package ppp

import (
	"fmt"
	"strings"
)

// AuthMethod is an authentication protocol we can use to authenticate
// ourselves to the server.
type AuthMethod uint8

// Authentication methods.
const (
	AuthPAP      AuthMethod = iota + 1 // RFC 1334
	AuthCHAPMD5                        // RFC 1994, algorithm 5
	AuthMSCHAPv2                       // RFC 2759, CHAP algorithm 0x81
)

// authPreference is the order in which we propose methods to a server that
// asks for one we do not allow: strongest first.
var authPreference = [...]AuthMethod{AuthMSCHAPv2, AuthCHAPMD5, AuthPAP}

func (m AuthMethod) String() string {
	switch m {
	case AuthPAP:
		return "pap"
	case AuthCHAPMD5:
		return "chap"
	case AuthMSCHAPv2:
		return "mschapv2"
	case 0:
		return "none"
	}
	return fmt.Sprintf("auth-%d", uint8(m))
}

// displayName is the name people know the method by.
func (m AuthMethod) displayName() string {
	switch m {
	case AuthPAP:
		return "PAP"
	case AuthCHAPMD5:
		return "CHAP-MD5"
	case AuthMSCHAPv2:
		return "MS-CHAPv2"
	}
	return m.String()
}

// chapAlgorithm is the Algorithm octet of the CHAP Authentication-Protocol
// option for m (RFC 1994 section 3, RFC 2759 section 2).
func (m AuthMethod) chapAlgorithm() byte {
	if m == AuthMSCHAPv2 {
		return 0x81
	}
	return 5
}

// ParseAuthMethods parses a comma-separated list such as "pap,chap,mschapv2".
// Names are case-insensitive; "chap-md5" and "ms-chapv2" are aliases.
// Duplicates are dropped. An empty string gives nil, which Config takes as
// all methods. The error names the word it did not understand.
func ParseAuthMethods(s string) ([]AuthMethod, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil // the default: all of them
	}
	var out []AuthMethod
	for _, w := range strings.Split(s, ",") {
		w = strings.TrimSpace(w)
		var m AuthMethod
		switch strings.ToLower(w) {
		case "pap":
			m = AuthPAP
		case "chap", "chap-md5", "chapmd5", "md5":
			m = AuthCHAPMD5
		case "mschapv2", "ms-chapv2", "ms-chap-v2", "mschap-v2":
			m = AuthMSCHAPv2
		default:
			return nil, fmt.Errorf("ppp: unknown authentication method %q (want pap, chap or mschapv2)", w)
		}
		if !containsMethod(out, m) {
			out = append(out, m)
		}
	}
	return out, nil
}

func containsMethod(ms []AuthMethod, m AuthMethod) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

// authList is "pap, chap" for messages and logs.
func authList(ms []AuthMethod) string {
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.String()
	}
	return strings.Join(names, ", ")
}
