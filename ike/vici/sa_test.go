package vici

// The SA sections charon reports (list-sas and its events), as the fake
// charon writes them, and how sa.go reads them.

import (
	"fmt"
	"reflect"
	"strconv"
	"testing"

	govici "github.com/strongswan/govici/vici"
)

// fakeSA is an IKE SA in the fake charon.
type fakeSA struct {
	conn          string
	id            int
	state         string
	local, remote string
	children      []fakeChild
}

type fakeChild struct {
	id            int
	mode          string // TUNNEL or TRANSPORT
	spiIn, spiOut string
}

// addSALocked adds an IKE SA, with an installed child when mode is not
// "". f.mu is held.
func (f *fakeCharon) addSALocked(conn, local, remote, state, mode string) *fakeSA {
	f.nextIKE++
	sa := &fakeSA{conn: conn, id: f.nextIKE, state: state, local: local, remote: remote}
	if mode != "" {
		sa.children = append(sa.children, f.newChildLocked(mode))
	}
	f.sas = append(f.sas, sa)
	f.changed()
	return sa
}

func (f *fakeCharon) newChildLocked(mode string) fakeChild {
	f.nextChild++
	n := f.nextChild
	return fakeChild{id: n, mode: mode, spiIn: fmt.Sprintf("c%07x", 0x1a2b00+n), spiOut: fmt.Sprintf("%08x", 0x0badf000+n)}
}

// addSA adds an IKE SA as addSALocked does.
func (f *fakeCharon) addSA(conn, local, remote, state, mode string) *fakeSA {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addSALocked(conn, local, remote, state, mode)
}

// ikeFields is the IKE SA part of charon's list-sa section.
func (sa *fakeSA) ikeFields() msg {
	return msg{
		{"uniqueid", strconv.Itoa(sa.id)}, {"version", "1"}, {"state", sa.state},
		{"local-host", sa.local}, {"local-port", "4500"}, {"local-id", sa.local},
		{"remote-host", sa.remote}, {"remote-port", "4500"}, {"remote-id", sa.remote},
		{"initiator", "yes"},
		{"initiator-spi", fmt.Sprintf("%016x", 0x5eed000000000000+uint64(sa.id))},
		{"responder-spi", fmt.Sprintf("%016x", 0x7e57000000000000+uint64(sa.id))},
		{"nat-local", "yes"}, {"nat-remote", "yes"},
		{"encr-alg", "AES_CBC"}, {"encr-keysize", "256"}, {"integ-alg", "HMAC_SHA2_256_128"},
		{"prf-alg", "PRF_HMAC_SHA2_256"}, {"dh-group", "MODP_2048"},
		{"established", "2"}, {"rekey-time", "10186"},
	}
}

// childSection is a child's section in child-sas.
func (sa *fakeSA) childSection(c fakeChild) msg {
	return msg{
		{"name", ChildName}, {"uniqueid", strconv.Itoa(c.id)}, {"reqid", strconv.Itoa(c.id)},
		{"state", "INSTALLED"}, {"mode", c.mode}, {"protocol", "ESP"}, {"encap", "yes"},
		{"spi-in", c.spiIn}, {"spi-out", c.spiOut},
		{"encr-alg", "AES_CBC"}, {"encr-keysize", "128"}, {"integ-alg", "HMAC_SHA1_96"},
		{"bytes-in", "1234"}, {"packets-in", "12"}, {"bytes-out", "5678"}, {"packets-out", "34"},
		{"rekey-time", "2950"}, {"life-time", "3310"}, {"install-time", "2"},
		{"local-ts", []string{sa.local + "/32[udp/l2f]"}},
		{"remote-ts", []string{sa.remote + "/32[udp/l2f]"}},
	}
}

// section is the whole list-sa section of the SA (without its name).
func (sa *fakeSA) section() msg {
	cs := msg{}
	for _, c := range sa.children {
		cs = append(cs, kv{ChildName + "-" + strconv.Itoa(c.id), sa.childSection(c)})
	}
	return append(sa.ikeFields(), kv{"child-sas", cs})
}

