package dhcp

// The Domain Search option (RFC 3397, option 119): DNS names in the wire
// format of RFC 1035 section 3.1, compressed as in RFC 1035 section 4.1.4,
// where a pointer is an offset into the option's data (all instances of the
// option concatenated, RFC 3396). And the Domain Name option (RFC 2132
// section 3.17), plain text.

import (
	"fmt"
	"strings"
)

const (
	maxNameLen  = 253 // a name as text, without the final dot (RFC 1035 2.3.4)
	maxLabelLen = 63
)

// ParseSearchList decodes the data of option 119 into names (without the
// final dot). A pointer must point backwards, before itself and before
// every pointer followed earlier in the same name, so that no chain of
// pointers can loop (compression refers to earlier names, RFC 3397 section
// 2); a name may not exceed 253 characters. Names are not checked for their characters (see ValidDomain).
func ParseSearchList(b []byte) ([]string, error) {
	var names []string
	for off := 0; off < len(b); {
		name, next, err := readName(b, off)
		if err != nil {
			return nil, err
		}
		names = append(names, name)
		off = next
	}
	return names, nil
}

// readName reads the name starting at b[off] and returns it and the offset
// after it (after the first pointer, if it had one).
func readName(b []byte, off int) (string, int, error) {
	var sb strings.Builder
	next := -1
	limit := len(b) // a pointer must point before this and before itself
	for pos := off; ; {
		if pos >= len(b) {
			return "", 0, fmt.Errorf("%w: search list: name truncated", ErrMalformed)
		}
		l := int(b[pos])
		switch l & 0xc0 {
		case 0x00:
		case 0xc0:
			if pos+1 >= len(b) {
				return "", 0, fmt.Errorf("%w: search list: pointer truncated", ErrMalformed)
			}
			target := (l&0x3f)<<8 | int(b[pos+1])
			if target >= min(pos, limit) {
				return "", 0, fmt.Errorf("%w: search list: pointer to %d does not point backwards", ErrMalformed, target)
			}
			if next < 0 {
				next = pos + 2
			}
			limit, pos = target, target
			continue
		default: // 0x40 and 0x80 are reserved (RFC 1035 4.1.4, RFC 6891)
			return "", 0, fmt.Errorf("%w: search list: label type 0x%02x", ErrMalformed, l&0xc0)
		}
		if l == 0 {
			if next < 0 {
				next = pos + 1
			}
			return sb.String(), next, nil
		}
		if pos+1+l > len(b) {
			return "", 0, fmt.Errorf("%w: search list: label truncated", ErrMalformed)
		}
		if sb.Len() > 0 {
			sb.WriteByte('.')
		}
		sb.Write(b[pos+1 : pos+1+l])
		if sb.Len() > maxNameLen {
			return "", 0, fmt.Errorf("%w: search list: name longer than %d", ErrMalformed, maxNameLen)
		}
		pos += 1 + l
	}
}

// AppendSearchList appends names in the format of option 119, without
// compression. Names must be valid (ValidDomain).
func AppendSearchList(b []byte, names []string) []byte {
	for _, n := range names {
		for l := range strings.SplitSeq(strings.TrimSuffix(n, "."), ".") {
			b = append(b, byte(len(l)))
			b = append(b, l...)
		}
		b = append(b, 0)
	}
	return b
}

// ValidDomain says whether s can be given to a resolver as a domain: labels
// of 1 to 63 letters, digits, '-' and '_' (not starting with '-'),
// separated by dots, at most 253 characters. What a server sends ends up
// in resolv.conf and resolvectl's arguments, so nothing else passes.
func ValidDomain(s string) bool {
	if len(s) == 0 || len(s) > maxNameLen {
		return false
	}
	for l := range strings.SplitSeq(s, ".") {
		if len(l) == 0 || len(l) > maxLabelLen || l[0] == '-' {
			return false
		}
		for _, c := range []byte(l) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// domainName turns the text of option 15 into a domain: servers may end it
// with NULs (a C string) or a dot.
func domainName(b []byte) string {
	s := strings.TrimRight(string(b), "\x00")
	return strings.TrimSuffix(s, ".")
}
