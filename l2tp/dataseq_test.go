package l2tp

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
)

// A sequenced data message as RFC 2661 3.1 lays it out: S bit and Ver 2,
// Tunnel ID 54636, Session ID 62572, Ns 0x0102, Nr 0 (reserved), then the PPP
// frame ff 03 00 21 45.
var seqDataGolden = []byte{
	0x08, 0x02, // T=0 L=0 S=1 O=0 P=0, Ver=2
	0xd5, 0x6c, 0xf4, 0x6c, // Tunnel ID, Session ID
	0x01, 0x02, 0x00, 0x00, // Ns, Nr
	0xff, 0x03, 0x00, 0x21, 0x45, // PPP: IPv4
}

func TestPutDataHeaderSeq(t *testing.T) {
	b := make([]byte, len(seqDataGolden))
	copy(b[DataHeaderSeqLen:], seqDataGolden[DataHeaderSeqLen:])
	for i := range DataHeaderSeqLen {
		b[i] = 0xee // PutDataHeaderSeq writes every header byte
	}
	PutDataHeaderSeq(b, 54636, 62572, 0x0102, 0)
	if !bytes.Equal(b, seqDataGolden) {
		t.Fatalf("message % x\nwant    % x", b, seqDataGolden)
	}
	h, p, err := ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Header{HasSequence: true, Version: 2, TunnelID: 54636, SessionID: 62572, Ns: 0x0102}
	if h != want || h.Len() != DataHeaderSeqLen {
		t.Errorf("got %+v (Len %d), want %+v", h, h.Len(), want)
	}
	if !bytes.Equal(p, seqDataGolden[DataHeaderSeqLen:]) || &p[0] != &b[DataHeaderSeqLen] {
		t.Errorf("payload %x does not alias the message after the header", p)
	}
	// Header.Append writes the same bytes.
	if enc := want.Append(nil); !bytes.Equal(enc, seqDataGolden[:DataHeaderSeqLen]) {
		t.Errorf("Append % x", enc)
	}
}

// Every prefix of a sequenced data message shorter than its header fails
// cleanly; longer ones parse with the rest as payload.
func TestParseHeaderSeqTruncation(t *testing.T) {
	for n := range len(seqDataGolden) + 1 {
		h, p, err := ParseHeader(seqDataGolden[:n])
		if n < DataHeaderSeqLen {
			if !errors.Is(err, ErrMalformed) || p != nil {
				t.Errorf("prefix %d: %v, payload %x", n, err, p)
			}
			continue
		}
		if err != nil || !h.HasSequence || h.Ns != 0x0102 || !bytes.Equal(p, seqDataGolden[DataHeaderSeqLen:n]) {
			t.Errorf("prefix %d: %+v %x %v", n, h, p, err)
		}
	}
}

// putHeader runs PutHeader with room for the longest header and parses the result.
func putHeader(t *testing.T, s *DataSequence) Header {
	t.Helper()
	b := make([]byte, 16)
	copy(b[12:], []byte{0xff, 0x03, 0x00, 0x21})
	start := s.PutHeader(b, 12, 0x1234, 0x5678)
	if start < 0 {
		t.Fatal("PutHeader refused")
	}
	h, p, err := ParseHeader(b[start:])
	if err != nil || !bytes.Equal(p, b[12:]) {
		t.Fatalf("PutHeader wrote % x: %v", b[start:12], err)
	}
	if h.TunnelID != 0x1234 || h.SessionID != 0x5678 || h.Control || h.HasLength || h.HasOffset || h.Nr != 0 {
		t.Fatalf("header %+v", h)
	}
	return h
}

