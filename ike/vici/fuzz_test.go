package vici

import (
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	govici "github.com/strongswan/govici/vici"

	"github.com/l2tpvpn/l2tpvpn/ike"
)

// What charon sends is decoded by govici; these targets decode fuzzed bytes
// with the fake charon's codec (fakewire_test.go), hand the message to the
// code that reads charon's SA sections and events as govici would, and
// check what comes out. Seeds are the fake charon's sections, shaped as
// charon 5.9.8 writes them.

// lastValue is m's value of key as govici keeps it: the last one.
func lastValue(m msg, key string) any {
	var v any
	for _, e := range m {
		if e.k == key {
			v = e.v
		}
	}
	return v
}

func lastStr(m msg, key string) string { s, _ := lastValue(m, key).(string); return s }

// fuzzSA is an SA with two children, the second older, for seeds.
func fuzzSA() *fakeSA {
	return &fakeSA{conn: testConn, id: 3, state: "ESTABLISHED", local: "192.0.2.10", remote: "2001:db8::1",
		children: []fakeChild{{id: 10, mode: "TRANSPORT", spiIn: "c0000010", spiOut: "0b000010"}, {id: 9, mode: "TUNNEL", spiIn: "c0000009", spiOut: "0b000009"}}}
}

// FuzzParseSA reads any list-sa section: parseIKESA and parseChildSA take
// the fields where charon puts them, childSections orders the children by
// unique id, newestInstalled picks the last installed child named
// ChildName, and reading twice gives the same.
func FuzzParseSA(f *testing.F) {
	sa := fuzzSA()
	f.Add(sa.section().append(nil))
	f.Add(sa.ikeFields().append(nil))
	f.Add(sa.childSection(sa.children[0]).append(nil))
	f.Add(msg{{"child-sas", msg{{"a", msg{{"uniqueid", "x"}}}, {"b", "not a section"}, {"c", []string{"1"}}}}}.append(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMsg(b)
		if err != nil {
			return
		}
		g := toGovici(t, m)
		i := parseIKESA(testConn, g)
		if i.Name != testConn || i.UniqueID != lastStr(m, "uniqueid") || i.State != lastStr(m, "state") || i.RemoteID != lastStr(m, "remote-id") {
			t.Fatalf("IKE SA %+v from %v", i, m)
		}
		if i.SPIs == "_" || (i.Local == "") != (lastStr(m, "local-host") == "") {
			t.Fatalf("IKE SA %+v from %v", i, m)
		}
		if h := lastStr(m, "local-host"); strings.Contains(h, ":") && !strings.HasPrefix(i.Local, "["+h+"]") {
			t.Fatalf("IPv6 host %q written %q", h, i.Local)
		}
		if n, err := strconv.ParseInt(lastStr(m, "rekey-time"), 10, 64); (err == nil && i.RekeyS != n) || (err != nil && i.RekeyS != 0) {
			t.Fatalf("rekey-time %q read as %d", lastStr(m, "rekey-time"), i.RekeyS)
		}
		c := parseChildSA(g)
		if c.Name != lastStr(m, "name") || c.SPIIn != lastStr(m, "spi-in") || c.SPIOut != lastStr(m, "spi-out") ||
			c.Mode != strings.ToLower(lastStr(m, "mode")) || c.Encap != (lastStr(m, "encap") == "yes") {
			t.Fatalf("child %+v from %v", c, m)
		}
		if ts, ok := lastValue(m, "local-ts").([]string); ok != (c.LocalTS != nil) || !slices.Equal(ts, c.LocalTS) {
			t.Fatalf("local-ts %v read as %v", lastValue(m, "local-ts"), c.LocalTS)
		}
		cs := childSections(g)
		sections := 0
		if sec, ok := lastValue(m, "child-sas").(msg); ok {
			for _, e := range sec {
				if _, ok := e.v.(msg); ok {
					sections++
				}
			}
		}
		if len(cs) > sections { // duplicate names: govici keeps the last
			t.Fatalf("%d children from %d sections", len(cs), sections)
		}
		for k := 1; k < len(cs); k++ {
			if atoi(cs[k-1].UniqueID) > atoi(cs[k].UniqueID) {
				t.Fatalf("children out of order: %q before %q", cs[k-1].UniqueID, cs[k].UniqueID)
			}
		}
		n := newestInstalled(cs)
		for k := len(cs) - 1; k >= 0; k-- {
			if cs[k].Name == ChildName && cs[k].State == "INSTALLED" {
				if n == nil || !reflect.DeepEqual(*n, cs[k]) {
					t.Fatalf("newest installed %+v, want %+v", n, cs[k])
				}
				n = nil
				break
			}
		}
		if n != nil {
			t.Fatalf("newest installed %+v among none", n)
		}
		if i2, cs2 := parseIKESA(testConn, g), childSections(g); i2 != i || !reflect.DeepEqual(cs2, cs) {
			t.Fatal("reading twice differs")
		}
	})
}

