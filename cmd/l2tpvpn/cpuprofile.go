package main

// L2TPVPN_CPUPROFILE=PREFIX writes a CPU profile of this process to
// PREFIX.PID.pprof until it exits normally (go tool pprof reads it). It is
// for measuring the data path (make bench-e2e -profile), not a user setting:
// no flag, no profile key.

import (
	"fmt"
	"os"
	"runtime/pprof"
)

func startCPUProfile(stderr *os.File) (stop func()) {
	prefix := os.Getenv("L2TPVPN_CPUPROFILE")
	if prefix == "" {
		return func() {}
	}
	name := fmt.Sprintf("%s.%d.pprof", prefix, os.Getpid())
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		fmt.Fprintf(stderr, "l2tpvpn: L2TPVPN_CPUPROFILE: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(stderr, "l2tpvpn: L2TPVPN_CPUPROFILE: %v\n", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
