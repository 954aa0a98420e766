package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// lastFailure is how the last run of a connection failed, kept in
// STATEDIR/NAME.last.json (0600) for 'status NAME': the log beside it is
// truncated by the next connect, and a --background failure is seen by
// nobody. It holds what the final down event holds, no secret (errors never
// carry one). Every run writes it when it ends with a failure and removes
// it when it comes up, ends cleanly or is interrupted, so it is always the
// latest run's.
type lastFailure struct {
	Time     time.Time `json:"time"`
	Reason   string    `json:"reason"`
	Error    string    `json:"error"`
	Hint     string    `json:"hint,omitempty"`
	ExitCode int       `json:"exit_code"`
}

func lastFailurePath(dir, name string) string { return filepath.Join(dir, name+".last.json") }

// recordEnd keeps (or removes) the record for a run of name in dir that
// ends with code; out has the final down event.
func recordEnd(dir, name string, out *output, code int) {
	if code == exitOK || code == exitInterrupted {
		removeLastFailure(dir, name)
		return
	}
	d := out.downEvent(code)
	writeLastFailure(dir, name, lastFailure{Time: d.Time, Reason: d.Reason, Error: d.Error, Hint: d.Hint, ExitCode: code})
}

// writeLastFailure replaces the record at once (a new file renamed over
// the old one).
func writeLastFailure(dir, name string, f lastFailure) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, name+".last-*.tmp") // 0600
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(b, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), lastFailurePath(dir, name))
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

func removeLastFailure(dir, name string) {
	os.Remove(lastFailurePath(dir, name))
}

// readLastFailure is the record of name, nil when there is none.
func readLastFailure(dir, name string) (*lastFailure, error) {
	if !validName(name) { // not a path of the user's choosing
		return nil, nil
	}
	b, err := os.ReadFile(lastFailurePath(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f lastFailure
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", lastFailurePath(dir, name), err)
	}
	return &f, nil
}

// downSinceLine is status's line for a connection whose last run failed:
// "NAME: down since TIME: REASON: ERROR (hint)".
func downSinceLine(name string, f *lastFailure) string {
	s := fmt.Sprintf("%s: down since %s: %s: %s", name, f.Time.Local().Format(time.DateTime), f.Reason, f.Error)
	if strings.HasPrefix(f.Error, f.Reason+": ") { // "config: config: ..." otherwise
		s = fmt.Sprintf("%s: down since %s: %s", name, f.Time.Local().Format(time.DateTime), f.Error)
	}
	if f.Hint != "" && !strings.Contains(f.Error, "("+f.Hint+")") { // a vpn error ends with its hint
		s += " (" + f.Hint + ")"
	}
	return s
}
