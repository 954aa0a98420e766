package ppp

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseAuthMethods checks the parser of the allowed authentication
// methods (text from the command line or a profile): blank means all
// (nil); an accepted list holds known methods without duplicates, one per
// word, and its names parse back to the same list; a refusal quotes one of
// the words.
func FuzzParseAuthMethods(f *testing.F) {
	for _, s := range []string{"pap,chap,mschapv2", "MS-CHAPv2, chap-md5", "pap,pap", " ", "", "pap,,chap", "eap", "md5,mschap-v2,PAP"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := ParseAuthMethods(s)
		if strings.TrimSpace(s) == "" {
			if ms != nil || err != nil {
				t.Fatalf("blank %q: %v %v", s, ms, err)
			}
			return
		}
		if err != nil {
			if ms != nil || !strings.HasPrefix(err.Error(), "ppp: ") {
				t.Fatalf("%q: %v %v", s, ms, err)
			}
			quoted := false
			for _, w := range strings.Split(s, ",") {
				quoted = quoted || strings.Contains(err.Error(), strconv.Quote(strings.TrimSpace(w)))
			}
			if !quoted {
				t.Fatalf("%q: error %q quotes none of the words", s, err)
			}
			return
		}
		if len(ms) == 0 || len(ms) > 3 || len(ms) > strings.Count(s, ",")+1 {
			t.Fatalf("%q: %v", s, ms)
		}
		names := make([]string, len(ms))
		for i, m := range ms {
			if m != AuthPAP && m != AuthCHAPMD5 && m != AuthMSCHAPv2 {
				t.Fatalf("%q: method %v", s, m)
			}
			if slices.Contains(ms[:i], m) {
				t.Fatalf("%q: %v twice", s, m)
			}
			names[i] = m.String()
		}
		if again, err := ParseAuthMethods(strings.Join(names, ",")); err != nil || !slices.Equal(again, ms) {
			t.Fatalf("%q: %v -> %v, %v", s, ms, again, err)
		}
	})
}
