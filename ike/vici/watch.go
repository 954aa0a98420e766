package vici

// Following charon's events for our connection once it is up: rekeys are
// reported, a lost SA ends the Delegate.

import (
	"context"
	"sync"
	"time"

	govici "github.com/strongswan/govici/vici"

	"github.com/l2tpvpn/l2tpvpn/ike"
)

// EventKind says what an Event reports.
type EventKind int

const (
	// Phase1Up: the IKE SA is established (Rekey: it replaces an earlier
	// one, a phase 1 rekey).
	Phase1Up EventKind = iota + 1
	// ChildUp: a CHILD_SA is installed (Rekey: it replaces an earlier one).
	ChildUp
)

// Event is a phase 1 or phase 2 step charon reported.
type Event struct {
	Kind  EventKind
	Rekey bool
	IKE   IKESA
	Child ChildSA // ChildUp only
}

// ErrDaemonGone: charon's vici connection closed (charon stopped or
// restarted); it unwraps to ike.ErrPeerGone.
var ErrDaemonGone = &ike.Error{Kind: ike.ErrPeerGone, Msg: "ike: charon stopped (its vici connection closed): the SAs are gone"}

// settleTime bounds how long a rekey may leave us without an installed
// child before the connection counts as lost.
const settleTime = 15 * time.Second

type watcher struct {
	d    *Delegate
	evs  *govici.Session
	ch   chan govici.Event
	done chan struct{}
	quit chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex
	up       bool
	stopped  bool
	err      error
	ikeID    string
	childID  string
	checking bool
}

var watchedEvents = []string{"ike-updown", "child-updown", "ike-rekey", "child-rekey"}

func startWatcher(d *Delegate, evs *govici.Session) (*watcher, error) {
	w := &watcher{d: d, evs: evs, ch: make(chan govici.Event, 256), done: make(chan struct{}), quit: make(chan struct{})}
	if err := evs.Subscribe(watchedEvents...); err != nil {
		return nil, err
	}
	evs.NotifyEvents(w.ch)
	w.wg.Add(1)
	go w.loop()
	return w, nil
}

// established records the SAs Dial brought up and reports them.
// They are reported before the watcher reports anything itself, so events
// never run concurrently and a rekey never precedes the first ChildUp.
func (w *watcher) established(st Status) {
	w.emit(Event{Kind: Phase1Up, IKE: *st.IKE})
	w.emit(Event{Kind: ChildUp, IKE: *st.IKE, Child: *st.Child})
	w.mu.Lock()
	w.up = true
	w.ikeID, w.childID = st.IKE.UniqueID, st.Child.UniqueID
	w.mu.Unlock()
}

func (w *watcher) emit(ev Event) {
	if w.d.cfg.Events != nil {
		w.d.cfg.Events(ev)
	}
}

func (w *watcher) error() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// stop ends the watch without reporting a loss (Close).
func (w *watcher) stop() {
	w.mu.Lock()
	already := w.stopped
	w.stopped = true
	w.mu.Unlock()
	if already {
		return
	}
	close(w.quit)
	w.evs.Close()
	w.wg.Wait()
}

// lost ends the connection with err (once).
func (w *watcher) lost(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped || w.err != nil {
		return
	}
	w.err = err
	w.d.log.Info("charon: the connection's SAs are gone", "err", err)
	close(w.done)
}

func (w *watcher) loop() {
	defer w.wg.Done()
	var recheck <-chan time.Time
	var settleBy time.Time
	for {
		select {
		case <-w.quit:
			return
		case ev, ok := <-w.ch:
			if !ok {
				w.lost(ErrDaemonGone)
				return
			}
			if w.handle(ev) && recheck == nil {
				settleBy = time.Now().Add(settleTime)
				recheck = time.After(0)
			}
		case <-recheck:
			recheck = nil
			switch w.check() {
			case checkGone:
				return
			case checkPending:
				if time.Now().After(settleBy) {
					w.lost(&ike.Error{Kind: ike.ErrPeerGone, Msg: "ike: charon has no installed CHILD_SA for " + w.d.conn + " any more (a rekey did not complete)"})
					return
				}
				recheck = time.After(time.Second)
			}
		}
	}
}

// handle processes one event; it returns true when the SAs must be
// checked (something of ours went down).
func (w *watcher) handle(ev govici.Event) bool {
	m := ev.Message
	sec, ok := m.Get(w.d.conn).(*govici.Message)
	if !ok {
		return false
	}
	w.mu.Lock()
	up := w.up
	w.mu.Unlock()
	if !up {
		return false // Dial's own SAs are reported by established
	}
	w.d.log.Debug("charon event", "event", ev.Name, "up", str(m, "up"))
	switch ev.Name {
	case "ike-rekey":
		if n, ok := sec.Get("new").(*govici.Message); ok {
			i := parseIKESA(w.d.conn, n)
			w.setIDs(i.UniqueID, "")
			w.emit(Event{Kind: Phase1Up, Rekey: true, IKE: i})
		}
	case "child-rekey":
		i := parseIKESA(w.d.conn, sec)
		cs, _ := sec.Get("child-sas").(*govici.Message)
		if cs == nil {
			return false
		}
		for _, k := range cs.Keys() {
			pair, _ := cs.Get(k).(*govici.Message)
			if pair == nil {
				continue
			}
			if n, ok := pair.Get("new").(*govici.Message); ok {
				c := parseChildSA(n)
				if c.Name == ChildName && w.setIDs("", c.UniqueID) {
					w.emit(Event{Kind: ChildUp, Rekey: true, IKE: i, Child: c})
				}
			}
		}
	case "ike-updown":
		i := parseIKESA(w.d.conn, sec)
		if str(m, "up") != "yes" {
			return true
		}
		if w.setIDs(i.UniqueID, "") {
			w.emit(Event{Kind: Phase1Up, Rekey: true, IKE: i})
		}
	case "child-updown":
		if str(m, "up") != "yes" {
			return true
		}
		i := parseIKESA(w.d.conn, sec)
		for _, c := range childSections(sec) {
			if c.Name == ChildName && w.setIDs("", c.UniqueID) {
				w.emit(Event{Kind: ChildUp, Rekey: true, IKE: i, Child: c})
			}
		}
	}
	return false
}

// setIDs records the current IKE SA and child by charon's unique ids
// (empty: unchanged); it reports whether one of them is new.
func (w *watcher) setIDs(ikeID, childID string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	changed := false
	if ikeID != "" && ikeID != w.ikeID {
		w.ikeID, changed = ikeID, true
	}
	if childID != "" && childID != w.childID {
		w.childID, changed = childID, true
	}
	return changed
}

type checkResult int

const (
	checkOK checkResult = iota
	checkPending
	checkGone
)

// check asks charon whether our connection still has an established IKE
// SA with an installed child (a rekey replaces SAs before it deletes the
// old ones).
func (w *watcher) check() checkResult {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := w.d.status(ctx)
	if err != nil {
		// Ask again (until settleTime); if charon itself is gone, the
		// event session says so.
		w.d.log.Debug("charon: checking our SAs", "err", err)
		return checkPending
	}
	switch {
	case st.IKE == nil:
		w.lost(&ike.Error{Kind: ike.ErrPeerGone,
			Msg: "ike: charon deleted our SAs: the server closed them or stopped answering dead peer detection"})
		return checkGone
	case st.IKE.State == "ESTABLISHED" && st.Child != nil:
		w.setIDs(st.IKE.UniqueID, st.Child.UniqueID)
		return checkOK
	}
	return checkPending
}