// 5.4: with Sequencing Required every data message carries Ns, from 0 up,
// modulo 2^16; Nr is 0.
func TestDataSequenceRequired(t *testing.T) {
	var s DataSequence
	if h := putHeader(t, &s); h.HasSequence {
		t.Fatal("sequenced before anything asked for it")
	}
	s.Require()
	for want := range uint16(3) {
		if h := putHeader(t, &s); !h.HasSequence || h.Ns != want {
			t.Fatalf("header %+v, want Ns %d", h, want)
		}
	}
	// Unsequenced data from the peer does not turn it off.
	s.Received(&Header{Version: 2})
	if h := putHeader(t, &s); !h.HasSequence || h.Ns != 3 {
		t.Fatalf("after unsequenced data: %+v", h)
	}
	for range 0x10000 - 5 {
		s.Next()
	}
	if h := putHeader(t, &s); h.Ns != 0xffff {
		t.Fatalf("Ns %d, want 65535", h.Ns)
	}
	if h := putHeader(t, &s); h.Ns != 0 {
		t.Fatalf("Ns %d after 65535, want 0 (modulo 2^16)", h.Ns)
	}
}

// 5.4: without Sequencing Required the peer's data messages switch our
// sequencing on and off, and our numbering picks up where it left off.
func TestDataSequenceFollowsPeer(t *testing.T) {
	var s DataSequence
	s.Received(&Header{Version: 2, HasSequence: true, Ns: 0})
	if h := putHeader(t, &s); !h.HasSequence || h.Ns != 0 {
		t.Fatalf("after sequenced data: %+v", h)
	}
	putHeader(t, &s) // Ns 1
	s.Received(&Header{Version: 2})
	if h := putHeader(t, &s); h.HasSequence {
		t.Fatalf("after unsequenced data: %+v", h)
	}
	if s.Sending() {
		t.Error("Sending after unsequenced data")
	}
	s.Received(&Header{Version: 2, HasSequence: true, Ns: 1})
	if h := putHeader(t, &s); !h.HasSequence || h.Ns != 2 {
		t.Fatalf("sequencing again: %+v, want Ns 2", h)
	}
}

// Too little headroom for the sequenced header is refused whether or not
// sequencing is on, without using up an Ns.
func TestDataSequencePutHeaderBounds(t *testing.T) {
	var s DataSequence
	b := make([]byte, 20)
	for _, end := range []int{-1, 0, DataHeaderLen, DataHeaderSeqLen - 1, 21} {
		if got := s.PutHeader(b, end, 1, 2); got != -1 {
			t.Errorf("unsequenced, end %d: %d, want -1", end, got)
		}
	}
	s.Require()
	if got := s.PutHeader(b, DataHeaderSeqLen-1, 1, 2); got != -1 {
		t.Errorf("sequenced, end %d: %d, want -1", DataHeaderSeqLen-1, got)
	}
	if got := s.PutHeader(b, DataHeaderSeqLen, 1, 2); got != 0 {
		t.Errorf("sequenced, end %d: %d, want 0", DataHeaderSeqLen, got)
	}
	if h, _, _ := ParseHeader(b); h.Ns != 0 {
		t.Errorf("first Ns %d, want 0: a refused header used one up", h.Ns)
	}
}

// Received data: in order and newer is delivered, older than the newest is
// dropped and counted, a repeat is delivered, Ns wraps.
func TestDataSequenceReceiveLate(t *testing.T) {
	var s DataSequence
	steps := []struct {
		ns   uint16
		want bool
	}{
		{5, true}, // the first one sets the base, whatever it is
		{6, true},
		{9, true}, // 7 and 8 lost or late
		{7, false},
		{8, false},
		{10, true},
		{10, true}, // a repeat is not older
		{0x8009, true},
		{0xfffe, true},
		{0x0001, true}, // wrapped
		{0xffff, false},
		{0x0002, true},
	}
	late := 0
	for i, st := range steps {
		if got := s.Received(&Header{Version: 2, HasSequence: true, Ns: st.ns}); got != st.want {
			t.Errorf("step %d: Ns %#x delivered %v, want %v", i, st.ns, got, st.want)
		}
		if !st.want {
			late++
		}
	}
	if s.Late() != uint64(late) {
		t.Errorf("Late %d, want %d", s.Late(), late)
	}
	// Unsequenced data is always delivered.
	if !s.Received(&Header{Version: 2}) {
		t.Error("unsequenced data dropped")
	}
}

