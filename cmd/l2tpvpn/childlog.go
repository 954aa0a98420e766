package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// The log of the detached half of --background (STATEDIR/NAME.log, its
// stdout and stderr) holds one format: slog's text records, which the vpn
// package writes for every phase, hook, reconnect and the end with its
// reason. The person-readable lines (and JSON events) it would print on
// stdout are dropped, since each repeats a record; a plain line on stderr
// (an "l2tpvpn: ..." failure before the connection started, a warning)
// becomes a record of its own.

// childOutputs are the stdout and stderr of the detached half, given the
// log file w.
func childOutputs(w io.Writer) (stdout, stderr io.Writer) {
	return io.Discard, &recordLines{w: w, h: slog.NewTextHandler(w, nil)}
}

// recordLines passes slog text records through to w and turns any other
// line into a record: level WARN for "l2tpvpn: warning:", INFO for
// "l2tpvpn: note:", else ERROR.
type recordLines struct {
	mu  sync.Mutex
	w   io.Writer
	h   slog.Handler
	buf []byte
}

func (r *recordLines) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(r.buf, b...)
	for {
		i := bytes.IndexByte(r.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := r.buf[:i+1]
		if bytes.HasPrefix(line, []byte("time=")) {
			if _, err := r.w.Write(line); err != nil {
				return len(b), err
			}
		} else if msg := string(bytes.TrimSpace(line)); msg != "" {
			level := slog.LevelError
			switch {
			case bytes.HasPrefix(line, []byte("l2tpvpn: warning:")):
				level = slog.LevelWarn
			case bytes.HasPrefix(line, []byte("l2tpvpn: note:")):
				level = slog.LevelInfo
			}
			r.h.Handle(context.Background(), slog.NewRecord(time.Now(), level, msg, 0))
		}
		r.buf = r.buf[i+1:]
	}
}
