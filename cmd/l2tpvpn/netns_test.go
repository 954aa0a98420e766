package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestNetnsResolvConf(t *testing.T) {
	got := string(nsResolvConf([]string{"198.51.100.1", "198.51.100.2"}, []string{"corp.example", "lab.example"}))
	want := "# l2tpvpn exec --netns: the tunnel's DNS servers\nnameserver 198.51.100.1\nnameserver 198.51.100.2\nsearch corp.example lab.example\n"
	if got != want {
		t.Errorf("resolv.conf:\n%s\nwant:\n%s", got, want)
	}
	if got := string(nsResolvConf(nil, nil)); strings.Contains(got, "nameserver") || strings.Contains(got, "search") {
		t.Errorf("without DNS servers the file names none:\n%s", got)
	}
}

func TestBoundingLacks(t *testing.T) {
	for _, tc := range []struct{ capBnd, want string }{
		{"000001ffffffffff", ""},
		{"00000000a80425fb", "CAP_NET_ADMIN and CAP_SYS_ADMIN"}, // Docker's default set
		{"0000000000201000", ""},                                // exactly the two
		{"0000000000001000", "CAP_SYS_ADMIN"},
		{"0000000000000000", "CAP_NET_ADMIN and CAP_SYS_ADMIN"},
	} {
		status := "Name:\tl2tpvpn\nCapEff:\t0000000000000000\nCapBnd:\t" + tc.capBnd + "\n"
		if got := boundingLacks([]byte(status)); got != tc.want {
			t.Errorf("CapBnd %s: %q, want %q", tc.capBnd, got, tc.want)
		}
	}
}

func TestExecNetnsUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	t.Setenv("L2V_UNIT_PW", "not-a-real-password")
	code := run([]string{"exec", "--netns", "--proxy", "--server", "192.0.2.1", "--user", "u", "--password-env", "L2V_UNIT_PW", "--ipsec=off", "--", "true"}, &out, &errOut)
	if code != exitUsage || !strings.Contains(errOut.String(), "--netns and --proxy do not go together") {
		t.Errorf("exec --netns --proxy: exit %d\n%s", code, errOut.String())
	}
	out.Reset()
	if code := run([]string{"exec", "--help"}, &out, &errOut); code != exitOK || !strings.Contains(out.String(), "--netns") {
		t.Errorf("exec --help does not explain --netns (exit %d)", code)
	}
	code = run([]string{netnsCommand}, &out, &errOut)
	if code != exitUsage || !strings.Contains(errOut.String(), "internal to 'l2tpvpn exec --netns'") {
		t.Errorf("__netns without a command: exit %d\n%s", code, errOut.String())
	}
}