// A peer whose numbering jumped back (or ahead by more than half the space)
// loses maxLateRun messages, then the receiver follows it.
func TestDataSequenceResync(t *testing.T) {
	var s DataSequence
	s.Received(&Header{HasSequence: true, Ns: 1000})
	for i := range maxLateRun {
		if s.Received(&Header{HasSequence: true, Ns: uint16(i)}) {
			t.Fatalf("Ns %d after 1000 delivered", i)
		}
	}
	if !s.Received(&Header{HasSequence: true, Ns: maxLateRun}) {
		t.Fatalf("still dropping after %d late ones in a row", maxLateRun)
	}
	if !s.Received(&Header{HasSequence: true, Ns: maxLateRun + 1}) || s.Received(&Header{HasSequence: true, Ns: 3}) {
		t.Fatal("not following the new numbering")
	}
	// A message in order ends a run: interleaved late ones never resync.
	var r DataSequence
	r.Received(&Header{HasSequence: true, Ns: 100})
	for i := range uint16(3 * maxLateRun) {
		if r.Received(&Header{HasSequence: true, Ns: 50 + i}) {
			t.Fatalf("late Ns %d delivered", 50+i)
		}
		if !r.Received(&Header{HasSequence: true, Ns: 101 + i}) {
			t.Fatalf("Ns %d dropped", 101+i)
		}
	}
	if r.Late() != 3*maxLateRun {
		t.Errorf("Late %d, want %d", r.Late(), 3*maxLateRun)
	}
}

// Several senders (the data path and PPP control frames) share one session's
// numbering: every Ns is used once.
func TestDataSequenceConcurrent(t *testing.T) {
	var s DataSequence
	s.Require()
	const senders, each = 4, 1000
	seen := make([][]uint16, senders)
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			b := make([]byte, DataHeaderSeqLen)
			for range each {
				s.PutHeader(b, DataHeaderSeqLen, 1, 2)
				h, _, _ := ParseHeader(b)
				seen[g] = append(seen[g], h.Ns)
			}
		})
	}
	wg.Go(func() {
		for i := range uint16(each) {
			s.Received(&Header{HasSequence: true, Ns: i})
		}
	})
	wg.Wait()
	used := make([]bool, senders*each)
	for _, ns := range seen {
		for _, n := range ns {
			if int(n) >= len(used) || used[n] {
				t.Fatalf("Ns %d used twice or out of range", n)
			}
			used[n] = true
		}
	}
}

func TestDataSequenceAllocs(t *testing.T) {
	var s DataSequence
	s.Require()
	b := make([]byte, 64)
	h := Header{HasSequence: true}
	if n := testing.AllocsPerRun(100, func() {
		s.PutHeader(b, 32, 1, 2)
		PutDataHeaderSeq(b, 1, 2, 3, 0)
		h.Ns++
		s.Received(&h)
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

// A Sequencing Required AVP in the ICRP reaches SessionInfo (the data path
// then calls DataSequence.Require); without it the flag is clear.
func TestICRPSequencingRequired(t *testing.T) {
	for _, required := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			f := newLNS(t, Config{})
			f.establish()
			_, res := f.startSession()
			var extra []AVP
			if required {
				extra = append(extra, BytesAVP(AVPSequencingRequired, true, nil))
			}
			f.deliver(f.icrp(extra...))
			f.expect(ICCN)
			r := <-res
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.v.SequencingRequired != required {
				t.Errorf("SequencingRequired %v, want %v", r.v.SequencingRequired, required)
			}
			f.zlb()
			f.cancel()
			f.runResult()
		})
	}
}
