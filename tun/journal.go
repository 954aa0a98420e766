package tun

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The journal is a write-ahead list of the host changes one connection has
// made, kept as StateDir/NAME.host.json (0600). Each change is appended and
// the file atomically rewritten BEFORE the change is made, so after a crash
// Cleanup can undo everything that may have happened; undoing something
// that never happened finds nothing and is ignored. The file holds nothing
// secret: routes, a resolv.conf backup reference, an interface name.

const journalVersion = 1

// journalSuffix names journal files: StateDir/NAME.host.json.
const journalSuffix = ".host.json"

// ErrNoJournal is returned by Cleanup when the connection has no journal.
var ErrNoJournal = errors.New("tun: no host journal")

// ErrJournalExists is returned by ApplyHost when a journal for the same
// connection name is left over from a process that did not finish its
// teardown; Cleanup undoes it.
var ErrJournalExists = errors.New("tun: a host journal from an earlier run exists (run `l2tpvpn disconnect --cleanup`)")

type journal struct {
	Version   int      `json:"version"`
	Name      string   `json:"name"`
	Interface string   `json:"interface"`
	Actions   []action `json:"actions"`
}

// action is one undoable host change. Exactly one of the pointers is set,
// as Kind says.
type action struct {
	Kind       string          `json:"kind"` // "route", "resolv.conf", "resolved"
	Route      *routeSpec      `json:"route,omitempty"`
	ResolvConf *resolvConfUndo `json:"resolv_conf,omitempty"`
	Resolved   *resolvedUndo   `json:"resolved,omitempty"`
}

func (a action) check() error {
	switch {
	case a.Kind == "route" && a.Route != nil && a.ResolvConf == nil && a.Resolved == nil:
		return a.Route.check()
	case a.Kind == "resolv.conf" && a.ResolvConf != nil && a.Route == nil && a.Resolved == nil:
		return a.ResolvConf.check()
	case a.Kind == "resolved" && a.Resolved != nil && a.Route == nil && a.ResolvConf == nil:
		if !validInterfaceName(a.Resolved.Interface) {
			return fmt.Errorf("resolved: bad interface name %q", a.Resolved.Interface)
		}
		return nil
	}
	return fmt.Errorf("unknown or malformed action %q", a.Kind)
}

func journalPath(stateDir, name string) string {
	return filepath.Join(stateDir, name+journalSuffix)
}

// decodeJournal parses and validates a journal.
func decodeJournal(b []byte) (*journal, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var j journal
	if err := d.Decode(&j); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("trailing data")
	}
	if j.Version != journalVersion {
		return nil, fmt.Errorf("unsupported version %d", j.Version)
	}
	if !validName(j.Name) {
		return nil, fmt.Errorf("bad connection name %q", j.Name)
	}
	for i, a := range j.Actions {
		if err := a.check(); err != nil {
			return nil, fmt.Errorf("action %d: %w", i, err)
		}
	}
	return &j, nil
}

func loadJournal(path string) (*journal, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w %s", ErrNoJournal, path)
		}
		return nil, fmt.Errorf("tun: read journal: %w", err)
	}
	j, err := decodeJournal(b)
	if err != nil {
		return nil, fmt.Errorf("tun: journal %s is not usable (%v); undo its changes by hand and remove it", path, err)
	}
	return j, nil
}

// save atomically replaces the journal at path: temporary file, fsync,
// rename, so a crash leaves either the old or the new list, never half.
func (j *journal) save(path string) error {
	b, err := json.MarshalIndent(j, "", "\t")
	if err != nil {
		return fmt.Errorf("tun: encode journal: %w", err)
	}
	b = append(b, '\n')
	return writeFileAtomic(path, b, 0o600)
}

func writeFileAtomic(path string, b []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("tun: write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("tun: write %s: %w", path, err)
	}
	return nil
}

// Journals lists the connection names that have a journal in stateDir, that
// is whose host changes have not been undone. A missing stateDir has none.
func Journals(stateDir string) ([]string, error) {
	ents, err := os.ReadDir(stateDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("tun: list journals: %w", err)
	}
	var names []string
	for _, e := range ents {
		n, ok := strings.CutSuffix(e.Name(), journalSuffix)
		if ok && e.Type().IsRegular() && validName(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// Cleanup undoes, from its journal, the host changes of connection name
// whose process ended without doing so itself (it was killed, or the
// machine lost power with /run on disk). Things already gone (routes that
// vanished with the interface) are skipped. It returns a line per action,
// saying what happened to it. The journal is removed when everything is
// undone; otherwise it keeps what is left and the error says why.
//
// It must not run while the connection's own process is alive.
func Cleanup(stateDir, name string, logger *slog.Logger) (undone []string, err error) {
	return cleanup(stateDir, name, logger, defaultSys())
}

func cleanup(stateDir, name string, logger *slog.Logger, sys hostSys) ([]string, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if !validName(name) {
		return nil, fmt.Errorf("tun: bad connection name %q", name)
	}
	path := journalPath(stateDir, name)
	j, err := loadJournal(path)
	if err != nil {
		return nil, err
	}
	if j.Name != name {
		return nil, fmt.Errorf("tun: journal %s belongs to connection %q", path, j.Name)
	}
	logger.Info("undoing host changes from journal", "connection", name, "journal", path, "actions", len(j.Actions))
	return undoAll(j, path, sys, logger)
}

// undoAll undoes j's actions in reverse order, rewriting the journal after
// each step so a crash during teardown loses nothing. Failed actions stay in
// the journal; it is removed when none is left.
func undoAll(j *journal, path string, sys hostSys, log *slog.Logger) ([]string, error) {
	var (
		done   []string
		failed []action
		errs   []error
	)
	for i := len(j.Actions) - 1; i >= 0; i-- {
		a := j.Actions[i]
		desc, err := undoAction(a, sys, log)
		if err != nil {
			log.Warn("could not undo host change", "change", a.describe(), "err", err)
			failed = append([]action{a}, failed...)
			errs = append(errs, err)
		} else {
			log.Debug("undone", "change", desc)
			done = append(done, desc)
		}
		j.Actions = append(j.Actions[:i:i], failed...)
		if i > 0 {
			if err := j.save(path); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(failed) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("tun: remove journal: %w", err))
		}
	} else if err := j.save(path); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return done, fmt.Errorf("tun: restore host configuration (journal %s kept): %w", path, err)
	}
	return done, nil
}

// undoAction undoes one change and describes what it did.
func undoAction(a action, sys hostSys, log *slog.Logger) (string, error) {
	switch a.Kind {
	case "route":
		err := sys.routes.routeDel(*a.Route)
		switch {
		case err == nil:
			return "deleted route " + a.Route.String(), nil
		case isGone(err):
			return "route " + a.Route.String() + " was already gone", nil
		}
		return "", fmt.Errorf("tun: delete route %s: %w", a.Route, err)
	case "resolv.conf":
		return undoResolvConf(*a.ResolvConf, log)
	case "resolved":
		return undoResolved(*a.Resolved, sys)
	}
	return "", fmt.Errorf("tun: unknown journal action %q", a.Kind)
}

func (a action) describe() string {
	switch {
	case a.Route != nil:
		return "route " + a.Route.String()
	case a.ResolvConf != nil:
		return "DNS in " + a.ResolvConf.Path
	case a.Resolved != nil:
		return "systemd-resolved DNS of " + a.Resolved.Interface
	}
	return a.Kind
}