// saLocked is the first IKE SA of conn; f.mu is held.
func (f *fakeCharon) saLocked(t *testing.T, conn string) *fakeSA {
	t.Helper()
	for _, sa := range f.sas {
		if sa.conn == conn {
			return sa
		}
	}
	t.Fatalf("fake charon: no IKE SA of %s", conn)
	return nil
}

// rekeyChild replaces the child of conn's IKE SA with a new one, as a
// phase 2 rekey does, and pushes child-rekey; it returns the new child.
func (f *fakeCharon) rekeyChild(t *testing.T, conn string) fakeChild {
	t.Helper()
	f.mu.Lock()
	sa := f.saLocked(t, conn)
	old := sa.children[0]
	nc := f.newChildLocked(old.mode)
	sa.children = []fakeChild{nc}
	pair := msg{{"old", sa.childSection(old)}, {"new", sa.childSection(nc)}}
	ev := msg{{conn, append(sa.ikeFields(), kv{"child-sas", msg{{ChildName + "-" + strconv.Itoa(old.id), pair}}})}}
	f.changed()
	f.mu.Unlock()
	f.push("child-rekey", ev)
	return nc
}

// rekeyIKE replaces conn's IKE SA with a new one that takes over its
// children, as a phase 1 rekey does, and pushes ike-rekey; it returns the
// new SA's unique id.
func (f *fakeCharon) rekeyIKE(t *testing.T, conn string) int {
	t.Helper()
	f.mu.Lock()
	old := f.saLocked(t, conn)
	f.nextIKE++
	nsa := &fakeSA{conn: conn, id: f.nextIKE, state: "ESTABLISHED", local: old.local, remote: old.remote, children: old.children}
	ev := msg{{conn, msg{{"old", old.section()}, {"new", nsa.section()}}}}
	for i, s := range f.sas {
		if s == old {
			f.sas[i] = nsa
		}
	}
	f.changed()
	f.mu.Unlock()
	f.push("ike-rekey", ev)
	return nsa.id
}

// childDown pushes child-updown (down) for conn's current child, which
// stays installed: what a client sees when charon deletes a child that
// was replaced.
func (f *fakeCharon) childDown(t *testing.T, conn string) {
	t.Helper()
	f.mu.Lock()
	sec := f.saLocked(t, conn).section()
	f.mu.Unlock()
	f.push("child-updown", msg{{conn, sec}})
}

// dropSA deletes conn's IKE SAs and pushes ike-updown (down), as charon
// does when the server deletes them or dead peer detection gives up.
func (f *fakeCharon) dropSA(t *testing.T, conn string) {
	t.Helper()
	f.mu.Lock()
	sa := f.saLocked(t, conn)
	sec := sa.section()
	var kept []*fakeSA
	for _, s := range f.sas {
		if s.conn != conn {
			kept = append(kept, s)
		}
	}
	f.sas = kept
	f.changed()
	f.mu.Unlock()
	f.push("ike-updown", msg{{conn, sec}})
}

