package vici

// The watcher: charon's events after Dial, pushed by the fake charon. Each
// step waits on what the watcher does (an event, a list-sas it sends, Done);
// 5 s is only a failure guard.

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/l2tpvpn/l2tpvpn/ike"
)

func awaitDone(t *testing.T, d *Delegate) {
	t.Helper()
	select {
	case <-d.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed within 5 s")
	}
}

func assertUp(t *testing.T, d *Delegate) {
	t.Helper()
	select {
	case <-d.Done():
		t.Fatalf("Done closed: %v", d.Err())
	default:
	}
}

func TestWatcher(t *testing.T) {
	f := newFakeCharon(t)
	rec := make(recorder, 32)
	d := dial(t, testConfig(f.path, rec))
	rec.next(t) // Phase1Up and ChildUp of Dial
	rec.next(t)

	// The replaced child of a rekey goes down while the new one is
	// installed: the watcher asks charon and stays up.
	n := len(f.reqs())
	f.childDown(t, testConn)
	f.await(t, "the watcher's list-sas after child-updown", func() bool {
		for _, r := range f.requests[n:] {
			if r.cmd == "list-sas" && r.answered {
				return true
			}
		}
		return false
	})

	// A rekey of another conn is not ours; a rekey of our child is
	// reported. The watcher's one goroutine handles it after the check
	// above, so Done is settled when the event arrives.
	f.push("child-rekey", msg{{"other", msg{{"uniqueid", "7"}, {"child-sas", msg{{"l2tp-9", msg{{"new", msg{{"name", "l2tp"}, {"uniqueid", "9"}}}}}}}}}})
	nc := f.rekeyChild(t, testConn)
	ev := rec.next(t)
	if ev.Kind != ChildUp || !ev.Rekey || ev.Child.UniqueID != strconv.Itoa(nc.id) || ev.Child.SPIIn != nc.spiIn ||
		ev.Child.SPIOut != nc.spiOut || ev.Child.Mode != "tunnel" || ev.IKE.Name != testConn || ev.IKE.Alg != "aes256-sha256-modp2048" {
		t.Errorf("after child-rekey: %+v, want ChildUp (rekey) of child %d with SPIs %s/%s", ev, nc.id, nc.spiIn, nc.spiOut)
	}
	assertUp(t, d)

	// A phase 1 rekey is reported too.
	id := f.rekeyIKE(t, testConn)
	if ev := rec.next(t); ev.Kind != Phase1Up || !ev.Rekey || ev.IKE.UniqueID != strconv.Itoa(id) {
		t.Errorf("after ike-rekey: %+v, want Phase1Up (rekey) of IKE SA %d", ev, id)
	}
	assertUp(t, d)

	// Charon deletes the SAs: Done closes.
	f.dropSA(t, testConn)
	awaitDone(t, d)
	if err := d.Err(); !errors.Is(err, ike.ErrPeerGone) || errors.Is(err, ErrDaemonGone) || !strings.Contains(err.Error(), "deleted") {
		t.Errorf("Err() = %v, want ike.ErrPeerGone saying charon deleted the SAs", err)
	}
	n = len(f.reqs())
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	// terminate is sent regardless (list-sas may not show an SA a charon
	// thread is busy with); charon answers that there is nothing to end.
	if got := cmds(f.reqs()[n:]); slices.Index(got, "terminate") > slices.Index(got, "unload-conn") || !slices.Contains(got, "unload-conn") || slices.Contains(got, "list-sas") {
		t.Errorf("Close after the SAs were gone sent %v: want terminate, then unload-conn, and no list-sas", got)
	}
	f.assertClean(t)
	f.awaitNoClients(t)
}

// TestWatcherCharonGone: charon stops (every vici connection closes): Done
// closes, and Close still unloads what Dial loaded over a new session.
func TestWatcherCharonGone(t *testing.T) {
	f := newFakeCharon(t)
	rec := make(recorder, 32)
	d := dial(t, testConfig(f.path, rec))
	f.dropClients()
	awaitDone(t, d)
	if err := d.Err(); !errors.Is(err, ike.ErrPeerGone) || !strings.Contains(err.Error(), "charon") {
		t.Errorf("Err() = %v, want ike.ErrPeerGone saying charon went away", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	f.assertClean(t)
	f.awaitNoClients(t)
}