// FuzzWatcherEvent hands any event to the watcher of a connection that is
// up: it reports only SAs of its own conn, each report is a rekey, a
// reported child is ours (ChildName), and it asks for a check only when an
// updown event of its conn says down.
func FuzzWatcherEvent(f *testing.F) {
	sa := fuzzSA()
	other := *sa
	other.id = 4
	other.children = []fakeChild{{id: 11, mode: "TRANSPORT", spiIn: "c0000011", spiOut: "0b000011"}}
	pair := msg{{"old", sa.childSection(sa.children[0])}, {"new", other.childSection(other.children[0])}}
	seeds := []struct {
		name string
		m    msg
	}{
		{"ike-rekey", msg{{testConn, msg{{"old", sa.section()}, {"new", other.section()}}}}},
		{"child-rekey", msg{{testConn, append(sa.ikeFields(), kv{"child-sas", msg{{ChildName + "-10", pair}}})}}},
		{"ike-updown", msg{{"up", "yes"}, {testConn, other.section()}}},
		{"ike-updown", msg{{testConn, sa.section()}}},
		{"child-updown", msg{{"up", "yes"}, {testConn, other.section()}}},
		{"child-updown", msg{{testConn, sa.section()}}},
		{"child-rekey", msg{{"other", sa.section()}}},
	}
	for _, s := range seeds {
		f.Add(s.name, s.m.append(nil))
	}
	f.Fuzz(func(t *testing.T, name string, b []byte) {
		m, err := decodeMsg(b)
		if err != nil {
			return
		}
		var got []Event
		d := &Delegate{conn: testConn, log: slog.New(slog.DiscardHandler), cfg: Config{Events: func(ev Event) { got = append(got, ev) }}}
		w := &watcher{d: d, up: true, ikeID: "3", childID: "10"}
		check := w.handle(govici.Event{Name: name, Message: toGovici(t, m)})
		_, ours := lastValue(m, testConn).(msg)
		if !ours && (check || len(got) > 0) {
			t.Fatalf("event without our conn: check %v, %d reports", check, len(got))
		}
		if check && (!strings.HasSuffix(name, "-updown") || lastStr(m, "up") == "yes") {
			t.Fatalf("%s (up %q) asked for a check", name, lastStr(m, "up"))
		}
		for _, ev := range got {
			if !ev.Rekey || ev.IKE.Name != testConn || (ev.Kind != Phase1Up && ev.Kind != ChildUp) ||
				(ev.Kind == ChildUp && ev.Child.Name != ChildName) {
				t.Fatalf("%s: reported %+v", name, ev)
			}
		}
	})
}

// FuzzTranscript reads any charon log of an attempt: an early end is an
// authentication failure, and the explanation of a failed attempt is an
// *ike.Error of a known kind that says what to check.
func FuzzTranscript(f *testing.F) {
	f.Add(strings.Join(mainModeLines, "\n"), "command failed: CHILD_SA 'l2tp' not established after 30000ms")
	f.Add(strings.Join(phase1Lines, "\n")+"\n[IKE] received NO_PROPOSAL_CHOSEN error notify", "command failed")
	f.Add("[NET] sending packet\n[ENC] generating ID_PROT request 0 [ ID HASH N(INITIAL_CONTACT) ]\n[ENC] could not decrypt payloads", "")
	f.Add("[IKE] IKE version 1 not supported", "")
	kinds := []error{ike.ErrNoResponse, ike.ErrNoProposalChosen, ike.ErrAuthentication, ike.ErrRejected, ErrNoIKEv1, ErrNoKernelESP}
	f.Fuzz(func(t *testing.T, log, answer string) {
		var tr transcript
		for _, l := range strings.Split(log, "\n") {
			if err := tr.add(l); err != nil {
				if !errors.Is(err, ike.ErrAuthentication) {
					t.Fatalf("early end %v", err)
				}
				break
			}
		}
		err := tr.failure(answer, "5.9.8")
		var ie *ike.Error
		if !errors.As(err, &ie) || !strings.HasPrefix(ie.Msg, "ike: ") || !slices.ContainsFunc(kinds, func(k error) bool { return errors.Is(err, k) }) {
			t.Fatalf("failure %#v", err)
		}
	})
}