// toGovici converts a fake message into govici's type.
func toGovici(t *testing.T, m msg) *govici.Message {
	t.Helper()
	g := govici.NewMessage()
	for _, e := range m {
		v := e.v
		if sec, ok := v.(msg); ok {
			v = toGovici(t, sec)
		}
		if err := g.Set(e.k, v); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func TestAlgName(t *testing.T) {
	for _, c := range []struct {
		encr, bits, integ, group, want string
	}{
		{"AES_CBC", "256", "HMAC_SHA1_96", "MODP_1024", "aes256-sha1-modp1024"},
		{"AES_CBC", "256", "HMAC_SHA2_256_128", "MODP_2048", "aes256-sha256-modp2048"},
		{"AES_CBC", "192", "HMAC_SHA2_384_192", "MODP_3072", "aes192-sha384-modp3072"},
		{"AES_CBC", "128", "HMAC_SHA2_512_256", "ECP_384", "aes128-sha512-ecp384"},
		{"AES_CBC", "128", "HMAC_SHA1_96", "", "aes128-sha1"},
		{"AES_GCM_16", "128", "", "", "aes128gcm16"},
		{"AES_GCM_16", "256", "", "MODP_2048", "aes256gcm16-modp2048"},
		{"3DES", "", "HMAC_MD5_96", "MODP_2048", "3des-md5-modp2048"},
		{"", "", "", "ECP_256", "ecp256"},
		{"CAMELLIA_CBC", "128", "AES_XCBC_96", "CURVE_25519", "camellia_cbc128-aes_xcbc_96-curve25519"},
		{"", "", "", "", ""},
	} {
		if got := algName(c.encr, c.bits, c.integ, c.group); got != c.want {
			t.Errorf("algName(%q, %q, %q, %q) = %q, want %q", c.encr, c.bits, c.integ, c.group, got, c.want)
		}
	}
}

func TestHostPort(t *testing.T) {
	for _, c := range []struct{ h, p, want string }{
		{"192.0.2.1", "4500", "192.0.2.1:4500"},
		{"2001:db8::1", "500", "[2001:db8::1]:500"},
		{"192.0.2.1", "", "192.0.2.1"},
		{"", "4500", ""},
	} {
		if got := hostPort(c.h, c.p); got != c.want {
			t.Errorf("hostPort(%q, %q) = %q, want %q", c.h, c.p, got, c.want)
		}
	}
}

// TestParseSA reads a list-sa section as the fake charon writes it.
func TestParseSA(t *testing.T) {
	sa := &fakeSA{conn: "l2tpvpn-x", id: 3, state: "ESTABLISHED", local: "192.0.2.10", remote: "198.51.100.1",
		children: []fakeChild{{id: 10, mode: "TRANSPORT", spiIn: "c0000010", spiOut: "0b000010"}, {id: 9, mode: "TRANSPORT", spiIn: "c0000009", spiOut: "0b000009"}}}
	sec := toGovici(t, sa.section())

	i := parseIKESA("l2tpvpn-x", sec)
	wantIKE := IKESA{Name: "l2tpvpn-x", UniqueID: "3", State: "ESTABLISHED", Local: "192.0.2.10:4500", Remote: "198.51.100.1:4500",
		RemoteID: "198.51.100.1", SPIs: "5eed000000000003_7e57000000000003", Alg: "aes256-sha256-modp2048", NAT: true, RekeyS: 10186}
	if i != wantIKE {
		t.Errorf("parseIKESA:\n got %+v\nwant %+v", i, wantIKE)
	}

	cs := childSections(sec)
	if len(cs) != 2 || cs[0].UniqueID != "9" || cs[1].UniqueID != "10" {
		t.Fatalf("childSections not ordered by unique id (9 before 10): %+v", cs)
	}
	wantChild := ChildSA{Name: "l2tp", UniqueID: "10", State: "INSTALLED", Mode: "transport", Encap: true,
		SPIIn: "c0000010", SPIOut: "0b000010", Alg: "aes128-sha1",
		LocalTS: []string{"192.0.2.10/32[udp/l2f]"}, RemoteTS: []string{"198.51.100.1/32[udp/l2f]"},
		LifeS: 3310, RekeyS: 2950, BytesIn: 1234, BytesOut: 5678, PacketsIn: 12, PacketsOut: 34}
	if !reflect.DeepEqual(cs[1], wantChild) {
		t.Errorf("parseChildSA:\n got %+v\nwant %+v", cs[1], wantChild)
	}
	if c := newestInstalled(cs); c == nil || c.UniqueID != "10" {
		t.Errorf("newestInstalled = %+v, want child 10", c)
	}

	// Only installed children named l2tp count.
	cs[1].State = "REKEYED"
	cs[0].Name = "other"
	if c := newestInstalled(cs); c != nil {
		t.Errorf("newestInstalled = %+v, want none", c)
	}
	if c := childSections(toGovici(t, sa.ikeFields())); c != nil {
		t.Errorf("childSections of an IKE SA without child-sas = %+v", c)
	}
	if i := parseIKESA("x", govici.NewMessage()); i.SPIs != "" || i.Alg != "" || i.NAT {
		t.Errorf("parseIKESA of an empty section = %+v", i)
	}
}
