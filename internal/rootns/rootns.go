// Package rootns puts a root-only test (build tag hostroot) into a network
// namespace of its own, so that what it does to links, addresses and
// routes never touches the host.
package rootns

import (
	"os/exec"
	"runtime"
	"testing"

	"github.com/vishvananda/netns"
)

// Enter locks the test's goroutine to its thread and switches the thread
// into a new namespace called name (a leftover of that name from an aborted
// run is deleted first). Cleanup switches back, deletes the namespace and
// unlocks the thread. Only this goroutine is in the namespace: sockets and
// devices the test opens here stay in it.
func Enter(t testing.TB, name string) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	exec.Command("ip", "netns", "del", name).Run() // leftover from an aborted run
	h, err := netns.NewNamed(name)
	if err != nil {
		orig.Close()
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		netns.Set(orig)
		netns.DeleteNamed(name)
		h.Close()
		orig.Close()
		runtime.UnlockOSThread()
	})
}
